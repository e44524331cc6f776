// OCaml calls one concrete stub: no generics.
#[lwt_rust::func]
async fn identity<T>(x: T) -> T {
    x
}

fn main() {}
