//! Xenstore path rules: validation, canonicalisation of relative paths
//! against a connection's domain path, and the parent/child relations used
//! by permissions and watches.

use dom0_abi::io::xenstore_ring::{XENSTORE_ABS_PATH_MAX, XENSTORE_REL_PATH_MAX};

use crate::error::{XsError, XsResult};

/// The home path of a domain: `/local/domain/<domid>`.
pub fn domain_path(domid: u32) -> String {
    format!("/local/domain/{domid}")
}

/// True for the special watch names (`@introduceDomain`, `@releaseDomain`, ...).
pub fn is_special(path: &str) -> bool {
    path.starts_with('@')
}

fn valid_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'/' | b'_' | b'-' | b'@')
}

/// Turns a path from a request into a canonical absolute path: relative
/// paths are joined to `home`; the result must be a valid node name (Xen's
/// character set, no empty components, no trailing `/`, length limits).
/// Special `@` names are accepted only when `allow_special`.
pub fn canonicalize(raw: &[u8], home: &str, allow_special: bool) -> XsResult<String> {
    let raw = std::str::from_utf8(raw).map_err(|_| XsError::Inval)?;
    if !raw.bytes().all(valid_char) || raw.is_empty() {
        return Err(XsError::Inval);
    }
    if is_special(raw) {
        if !allow_special || raw.len() > XENSTORE_REL_PATH_MAX || raw.contains('/') {
            return Err(XsError::Inval);
        }
        return Ok(raw.to_string());
    }
    let abs = if raw.starts_with('/') {
        raw.to_string()
    } else {
        if raw.len() > XENSTORE_REL_PATH_MAX {
            return Err(XsError::Inval);
        }
        format!("{home}/{raw}")
    };
    if abs.len() > XENSTORE_ABS_PATH_MAX
        || abs.contains("//")
        || (abs.len() > 1 && abs.ends_with('/'))
    {
        return Err(XsError::Inval);
    }
    Ok(abs)
}

/// The parent of a canonical path (`/` is its own parent).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(i) => &path[..i],
    }
}

/// The last component of a canonical path (empty for `/`).
pub fn basename(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or("")
}

/// Joins a child name to a canonical path.
pub fn join(path: &str, child: &str) -> String {
    if path == "/" {
        format!("/{child}")
    } else {
        format!("{path}/{child}")
    }
}

/// True when `child` is `parent` itself or lies below it.
pub fn is_child(child: &str, parent: &str) -> bool {
    if is_special(child) || is_special(parent) {
        return child == parent;
    }
    child == parent
        || parent == "/"
        || (child.len() > parent.len()
            && child.starts_with(parent)
            && child.as_bytes()[parent.len()] == b'/')
}

/// The path as the client named it: a path below `home` is shown relative
/// to it when `relative` (watch events on relative watches).
pub fn relative_to<'a>(path: &'a str, home: &str, relative: bool) -> &'a str {
    if relative {
        if let Some(rest) = path.strip_prefix(home) {
            if let Some(rest) = rest.strip_prefix('/') {
                return rest;
            }
        }
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_paths() {
        let home = "/local/domain/3";
        assert_eq!(canonicalize(b"/a/b", home, false).unwrap(), "/a/b");
        assert_eq!(
            canonicalize(b"device/vif", home, false).unwrap(),
            "/local/domain/3/device/vif"
        );
        assert_eq!(canonicalize(b"/", home, false).unwrap(), "/");
        for bad in [&b""[..], b"/a//b", b"/a/", b"/a b", b"/a\xff", b"/a\0"] {
            assert_eq!(
                canonicalize(bad, home, false),
                Err(XsError::Inval),
                "{bad:?}"
            );
        }
        assert_eq!(
            canonicalize(b"@releaseDomain", home, true).unwrap(),
            "@releaseDomain"
        );
        assert_eq!(
            canonicalize(b"@releaseDomain", home, false),
            Err(XsError::Inval)
        );
        let long = vec![b'a'; XENSTORE_ABS_PATH_MAX + 1];
        assert_eq!(canonicalize(&long, home, false), Err(XsError::Inval));
    }

    #[test]
    fn relations() {
        assert_eq!(parent("/a/b"), "/a");
        assert_eq!(parent("/a"), "/");
        assert_eq!(basename("/a/b"), "b");
        assert_eq!(join("/", "x"), "/x");
        assert!(is_child("/a/b", "/a"));
        assert!(is_child("/a", "/a"));
        assert!(!is_child("/ab", "/a"));
        assert!(is_child("/x", "/"));
        assert_eq!(
            relative_to("/local/domain/3/x", "/local/domain/3", true),
            "x"
        );
        assert_eq!(relative_to("/other", "/local/domain/3", true), "/other");
    }
}
