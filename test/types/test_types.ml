(* Rust structs and enums as OCaml records and variants (testlib/src/types.rs): round trips of
   every shape both ways (qcheck), forged values refused with Invalid_argument naming the type,
   typed errors as their own exceptions, and `(t, e) result` returns. *)

open Lwt.Infix
module T = Lwt_rust_testlib

(* ---------- Generators ---------- *)

(* Printable ASCII, and UTF-8 with characters of two, three and four bytes: every length
   from 0 to 40 bytes, so that each padding of OCaml's string blocks is met, and the check
   Rust makes (an ASCII scan first, the full UTF-8 check otherwise) takes both paths. *)
let gen_string =
  let open QCheck.Gen in
  let wide = oneof (List.map return [ "\xc3\xa9"; "\xe2\x9c\x93"; "\xf0\x9f\x90\xab" ]) in
  let piece = oneof [ map (String.make 1) printable; wide ] in
  map (String.concat "") (list_size (0 -- 12) piece)

(* OCaml's int is 63 bits, Rust's i64 holds it. *)
let gen_point = QCheck.Gen.(map2 (fun x y -> { T.x; y }) float float)

(* Every int32 and int64 (qcheck 0.91 deprecates [ui32] and [ui64]; [Int32.of_int] wraps). *)
let gen_int32 = QCheck.Gen.(map Int32.of_int int)

let gen_int64 =
  QCheck.Gen.(
    map2
      (fun high low -> Int64.(logor (shift_left (of_int high) 32) (logand (of_int low) 0xFFFF_FFFFL)))
      int int)

let gen_everything =
  let open QCheck.Gen in
  let* flag = bool and* small = int and* word = gen_int32 and* wide = gen_int64 and* real = float in
  let* text = gen_string and* raw = map Bytes.of_string gen_string in
  let* maybe = Qcheck_compat.option int
  and* outcome = oneof [ map Result.ok gen_string; map Result.error int ] in
  let* numbers = list_size (0 -- 5) int and* reals = array_size (0 -- 5) float in
  let* pair = pair int gen_string and* type_ = gen_string and* origin = gen_point in
  return
    { T.nothing = (); flag; small; word; wide; real; text; raw; maybe; outcome; numbers; reals;
      pair; type_; origin }

let gen_user =
  let open QCheck.Gen in
  let* id = int and* name = gen_string and* email = Qcheck_compat.option gen_string
  and* admin = bool in
  return { T.id; name; email; admin }

let gen_shape =
  let open QCheck.Gen in
  sized_size (0 -- 4)
  @@ fix (fun self n ->
         let leaves =
           [ return T.Empty; return T.Unknown; map (fun r -> T.Circle r) float;
             map2 (fun w h -> T.Rect { w; h }) float float;
             map (fun ps -> T.Poly ps) (list_size (0 -- 3) gen_point) ]
         in
         if n = 0 then oneof leaves
         else oneof (map2 (fun l s -> T.Labelled (l, s)) gen_string (self (n - 1)) :: leaves))

let gen_tree =
  let open QCheck.Gen in
  sized_size (0 -- 6)
  @@ fix (fun self n ->
         if n = 0 then return T.Leaf
         else
           Qcheck_compat.weighted
             [ (1, return T.Leaf);
               (3, map3 (fun l v r -> T.Node (l, v, r)) (self (n / 2)) int (self (n / 2))) ])

let gen_expr =
  let open QCheck.Gen in
  sized_size (0 -- 3)
  @@ fix (fun self n ->
         if n = 0 then map (fun i -> T.Num i) int
         else
           oneof
             [ map (fun i -> T.Num i) int;
               map
                 (fun stmts -> T.Block stmts)
                 (list_size (0 -- 3)
                    (map2 (fun label expr -> { T.label; expr }) gen_string (self (n - 1)))) ])

let gen_command =
  QCheck.Gen.(
    oneof
      [ map (fun k -> T.Get k) gen_string; map2 (fun k v -> T.Set (k, v)) gen_string int;
        return T.Quit ])

let gen_db_error =
  QCheck.Gen.(
    oneof
      [ map (fun k -> T.NotFound k) int; return T.Closed;
        map2 (fun key attempts -> T.Conflict { key; attempts }) gen_string int ])

(* ---------- Round trips ---------- *)

let count = 200

