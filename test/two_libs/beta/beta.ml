external triple : int -> int Lwt.t = "beta_triple"
external fail : string -> unit Lwt.t = "beta_fail"
