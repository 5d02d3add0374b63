//! The errors xenstored reports to its clients, with the names Xen sends in
//! `XS_ERROR` replies (`xsd_errors` in `xs_wire.h`).

use dom0_abi::io::xs_wire::{xsd_error_from_name, xsd_error_name};
use dom0_abi::Errno;

/// An error a xenstore request can fail with. Each variant is sent on the
/// wire as the errno name of its doc line (see [`XsError::name`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
pub enum XsError {
    /// `EINVAL`: malformed request, bad path, unknown type.
    #[error("invalid argument (EINVAL)")]
    Inval,
    /// `EACCES`: the caller lacks the needed permission.
    #[error("permission denied (EACCES)")]
    Acces,
    /// `EEXIST`: already exists.
    #[error("already exists (EEXIST)")]
    Exist,
    /// `EISDIR`.
    #[error("is a directory (EISDIR)")]
    IsDir,
    /// `ENOENT`: no such node, watch, transaction or domain.
    #[error("no such entry (ENOENT)")]
    NoEnt,
    /// `ENOMEM`.
    #[error("out of memory (ENOMEM)")]
    NoMem,
    /// `ENOSPC`: a per-domain quota (nodes, entry size, transactions) is exhausted.
    #[error("quota exhausted (ENOSPC)")]
    NoSpc,
    /// `EIO`.
    #[error("I/O error (EIO)")]
    Io,
    /// `ENOTEMPTY`.
    #[error("not empty (ENOTEMPTY)")]
    NotEmpty,
    /// `ENOSYS`: the request type is not implemented.
    #[error("not implemented (ENOSYS)")]
    NoSys,
    /// `EROFS`: read-only connection.
    #[error("read-only (EROFS)")]
    RoFs,
    /// `EBUSY`: e.g. a transaction started inside a transaction.
    #[error("busy (EBUSY)")]
    Busy,
    /// `EAGAIN`: the transaction conflicted and must be retried.
    #[error("try again (EAGAIN)")]
    Again,
    /// `EISCONN`.
    #[error("already connected (EISCONN)")]
    IsConn,
    /// `E2BIG`: message too long, or too many watches.
    #[error("too big (E2BIG)")]
    TooBig,
    /// `EPERM`: operation not permitted (e.g. changing a node's owner).
    #[error("not permitted (EPERM)")]
    Perm,
}

impl XsError {
    /// The matching Xen errno.
    pub fn errno(self) -> Errno {
        match self {
            XsError::Inval => Errno::EINVAL,
            XsError::Acces => Errno::EACCES,
            XsError::Exist => Errno::EEXIST,
            XsError::IsDir => Errno::EISDIR,
            XsError::NoEnt => Errno::ENOENT,
            XsError::NoMem => Errno::ENOMEM,
            XsError::NoSpc => Errno::ENOSPC,
            XsError::Io => Errno::EIO,
            XsError::NotEmpty => Errno::ENOTEMPTY,
            XsError::NoSys => Errno::ENOSYS,
            XsError::RoFs => Errno::EROFS,
            XsError::Busy => Errno::EBUSY,
            XsError::Again => Errno::EAGAIN,
            XsError::IsConn => Errno::EISCONN,
            XsError::TooBig => Errno::E2BIG,
            XsError::Perm => Errno::EPERM,
        }
    }

    /// The error's name as sent in an `XS_ERROR` payload (without the NUL).
    pub fn name(self) -> &'static str {
        xsd_error_name(self.errno())
    }

    /// The error named by an `XS_ERROR` payload; unknown names (such as
    /// oxenstored's `EQUOTA`) map to `None`.
    pub fn from_name(name: &[u8]) -> Option<Self> {
        let errno = xsd_error_from_name(name)?;
        ALL.iter().copied().find(|e| e.errno() == errno)
    }
}

/// Every variant, for name lookups.
const ALL: [XsError; 16] = [
    XsError::Inval,
    XsError::Acces,
    XsError::Exist,
    XsError::IsDir,
    XsError::NoEnt,
    XsError::NoMem,
    XsError::NoSpc,
    XsError::Io,
    XsError::NotEmpty,
    XsError::NoSys,
    XsError::RoFs,
    XsError::Busy,
    XsError::Again,
    XsError::IsConn,
    XsError::TooBig,
    XsError::Perm,
];

/// Result of a xenstore operation.
pub type XsResult<T> = Result<T, XsError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for e in ALL {
            assert_eq!(XsError::from_name(e.name().as_bytes()), Some(e));
        }
        assert_eq!(XsError::NoEnt.name(), "ENOENT");
        assert_eq!(XsError::from_name(b"EAGAIN\0"), Some(XsError::Again));
        assert_eq!(XsError::from_name(b"EQUOTA\0"), None);
    }
}
