(* An Lwt_io TCP echo server on 127.0.0.1, for the TCP example and test. *)

open Lwt.Infix

let echo _client (ic, oc) =
  let buf = Bytes.create 65536 in
  let rec loop () =
    Lwt_io.read_into ic buf 0 (Bytes.length buf) >>= function
    | 0 -> Lwt.return_unit
    | n -> Lwt_io.write_from_exactly oc buf 0 n >>= fun () -> Lwt_io.flush oc >>= loop
  in
  loop ()

(* [with_server f] starts the server on a port the kernel picks, runs [f port], then stops
   the server. *)
let with_server f =
  (* Our own socket, so that we can read back the port the kernel picked. *)
  let fd = Lwt_unix.socket Unix.PF_INET Unix.SOCK_STREAM 0 in
  let addr = Unix.ADDR_INET (Unix.inet_addr_loopback, 0) in
  Lwt_io.establish_server_with_client_address ~fd ~backlog:1024 addr echo >>= fun server ->
  let port =
    match Lwt_unix.getsockname fd with Unix.ADDR_INET (_, port) -> port | _ -> assert false
  in
  Lwt.finalize (fun () -> f port) (fun () -> Lwt_io.shutdown_server server)
