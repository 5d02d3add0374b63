//! Properties every raw-number enum of dom0-abi must have: each variant
//! round-trips through `raw()`/`TryFrom`, no two variants share a number,
//! and numbers that only differ above the enum's width are rejected rather
//! than truncated.

use std::collections::HashSet;

use dom0_abi::callback::{CallbackOp, CallbackType};
use dom0_abi::console_io::ConsoleIoCmd;
use dom0_abi::domctl::{DomctlCmd, XenScheduler};
use dom0_abi::elfnote::XenElfnote;
use dom0_abi::errno::Errno;
use dom0_abi::event_channel::{EvtchnOpCmd, EvtchnStat};
use dom0_abi::grant_table::{GnttabOp, Gntst};
use dom0_abi::hypercall::Hypercall;
use dom0_abi::io::xenbus::XenbusState;
use dom0_abi::io::xs_wire::XsdSockmsgType;
use dom0_abi::memory::{XenMapSpace, XenMemOp};
use dom0_abi::mmu::{MmuUpdateCmd, MmuextCmd};
use dom0_abi::physdev::PhysdevOp;
use dom0_abi::platform::PlatformOpCmd;
use dom0_abi::sched::{SchedOp, ShutdownReason};
use dom0_abi::sysctl::SysctlCmd;
use dom0_abi::vcpu::{RunState, VcpuOp};
use dom0_abi::vm_assist::{VmAssistCmd, VmAssistType};
use dom0_abi::xen::Virq;
use dom0_abi::xen_version::XenVerCmd;

macro_rules! check_common {
    ($ty:ty) => {{
        let mut seen = HashSet::new();
        for &v in <$ty>::ALL {
            let raw = v.raw();
            assert!(seen.insert(raw), "{}: duplicate number {:?}", stringify!($ty), raw);
            assert_eq!(<$ty>::try_from(raw), Ok(v), "{}", stringify!($ty));
            assert_eq!(<$ty>::from_raw(raw), Some(v));
        }
    }};
}

/// Unsigned enums also parse 64-bit register values: high bits must make
/// the number unknown, never be truncated away.
macro_rules! check_unsigned {
    ($($ty:ty),* $(,)?) => {$(
        check_common!($ty);
        for &v in <$ty>::ALL {
            let high = v.raw() as u64 | (1u64 << 32);
            assert!(
                <$ty as TryFrom<u64>>::try_from(high).is_err(),
                "{}: {:#x} must not truncate to {:?}", stringify!($ty), high, v
            );
        }
        let unknown = (0..=u16::MAX as u64)
            .find(|n| <$ty as TryFrom<u64>>::try_from(*n).is_err())
            .expect("some number is unknown");
        let err = <$ty as TryFrom<u64>>::try_from(unknown).unwrap_err();
        assert_eq!(err.type_name, stringify!($ty));
        assert_eq!(err.value, unknown);
    )*};
}

macro_rules! check_signed {
    ($($ty:ty),* $(,)?) => {$( check_common!($ty); )*};
}

#[test]
fn enums_round_trip_and_reject_unknown_numbers() {
    check_unsigned!(
        CallbackOp, CallbackType, ConsoleIoCmd, DomctlCmd, XenScheduler, XenElfnote,
        EvtchnOpCmd, EvtchnStat, GnttabOp, XenbusState, XsdSockmsgType, XenMapSpace,
        XenMemOp, MmuUpdateCmd, MmuextCmd, PhysdevOp, PlatformOpCmd, SchedOp, ShutdownReason,
        SysctlCmd, VcpuOp, VmAssistCmd, VmAssistType, Virq, XenVerCmd,
    );
    check_signed!(Errno, RunState, Gntst);
    assert!(Errno::try_from(0).is_err());
    assert!(Gntst::try_from(1i16).is_err());
    assert!(RunState::try_from(-1).is_err());
}

#[test]
fn hypercall_rejects_high_bits() {
    for &h in Hypercall::ALL {
        assert_eq!(Hypercall::try_from(h.raw()), Ok(h));
        assert!(Hypercall::try_from(h.raw() | (1 << 32)).is_err());
    }
}
