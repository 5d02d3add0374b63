//! What a save or migration asks besides the basic vCPU context (Xen
//! 4.17's `arch_do_domctl` and `paging_domctl` for PV): the TSC
//! parameters, the extended context (32-bit callbacks, vMCE capabilities),
//! the XSAVE state, the MSRs, and log-dirty mode, which Xen gives a PV
//! guest only with shadow paging (Debian's Xen, built without, answers
//! `EOPNOTSUPP` and the toolstack migrates with the guest stopped) and
//! ours with protection keys ([`crate::mm::log_dirty`]).

use dom0_abi::domctl::*;
use dom0_abi::Errno;

use crate::arch::x86_64::uaccess::{copy_from_guest, copy_to_guest, read_guest};
use crate::arch::x86_64::{cpuid, xstate};
use crate::domain::{Domain, Vcpu};

/// The vCPU `id` of `d` (`ESRCH` when there is none, as Xen answers),
/// which must not be the caller (Xen pauses it: `EINVAL`).
fn other_vcpu(d: &Domain, id: u32) -> Result<&'static mut Vcpu, Errno> {
    let v = d.vcpu(id).ok_or(Errno::ESRCH)?;
    if crate::sched::is_current(v) {
        return Err(Errno::EINVAL);
    }
    Ok(v)
}

/// `XEN_DOMCTL_gettscinfo`: the default mode (the TSC is native), its
/// frequency, nothing elapsed to add.
pub fn gettscinfo(op: &mut XenDomctl) {
    op.u.tsc_info = XenDomctlTscInfo {
        tsc_mode: 0,
        gtsc_khz: crate::timer::tsc_khz() as u32,
        incarnation: 0,
        pad: 0,
        elapsed_nsec: 0,
    };
}

/// `XEN_DOMCTL_settscinfo`: only the default (native) mode is offered.
pub fn settscinfo(op: &XenDomctl) -> Result<(), Errno> {
    // SAFETY: the tsc_info member, plain old data.
    let t = unsafe { op.u.tsc_info };
    if t.tsc_mode != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    Ok(())
}

/// `XEN_DOMCTL_get_ext_vcpucontext`.
pub fn get_ext_vcpucontext(d: &Domain, op: &mut XenDomctl) -> Result<(), Errno> {
    // SAFETY: the ext_vcpucontext member, plain old data.
    let id = unsafe { op.u.ext_vcpucontext.vcpu };
    let v = other_vcpu(d, id)?;
    op.u.ext_vcpucontext = XenDomctlExtVcpucontext {
        vcpu: id,
        size: core::mem::size_of::<XenDomctlExtVcpucontext>() as u32,
        syscall32_callback_eip: v.callbacks.syscall32,
        sysenter_callback_eip: 0,
        syscall32_callback_cs: 0,
        sysenter_callback_cs: 0,
        syscall32_disables_events: 0,
        sysenter_disables_events: 0,
        vmce: HvmVmceVcpu { caps: v.vmce.mcg_cap, ..Default::default() },
    };
    Ok(())
}

/// `XEN_DOMCTL_set_ext_vcpucontext`: the 32-bit syscall callback; the
/// vMCE capabilities must be ones this host offers (Xen's `vmce_restore_vcpu`).
pub fn set_ext_vcpucontext(d: &Domain, op: &XenDomctl) -> Result<(), Errno> {
    // SAFETY: the ext_vcpucontext member, plain old data.
    let e = unsafe { op.u.ext_vcpucontext };
    let v = other_vcpu(d, e.vcpu)?;
    if e.size as usize > core::mem::size_of::<XenDomctlExtVcpucontext>() {
        return Err(Errno::EINVAL);
    }
    if e.size as usize >= core::mem::size_of::<XenDomctlExtVcpucontext>() && e.vmce.caps & !v.vmce.mcg_cap != 0 {
        return Err(Errno::EINVAL);
    }
    v.callbacks.syscall32 = e.syscall32_callback_eip;
    Ok(())
}

/// Bytes of the standard-format XSAVE image for the components of `xcr0`.
fn xsave_size(xcr0: u64) -> u64 {
    let mut size = 576;
    for i in 2..63 {
        if xcr0 & (1 << i) != 0 {
            let l = cpuid(0xd, i);
            size = size.max(u64::from(l.ebx) + u64::from(l.eax));
        }
    }
    size
}

