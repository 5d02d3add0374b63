//! `xenstored`: the xenstore daemon for dom0.
//!
//! Usage: `xenstored [--socket PATH] [--no-domains] [--verbose]`.

use std::sync::atomic::AtomicBool;

use log::{LevelFilter, Log, Metadata, Record};
use xenstore::daemon::{Config, Daemon};

/// Logs to stderr with the level.
struct StderrLogger;

impl Log for StderrLogger {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("xenstored: {}: {}", record.level(), record.args());
        }
    }

    fn flush(&self) {}
}

static LOGGER: StderrLogger = StderrLogger;

fn usage() -> ! {
    eprintln!("usage: xenstored [--socket PATH] [--no-domains] [--verbose]");
    std::process::exit(2);
}

fn main() -> anyhow::Result<()> {
    let mut config = Config::default();
    let mut level = LevelFilter::Info;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--socket" | "-s" => config.socket = args.next().unwrap_or_else(|| usage()).into(),
            "--no-domains" => config.domains = false,
            "--verbose" | "-v" => level = LevelFilter::Debug,
            _ => usage(),
        }
    }
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(level);
    }
    let mut daemon = Daemon::new(&config)?;
    static STOP: AtomicBool = AtomicBool::new(false);
    daemon.run(&STOP)
}
