//! `vm_assist`: optional hypervisor assists a guest turns on or off.

use dom0_abi::vm_assist::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::domain::Vcpu;

/// Assists whose effect this hypervisor provides.
const SUPPORTED: u64 = (1 << VMASST_TYPE_4gb_segments)
    | (1 << VMASST_TYPE_writable_pagetables)
    | (1 << VMASST_TYPE_4gb_segments_notify)
    | (1 << VMASST_TYPE_pae_extended_cr3)
    | (1 << VMASST_TYPE_architectural_iopl)
    // Changes how runstate areas are updated; accepted as on Xen (this
    // hypervisor registers no runstate areas yet, so it has no effect).
    | (1 << VMASST_TYPE_runstate_update_flag)
    | (1 << VMASST_TYPE_m2p_strict);

/// `vm_assist(cmd, type)`.
pub fn vm_assist(v: &mut Vcpu, cmd: u32, kind: u32) -> HcResult {
    if kind >= 64 || VMASST_VALID_X86_64_PV & (1 << kind) == 0 || SUPPORTED & (1 << kind) == 0 {
        return err(Errno::EINVAL);
    }
    let mut st = v.domain.state.lock();
    match cmd {
        VMASST_CMD_enable => st.vm_assist |= 1 << kind,
        VMASST_CMD_disable => st.vm_assist &= !(1 << kind),
        _ => return err(Errno::ENOSYS),
    }
    Ok(0)
}
