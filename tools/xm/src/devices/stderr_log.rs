//! A `log` backend printing to stderr as `PROGRAM: LEVEL: message`, for
//! the device code's warnings (a teardown step that failed) and, in
//! `xenconsoled`, its information lines (devices set up on a restart).

use log::{Level, Log, Metadata, Record};

struct StderrLog {
    program: &'static str,
    level: Level,
}

impl Log for StderrLog {
    fn enabled(&self, m: &Metadata<'_>) -> bool {
        m.level() <= self.level
    }

    fn log(&self, r: &Record<'_>) {
        if self.enabled(r.metadata()) {
            let level = r.level().as_str().to_ascii_lowercase();
            eprintln!("{}: {level}: {}", self.program, r.args());
        }
    }

    fn flush(&self) {}
}

/// Send `log` records up to `level` to stderr, prefixed with `program`
/// (once per process; later calls do nothing).
pub fn init(program: &'static str, level: Level) {
    let logger = Box::leak(Box::new(StderrLog { program, level }));
    if log::set_logger(logger).is_ok() {
        log::set_max_level(level.to_level_filter());
    }
}

/// The level `$XM_LOG` names (`error`, `warn`, `info`, `debug`, `trace`,
/// any case), or `default` when it is unset or names none.
pub fn level_from_env(default: Level) -> Level {
    std::env::var("XM_LOG").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
