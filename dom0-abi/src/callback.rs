//! Callback registration through `HYPERVISOR_callback_op` (`callback.h`):
//! where Xen enters a PV kernel for events, failsafe returns, system calls
//! and NMIs.

use crate::types::XenCallback;

/// Event upcall (the PV "interrupt" entry).
pub const CALLBACKTYPE_event: u16 = 0;
/// Failsafe entry: Xen could not load the guest's segments on return.
pub const CALLBACKTYPE_failsafe: u16 = 1;
/// 64-bit `syscall` entry.
pub const CALLBACKTYPE_syscall: u16 = 2;
/// Old number of the sysenter callback (pre 3.0.7 interface).
pub const CALLBACKTYPE_sysenter_deprecated: u16 = 3;
/// NMI entry.
pub const CALLBACKTYPE_nmi: u16 = 4;
/// `sysenter` entry (for 32-bit user space on x86-64).
pub const CALLBACKTYPE_sysenter: u16 = 5;
/// 32-bit `syscall` entry (compat user space).
pub const CALLBACKTYPE_syscall32: u16 = 7;

/// Bit number of `CALLBACKF_mask_events`.
pub const _CALLBACKF_mask_events: u16 = 0;
/// Mask events on entry to the callback.
pub const CALLBACKF_mask_events: u16 = 1 << _CALLBACKF_mask_events;

/// `callback_op`: register a callback (`callback_register`).
pub const CALLBACKOP_register: u32 = 0;
/// `callback_op`: unregister a callback (`callback_unregister`).
pub const CALLBACKOP_unregister: u32 = 1;

xen_enum! {
    /// A callback kind (C: `CALLBACKTYPE_*`).
    pub enum CallbackType: u16 {
        /// `CALLBACKTYPE_event`.
        Event = CALLBACKTYPE_event,
        /// `CALLBACKTYPE_failsafe`.
        Failsafe = CALLBACKTYPE_failsafe,
        /// `CALLBACKTYPE_syscall`.
        Syscall = CALLBACKTYPE_syscall,
        /// `CALLBACKTYPE_sysenter_deprecated`.
        SysenterDeprecated = CALLBACKTYPE_sysenter_deprecated,
        /// `CALLBACKTYPE_nmi`.
        Nmi = CALLBACKTYPE_nmi,
        /// `CALLBACKTYPE_sysenter`.
        Sysenter = CALLBACKTYPE_sysenter,
        /// `CALLBACKTYPE_syscall32`.
        Syscall32 = CALLBACKTYPE_syscall32,
    }
}

xen_enum! {
    /// A `callback_op` command (C: `CALLBACKOP_*`).
    pub enum CallbackOp: u32 {
        /// `CALLBACKOP_register`.
        Register = CALLBACKOP_register,
        /// `CALLBACKOP_unregister`.
        Unregister = CALLBACKOP_unregister,
    }
}

/// `struct callback_register`: install `address` as the entry for `type`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct CallbackRegister {
    /// `CALLBACKTYPE_*`.
    pub r#type: u16,
    /// `CALLBACKF_*`.
    pub flags: u16,
    /// Entry point.
    pub address: XenCallback,
}
impl_pod!(CallbackRegister);

/// `struct callback_unregister`: remove the entry for `type` (only NMI may
/// be unregistered).
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct CallbackUnregister {
    /// `CALLBACKTYPE_*`.
    pub r#type: u16,
    /// Unused.
    pub _unused: u16,
}
impl_pod!(CallbackUnregister);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(CallbackType::try_from(7u16), Ok(CallbackType::Syscall32));
        assert!(CallbackType::try_from(6u16).is_err());
        assert!(CallbackType::try_from(8u16).is_err());
        assert!(CallbackOp::try_from(2u32).is_err());
        assert!(CallbackOp::try_from(1u64 << 32).is_err());
    }
}
