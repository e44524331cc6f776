(* 2. A Rust function called from a systhread before the main thread ever used the bridge:
   refused with Wrong_thread, and the main thread's calls work afterwards. *)

open Demo_stubs

let () =
  let from_thread = ref None in
  let t = Thread.create (fun () -> from_thread := Some (Demo_stubs.yield_n 3)) () in
  Thread.join t;
  (match !from_thread with
  | Some p -> (
    match Lwt.state p with
    | Lwt.Fail (Lwt_rust.Wrong_thread _) -> ()
    | _ -> failwith "the systhread's call was not refused with Wrong_thread")
  | None -> failwith "the systhread did not run");
  let n = Lwt_main.run (yield_n 5) in
  if n <> 5 then failwith "the main thread's call failed";
  print_endline "systhread_first: OK"
