//! xm's view of xenstore: domain names (`/local/domain/<id>/name`) read
//! through the xenstore client library, with `Domain-<id>` as the fallback
//! when no xenstored runs or the domain has no name node.
//!
//! xm talks to the daemon's unix socket only (`$XENSTORED_PATH`, else
//! [`xenstore::DEFAULT_SOCKET`]), never through `/dev/xen/xenbus`: in a
//! dom0 without a xenstored the kernel's device would wait forever for an
//! answer. Every request has a [`TIMEOUT`], so a stuck daemon slows xm down
//! but cannot hang it. One connection serves the whole process; after a
//! failure xm stops asking and falls back for the rest of the run.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use dom0_abi::DomId;
use xenstore::client::{Client, ClientError, TxId};

/// How long one xenstore request may take before xm gives up on xenstore.
pub const TIMEOUT: Duration = Duration::from_secs(2);

/// Environment variable naming the daemon's socket (as Xen's libraries use it).
pub const SOCKET_ENV: &str = "XENSTORED_PATH";

/// The xenstore path of a domain's name.
pub fn name_path(id: DomId) -> String {
    format!("/local/domain/{}/name", id.0)
}

/// The name xm shows when xenstore has none: `Domain-<id>`.
pub fn fallback_name(id: DomId) -> String {
    format!("Domain-{}", id.0)
}

/// The socket xm connects to.
pub fn socket_path() -> PathBuf {
    std::env::var_os(SOCKET_ENV).map_or_else(|| PathBuf::from(xenstore::DEFAULT_SOCKET), PathBuf::from)
}

/// Where names come from.
enum State {
    /// Not tried yet.
    Unopened,
    /// Connected.
    Open(Client),
    /// No daemon, or it failed once: fall back from now on.
    Unavailable,
}

/// A source of domain names backed by one xenstore connection.
pub struct Names {
    socket: PathBuf,
    state: State,
}

impl Names {
    /// Names from the daemon listening on `socket` (connects on first use).
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Names { socket: socket.into(), state: State::Unopened }
    }

    /// A source that never asks xenstore.
    pub fn unavailable() -> Self {
        Names { socket: PathBuf::new(), state: State::Unavailable }
    }

    fn client(&mut self) -> Option<&mut Client> {
        if let State::Unopened = self.state {
            self.state = match Client::connect_timeout(&self.socket, TIMEOUT) {
                Ok(c) => State::Open(c),
                Err(_) => State::Unavailable,
            };
        }
        match &mut self.state {
            State::Open(c) => Some(c),
            _ => None,
        }
    }

    /// The name xenstore holds for `id`, if any. A missing node is `None`;
    /// a broken connection also makes later lookups return `None`.
    pub fn lookup(&mut self, id: DomId) -> Option<String> {
        let c = self.client()?;
        match c.read_string(TxId::NONE, &name_path(id)) {
            Ok(name) if !name.is_empty() => Some(name),
            Ok(_) | Err(ClientError::Xs(_)) => None,
            Err(_) => {
                self.state = State::Unavailable;
                None
            }
        }
    }

    /// When `id` started (`<vm>/start_time`, seconds since the epoch), if
    /// xenstore knows.
    pub fn start_time(&mut self, id: DomId) -> Option<f64> {
        let c = self.client()?;
        let vm = c.read_string(TxId::NONE, &format!("/local/domain/{}/vm", id.0)).ok()?;
        c.read_string(TxId::NONE, &format!("{}/start_time", vm.trim())).ok()?.trim().parse().ok()
    }

    /// The name of `id`: from xenstore, else [`fallback_name`].
    pub fn name(&mut self, id: DomId) -> String {
        self.lookup(id).unwrap_or_else(|| fallback_name(id))
    }
}

/// The process-wide source used by [`domain_name`] (opened lazily on
/// [`socket_path`]).
static NAMES: Mutex<Option<Names>> = Mutex::new(None);

/// Replaces the process-wide name source (tests; a future `xm` option).
pub fn set_names(names: Names) {
    *NAMES.lock().unwrap_or_else(|e| e.into_inner()) = Some(names);
}

/// When domain `id` started (seconds since the epoch), from xenstore.
pub fn domain_start_time(id: DomId) -> Option<f64> {
    let mut guard = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    guard.get_or_insert_with(|| Names::new(socket_path())).start_time(id)
}

/// The name of domain `id`, from xenstore when a xenstored runs, else
/// `Domain-<id>`.
pub fn domain_name(id: DomId) -> String {
    let mut guard = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    guard.get_or_insert_with(|| Names::new(socket_path())).name(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_xenstored::TestXenstored as TestDaemon;

    #[test]
    fn names_from_xenstore_with_fallback() {
        let d = TestDaemon::start("names");
        let mut c = Client::connect(&d.socket).unwrap();
        c.write(TxId::NONE, "/local/domain/3/name", b"guest3").unwrap();
        c.write(TxId::NONE, "/local/domain/4/name", b"").unwrap();
        let mut names = Names::new(&d.socket);
        assert_eq!(names.name(DomId(0)), "Domain-0");
        assert_eq!(names.name(DomId(3)), "guest3");
        assert_eq!(names.name(DomId(4)), "Domain-4");
        assert_eq!(names.name(DomId(7)), "Domain-7");
        drop(d);
        // The daemon went away: fall back, and keep falling back.
        assert_eq!(names.name(DomId(3)), "Domain-3");
        assert_eq!(names.name(DomId(3)), "Domain-3");
    }

    #[test]
    fn no_daemon_means_fallback_names() {
        let mut names = Names::new("/nonexistent/xenstored/socket");
        assert_eq!(names.name(DomId(5)), "Domain-5");
        assert_eq!(Names::unavailable().name(DomId(0)), "Domain-0");
    }
}
