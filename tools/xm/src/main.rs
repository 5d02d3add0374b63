//! `xm` binary: parses the command line and hands over to [`xm::cli::run`].

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = xm::cli::Cli::parse();
    xm::devices::stderr_log::init("xm", log::Level::Warn);
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
