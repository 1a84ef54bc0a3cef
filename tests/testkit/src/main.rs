//! `keyless-testkit`: serve the test kit's IAM + STS on loopback for demos and manual runs.
//! Prints the endpoint URL on the first line of stdout, then serves until killed or until stdin
//! closes (so `keyless-testkit <&-` style supervisors and scripts can stop it cleanly).

use std::io::{BufRead, Write};

fn main() {
    let kit = keyless_testkit::Kit::start();
    println!("{}", kit.endpoint());
    let _ = std::io::stdout().flush();
    // Block until stdin reaches EOF (a closed pipe) or the process is killed.
    let stdin = std::io::stdin();
    for line in stdin.lock().lines() {
        if line.is_err() {
            break;
        }
    }
    if std::env::var_os("KEYLESS_TESTKIT_STAY").is_some() {
        loop {
            std::thread::park();
        }
    }
    drop(kit);
}