/// The state a vCPU has used so far (Xen's `xcr0_accum`).
fn accum(v: &Vcpu) -> u64 {
    v.xcr0 | 3
}

/// `XEN_DOMCTL_getvcpuextstate`: with no size and mask, the sizes; else
/// XCR0, XCR0_accum and the XSAVE image (`EINVAL` unless the caller
/// repeats the size and mask it was told).
pub fn getvcpuextstate(d: &Domain, op: &mut XenDomctl) -> Result<(), Errno> {
    // SAFETY: the vcpuextstate member, plain old data.
    let e = unsafe { op.u.vcpuextstate };
    let v = other_vcpu(d, e.vcpu)?;
    if !xstate::enabled() {
        return Err(Errno::EOPNOTSUPP);
    }
    let size = 16 + xsave_size(accum(v));
    let mask = xstate::host_xcr0();
    if e.size == 0 && e.xfeature_mask == 0 {
        op.u.vcpuextstate = XenDomctlVcpuextstate { size, xfeature_mask: mask, ..e };
        return Ok(());
    }
    if e.size != size || e.xfeature_mask != mask {
        return Err(Errno::EINVAL);
    }
    let mut head = [0u8; 16];
    head[..8].copy_from_slice(&v.xcr0.to_le_bytes());
    head[8..].copy_from_slice(&accum(v).to_le_bytes());
    copy_to_guest(e.buffer.p, &head).map_err(|_| Errno::EFAULT)?;
    copy_to_guest(e.buffer.p + 16, &v.fpu.0[..(size - 16) as usize]).map_err(|_| Errno::EFAULT)?;
    op.u.vcpuextstate = XenDomctlVcpuextstate { size, ..e };
    Ok(())
}

/// `XEN_DOMCTL_setvcpuextstate`: XCR0 checked as `XSETBV` would, the image
/// at most the host's largest.
pub fn setvcpuextstate(d: &Domain, op: &XenDomctl) -> Result<(), Errno> {
    // SAFETY: the vcpuextstate member, plain old data.
    let e = unsafe { op.u.vcpuextstate };
    let v = other_vcpu(d, e.vcpu)?;
    if !xstate::enabled() {
        return Err(Errno::EOPNOTSUPP);
    }
    let max = 16 + xsave_size(xstate::host_xcr0());
    if e.size < 16 + 576 || e.size > max || e.size as usize - 16 > v.fpu.0.len() {
        return Err(Errno::EINVAL);
    }
    let xcr0: u64 = read_guest(e.buffer.p).map_err(|_| Errno::EFAULT)?;
    let xcr0_accum: u64 = read_guest(e.buffer.p + 8).map_err(|_| Errno::EFAULT)?;
    let host = xstate::host_xcr0();
    if !crate::xstate_policy::valid_xcr0(xcr0, host) || xcr0_accum & !host != 0 || xcr0 & !xcr0_accum != 0 {
        return Err(Errno::EINVAL);
    }
    let mut image = alloc::vec![0u8; (e.size - 16) as usize];
    copy_from_guest(&mut image, e.buffer.p + 16).map_err(|_| Errno::EFAULT)?;
    // The header's reserved bytes must be zero, as XRSTOR requires.
    if image.len() >= 576 && image[520..576].iter().any(|&b| b != 0) {
        return Err(Errno::EINVAL);
    }
    let xstate_bv = u64::from_le_bytes(image[512..520].try_into().unwrap_or([0; 8]));
    if xstate_bv & !xcr0_accum != 0 {
        return Err(Errno::EINVAL);
    }
    v.fpu.0[..image.len()].copy_from_slice(&image);
    v.xcr0 = xcr0;
    Ok(())
}

/// MSRs a PV vCPU may carry in a migration stream, all of which ours keeps
/// at 0: `SPEC_CTRL`, `MISC_FEATURES_ENABLES`, AMD's DR address masks,
/// `TSC_AUX`.
const PV_MSRS: [u32; 7] = [0x48, 0x140, 0xc001_1027, 0xc001_1019, 0xc001_101a, 0xc001_101b, 0xc000_0103];

