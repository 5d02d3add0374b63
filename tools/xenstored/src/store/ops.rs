//! The node operations behind `XS_READ`, `XS_WRITE`, `XS_MKDIR`, `XS_RM`,
//! `XS_DIRECTORY` and the permission requests, with Xen's permission rules:
//! reading needs read access, changing needs write access, creating needs
//! write access on the nearest existing ancestor, setting permissions needs
//! ownership. A missing node is `ENOENT` only when the caller could have
//! seen it; otherwise `EACCES`, so guests cannot probe what they cannot read.

use super::perms::{Caller, Perms, Rights};
use super::{Node, NodeView};
use crate::error::{XsError, XsResult};
use crate::path;
use crate::quota::Quota;

/// A change that watches must hear about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// The changed node.
    pub path: String,
    /// Its permissions (after the change, or before a removal): only
    /// watchers allowed to read them are told.
    pub perms: Perms,
    /// Only watches on exactly this path fire (children of a removed node).
    pub exact: bool,
}

/// The node at `path` if `caller` has the `need` rights on it.
pub fn lookup(
    view: &mut dyn NodeView,
    caller: &Caller,
    path: &str,
    need: Rights,
) -> XsResult<Node> {
    match view.get(path) {
        Some(node) if node.perms.rights_for(caller).covers(need) => Ok(node),
        Some(_) => Err(XsError::Acces),
        None => Err(missing_error(view, caller, path, need)),
    }
}

/// Xen's `errno_from_parents`: `ENOENT` when the nearest existing ancestor
/// grants `need`, else `EACCES`.
fn missing_error(view: &mut dyn NodeView, caller: &Caller, path: &str, need: Rights) -> XsError {
    let mut p = path;
    loop {
        p = path::parent(p);
        if let Some(node) = view.get(p) {
            return if node.perms.rights_for(caller).covers(need) {
                XsError::NoEnt
            } else {
                XsError::Acces
            };
        }
        if p == "/" {
            return XsError::NoEnt;
        }
    }
}

/// `XS_READ`.
pub fn read(view: &mut dyn NodeView, caller: &Caller, path: &str) -> XsResult<Vec<u8>> {
    Ok(lookup(view, caller, path, Rights::READ)?.value)
}

/// `XS_DIRECTORY` and `XS_DIRECTORY_PART`: the node, for its children and generation.
pub fn directory(view: &mut dyn NodeView, caller: &Caller, path: &str) -> XsResult<Node> {
    lookup(view, caller, path, Rights::READ)
}

/// `XS_GET_PERMS`.
pub fn get_perms(view: &mut dyn NodeView, caller: &Caller, path: &str) -> XsResult<Perms> {
    Ok(lookup(view, caller, path, Rights::READ)?.perms)
}

/// `XS_WRITE`: sets the value, creating the node and missing ancestors.
pub fn write(
    view: &mut dyn NodeView,
    caller: &Caller,
    quota: &Quota,
    path: &str,
    value: &[u8],
) -> XsResult<Change> {
    quota.check_entry_size(caller, value.len())?;
    match lookup(view, caller, path, Rights::WRITE) {
        Ok(mut node) => {
            node.value = value.to_vec();
            let perms = node.perms.clone();
            view.put(path, node);
            Ok(Change {
                path: path.to_string(),
                perms,
                exact: false,
            })
        }
        Err(XsError::NoEnt) => create(view, caller, quota, path, value),
        Err(e) => Err(e),
    }
}

/// `XS_MKDIR`: creates an empty node; an existing one is left alone (no change).
pub fn mkdir(
    view: &mut dyn NodeView,
    caller: &Caller,
    quota: &Quota,
    path: &str,
) -> XsResult<Option<Change>> {
    match lookup(view, caller, path, Rights::WRITE) {
        Ok(_) => Ok(None),
        Err(XsError::NoEnt) => create(view, caller, quota, path, &[]).map(Some),
        Err(e) => Err(e),
    }
}

