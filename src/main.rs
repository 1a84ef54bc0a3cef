//! The `keyless` binary: everything it adds to the library lives under `app/` (arguments, the
//! resolved session, commands, reports and their views, the output sink, the exit codes).

mod app;

fn main() -> std::process::ExitCode {
    app::main()
}
