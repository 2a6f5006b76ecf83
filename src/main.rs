//! The `tessera` command: runs the server and administers the configured deployment directly
//! (works on the database itself, also while servers are running).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    cli::main()
}