/// Creates `path` with `value`, and empty ancestors as needed. New nodes
/// inherit their parent's permissions; an unprivileged creator owns them.
fn create(
    view: &mut dyn NodeView,
    caller: &Caller,
    quota: &Quota,
    path: &str,
    value: &[u8],
) -> XsResult<Change> {
    let mut missing = vec![path.to_string()];
    let mut parent = path::parent(path).to_string();
    let mut parent_node = loop {
        match view.get(&parent) {
            Some(node) => break node,
            None => {
                missing.push(parent.clone());
                parent = path::parent(&parent).to_string();
            }
        }
    };
    quota.check_nodes(caller, view.entries_of(caller.domid), missing.len())?;
    let mut perms = parent_node.perms.clone();
    if !caller.privileged {
        perms = perms.with_owner(caller.domid);
    }
    for p in missing.iter().rev() {
        parent_node.children.push(path::basename(p).to_string());
        view.put(&parent, parent_node);
        let v = if p == path {
            value.to_vec()
        } else {
            Vec::new()
        };
        parent_node = Node::new(v, perms.clone());
        parent = p.clone();
    }
    view.put(path, parent_node);
    Ok(Change {
        path: path.to_string(),
        perms,
        exact: false,
    })
}

/// `XS_RM`: removes a node and everything below it. Removing a missing
/// node whose parent exists succeeds with no change, as in Xen.
pub fn rm(view: &mut dyn NodeView, caller: &Caller, path: &str) -> XsResult<Vec<Change>> {
    if path == "/" {
        return Err(XsError::Inval);
    }
    let node = match lookup(view, caller, path, Rights::WRITE) {
        Ok(node) => node,
        Err(XsError::NoEnt) if view.get(path::parent(path)).is_some() => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let parent = path::parent(path);
    if let Some(mut pnode) = view.get(parent) {
        let name = path::basename(path);
        pnode.children.retain(|c| c != name);
        view.put(parent, pnode);
    }
    let mut changes = vec![Change {
        path: path.to_string(),
        perms: node.perms.clone(),
        exact: false,
    }];
    let mut stack = vec![(path.to_string(), node)];
    while let Some((p, n)) = stack.pop() {
        for child in &n.children {
            let cp = path::join(&p, child);
            if let Some(cn) = view.get(&cp) {
                changes.push(Change {
                    path: cp.clone(),
                    perms: cn.perms.clone(),
                    exact: true,
                });
                stack.push((cp, cn));
            }
        }
        view.delete(&p);
    }
    Ok(changes)
}

/// `XS_SET_PERMS`: only the owner (or a privileged caller) may, and an
/// unprivileged owner may not give the node away (`EPERM`).
pub fn set_perms(
    view: &mut dyn NodeView,
    caller: &Caller,
    quota: &Quota,
    path: &str,
    perms: Perms,
) -> XsResult<Change> {
    let mut node = lookup(view, caller, path, Rights::ALL)?;
    let old_owner = node.perms.owner();
    if !caller.privileged && perms.owner() != old_owner {
        return Err(XsError::Perm);
    }
    if perms.owner() != old_owner {
        let new_owner = Caller::guest(perms.owner());
        quota.check_nodes(
            &Caller {
                privileged: caller.privileged,
                ..new_owner
            },
            view.entries_of(perms.owner()),
            1,
        )?;
    }
    node.perms = perms.clone();
    view.put(path, node);
    Ok(Change {
        path: path.to_string(),
        perms,
        exact: false,
    })
}

#[cfg(test)]
mod tests {
    use super::super::perms::Access;
    use super::super::Store;
    use super::*;

    fn store() -> Store {
        let mut s = Store::new();
        let q = Quota::default();
        write(&mut s, &Caller::DOM0, &q, "/local/domain/5/x", b"1").unwrap();
        set_perms(
            &mut s,
            &Caller::DOM0,
            &q,
            "/local/domain/5",
            Perms::new(5, Access::None),
        )
        .unwrap();
        s
    }

    #[test]
    fn write_creates_parents_and_lists_children() {
        let mut s = store();
        assert_eq!(
            read(&mut s, &Caller::DOM0, "/local/domain/5/x").unwrap(),
            b"1"
        );
        assert_eq!(
            directory(&mut s, &Caller::DOM0, "/local/domain")
                .unwrap()
                .children,
            ["5"]
        );
        assert_eq!(read(&mut s, &Caller::DOM0, "/local"), Ok(Vec::new()));
        assert_eq!(read(&mut s, &Caller::DOM0, "/nope"), Err(XsError::NoEnt));
    }

    #[test]
    fn guest_permissions() {
        let mut s = store();
        let q = Quota::default();
        let g5 = Caller::guest(5);
        let g6 = Caller::guest(6);
        // Guest 5 owns its home and what it creates there.
        write(&mut s, &g5, &q, "/local/domain/5/data/a", b"v").unwrap();
        assert_eq!(
            get_perms(&mut s, &g5, "/local/domain/5/data/a")
                .unwrap()
                .owner(),
            5
        );
        // Others cannot see, read, write or probe it.
        assert_eq!(
            read(&mut s, &g6, "/local/domain/5/data/a"),
            Err(XsError::Acces)
        );
        assert_eq!(
            read(&mut s, &g6, "/local/domain/5/missing"),
            Err(XsError::Acces)
        );
        assert_eq!(
            write(&mut s, &g6, &q, "/local/domain/5/y", b""),
            Err(XsError::Acces)
        );
        assert_eq!(
            write(&mut s, &g5, &q, "/elsewhere", b""),
            Err(XsError::Acces)
        );
        // Granting read lets 6 read but not write.
        let p = Perms::parse([&b"n5"[..], b"r6"]).unwrap();
        set_perms(&mut s, &g5, &q, "/local/domain/5/data/a", p).unwrap();
        assert_eq!(read(&mut s, &g6, "/local/domain/5/data/a").unwrap(), b"v");
        assert_eq!(
            write(&mut s, &g6, &q, "/local/domain/5/data/a", b"w"),
            Err(XsError::Acces)
        );
        assert_eq!(
            rm(&mut s, &g6, "/local/domain/5/data/a"),
            Err(XsError::Acces)
        );
        // Only the owner sets permissions, and may not give the node away.
        assert_eq!(
            set_perms(
                &mut s,
                &g6,
                &q,
                "/local/domain/5/data/a",
                Perms::new(6, Access::None)
            ),
            Err(XsError::Acces)
        );
        assert_eq!(
            set_perms(
                &mut s,
                &g5,
                &q,
                "/local/domain/5/data/a",
                Perms::new(6, Access::None)
            ),
            Err(XsError::Perm)
        );
    }

    #[test]
    fn rm_semantics() {
        let mut s = store();
        let q = Quota::default();
        write(&mut s, &Caller::DOM0, &q, "/a/b/c", b"").unwrap();
        assert_eq!(rm(&mut s, &Caller::DOM0, "/"), Err(XsError::Inval));
        assert_eq!(rm(&mut s, &Caller::DOM0, "/a/zz"), Ok(Vec::new()));
        assert_eq!(rm(&mut s, &Caller::DOM0, "/a/zz/yy"), Err(XsError::NoEnt));
        let ch = rm(&mut s, &Caller::DOM0, "/a").unwrap();
        assert_eq!(
            ch.iter()
                .map(|c| (c.path.as_str(), c.exact))
                .collect::<Vec<_>>(),
            [("/a", false), ("/a/b", true), ("/a/b/c", true)]
        );
        assert!(s.node("/a/b/c").is_none());
        assert!(!s.node("/").unwrap().children.contains(&"a".to_string()));
    }

    #[test]
    fn node_quota_and_entry_size() {
        let mut s = store();
        let q = Quota {
            max_nodes: 3,
            max_entry_size: 4,
            ..Quota::default()
        };
        let g5 = Caller::guest(5);
        assert_eq!(
            write(&mut s, &g5, &q, "/local/domain/5/big", b"12345"),
            Err(XsError::NoSpc)
        );
        // Guest 5 owns /local/domain/5 already: two more nodes fit.
        write(&mut s, &g5, &q, "/local/domain/5/a", b"").unwrap();
        write(&mut s, &g5, &q, "/local/domain/5/b", b"").unwrap();
        assert_eq!(
            mkdir(&mut s, &g5, &q, "/local/domain/5/c"),
            Err(XsError::NoSpc)
        );
        rm(&mut s, &g5, "/local/domain/5/a").unwrap();
        assert!(mkdir(&mut s, &g5, &q, "/local/domain/5/c")
            .unwrap()
            .is_some());
        assert_eq!(mkdir(&mut s, &g5, &q, "/local/domain/5/c"), Ok(None));
    }
}
