external double : int -> int Lwt.t = "alpha_double"
external greet : string -> string Lwt.t = "alpha_greet"
