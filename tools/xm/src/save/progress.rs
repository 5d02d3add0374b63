//! The progress bar of save, restore and migrate: drawn on stderr only
//! when stderr is a terminal, so that output read by scripts and tests is
//! never garbled; the closing summary line is the command's own output.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A progress bar counting pages.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar for `what` ("saving", "restoring", "migrating") over `total`
    /// pages; hidden unless stderr is a terminal.
    pub fn new(what: &str, total: u64) -> Self {
        let target =
            if std::io::stderr().is_terminal() { ProgressDrawTarget::stderr() } else { ProgressDrawTarget::hidden() };
        let bar = ProgressBar::with_draw_target(Some(total), target);
        let style = ProgressStyle::with_template("{prefix} [{bar:40}] {pos}/{len} pages {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(what.to_string());
        Progress { bar }
    }

    /// A bar that never draws (host tests, library use).
    pub fn hidden() -> Self {
        Progress { bar: ProgressBar::hidden() }
    }

    /// `n` more pages done.
    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    /// A new total (a live migration's rounds resend pages).
    pub fn grow(&self, total: u64) {
        self.bar.set_length(total);
    }

    /// Status text after the counter (the round of a migration).
    pub fn message(&self, m: String) {
        self.bar.set_message(m);
    }

    /// Remove the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

/// What a save, restore or migration did, for its closing line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Pages sent (or received), counting resends.
    pub pages: u64,
    /// Time the guest did not run.
    pub downtime: Duration,
    /// Total time.
    pub total: Duration,
}

impl Summary {
    /// "`N` pages, downtime `D` ms, total `T` ms".
    pub fn line(&self) -> String {
        format!(
            "{} pages sent, downtime {} ms, total {} ms",
            self.pages,
            self.downtime.as_millis(),
            self.total.as_millis()
        )
    }
}
