(* Creates a thread while the program's libraries are still being initialised, before
   [Lwt_rust]; it allocates until [stop ()]. *)

let running = ref true

let thread =
  Thread.create
    (fun () ->
      while !running do
        ignore (Sys.opaque_identity (List.init 100 string_of_int));
        Thread.yield ()
      done)
    ()

let stop () =
  running := false;
  Thread.join thread
