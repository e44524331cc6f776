(* An OCaml Lwt TCP echo server (Lwt_io) on 127.0.0.1, and in the same process N concurrent
   round trips from a Rust tokio TCP client started from OCaml. Every byte is checked on the
   Rust side; the timings are printed. Usage: tcp_echo.exe [connections] [bytes] [rounds] *)

open Lwt.Infix

let () =
  let arg i default = try int_of_string Sys.argv.(i) with _ -> default in
  let connections = arg 1 1000 and size = arg 2 4096 and rounds = arg 3 5 in
  Lwt_rust.init ();
  Lwt_main.run
    ( Demo_stubs.Echo_server.with_server (fun port ->
      Printf.printf "Lwt_io echo server on 127.0.0.1:%d; %d tokio clients x %d bytes\n%!" port
        connections size;
      let rec round i =
        if i > rounds then Lwt.return_unit
        else
          Demo_stubs.tcp_round_trips port connections size >>= fun (ok, bytes, seconds) ->
          Printf.printf
            "round %d: %d/%d round trips, %d bytes checked, %.3f s (%.0f round trips/s, %.1f MB/s each way)\n%!"
            i ok connections bytes seconds
            (float_of_int ok /. seconds)
            (float_of_int bytes /. seconds /. 1e6);
          if ok <> connections || bytes <> connections * size then failwith "lost data";
          round (i + 1)
      in
      round 1) >>= Lwt_rust.shutdown )
