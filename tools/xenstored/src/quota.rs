//! Per-domain quotas, so that one guest cannot exhaust the store: nodes
//! owned, watches, open transactions and the size of one value. Privileged
//! callers (dom0, the socket) are exempt, as in Xen's C xenstored, whose
//! defaults these are. Exceeding a quota is `ENOSPC`, except watches
//! (`E2BIG`), again as the C xenstored answers.

use crate::error::{XsError, XsResult};
use crate::store::perms::Caller;

/// The limits applied to unprivileged domains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// Nodes a domain may own (`quota_nb_entry_per_domain`).
    pub max_nodes: usize,
    /// Watches per connection (`quota_nb_watch_per_domain`).
    pub max_watches: usize,
    /// Open transactions per connection (`quota_max_transaction`).
    pub max_transactions: usize,
    /// Largest value (`quota_max_entry_size`).
    pub max_entry_size: usize,
    /// Watch events queued for one connection before further ones are
    /// dropped (protects the daemon's memory from a guest that never reads).
    pub max_queued_events: usize,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            max_nodes: 1000,
            max_watches: 128,
            max_transactions: 10,
            max_entry_size: 2048,
            max_queued_events: 1024,
        }
    }
}

impl Quota {
    /// May `caller`, owning `owned` nodes, create `new` more?
    pub fn check_nodes(&self, caller: &Caller, owned: usize, new: usize) -> XsResult<()> {
        if !caller.privileged && owned.saturating_add(new) > self.max_nodes {
            return Err(XsError::NoSpc);
        }
        Ok(())
    }

    /// May `caller` store a value of `len` bytes?
    pub fn check_entry_size(&self, caller: &Caller, len: usize) -> XsResult<()> {
        if !caller.privileged && len > self.max_entry_size {
            return Err(XsError::NoSpc);
        }
        Ok(())
    }

    /// May `caller`, with `count` watches, add one?
    pub fn check_watches(&self, caller: &Caller, count: usize) -> XsResult<()> {
        if !caller.privileged && count >= self.max_watches {
            return Err(XsError::TooBig);
        }
        Ok(())
    }

    /// May `caller`, with `count` open transactions, start one?
    pub fn check_transactions(&self, caller: &Caller, count: usize) -> XsResult<()> {
        if !caller.privileged && count >= self.max_transactions {
            return Err(XsError::NoSpc);
        }
        Ok(())
    }

    /// The limits as `XS_CONTROL quota` prints them.
    pub fn describe(&self) -> String {
        format!(
            "Nodes per domain: {}\nWatches per domain: {}\nTransactions per domain: {}\nMax. entry size: {}\nQueued watch events: {}\n",
            self.max_nodes, self.max_watches, self.max_transactions, self.max_entry_size, self.max_queued_events
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_apply_to_guests_only() {
        let q = Quota {
            max_nodes: 2,
            ..Quota::default()
        };
        let g = Caller::guest(1);
        assert_eq!(q.check_nodes(&g, 1, 1), Ok(()));
        assert_eq!(q.check_nodes(&g, 2, 1), Err(XsError::NoSpc));
        assert_eq!(q.check_nodes(&Caller::DOM0, 99, 1), Ok(()));
        assert_eq!(q.check_watches(&g, 128), Err(XsError::TooBig));
        assert_eq!(q.check_transactions(&g, 10), Err(XsError::NoSpc));
        assert_eq!(q.check_entry_size(&g, 2049), Err(XsError::NoSpc));
    }
}
