//! `xm` binary: parses the command line and hands over to [`xm::cli::run`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = xm::cli::Cli::parse();
    // `XM_LOG=debug` adds the phases of save, restore and migration, with
    // their times.
    let level = xm::devices::stderr_log::level_from_env(log::Level::Warn);
    xm::devices::stderr_log::init("xm", level);
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    match xm::cli::run(&cli, &mut stdout.lock(), &mut stderr.lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xm: {e}");
            ExitCode::FAILURE
        }
    }
}
