//! The xenstore wire protocol (`io/xs_wire.h`, first half): message types,
//! the 16-byte message header, and the error strings xenstored sends back
//! in `XS_ERROR` replies.

use crate::errno::Errno;

/// Control commands (formerly `XS_DEBUG`).
pub const XS_CONTROL: u32 = 0;
/// Old name of `XS_CONTROL`.
pub const XS_DEBUG: u32 = XS_CONTROL;
/// List a node's children.
pub const XS_DIRECTORY: u32 = 1;
/// Read a node.
pub const XS_READ: u32 = 2;
/// Read a node's permissions.
pub const XS_GET_PERMS: u32 = 3;
/// Watch a path.
pub const XS_WATCH: u32 = 4;
/// Remove a watch.
pub const XS_UNWATCH: u32 = 5;
/// Start a transaction.
pub const XS_TRANSACTION_START: u32 = 6;
/// End (commit or abort) a transaction.
pub const XS_TRANSACTION_END: u32 = 7;
/// Introduce a new domain's ring to xenstored.
pub const XS_INTRODUCE: u32 = 8;
/// Forget a domain.
pub const XS_RELEASE: u32 = 9;
/// Get a domain's home path.
pub const XS_GET_DOMAIN_PATH: u32 = 10;
/// Write a node.
pub const XS_WRITE: u32 = 11;
/// Create a node.
pub const XS_MKDIR: u32 = 12;
/// Remove a node and its children.
pub const XS_RM: u32 = 13;
/// Set a node's permissions.
pub const XS_SET_PERMS: u32 = 14;
/// Asynchronous watch notification.
pub const XS_WATCH_EVENT: u32 = 15;
/// Error reply (payload: an error name from [`XSD_ERRORS`]).
pub const XS_ERROR: u32 = 16;
/// Ask whether a domain was introduced.
pub const XS_IS_DOMAIN_INTRODUCED: u32 = 17;
/// Resume a domain's connection.
pub const XS_RESUME: u32 = 18;
/// Make a domain privileged over another.
pub const XS_SET_TARGET: u32 = 19;
/// Drop all of the connection's watches.
pub const XS_RESET_WATCHES: u32 = XS_SET_TARGET + 2;
/// List a node's children in chunks.
pub const XS_DIRECTORY_PART: u32 = 22;
/// Number of message types (valid ones are below this).
pub const XS_TYPE_COUNT: u32 = 23;
/// A value guaranteed never to name a message type.
pub const XS_INVALID: u32 = 0xffff;

xen_enum! {
    /// `enum xsd_sockmsg_type`: the type field of a xenstore message.
    pub enum XsdSockmsgType: u32 {
        /// `XS_CONTROL`.
        Control = XS_CONTROL,
        /// `XS_DIRECTORY`.
        Directory = XS_DIRECTORY,
        /// `XS_READ`.
        Read = XS_READ,
        /// `XS_GET_PERMS`.
        GetPerms = XS_GET_PERMS,
        /// `XS_WATCH`.
        Watch = XS_WATCH,
        /// `XS_UNWATCH`.
        Unwatch = XS_UNWATCH,
        /// `XS_TRANSACTION_START`.
        TransactionStart = XS_TRANSACTION_START,
        /// `XS_TRANSACTION_END`.
        TransactionEnd = XS_TRANSACTION_END,
        /// `XS_INTRODUCE`.
        Introduce = XS_INTRODUCE,
        /// `XS_RELEASE`.
        Release = XS_RELEASE,
        /// `XS_GET_DOMAIN_PATH`.
        GetDomainPath = XS_GET_DOMAIN_PATH,
        /// `XS_WRITE`.
        Write = XS_WRITE,
        /// `XS_MKDIR`.
        Mkdir = XS_MKDIR,
        /// `XS_RM`.
        Rm = XS_RM,
        /// `XS_SET_PERMS`.
        SetPerms = XS_SET_PERMS,
        /// `XS_WATCH_EVENT`.
        WatchEvent = XS_WATCH_EVENT,
        /// `XS_ERROR`.
        Error = XS_ERROR,
        /// `XS_IS_DOMAIN_INTRODUCED`.
        IsDomainIntroduced = XS_IS_DOMAIN_INTRODUCED,
        /// `XS_RESUME`.
        Resume = XS_RESUME,
        /// `XS_SET_TARGET`.
        SetTarget = XS_SET_TARGET,
        /// `XS_RESET_WATCHES`.
        ResetWatches = XS_RESET_WATCHES,
        /// `XS_DIRECTORY_PART`.
        DirectoryPart = XS_DIRECTORY_PART,
    }
}

/// Write-mode string: do not create.
pub const XS_WRITE_NONE: &str = "NONE";
/// Write-mode string: create if missing.
pub const XS_WRITE_CREATE: &str = "CREATE";
/// Write-mode string: create, failing if it exists.
pub const XS_WRITE_CREATE_EXCL: &str = "CREATE|EXCL";

