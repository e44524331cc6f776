let () =
  let open Demo_stubs in
  let n = Lwt_main.run (callback_loop (fun () -> Lwt.pause ()) 10) in
  Printf.printf "loop: %d\n%!" n;
  let v = Lwt_main.run (echo (Lwt.return 42)) in
  Printf.printf "echo: %d\n%!" v;
  let u, p = pending () in
  Lwt.wakeup_later u 41;
  Printf.printf "pending: %d\n%!" (Lwt_main.run p);
  (try Lwt_main.run (panic_after_await (Lwt.pause ())) with Lwt_rust.Rust_panic m -> Printf.printf "panic: %s\n%!" m);
  (try Lwt_main.run (rust_error "oops") with Lwt_rust.Rust_error m -> Printf.printf "error: %s\n%!" m);
  let s = Lwt_rust.stats () in
  Printf.printf "tasks %d roots %d promises %d notif %d drains %d\n" s.live_tasks s.live_roots s.live_promises s.notifications s.drains
