(* Helpers shared by the test programs. *)

(* There is no alcotest-lwt in Debian: cases run their Lwt code with [Lwt_main.run]. *)
let await = Lwt_main.run

(* A promise's outcome as a result: [Lwt_result.catch] of Lwt 5.6, which Lwt 5.7 changed to
   take a thunk. The caller makes the promise: an exception raised while making it is not
   caught here. *)
let result_of p = Lwt.try_bind (fun () -> p) Lwt.return_ok Lwt.return_error

(* Nothing in flight may be left behind: tasks, GC roots, awaited promises, streams. *)
let check_nothing_live what =
  Gc.full_major ();
  let s = Lwt_rust.stats () in
  Alcotest.(check int) (what ^ ": live tasks") 0 s.live_tasks;
  Alcotest.(check int) (what ^ ": live roots") 0 s.live_roots;
  Alcotest.(check int) (what ^ ": live promises") 0 s.live_promises;
  Alcotest.(check int) (what ^ ": live streams") 0 s.live_streams;
  Alcotest.(check int) (what ^ ": live objects") 0 s.live_objects

(* An outcome a case did not expect: fails the case, naming the exception. *)
let unexpected exn = Alcotest.failf "unexpected %s" (Printexc.to_string exn)

let contains s sub =
  let n = String.length sub in
  let rec from i = i + n <= String.length s && (String.sub s i n = sub || from (i + 1)) in
  from 0

(* Resident memory of this process, in kB (Linux). *)
let rss_kb () =
  let ic = open_in "/proc/self/status" in
  let rec find () =
    match input_line ic with
    | line when String.length line > 6 && String.sub line 0 6 = "VmRSS:" ->
      Scanf.sscanf line "VmRSS: %d kB" (fun kb -> kb)
    | _ -> find ()
    | exception End_of_file -> 0
  in
  Fun.protect ~finally:(fun () -> close_in ic) find