/// `struct xsd_sockmsg`: the header before every xenstore message payload.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq, Hash)]
pub struct XsdSockmsg {
    /// `XS_*`.
    pub r#type: u32,
    /// Request id, echoed in the reply.
    pub req_id: u32,
    /// Transaction id (0: none).
    pub tx_id: u32,
    /// Payload length in bytes.
    pub len: u32,
}
impl_pod!(XsdSockmsg);

impl XsdSockmsg {
    /// Size of the header on the wire.
    pub const SIZE: usize = 16;

    /// The header as little-endian wire bytes.
    pub fn to_bytes(&self) -> [u8; Self::SIZE] {
        let mut out = [0u8; Self::SIZE];
        out[0..4].copy_from_slice(&self.r#type.to_le_bytes());
        out[4..8].copy_from_slice(&self.req_id.to_le_bytes());
        out[8..12].copy_from_slice(&self.tx_id.to_le_bytes());
        out[12..16].copy_from_slice(&self.len.to_le_bytes());
        out
    }

    /// Parses a header from the first 16 bytes of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let word = |i: usize| -> Option<u32> {
            Some(u32::from_le_bytes(bytes.get(i..i + 4)?.try_into().ok()?))
        };
        Some(XsdSockmsg { r#type: word(0)?, req_id: word(4)?, tx_id: word(8)?, len: word(12)? })
    }
}

/// `enum xs_watch_type`: index of the path in a watch event payload.
pub const XS_WATCH_PATH: u32 = 0;
/// `enum xs_watch_type`: index of the token in a watch event payload.
pub const XS_WATCH_TOKEN: u32 = 1;

/// `struct xsd_errors`: one entry of the error-name table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XsdError {
    /// The error.
    pub errnum: Errno,
    /// Its name as sent in an `XS_ERROR` payload.
    pub errstring: &'static str,
}

/// The error names xenstored sends, in Xen's order (new ones are appended).
pub const XSD_ERRORS: [XsdError; 16] = [
    XsdError { errnum: Errno::EINVAL, errstring: "EINVAL" },
    XsdError { errnum: Errno::EACCES, errstring: "EACCES" },
    XsdError { errnum: Errno::EEXIST, errstring: "EEXIST" },
    XsdError { errnum: Errno::EISDIR, errstring: "EISDIR" },
    XsdError { errnum: Errno::ENOENT, errstring: "ENOENT" },
    XsdError { errnum: Errno::ENOMEM, errstring: "ENOMEM" },
    XsdError { errnum: Errno::ENOSPC, errstring: "ENOSPC" },
    XsdError { errnum: Errno::EIO, errstring: "EIO" },
    XsdError { errnum: Errno::ENOTEMPTY, errstring: "ENOTEMPTY" },
    XsdError { errnum: Errno::ENOSYS, errstring: "ENOSYS" },
    XsdError { errnum: Errno::EROFS, errstring: "EROFS" },
    XsdError { errnum: Errno::EBUSY, errstring: "EBUSY" },
    XsdError { errnum: Errno::EAGAIN, errstring: "EAGAIN" },
    XsdError { errnum: Errno::EISCONN, errstring: "EISCONN" },
    XsdError { errnum: Errno::E2BIG, errstring: "E2BIG" },
    XsdError { errnum: Errno::EPERM, errstring: "EPERM" },
];

/// The error named by an `XS_ERROR` payload (trailing NULs ignored).
pub fn xsd_error_from_name(name: &[u8]) -> Option<Errno> {
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    let name = &name[..end];
    XSD_ERRORS.iter().find(|e| e.errstring.as_bytes() == name).map(|e| e.errnum)
}

/// The name xenstored uses for `err`; errors without one are reported as
/// `EINVAL`, as xenstored does.
pub fn xsd_error_name(err: Errno) -> &'static str {
    XSD_ERRORS.iter().find(|e| e.errnum == err).map_or("EINVAL", |e| e.errstring)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_and_errors() {
        assert_eq!(XsdSockmsgType::try_from(21u32), Ok(XsdSockmsgType::ResetWatches));
        assert!(XsdSockmsgType::try_from(20u32).is_err());
        assert!(XsdSockmsgType::try_from(XS_TYPE_COUNT).is_err());
        assert!(XsdSockmsgType::try_from(XS_INVALID).is_err());
        assert_eq!(xsd_error_from_name(b"ENOENT\0"), Some(Errno::ENOENT));
        assert_eq!(xsd_error_from_name(b"EWHAT"), None);
        assert_eq!(xsd_error_name(Errno::EPERM), "EPERM");
        assert_eq!(xsd_error_name(Errno::EFAULT), "EINVAL");
    }

    #[test]
    fn header_round_trip() {
        let h = XsdSockmsg { r#type: XS_READ, req_id: 7, tx_id: 0, len: 12 };
        assert_eq!(XsdSockmsg::from_bytes(&h.to_bytes()), Some(h));
        assert_eq!(XsdSockmsg::from_bytes(&[0; 15]), None);
    }
}
