//! Node permissions as Xen defines them: a list of `<letter><domid>`
//! entries whose first names the owner and the access of every domain not
//! listed; the owner and privileged callers have all rights.

use crate::error::{XsError, XsResult};

/// Access granted by one permission entry (`n`, `r`, `w` or `b`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// `n`: none.
    None,
    /// `r`: read.
    Read,
    /// `w`: write.
    Write,
    /// `b`: read and write.
    Both,
}

impl Access {
    fn from_letter(c: u8) -> Option<Self> {
        Some(match c {
            b'n' => Access::None,
            b'r' => Access::Read,
            b'w' => Access::Write,
            b'b' => Access::Both,
            _ => return None,
        })
    }

    fn letter(self) -> char {
        match self {
            Access::None => 'n',
            Access::Read => 'r',
            Access::Write => 'w',
            Access::Both => 'b',
        }
    }

    /// The rights this entry grants (never ownership).
    pub fn rights(self) -> Rights {
        Rights {
            read: matches!(self, Access::Read | Access::Both),
            write: matches!(self, Access::Write | Access::Both),
            owner: false,
        }
    }
}

/// One permission entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Perm {
    /// Domain the entry is about.
    pub domid: u32,
    /// What it may do.
    pub access: Access,
}

/// What a caller may do with a node.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Rights {
    /// May read the value and list children.
    pub read: bool,
    /// May write, create children and remove.
    pub write: bool,
    /// May change permissions.
    pub owner: bool,
}

impl Rights {
    /// Every right.
    pub const ALL: Rights = Rights {
        read: true,
        write: true,
        owner: true,
    };
    /// Read only (what a request that reads needs).
    pub const READ: Rights = Rights {
        read: true,
        write: false,
        owner: false,
    };
    /// Write only.
    pub const WRITE: Rights = Rights {
        read: false,
        write: true,
        owner: false,
    };

    /// True when `self` includes every right of `need`.
    pub fn covers(self, need: Rights) -> bool {
        (self.read || !need.read) && (self.write || !need.write) && (self.owner || !need.owner)
    }
}

/// Who is asking: a connection's domain and privilege.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caller {
    /// The connection's domain (0 for the unix socket).
    pub domid: u32,
    /// Dom0 and socket connections bypass permission checks and quotas.
    pub privileged: bool,
    /// A domain this one was made privileged over (`XS_SET_TARGET`).
    pub target: Option<u32>,
}

impl Caller {
    /// A privileged dom0 caller.
    pub const DOM0: Caller = Caller {
        domid: 0,
        privileged: true,
        target: None,
    };

    /// An unprivileged guest.
    pub fn guest(domid: u32) -> Self {
        Caller {
            domid,
            privileged: false,
            target: None,
        }
    }
}

/// A node's permission list (never empty).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Perms(Vec<Perm>);

impl Perms {
    /// `<access><owner>`: owned by `owner`, others get `access`.
    pub fn new(owner: u32, access: Access) -> Self {
        Perms(vec![Perm {
            domid: owner,
            access,
        }])
    }

    /// The owning domain.
    pub fn owner(&self) -> u32 {
        self.0[0].domid
    }

    /// The entries, owner first.
    pub fn entries(&self) -> &[Perm] {
        &self.0
    }

    /// The same list with a different owner.
    pub fn with_owner(&self, owner: u32) -> Self {
        let mut p = self.0.clone();
        p[0].domid = owner;
        Perms(p)
    }

    /// Parses `["n0", "r1", ...]`; any malformed entry or an empty list is `EINVAL`.
    pub fn parse<'a>(items: impl IntoIterator<Item = &'a [u8]>) -> XsResult<Self> {
        let mut out = Vec::new();
        for item in items {
            let (&letter, digits) = item.split_first().ok_or(XsError::Inval)?;
            let access = Access::from_letter(letter).ok_or(XsError::Inval)?;
            let digits = std::str::from_utf8(digits).map_err(|_| XsError::Inval)?;
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(XsError::Inval);
            }
            let domid: u32 = digits.parse().map_err(|_| XsError::Inval)?;
            if domid > u32::from(u16::MAX) {
                return Err(XsError::Inval);
            }
            out.push(Perm { domid, access });
        }
        if out.is_empty() {
            return Err(XsError::Inval);
        }
        Ok(Perms(out))
    }

    /// The entries as strings (`"r1"`).
    pub fn to_strings(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|p| format!("{}{}", p.access.letter(), p.domid))
            .collect()
    }

    /// The rights of `caller` (Xen's `perm_for_conn`).
    pub fn rights_for(&self, caller: &Caller) -> Rights {
        let owner = self.owner();
        if caller.privileged || owner == caller.domid || caller.target == Some(owner) {
            return Rights::ALL;
        }
        let entry = self.0[1..]
            .iter()
            .find(|p| p.domid == caller.domid)
            .unwrap_or(&self.0[0]);
        entry.access.rights()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let p = Perms::parse([&b"n5"[..], b"r7", b"b9"]).unwrap();
        assert_eq!(p.owner(), 5);
        assert_eq!(p.to_strings(), ["n5", "r7", "b9"]);
        for bad in [&b""[..], b"x1", b"r", b"r-1", b"r70000", b"r1a"] {
            assert_eq!(Perms::parse([bad]), Err(XsError::Inval), "{bad:?}");
        }
        assert_eq!(Perms::parse(std::iter::empty()), Err(XsError::Inval));
    }

    #[test]
    fn rights() {
        let p = Perms::parse([&b"n5"[..], b"r7", b"w8"]).unwrap();
        assert_eq!(p.rights_for(&Caller::guest(5)), Rights::ALL);
        assert_eq!(p.rights_for(&Caller::DOM0), Rights::ALL);
        assert_eq!(p.rights_for(&Caller::guest(7)), Rights::READ);
        assert_eq!(p.rights_for(&Caller::guest(8)), Rights::WRITE);
        assert_eq!(p.rights_for(&Caller::guest(9)), Rights::default());
        let t = Caller {
            domid: 9,
            privileged: false,
            target: Some(5),
        };
        assert_eq!(p.rights_for(&t), Rights::ALL);
        assert!(Rights::ALL.covers(Rights::WRITE));
        assert!(!Rights::READ.covers(Rights::WRITE));
    }
}
