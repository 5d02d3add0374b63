//! Xen's error numbers (`xen/include/public/errno.h`). Hypercalls return them
//! negated in `rax`; the values match Linux's on x86.

use core::fmt;

xen_enum! {
    /// An error a hypercall can return (C: `enum xen_errno`, names without the
    /// `XEN_` prefix). [`Errno::as_neg`] gives the value placed in `rax`.
    #[allow(non_camel_case_types, clippy::upper_case_acronyms)]
    pub enum Errno: i32 {
        /// Operation not permitted.
        EPERM = 1,
        /// No such file, entry or object.
        ENOENT = 2,
        /// No such domain or process.
        ESRCH = 3,
        /// Interrupted; internal to the hypervisor, never returned to guests.
        EINTR = 4,
        /// I/O error.
        EIO = 5,
        /// No such device or address.
        ENXIO = 6,
        /// Argument list (or count) too long.
        E2BIG = 7,
        /// Bad executable format.
        ENOEXEC = 8,
        /// Bad file (port, handle) number.
        EBADF = 9,
        /// No child processes.
        ECHILD = 10,
        /// Try again (also `EWOULDBLOCK`).
        EAGAIN = 11,
        /// Out of memory.
        ENOMEM = 12,
        /// Permission denied.
        EACCES = 13,
        /// Bad address: a guest pointer could not be accessed.
        EFAULT = 14,
        /// Resource busy.
        EBUSY = 16,
        /// Already exists.
        EEXIST = 17,
        /// Cross-device (cross-domain) link.
        EXDEV = 18,
        /// No such device.
        ENODEV = 19,
        /// Not a directory.
        ENOTDIR = 20,
        /// Is a directory.
        EISDIR = 21,
        /// Invalid argument.
        EINVAL = 22,
        /// File table overflow.
        ENFILE = 23,
        /// Too many open files.
        EMFILE = 24,
        /// No space left.
        ENOSPC = 28,
        /// Read-only.
        EROFS = 30,
        /// Too many links.
        EMLINK = 31,
        /// Argument out of domain.
        EDOM = 33,
        /// Result out of range.
        ERANGE = 34,
        /// Deadlock would occur (also `EDEADLOCK`).
        EDEADLK = 35,
        /// Name too long.
        ENAMETOOLONG = 36,
        /// No locks available.
        ENOLCK = 37,
        /// Function (hypercall or sub-command) not implemented.
        ENOSYS = 38,
        /// Not empty.
        ENOTEMPTY = 39,
        /// No data available.
        ENODATA = 61,
        /// Timer expired.
        ETIME = 62,
        /// Bad message.
        EBADMSG = 74,
        /// Value too large for the destination.
        EOVERFLOW = 75,
        /// Illegal byte sequence.
        EILSEQ = 84,
        /// Restart the hypercall; internal to the hypervisor (continuations).
        ERESTART = 85,
        /// Not a socket.
        ENOTSOCK = 88,
        /// Message too long.
        EMSGSIZE = 90,
        /// Operation not supported.
        EOPNOTSUPP = 95,
        /// Address already in use.
        EADDRINUSE = 98,
        /// Cannot assign the requested address.
        EADDRNOTAVAIL = 99,
        /// No buffer space available.
        ENOBUFS = 105,
        /// Already connected.
        EISCONN = 106,
        /// Not connected.
        ENOTCONN = 107,
        /// Timed out.
        ETIMEDOUT = 110,
        /// Connection refused.
        ECONNREFUSED = 111,
    }
}

impl Errno {
    /// Same value as [`Errno::EAGAIN`].
    pub const EWOULDBLOCK: Errno = Errno::EAGAIN;
    /// Same value as [`Errno::EDEADLK`].
    pub const EDEADLOCK: Errno = Errno::EDEADLK;

    /// The negative number a hypercall leaves in `rax` for this error.
    pub const fn as_neg(self) -> i64 {
        -(self as i64)
    }

    /// Parses a hypercall return value: `Some` for a negated known errno,
    /// `None` for success values and unknown negatives.
    pub const fn from_neg(ret: i64) -> Option<Errno> {
        if ret >= 0 || ret <= i32::MIN as i64 {
            return None;
        }
        Errno::from_raw(-(ret as i32))
    }

    /// Whether this value only exists inside the hypervisor and must never
    /// reach a guest (`EINTR`, `ERESTART`: Xen hides both behind `__XEN__`).
    pub const fn is_internal(self) -> bool {
        matches!(self, Errno::EINTR | Errno::ERESTART)
    }

    /// The symbolic name, such as `"EINVAL"`.
    pub fn name(self) -> &'static str {
        // The derived Debug output is exactly the variant name; map it
        // through a match so no formatting machinery is needed.
        macro_rules! names {
            ($($v:ident)+) => { match self { $(Errno::$v => stringify!($v),)+ } };
        }
        names!(EPERM ENOENT ESRCH EINTR EIO ENXIO E2BIG ENOEXEC EBADF ECHILD EAGAIN ENOMEM
            EACCES EFAULT EBUSY EEXIST EXDEV ENODEV ENOTDIR EISDIR EINVAL ENFILE EMFILE ENOSPC
            EROFS EMLINK EDOM ERANGE EDEADLK ENAMETOOLONG ENOLCK ENOSYS ENOTEMPTY ENODATA ETIME
            EBADMSG EOVERFLOW EILSEQ ERESTART ENOTSOCK EMSGSIZE EOPNOTSUPP EADDRINUSE
            EADDRNOTAVAIL ENOBUFS EISCONN ENOTCONN ETIMEDOUT ECONNREFUSED)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl core::error::Error for Errno {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negation_round_trips() {
        assert_eq!(Errno::EPERM.as_neg(), -1);
        assert_eq!(Errno::ENOSYS.as_neg(), -38);
        for &e in Errno::ALL {
            assert_eq!(Errno::from_neg(e.as_neg()), Some(e));
        }
        assert_eq!(Errno::from_neg(0), None);
        assert_eq!(Errno::from_neg(5), None);
        assert_eq!(Errno::from_neg(i64::MIN), None);
    }

    #[test]
    fn unknown_values_rejected() {
        assert_eq!(Errno::try_from(22i32), Ok(Errno::EINVAL));
        for bad in [0i32, 15, 25, 26, 27, 29, 32, 40, 112, -1] {
            assert!(Errno::try_from(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn aliases_and_names() {
        assert_eq!(Errno::EWOULDBLOCK, Errno::EAGAIN);
        assert_eq!(Errno::EDEADLOCK.raw(), 35);
        assert_eq!(Errno::EINVAL.name(), "EINVAL");
        assert!(Errno::ERESTART.is_internal());
        assert!(!Errno::EFAULT.is_internal());
        for &e in Errno::ALL {
            assert_eq!(std::format!("{e:?}"), e.name());
        }
    }
}