/// `XEN_DOMCTL_get_vcpu_msrs`: Xen sends only MSRs with non-zero values,
/// and ours holds none, so the count is 0 whether asked or read.
pub fn get_vcpu_msrs(d: &Domain, op: &mut XenDomctl) -> Result<(), Errno> {
    // SAFETY: the vcpu_msrs member, plain old data.
    let m = unsafe { op.u.vcpu_msrs };
    other_vcpu(d, m.vcpu)?;
    op.u.vcpu_msrs = XenDomctlVcpuMsrs { msr_count: 0, ..m };
    Ok(())
}

/// `XEN_DOMCTL_set_vcpu_msrs`: each entry must be an MSR of [`PV_MSRS`];
/// a value other than 0 is state ours does not keep (`EOPNOTSUPP`).
pub fn set_vcpu_msrs(d: &Domain, op: &XenDomctl) -> Result<(), Errno> {
    // SAFETY: the vcpu_msrs member, plain old data.
    let m = unsafe { op.u.vcpu_msrs };
    other_vcpu(d, m.vcpu)?;
    if m.msr_count > 64 {
        return Err(Errno::E2BIG);
    }
    for i in 0..u64::from(m.msr_count) {
        let e: XenDomctlVcpuMsr = read_guest(m.msrs.p + 16 * i).map_err(|_| Errno::EFAULT)?;
        if !PV_MSRS.contains(&e.index) || e.reserved != 0 {
            return Err(Errno::ENXIO);
        }
        if e.value != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
    }
    Ok(())
}

/// `XEN_DOMCTL_shadow_op` for a PV domain. Log-dirty mode is ours by
/// protection keys ([`crate::mm::log_dirty`]) where the CPU has them;
/// without, enabling is `EOPNOTSUPP` as on Xen 4.17 built without shadow
/// paging (Debian's). Other enable modes (shadow, translate, test) are
/// `EOPNOTSUPP` either way. `OFF` ends log-dirty mode (nothing else to
/// turn off); `CLEAN`/`PEEK` return the dirty bitmap and Xen's statistics
/// in log-dirty mode, and a zeroed bitmap with zero counts otherwise; the
/// shadow pool is empty.
pub fn shadow_op(v: &Vcpu, d: &Domain, op: &mut XenDomctl) -> Result<(), Errno> {
    use crate::mm::log_dirty_ops;
    // SAFETY: the shadow_op member, plain old data.
    let s = unsafe { &mut op.u.shadow_op };
    if core::ptr::eq(d, v.domain) || d.dying.load(core::sync::atomic::Ordering::Acquire) {
        return Err(Errno::EINVAL);
    }
    match s.op {
        XEN_DOMCTL_SHADOW_OP_OFF => {
            log_dirty_ops::disable(d);
            Ok(())
        }
        XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY => log_dirty_ops::enable(d),
        XEN_DOMCTL_SHADOW_OP_ENABLE
        | XEN_DOMCTL_SHADOW_OP_ENABLE_TEST
        | XEN_DOMCTL_SHADOW_OP_SET_ALLOCATION => Err(Errno::EOPNOTSUPP),
        XEN_DOMCTL_SHADOW_OP_CLEAN | XEN_DOMCTL_SHADOW_OP_PEEK => {
            let set = log_dirty_ops::clean_or_peek(d, s.op == XEN_DOMCTL_SHADOW_OP_CLEAN);
            if s.dirty_bitmap.p != 0 {
                let bytes = s.pages.div_ceil(8);
                let mut chunk = [0u8; 512];
                let mut done = 0;
                while done < bytes {
                    let n = (bytes - done).min(512);
                    match &set {
                        Some(b) => b.bytes_at(done * 8, &mut chunk[..n as usize]),
                        None => chunk[..n as usize].fill(0),
                    }
                    copy_to_guest(s.dirty_bitmap.p + done, &chunk[..n as usize]).map_err(|_| Errno::EFAULT)?;
                    done += n;
                }
            }
            let sat = |x: u64| x.min(u64::from(u32::MAX)) as u32;
            s.stats = match &set {
                Some(b) => XenDomctlShadowOpStats { fault_count: sat(b.fault_count), dirty_count: sat(b.dirty_count) },
                None => XenDomctlShadowOpStats { fault_count: 0, dirty_count: 0 },
            };
            Ok(())
        }
        XEN_DOMCTL_SHADOW_OP_GET_ALLOCATION => {
            s.mb = 0;
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}
