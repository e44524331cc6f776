(* Lines from a TCP connection, read by Rust (tokio), consumed by OCaml as an Lwt_stream.t.

   An Lwt_io server on 127.0.0.1 writes numbered lines; in the same process the Rust
   function [Demo_stubs.tcp_lines port] (testlib/src/streams.rs) connects with tokio and returns
   the lines as a [string Lwt_stream.t]. OCaml checks every line, then reads a second
   connection only partly and closes it: the Rust task and its socket go away.
   Usage: lines.exe [lines] *)

open Lwt.Infix

let () =
  let lines = try int_of_string Sys.argv.(1) with _ -> 100_000 in
  Lwt_rust.init ();
  Lwt_main.run
    ( Demo_stubs.Lines_server.with_server ~lines (fun port ->
      Printf.printf "Lwt_io server on 127.0.0.1:%d writing %d lines; tokio reads them\n%!" port
        lines;
      let t0 = Unix.gettimeofday () in
      let stream = Demo_stubs.tcp_lines port in
      Lwt_stream.fold
        (fun line (count, bytes) ->
          let expected = Demo_stubs.Lines_server.line (count + 1) in
          if line <> expected then
            failwith (Printf.sprintf "line %d: expected %S, got %S" (count + 1) expected line);
          (count + 1, bytes + String.length line + 1))
        stream (0, 0)
      >>= fun (count, bytes) ->
      let seconds = Unix.gettimeofday () -. t0 in
      Printf.printf "%d lines (%d bytes) read and checked in %.3f s: %.0f lines/s\n%!" count
        bytes seconds
        (float_of_int count /. seconds);
      if count <> lines then failwith (Printf.sprintf "expected %d lines, got %d" lines count);
      (* Stopping early: read 10 lines of another connection, then close the stream. *)
      let partial = Demo_stubs.tcp_lines port in
      Lwt_stream.nget 10 partial >>= fun first ->
      Lwt_rust.close_stream partial;
      Printf.printf "read %d lines of a second connection, then closed it; %d Rust streams left\n%!"
        (List.length first) (Lwt_rust.stats ()).live_streams;
      Lwt.return_unit)
    >>= Lwt_rust.shutdown )
