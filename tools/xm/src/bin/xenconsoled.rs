//! `xenconsoled`: the console backend of dom0 (see [`xm::consoled`]).
//!
//! Usage: `xenconsoled [--log-dir DIR] [--socket PATH]`; runs in the
//! foreground (start it with `&`), messages on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut log_dir = PathBuf::from(xm::consoled::LOG_DIR);
    let mut socket = PathBuf::from(xm::consoled::SOCKET);
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match (a.as_str(), args.next()) {
            ("--log-dir", Some(v)) => log_dir = v.into(),
            ("--socket", Some(v)) => socket = v.into(),
            _ => {
                eprintln!("usage: xenconsoled [--log-dir DIR] [--socket PATH]");
                return ExitCode::from(2);
            }
        }
    }
    xm::devices::stderr_log::init("xenconsoled", log::Level::Info);
    let run = xm::consoled::Daemon::new(&xm::cli::privcmd_path(), &socket, &log_dir).and_then(|mut d| {
        eprintln!("xenconsoled: listening on {}, logs in {}", socket.display(), log_dir.display());
        d.run()
    });
    match run {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xenconsoled: {e:#}");
            ExitCode::FAILURE
        }
    }
}
