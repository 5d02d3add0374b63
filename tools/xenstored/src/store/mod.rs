//! The node tree: every node's value, permissions, children and generation,
//! keyed by canonical path, with per-owner node counts for quotas.
//!
//! Requests never touch [`Store`] directly; they go through a [`NodeView`]
//! (the store itself, or a transaction's overlay over it) and the
//! operations in [`ops`], so the same code serves both.

pub mod ops;
pub mod perms;

use std::collections::HashMap;

use perms::{Access, Perms};

/// One node.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// The value (arbitrary bytes).
    pub value: Vec<u8>,
    /// Permissions, owner first.
    pub perms: Perms,
    /// Child names, in creation order (as Xen lists them).
    pub children: Vec<String>,
    /// Bumped on every change of the node (value, perms or children).
    pub generation: u64,
}

impl Node {
    /// A node with a value and permissions, no children.
    pub fn new(value: Vec<u8>, perms: Perms) -> Self {
        Node {
            value,
            perms,
            children: Vec::new(),
            generation: 0,
        }
    }
}

/// Read and write access to nodes, as requests see them.
pub trait NodeView {
    /// The node at a canonical path (a copy).
    fn get(&mut self, path: &str) -> Option<Node>;
    /// Creates or replaces one node (its children list is taken as given).
    fn put(&mut self, path: &str, node: Node);
    /// Deletes one node (not its children, not its parent's entry).
    fn delete(&mut self, path: &str);
    /// Number of nodes owned by `domid`, as this view sees them.
    fn entries_of(&self, domid: u32) -> usize;
}

/// The committed state of the store.
#[derive(Debug)]
pub struct Store {
    nodes: HashMap<String, Node>,
    next_generation: u64,
    entries: HashMap<u32, usize>,
}

impl Default for Store {
    fn default() -> Self {
        Self::new()
    }
}

impl Store {
    /// A store holding only `/`, owned by dom0 with no access for others.
    pub fn new() -> Self {
        let mut store = Store {
            nodes: HashMap::new(),
            next_generation: 1,
            entries: HashMap::new(),
        };
        store.put("/", Node::new(Vec::new(), Perms::new(0, Access::None)));
        store
    }

    /// The node at `path`, by reference.
    pub fn node(&self, path: &str) -> Option<&Node> {
        self.nodes.get(path)
    }

    /// Generation of the node at `path` (`None` when absent).
    pub fn generation_of(&self, path: &str) -> Option<u64> {
        self.nodes.get(path).map(|n| n.generation)
    }

    /// Total number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// True when only... never: `/` always exists. Present for clippy.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    fn count(&mut self, owner: u32, delta: isize) {
        let e = self.entries.entry(owner).or_insert(0);
        *e = e.saturating_add_signed(delta);
    }
}

impl NodeView for Store {
    fn get(&mut self, path: &str) -> Option<Node> {
        self.nodes.get(path).cloned()
    }

    fn put(&mut self, path: &str, mut node: Node) {
        node.generation = self.next_generation;
        self.next_generation += 1;
        self.count(node.perms.owner(), 1);
        if let Some(old) = self.nodes.insert(path.to_string(), node) {
            self.count(old.perms.owner(), -1);
        }
    }

    fn delete(&mut self, path: &str) {
        if let Some(old) = self.nodes.remove(path) {
            self.count(old.perms.owner(), -1);
        }
    }

    fn entries_of(&self, domid: u32) -> usize {
        self.entries.get(&domid).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_generations() {
        let mut s = Store::new();
        assert_eq!(s.entries_of(0), 1);
        s.put("/a", Node::new(b"x".to_vec(), Perms::new(3, Access::None)));
        let g1 = s.generation_of("/a").unwrap();
        s.put("/a", Node::new(b"y".to_vec(), Perms::new(4, Access::None)));
        assert!(s.generation_of("/a").unwrap() > g1);
        assert_eq!((s.entries_of(3), s.entries_of(4)), (0, 1));
        s.delete("/a");
        assert_eq!(s.entries_of(4), 0);
        assert_eq!(s.len(), 1);
    }
}
