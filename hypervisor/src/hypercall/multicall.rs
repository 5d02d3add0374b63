//! `multicall`: a batch of hypercalls, each result written back into its
//! entry. The batch itself succeeds unless an entry cannot be read or
//! written.

use dom0_abi::hypercall as nr;
use dom0_abi::xen::MulticallEntry;
use dom0_abi::Errno;

use super::{call, encode, err, HcResult};
use crate::arch::x86_64::traps::TrapFrame;
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::Vcpu;

/// Entries run before a multicall is preempted (resumed by a
/// continuation, as Xen does).
pub const SLICE: u64 = 4096;

/// `multicall(call_list, nr_calls)`.
pub fn multicall(v: &mut Vcpu, regs: &mut TrapFrame, list: u64, count: u64) -> HcResult {
    let count = count as u32 as u64;
    let size = core::mem::size_of::<MulticallEntry>() as u64;
    if !crate::arch::x86_64::uaccess::range_ok(list, count * size) {
        return err(Errno::EFAULT);
    }
    v.in_multicall = true;
    let r = run_entries(v, regs, list, count, size);
    v.in_multicall = false;
    if let Ok(done) = r {
        if (done as u64) < count {
            v.continuation = Some([list + done as u64 * size, count - done as u64, 0, 0, 0, 0]);
        }
        return Ok(0);
    }
    r
}

/// Run up to [`SLICE`] entries; returns how many ran.
fn run_entries(v: &mut Vcpu, regs: &mut TrapFrame, list: u64, count: u64, size: u64) -> HcResult {
    for i in 0..count {
        if i == SLICE {
            return Ok(i as i64);
        }
        let at = list + i * size;
        let e: MulticallEntry = read_guest(at).map_err(|_| Errno::EFAULT)?;
        let result = match e.op {
            nr::HYPERVISOR_multicall | nr::HYPERVISOR_iret => encode(err(Errno::EINVAL)),
            op => encode(call(v, regs, op, e.args)),
        };
        // Only the result field is written back, as Xen does.
        write_guest(at + core::mem::offset_of!(MulticallEntry, result) as u64, &result).map_err(|_| Errno::EFAULT)?;
    }
    Ok(count as i64)
}
