(* Doc comments: a Rust doc comment (markdown) as odoc text, and odoc text as a comment OCaml's
   lexer reads as one, whatever it holds. *)

(** The odoc text of a Rust doc comment (markdown): code spans to [\[code\]], fenced blocks to
    code blocks, headings to bold, other odoc-special characters escaped. A paragraph (lines up
    to a blank line, a heading or a fence) is read as one text, so that a code span may wrap
    across two lines of the comment (markdown turns its line break into a space). *)
let of_markdown lines =
  let strip l = if l <> "" && l.[0] = ' ' then String.sub l 1 (String.length l - 1) else l in
  (* [text] may hold line breaks: outside code spans they are kept. *)
  let inline text =
    let b = Buffer.create (String.length text + 8) in
    let n = String.length text in
    let run_at i =
      let j = ref i in
      while !j < n && text.[!j] = '`' do incr j done;
      !j - i
    in
    (* The end of a code span opened by [k] backticks at [i]: the next run of exactly [k]. *)
    let rec closing k i =
      if i >= n then None
      else if text.[i] = '`' then
        let r = run_at i in
        if r = k then Some i else closing k (i + r)
      else closing k (i + 1)
    in
    (* A code span's text as markdown reads it: line breaks are spaces, and one space goes at
       each end when both ends have one (and it is not all spaces). *)
    let span_text code =
      let code = String.map (function '\n' -> ' ' | c -> c) code in
      let m = String.length code in
      if m >= 2 && code.[0] = ' ' && code.[m - 1] = ' ' && String.trim code <> "" then
        String.sub code 1 (m - 2)
      else code
    in
    let code_span i k j =
      Buffer.add_char b '[';
      String.iter
        (function
          | ('[' | ']') as c -> Buffer.add_char b '\\'; Buffer.add_char b c
          | c -> Buffer.add_char b c)
        (span_text (String.sub text (i + k) (j - i - k)));
      Buffer.add_char b ']'
    in
    (* Where the bracketed part of a link that starts at [i] (a ['\['] or a ['\]']) ends:
       after [(target)] or [\[reference\]] without a line break, or at [i] if neither. *)
    let skip_target i =
      let close = function '(' -> Some ')' | '[' -> Some ']' | _ -> None in
      if i >= n then i
      else
        match close text.[i] with
        | None -> i
        | Some c -> (
          match String.index_from_opt text (i + 1) c with
          | Some e when not (String.contains (String.sub text i (e - i)) '\n') -> e + 1
          | _ -> i)
    in
    let rec go i =
      if i < n then
        match text.[i] with
        | '`' -> (
          let k = run_at i in
          match closing k (i + k) with
          | None ->
            Buffer.add_string b (String.sub text i k);
            go (i + k)
          | Some j ->
            code_span i k j;
            go (j + k))
        | '[' when i + 1 < n && text.[i + 1] = '`' -> (
          (* A Rust intra-doc link, [[`Item`]] with an optional target: its code only,
             since the item's OCaml name may differ and odoc cannot resolve a Rust path. *)
          let k = run_at (i + 1) in
          match closing k (i + 1 + k) with
          | Some j when j + k < n && text.[j + k] = ']' ->
            code_span (i + 1) k j;
            go (skip_target (j + k + 1))
          | _ ->
            Buffer.add_string b "\\[";
            go (i + 1))
        | ('{' | '}' | '[' | ']' | '@') as c ->
          Buffer.add_char b '\\';
          Buffer.add_char b c;
          go (i + 1)
        | c ->
          Buffer.add_char b c;
          go (i + 1)
    in
    go 0;
    Buffer.contents b
  in
  let heading line =
    let n = String.length line in
    let i = ref 0 in
    while !i < n && line.[!i] = '#' do incr i done;
    if !i > 0 && !i <= 6 && !i < n && line.[!i] = ' ' then
      Some (String.trim (String.sub line !i (n - !i)))
    else None
  in
  let is_fence l =
    let l = String.trim l in
    String.length l >= 3 && String.sub l 0 3 = "```"
  in
  (* [para]: the lines of the paragraph being read, last first. *)
  let flush para acc =
    if para = [] then acc
    else
      List.rev_append
        (String.split_on_char '\n' (inline (String.concat "\n" (List.rev para))))
        acc
  in
  let rec go in_code para acc = function
    | [] ->
      let acc = flush para acc in
      List.rev (if in_code then "]}" :: acc else acc)
    | l :: rest when is_fence l ->
      go (not in_code) [] ((if in_code then "]}" else "{[") :: flush para acc) rest
    | l :: rest when in_code -> go in_code [] (l :: acc) rest
    | l :: rest when String.trim l = "" -> go in_code [] (l :: flush para acc) rest
    | l :: rest -> (
      match heading l with
      | Some h -> go in_code [] (("{b " ^ inline h ^ "}") :: flush para acc) rest
      | None -> go in_code (l :: para) acc rest)
  in
  let out = go false [] [] (List.map strip lines) in
  (* Blank lines at either end go. *)
  let rec drop_blank = function l :: rest when String.trim l = "" -> drop_blank rest | ls -> ls in
  List.rev (drop_blank (List.rev (drop_blank out)))

(* Where a string literal that does not end starts in [s], read as OCaml's lexer reads the
   inside of a comment, once [s] holds no character literal of a double quote (see
   [comment_safe]): every double quote then opens or closes a string, and inside a string a
   backslash escapes the next character. *)
let unterminated_string s =
  let n = String.length s in
  let rec outside i =
    if i >= n then None else if s.[i] = '"' then inside i (i + 1) else outside (i + 1)
  and inside start i =
    if i >= n then Some start
    else match s.[i] with '"' -> outside (i + 1) | '\\' -> inside start (i + 2) | _ -> inside start (i + 1)
  in
  outside 0

(* The OCaml lexer reads inside comments too: a nested comment, a quoted string (opened by a
   brace, an optional extension name after one or two percent signs, an optional lowercase
   delimiter and a bar) or a string that does not end would break the file. A space goes after
   the parenthesis that opens a comment, the star that closes one and the brace that opens a
   quoted string. Whether a double quote between two single quotes is a character literal or
   opens a string depends on what precedes it (an identifier takes the single quotes it ends
   with, and OCaml 5.4's identifiers take non-ASCII letters): a space after the first single
   quote makes it open a string for every lexer. Then a double quote opening a string that
   does not end becomes two single quotes, until every string ends. *)
let comment_safe text =
  let rec fix s =
    let b = Buffer.create (String.length s) in
    let n = String.length s in
    let changed = ref false in
    String.iteri
      (fun i c ->
        Buffer.add_char b c;
        if i + 1 < n then
          match (c, s.[i + 1]) with
          | '(', '*' | '*', ')' | '{', '%' -> Buffer.add_char b ' '; changed := true
          | '{', _ ->
            (* A delimiter is lowercase letters (OCaml 5 takes more): any identifier
               characters, or bytes of non-ASCII ones. *)
            let j = ref (i + 1) in
            let delimiter = function
              | 'a' .. 'z' | 'A' .. 'Z' | '0' .. '9' | '_' | '\'' | '\128' .. '\255' -> true
              | _ -> false
            in
            while !j < n && delimiter s.[!j] do incr j done;
            if !j < n && s.[!j] = '|' then (Buffer.add_char b ' '; changed := true)
          | _ -> ())
      s;
    if !changed then fix (Buffer.contents b) else s
  in
  let replace_all s sub by =
    let m = String.length sub in
    let b = Buffer.create (String.length s) in
    let rec go i =
      if i >= String.length s then ()
      else if i + m <= String.length s && String.sub s i m = sub then (Buffer.add_string b by; go (i + m))
      else (Buffer.add_char b s.[i]; go (i + 1))
    in
    go 0;
    Buffer.contents b
  in
  let rec no_quote_chars s =
    let s' = replace_all (replace_all s "'\"'" "' \"'") "'\\\"'" "'\\ \"'" in
    if s' = s then s else no_quote_chars s'
  in
  let rec strings s =
    let s = no_quote_chars s in
    match unterminated_string s with
    | None -> s
    | Some i -> strings (String.sub s 0 i ^ "''" ^ String.sub s (i + 1) (String.length s - i - 1))
  in
  strings (fix text)

(** The doc comment holding the odoc text [lines], made safe for OCaml's lexer
    ([comment_safe]); nothing if [lines] is empty. *)
let comment lines =
  match lines with
  | [] -> []
  | _ ->
    let lines = String.split_on_char '\n' (comment_safe (String.concat "\n" lines)) in
    let last = List.length lines - 1 in
    List.mapi
      (fun i l ->
        let l =
          if i = 0 then "(** " ^ l else if String.trim l = "" then "" else "    " ^ l
        in
        if i = last then l ^ " *)" else l)
      lines
