//! Transactions: an overlay of a connection's uncommitted changes over the
//! store, with optimistic concurrency control. Every node a transaction
//! reads or writes has its generation recorded at first access; the commit
//! (`XS_TRANSACTION_END` "T") fails with `EAGAIN` if any of them changed in
//! the store meanwhile, so a committed transaction behaves as if it ran
//! alone on the snapshot it observed. Watches fire only at commit.

use std::collections::HashMap;

use crate::error::{XsError, XsResult};
use crate::store::ops::Change;
use crate::store::{Node, NodeView, Store};

/// One open transaction.
#[derive(Debug, Default)]
pub struct Transaction {
    /// Generation (or absence) of every node accessed, at first access.
    accessed: HashMap<String, Option<u64>>,
    /// Uncommitted nodes (`None`: deleted).
    writes: HashMap<String, Option<Node>>,
    /// Net change of node counts per owner.
    entry_delta: HashMap<u32, isize>,
    /// Changes to announce to watchers at commit.
    changes: Vec<Change>,
}

impl Transaction {
    /// An empty transaction.
    pub fn new() -> Self {
        Self::default()
    }

    /// The transaction seen as a [`NodeView`] over `store`.
    pub fn view<'a>(&'a mut self, store: &'a Store) -> TxView<'a> {
        TxView { store, tx: self }
    }

    /// Records changes to fire at commit.
    pub fn record_changes(&mut self, changes: impl IntoIterator<Item = Change>) {
        self.changes.extend(changes);
    }

    /// Number of nodes the transaction has written.
    pub fn writes(&self) -> usize {
        self.writes.len()
    }

    /// Applies the transaction to `store`, or fails with `EAGAIN` (leaving
    /// the store untouched) when a node it accessed changed meanwhile.
    /// Returns the changes to announce.
    pub fn commit(self, store: &mut Store) -> XsResult<Vec<Change>> {
        for (path, generation) in &self.accessed {
            if store.generation_of(path) != *generation {
                return Err(XsError::Again);
            }
        }
        for (path, node) in self.writes {
            match node {
                Some(node) => store.put(&path, node),
                None => store.delete(&path),
            }
        }
        Ok(self.changes)
    }
}

/// A transaction's view: its own writes first, then the store.
pub struct TxView<'a> {
    store: &'a Store,
    tx: &'a mut Transaction,
}

impl TxView<'_> {
    fn visible(&self, path: &str) -> Option<&Node> {
        match self.tx.writes.get(path) {
            Some(node) => node.as_ref(),
            None => self.store.node(path),
        }
    }

    fn record(&mut self, path: &str) {
        if !self.tx.accessed.contains_key(path) {
            let generation = self.store.generation_of(path);
            self.tx.accessed.insert(path.to_string(), generation);
        }
    }

    fn count(&mut self, owner: u32, delta: isize) {
        *self.tx.entry_delta.entry(owner).or_insert(0) += delta;
    }
}

impl NodeView for TxView<'_> {
    fn get(&mut self, path: &str) -> Option<Node> {
        self.record(path);
        self.visible(path).cloned()
    }

    fn put(&mut self, path: &str, node: Node) {
        self.record(path);
        if let Some(old) = self.visible(path).map(|n| n.perms.owner()) {
            self.count(old, -1);
        }
        self.count(node.perms.owner(), 1);
        self.tx.writes.insert(path.to_string(), Some(node));
    }

    fn delete(&mut self, path: &str) {
        self.record(path);
        if let Some(old) = self.visible(path).map(|n| n.perms.owner()) {
            self.count(old, -1);
        }
        self.tx.writes.insert(path.to_string(), None);
    }

    fn entries_of(&self, domid: u32) -> usize {
        let delta = self.tx.entry_delta.get(&domid).copied().unwrap_or(0);
        self.store.entries_of(domid).saturating_add_signed(delta)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quota::Quota;
    use crate::store::ops;
    use crate::store::perms::Caller;

    const D0: Caller = Caller::DOM0;

    #[test]
    fn isolated_until_commit() {
        let mut store = Store::new();
        let q = Quota::default();
        let mut tx = Transaction::new();
        ops::write(&mut tx.view(&store), &D0, &q, "/t/a", b"1").unwrap();
        assert_eq!(ops::read(&mut tx.view(&store), &D0, "/t/a").unwrap(), b"1");
        assert_eq!(ops::read(&mut store, &D0, "/t/a"), Err(XsError::NoEnt));
        tx.commit(&mut store).unwrap();
        assert_eq!(ops::read(&mut store, &D0, "/t/a").unwrap(), b"1");
        assert_eq!(store.entries_of(0), 3);
    }

    #[test]
    fn conflict_is_eagain() {
        let mut store = Store::new();
        let q = Quota::default();
        ops::write(&mut store, &D0, &q, "/c", b"0").unwrap();
        let mut t1 = Transaction::new();
        let mut t2 = Transaction::new();
        ops::read(&mut t1.view(&store), &D0, "/c").unwrap();
        ops::write(&mut t1.view(&store), &D0, &q, "/c", b"1").unwrap();
        ops::read(&mut t2.view(&store), &D0, "/c").unwrap();
        ops::write(&mut t2.view(&store), &D0, &q, "/c", b"2").unwrap();
        t1.commit(&mut store).unwrap();
        assert_eq!(t2.commit(&mut store), Err(XsError::Again));
        assert_eq!(ops::read(&mut store, &D0, "/c").unwrap(), b"1");
    }

    #[test]
    fn disjoint_transactions_both_commit() {
        let mut store = Store::new();
        let q = Quota::default();
        ops::write(&mut store, &D0, &q, "/x/a", b"").unwrap();
        ops::write(&mut store, &D0, &q, "/x/b", b"").unwrap();
        let mut t1 = Transaction::new();
        let mut t2 = Transaction::new();
        ops::write(&mut t1.view(&store), &D0, &q, "/x/a", b"1").unwrap();
        ops::write(&mut t2.view(&store), &D0, &q, "/x/b", b"2").unwrap();
        t1.commit(&mut store).unwrap();
        t2.commit(&mut store).unwrap();
    }
}
