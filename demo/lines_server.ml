(* A TCP server on 127.0.0.1 that writes numbered lines to every client: the source of
   examples/lines and of the stream tests. *)

open Lwt.Infix

let line i = Printf.sprintf "line %d: %s" i (String.make (i mod 50) 'x')

(* [with_server ~lines f] starts the server on a port the kernel picks, runs [f port], then
   stops the server. Each client gets [lines] lines, then the connection is closed; a client
   that goes away early just ends its writer. *)
let with_server ~lines f =
  let fd = Lwt_unix.socket Unix.PF_INET Unix.SOCK_STREAM 0 in
  let addr = Unix.ADDR_INET (Unix.inet_addr_loopback, 0) in
  let write_lines _client (_ic, oc) =
    let rec write i =
      if i > lines then Lwt.return_unit else Lwt_io.write_line oc (line i) >>= fun () -> write (i + 1)
    in
    (* Flushed here: Lwt_io closes the input channel first when the handler returns, which
       closes the socket before the output channel's buffer would be written. *)
    Lwt.catch (fun () -> write 1 >>= fun () -> Lwt_io.flush oc) (fun _ -> Lwt.return_unit)
  in
  Lwt_io.establish_server_with_client_address ~fd ~backlog:64 addr write_lines >>= fun server ->
  let port =
    match Lwt_unix.getsockname fd with Unix.ADDR_INET (_, port) -> port | _ -> assert false
  in
  Lwt.finalize (fun () -> f port) (fun () -> Lwt_io.shutdown_server server)
