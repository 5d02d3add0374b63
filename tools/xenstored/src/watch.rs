//! Watches: a connection's (path, token) registrations and the rule that
//! decides which of them a change fires, and with which path.
//!
//! A change of a node fires every watch on that node or an ancestor of it,
//! reporting the changed path; the children of a removed node fire only
//! watches on exactly their path. Special watches (`@introduceDomain`,
//! `@releaseDomain`) fire only on their own event. Relative watches report
//! paths relative to the connection's home.

use crate::error::{XsError, XsResult};
use crate::path;

/// One registered watch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Watch {
    /// Canonical path or special name watched.
    pub path: String,
    /// The client's token, echoed in events.
    pub token: String,
    /// The client gave a relative path.
    pub relative: bool,
}

/// An event to send: `path\0token\0`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchEvent {
    /// Path as the watcher sees it.
    pub path: String,
    /// The watch's token.
    pub token: String,
}

impl WatchEvent {
    /// The `XS_WATCH_EVENT` payload.
    pub fn payload(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.path.len() + self.token.len() + 2);
        out.extend_from_slice(self.path.as_bytes());
        out.push(0);
        out.extend_from_slice(self.token.as_bytes());
        out.push(0);
        out
    }
}

/// A connection's watches.
#[derive(Clone, Debug, Default)]
pub struct WatchList {
    watches: Vec<Watch>,
}

impl WatchList {
    /// Number of watches.
    pub fn len(&self) -> usize {
        self.watches.len()
    }

    /// True without watches.
    pub fn is_empty(&self) -> bool {
        self.watches.is_empty()
    }

    /// Adds a watch; the same path and token twice is `EEXIST`.
    pub fn add(&mut self, watch: Watch) -> XsResult<()> {
        if self
            .watches
            .iter()
            .any(|w| w.path == watch.path && w.token == watch.token)
        {
            return Err(XsError::Exist);
        }
        self.watches.push(watch);
        Ok(())
    }

    /// Removes a watch, `ENOENT` if there is none.
    pub fn remove(&mut self, path: &str, token: &str) -> XsResult<()> {
        let before = self.watches.len();
        self.watches
            .retain(|w| !(w.path == path && w.token == token));
        if self.watches.len() == before {
            return Err(XsError::NoEnt);
        }
        Ok(())
    }

    /// Drops every watch (`XS_RESET_WATCHES`).
    pub fn clear(&mut self) {
        self.watches.clear();
    }

    /// The events a change of `changed` fires; `home` is the connection's
    /// domain path for relative watches.
    pub fn fired(&self, changed: &str, exact: bool, home: &str) -> Vec<WatchEvent> {
        self.watches
            .iter()
            .filter(|w| {
                if exact {
                    w.path == changed
                } else {
                    path::is_child(changed, &w.path)
                }
            })
            .map(|w| WatchEvent {
                path: path::relative_to(changed, home, w.relative).to_string(),
                token: w.token.clone(),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(path: &str, token: &str, relative: bool) -> Watch {
        Watch {
            path: path.into(),
            token: token.into(),
            relative,
        }
    }

    #[test]
    fn matching() {
        let home = "/local/domain/1";
        let mut l = WatchList::default();
        l.add(w("/a", "t1", false)).unwrap();
        l.add(w("/local/domain/1/dev", "t2", true)).unwrap();
        l.add(w("@releaseDomain", "t3", false)).unwrap();
        assert_eq!(l.add(w("/a", "t1", false)), Err(XsError::Exist));
        assert_eq!(
            l.fired("/a/b", false, home),
            [WatchEvent {
                path: "/a/b".into(),
                token: "t1".into()
            }]
        );
        assert!(l.fired("/ab", false, home).is_empty());
        assert!(l.fired("/a/b", true, home).is_empty());
        assert_eq!(
            l.fired("/local/domain/1/dev/x", false, home)[0].path,
            "dev/x"
        );
        assert_eq!(l.fired("@releaseDomain", false, home).len(), 1);
        assert!(l.fired("/", false, home).is_empty());
        l.remove("/a", "t1").unwrap();
        assert_eq!(l.remove("/a", "t1"), Err(XsError::NoEnt));
        assert_eq!(
            WatchEvent {
                path: "p".into(),
                token: "t".into()
            }
            .payload(),
            b"p\0t\0"
        );
    }
}
