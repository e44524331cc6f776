// A `Root` keeps an OCaml value alive; it may only be read and dropped on the OCaml thread, so
// it is not `Send` (`SendRoot` is the type that crosses threads).
use lwt_rust::Root;

fn main() {
    let root: Option<Root<String>> = None;
    std::thread::spawn(move || drop(root));
}
