//! The commands `xm save DOM FILE`, `xm restore FILE`, `xm migrate [-l]
//! [-p PORT] DOM HOST` and `xm serve [-p PORT]`.
//!
//! Each prints one closing line on stdout (pages sent, downtime, total
//! time); the progress bar goes to stderr when that is a terminal.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use xenstore::client::Client;

use super::image::{self, ImageError};
use super::migrate::{self, MigrateError};
use super::progress::Progress;
use crate::cli::{privcmd_path, Command, CREATE_XS_TIMEOUT};
use crate::commands::{self, CmdError};
use crate::hypervisor::privcmd::Privcmd;
use crate::{lifecycle, xs};

/// Why one of these commands failed.
#[derive(Debug, thiserror::Error)]
pub enum SaveCmdError {
    /// The hypervisor or the domain lookup failed.
    #[error(transparent)]
    Cmd(#[from] CmdError),
    /// No xenstored.
    #[error("no xenstored answers at {0}")]
    NoXenstore(String),
    /// The image could not be written or read.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Saving or restoring failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// Migrating failed.
    #[error(transparent)]
    Migrate(#[from] MigrateError),
    /// Destroying the saved domain failed.
    #[error("{0}")]
    Lifecycle(#[from] lifecycle::LifecycleError),
    /// Output failed.
    #[error("writing output: {0}")]
    Output(#[from] std::io::Error),
}

/// Whether `cmd` is one of ours.
pub fn handles(cmd: &Command) -> bool {
    matches!(cmd, Command::Save { .. } | Command::Restore { .. } | Command::Migrate { .. } | Command::Serve { .. })
}

fn xenstore() -> Result<Client, SaveCmdError> {
    Client::connect_timeout(xs::socket_path(), CREATE_XS_TIMEOUT)
        .map_err(|_| SaveCmdError::NoXenstore(xs::socket_path().display().to_string()))
}

fn file_err(path: &Path) -> impl FnOnce(std::io::Error) -> SaveCmdError + '_ {
    move |source| SaveCmdError::File { path: path.display().to_string(), source }
}

/// Run `cmd` (one of [`handles`]).
pub fn run(cmd: &Command, out: &mut dyn Write) -> Result<(), crate::cli::CliError> {
    Ok(run_inner(cmd, out)?)
}

fn run_inner(cmd: &Command, out: &mut dyn Write) -> Result<(), SaveCmdError> {
    match cmd {
        Command::Save { dom, file } => {
            let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
            let d = commands::find_domain(&hv, dom)?;
            let mut xs = xenstore()?;
            let existed = file.exists();
            let f = File::create(file).map_err(file_err(file))?;
            let mut w = BufWriter::with_capacity(1 << 20, f);
            let progress = Progress::new("saving", 0);
            let saved = image::save_domain(&hv, &mut xs, d.domain, &mut w, &progress);
            progress.finish();
            let summary = match saved {
                Ok(s) => s,
                Err(e) => {
                    drop(w);
                    // Only a file this command made is removed (not
                    // /dev/null, nor what was there before).
                    if !existed && file.is_file() {
                        let _ = std::fs::remove_file(file);
                    }
                    return Err(e.into());
                }
            };
            lifecycle::destroy(&hv, Some(&mut xs), d.domain)?;
            writeln!(out, "Saved domain {dom} to {}: {}", file.display(), summary.line())?;
        }
        Command::Restore { file } => {
            // The whole image is checked first: a bad one creates nothing.
            let f = File::open(file).map_err(file_err(file))?;
            image::validate(&mut BufReader::with_capacity(1 << 20, f))?;
            let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
            let mut xs = xenstore()?;
            let f = File::open(file).map_err(file_err(file))?;
            let progress = Progress::new("restoring", 0);
            let restored = image::restore_domain(&hv, &mut xs, &mut BufReader::with_capacity(1 << 20, f), &progress);
            progress.finish();
            let (built, summary) = restored?;
            writeln!(out, "Restored domain from {} as domain {}: {}", file.display(), built.domid.0, summary.line())?;
        }
        Command::Migrate { live, port, dom, host } => {
            let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
            let d = commands::find_domain(&hv, dom)?;
            let mut xs = xenstore()?;
            let sock = migrate::connect(host, *port)?;
            let progress = Progress::new("migrating", 0);
            let sent = migrate::send(&hv, &mut xs, d.domain, sock, *live, &progress);
            progress.finish();
            let (remote, summary, rounds) = sent?;
            writeln!(
                out,
                "Migrated domain {dom} to {host} (domain {remote} there) in {} round(s): {}",
                rounds.pages.len(),
                summary.line()
            )?;
        }
        Command::Serve { port } => {
            let hv = Privcmd::open(&privcmd_path()).map_err(CmdError::from)?;
            migrate::serve(&hv, *port, out)?;
        }
        _ => unreachable!("handles() says which commands come here"),
    }
    Ok(())
}
