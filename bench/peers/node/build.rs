//! napi-rs's link settings for a Node addon (on Linux, Node's symbols stay undefined and are
//! resolved when Node loads the addon).
fn main() {
    napi_build::setup();
}
