//! Placeholder replaced by the token-verification benchmark (see bench/README).
fn main() {}