(* OCaml -> Rust -> OCaml through a plain fn and an async fn; Rust -> OCaml -> Rust through an
   OCaml closure Rust calls with the value it got (the closure returns its argument: Rust
   checks that what comes back equals what it sent). Floats compare by bits (a NaN round-trips
   too). *)
let same a b = compare a b = 0

(* A property as an alcotest case (a fixed seed: a failure is reproducible). *)
let case name arb prop =
  Alcotest.test_case name `Quick (fun () ->
      QCheck.Test.check_exn ~rand:(Random.State.make [| 24 |])
        (QCheck.Test.make ~count ~name arb prop))

let round_trip name gen ~echo ~echo_async ~via =
  case name (QCheck.make gen) (fun v ->
      let direct = echo v in
      let async = Lwt_main.run (echo_async v) in
      let back, rust_same = Lwt_main.run (via Lwt.return v) in
      same direct v && same async v && same back v && rust_same)

let round_trips =
  [ round_trip "point (flat float record)" gen_point ~echo:T.echo_point
      ~echo_async:T.echo_point_async ~via:T.via_point;
    round_trip "record of every field type" gen_everything ~echo:T.echo_everything
      ~echo_async:T.echo_everything_async ~via:T.via_everything;
    round_trip "user" gen_user ~echo:T.echo_user ~echo_async:T.echo_user_async ~via:T.via_user;
    round_trip "shape (variant of every kind, recursive)" gen_shape ~echo:T.echo_shape
      ~echo_async:T.echo_shape_async ~via:T.via_shape;
    round_trip "tree (recursive through Box)" gen_tree ~echo:T.echo_tree
      ~echo_async:T.echo_tree_async ~via:T.via_tree;
    round_trip "expr/stmt (mutually recursive)" gen_expr ~echo:T.echo_expr
      ~echo_async:T.echo_expr_async ~via:T.via_expr;
    round_trip "command" gen_command ~echo:T.echo_command ~echo_async:T.echo_command_async
      ~via:T.via_command;
    round_trip "db_error (error variant)" gen_db_error ~echo:T.echo_db_error
      ~echo_async:T.echo_db_error_async ~via:T.via_db_error;
    round_trip "user list" (QCheck.Gen.list_size QCheck.Gen.(0 -- 5) gen_user)
      ~echo:T.echo_users ~echo_async:T.echo_users_async ~via:T.via_users;
    round_trip "shape option" (Qcheck_compat.option gen_shape) ~echo:T.echo_maybe_shape
      ~echo_async:T.echo_maybe_shape_async ~via:T.via_maybe_shape;
    round_trip "(user, db_error) result"
      QCheck.Gen.(oneof [ map Result.ok gen_user; map Result.error gen_db_error ])
      ~echo:T.echo_lookup ~echo_async:T.echo_lookup_async ~via:T.via_lookup;
    round_trip "user * shape" (QCheck.Gen.pair gen_user gen_shape) ~echo:T.echo_user_shape
      ~echo_async:T.echo_user_shape_async ~via:T.via_user_shape;
    case "point array (flat float records in an array)"
      (QCheck.make QCheck.Gen.(array_size (0 -- 5) gen_point))
      (fun ps -> same (T.echo_points ps) ps) ]

(* ---------- Streams ---------- *)

let test_stream_of_records () =
  let users = Lwt_main.run (Lwt_stream.to_list (T.users 4)) in
  Alcotest.(check (list int)) "ids" [ 1; 2; 3; 4 ] (List.map (fun u -> u.T.id) users);
  Alcotest.(check (list (option string)))
    "emails"
    [ None; Some "u2@example.org"; None; Some "u4@example.org" ]
    (List.map (fun u -> u.T.email) users);
  Alcotest.(check bool) "first is admin" true (List.hd users).T.admin

let test_stream_into_rust () =
  let shapes = [ T.Empty; T.Circle 1.5; T.Rect { w = 2.; h = 3. }; T.Labelled ("x", T.Unknown) ] in
  let got = Lwt_main.run (T.collect_shapes (Lwt_stream.of_list shapes)) in
  Alcotest.(check bool) "the same shapes, in order" true (same got shapes)

let test_stream_typed_errors () =
  let stream = T.users_then_closed 2 in
  let first = Lwt_main.run (Lwt_stream.get stream) in
  let second = Lwt_main.run (Lwt_stream.get stream) in
  Alcotest.(check (list (option int)))
    "the items before the error" [ Some 1; Some 2 ]
    (List.map (Option.map (fun u -> u.T.id)) [ first; second ]);
  (match Lwt_main.run (Lwt_stream.get stream) with
  | _ -> Alcotest.fail "no error"
  | exception T.Db_error T.Closed -> ());
  (match Lwt_main.run (Lwt_stream.to_list (T.users_or_not_found (-3))) with
  | _ -> Alcotest.fail "no error"
  | exception T.Db_error (T.NotFound k) -> Alcotest.(check int) "the payload" (-3) k);
  Alcotest.(check int) "no error: every item" 3
    (List.length (Lwt_main.run (Lwt_stream.to_list (T.users_or_not_found 3))))

(* ---------- Forgeries ---------- *)

(* [f] refuses the forged value with Invalid_argument whose message names [ty]. *)
let refused ~ty f =
  match f () with
  | _ -> Alcotest.failf "a forged %s was accepted" ty
  | exception Invalid_argument msg ->
    let contains s sub =
      let n = String.length s and m = String.length sub in
      let rec go i = i + m <= n && (String.sub s i m = sub || go (i + 1)) in
      go 0
    in
    if not (contains msg ty) then Alcotest.failf "the message %S does not name %s" msg ty

let refused_async ~ty f =
  refused ~ty (fun () -> Lwt_main.run (f ()))

let test_forgeries () =
  (* The whole message, once. *)
  (match T.echo_user (Obj.magic 3 : T.user) with
  | _ -> Alcotest.fail "accepted"
  | exception Invalid_argument msg ->
    Alcotest.(check string) "message" "echo_user: argument 1: expected a value of type user" msg);
  (* A record of another type, of the right size but wrong field types. *)
  refused ~ty:"user" (fun () ->
      T.echo_user (Obj.magic { T.label = "x"; expr = T.Num 1 } : T.user));
  (* A record with a field missing (wrong field count). *)
  refused ~ty:"user" (fun () -> T.echo_user (Obj.magic (1, "a", None) : T.user));
  (* A boxed float record where a flat one is expected, and the reverse. *)
  refused ~ty:"point" (fun () -> T.echo_point (Obj.magic (1.0, 2.0) : T.point));
  refused ~ty:"user" (fun () -> T.echo_user (Obj.magic { T.x = 1.; y = 2. } : T.user));
  (* An immediate where a record is expected. *)
  refused ~ty:"user" (fun () -> T.echo_user (Obj.magic 3 : T.user));
  (* A constant constructor out of range, a wrong tag, a wrong argument count, a wrong
     argument type. *)
  refused ~ty:"shape" (fun () -> T.echo_shape (Obj.magic 2 : T.shape));
  let block tag fields =
    let b = Obj.new_block tag (Array.length fields) in
    Array.iteri (fun i f -> Obj.set_field b i f) fields;
    b
  in
  refused ~ty:"shape" (fun () -> T.echo_shape (Obj.obj (block 7 [| Obj.repr 1.0 |])));
  refused ~ty:"shape" (fun () ->
      T.echo_shape (Obj.obj (block 2 [| Obj.repr 1.0; Obj.repr 2.0; Obj.repr 3.0 |])));
  refused ~ty:"shape" (fun () -> T.echo_shape (Obj.obj (block 0 [| Obj.repr 1 |])));
  refused ~ty:"command" (fun () -> T.echo_command (Obj.obj (block 1 [| Obj.repr "k" |])));
  (* Deep: a forged value inside a list, an option, a recursive position. *)
  refused ~ty:"user" (fun () ->
      T.echo_users [ { T.id = 1; name = "a"; email = None; admin = false }; Obj.magic 0 ]);
  refused ~ty:"shape" (fun () -> T.echo_maybe_shape (Some (Obj.magic "circle")));
  refused ~ty:"shape" (fun () -> T.echo_shape (T.Labelled ("x", Obj.magic 42)));
  refused ~ty:"tree" (fun () ->
      T.echo_tree (T.Node (T.Leaf, 1, T.Node (Obj.magic 9, 2, T.Leaf))));
  (* A string that is not UTF-8 where a Rust String is read: a record's field, inside an
     option, after ASCII (the first byte that is not ASCII decides). *)
  refused ~ty:"user" (fun () ->
      T.echo_user { T.id = 1; name = "\xff"; email = None; admin = false });
  refused ~ty:"user" (fun () ->
      T.echo_user { T.id = 1; name = "a"; email = Some "plain ascii then \xc3("; admin = false });
  (* The same for async functions: the promise is rejected. *)
  refused_async ~ty:"user" (fun () -> T.echo_user_async (Obj.magic (1, 2) : T.user));
  refused_async ~ty:"db_error" (fun () -> T.echo_db_error_async (Obj.magic 5 : T.db_error))

(* ---------- Typed errors ---------- *)

let test_typed_errors () =
  let expect_db_error what f expected =
    match f () with
    | _ -> Alcotest.failf "%s: no exception" what
    | exception T.Db_error e ->
      Alcotest.(check bool) (what ^ ": the payload") true (same e expected)
  in
  expect_db_error "async, NotFound" (fun () -> Lwt_main.run (T.find_user (-4))) (T.NotFound (-4));
  expect_db_error "async, Closed" (fun () -> Lwt_main.run (T.find_user 0)) T.Closed;
  expect_db_error "async, Conflict"
    (fun () -> Lwt_main.run (T.find_user 13))
    (T.Conflict { key = "user 13"; attempts = 3 });
  expect_db_error "sync" (fun () -> T.find_user_now (-1)) (T.NotFound (-1));
  expect_db_error "blocking" (fun () -> Lwt_main.run (T.find_user_blocking 0)) T.Closed;
  Alcotest.(check int) "Ok" 7 (Lwt_main.run (T.find_user 7)).T.id;
  Alcotest.(check int) "Ok, sync" 8 (T.find_user_now 8).T.id;
  (* OCaml matches on it in a handler. *)
  let handled =
    Lwt_main.run
      (Lwt.catch
         (fun () -> T.find_user (-9) >|= fun _ -> "found")
         (function
           | T.Db_error (T.NotFound k) -> Lwt.return (Printf.sprintf "not found %d" k)
           | T.Db_error _ -> Lwt.return "other"
           | e -> Lwt.fail e))
  in
  Alcotest.(check string) "matched" "not found -9" handled;
  (* A record as the error. *)
  (match Lwt_main.run (T.refuse 4) with
  | () -> Alcotest.fail "no exception"
  | exception T.Refused { T.reason; code } ->
    Alcotest.(check (pair string int)) "record payload" ("refused", 4) (reason, code));
  (* Display errors keep Rust_error. *)
  (match Lwt_main.run (T.find_user_text 0) with
  | _ -> Alcotest.fail "no exception"
  | exception Lwt_rust.Rust_error msg -> Alcotest.(check string) "text" "not found: Closed" msg);
  (* A typed error whose value does not fit OCaml: Rust_error saying so. *)
  match Lwt_main.run (T.unfit_error ()) with
  | () -> Alcotest.fail "no exception"
  | exception Lwt_rust.Rust_error msg ->
    Alcotest.(check bool) "names the exception" true (String.sub msg 0 9 = "Db_error:")

let test_result_returns () =
  Alcotest.(check bool) "Ok" true
    (match Lwt_main.run (T.try_find_user 5) with Ok u -> u.T.id = 5 | Error _ -> false);
  Alcotest.(check bool) "Error" true
    (Lwt_main.run (T.try_find_user (-2)) = Error (T.NotFound (-2)));
  Alcotest.(check bool) "sync Error" true (T.try_find_user_now 0 = Error T.Closed);
  Alcotest.(check bool) "sync Ok" true
    (match T.try_find_user_now 13 with Error (T.Conflict { attempts = 3; _ }) -> true | _ -> false)

let () =
  Alcotest.run "types"
    [ ("round trips", round_trips);
      ( "streams",
        [ Alcotest.test_case "a stream of records from Rust" `Quick test_stream_of_records;
          Alcotest.test_case "a stream of variants into Rust" `Quick test_stream_into_rust;
          Alcotest.test_case "typed errors end streams" `Quick test_stream_typed_errors ] );
      ("forgeries", [ Alcotest.test_case "refused, naming the type" `Quick test_forgeries ]);
      ( "errors",
        [ Alcotest.test_case "typed errors as exceptions" `Quick test_typed_errors;
          Alcotest.test_case "func(result) returns a result" `Quick test_result_returns ] ) ]
