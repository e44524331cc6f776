// An awaited Lwt promise belongs to the OCaml thread's tables: a `Promise` is not `Send`.
use lwt_rust::Promise;

fn main() {
    let promise: Option<Promise<i64>> = None;
    std::thread::spawn(move || drop(promise));
}
