//! The vCPU domctls: `setvcpucontext` (Xen's `arch_set_info_guest` for a
//! 64-bit PV guest), `getvcpucontext` (`arch_get_info_guest`),
//! `getvcpuinfo`, and the affinities.

use dom0_abi::arch_x86::*;
use dom0_abi::domctl::*;
use dom0_abi::Errno;

use crate::arch::x86_64::traps::TrapFrame;
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::{Domain, Vcpu};
use crate::mm::frame_table;
use crate::mm::page::PageType;

use crate::pv::canonical;

/// A selector a ring-3 guest kernel may load: RPL 0 becomes 3, as Xen's
/// `fixup_guest_{code,stack}_selector` do for 64-bit PV.
fn fixup_selector(sel: u16) -> u16 {
    if sel & 3 == 0 { sel | 3 } else { sel }
}

/// The vCPU `id` of `d`, not the caller's own running one.
fn target_vcpu(v: &Vcpu, d: &Domain, id: u32) -> Result<&'static mut Vcpu, Errno> {
    let t = d.vcpu(id).ok_or(Errno::EINVAL)?;
    if core::ptr::eq(t, v) {
        return Err(Errno::EINVAL);
    }
    Ok(t)
}

/// `XEN_DOMCTL_setvcpucontext`: give a vCPU of another domain its whole
/// state. A null context is refused (vCPU reset is not offered).
pub fn setvcpucontext(v: &mut Vcpu, d: &'static Domain, op: &XenDomctl) -> Result<(), Errno> {
    // SAFETY: the vcpucontext member, plain old data.
    let vc = unsafe { op.u.vcpucontext };
    if d.domid == v.domain.domid {
        return Err(Errno::EINVAL);
    }
    let t = target_vcpu(v, d, vc.vcpu)?;
    if vc.ctxt.p == 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    let c: VcpuGuestContext = read_guest(vc.ctxt.p).map_err(|_| Errno::EFAULT)?;
    set_info_guest(t, &c)
}

/// Xen's `arch_set_info_guest` for a 64-bit PV vCPU that is not running
/// (`XEN_DOMCTL_setvcpucontext`, `VCPUOP_initialise`).
pub fn set_info_guest(t: &mut Vcpu, c: &VcpuGuestContext) -> Result<(), Errno> {
    let r = &c.user_regs;
    let addrs = [r.rip, r.rsp, c.kernel_sp, c.ldt_base, c.event_callback_eip, c.failsafe_callback_eip, c.syscall_callback_eip, c.fs_base, c.gs_base_kernel, c.gs_base_user];
    if !addrs.iter().all(|&a| canonical(a)) || !c.trap_ctxt.iter().all(|ti| canonical(ti.address)) {
        return Err(Errno::EINVAL);
    }
    if c.ldt_base & 0xfff != 0 || c.ldt_ents > 8192 || c.gdt_ents > crate::arch::x86_64::gdt::FIRST_RESERVED_GDT_ENTRY {
        return Err(Errno::EINVAL);
    }
    let d = t.domain;
    let a = d.actor();
    // The page-table bases: frames of the domain usable as L4 tables.
    let kernel = c.ctrlreg[3] >> 12;
    let user = c.ctrlreg[1] >> 12;
    frame_table::with(|m| m.get_page_and_type(kernel, PageType::L4, a)).map_err(|_| Errno::EINVAL)?;
    if user != 0 {
        if let Err(_) = frame_table::with(|m| m.get_page_and_type(user, PageType::L4, a)) {
            frame_table::with(|m| m.put_page_and_type(kernel));
            return Err(Errno::EINVAL);
        }
    }
    let gdt_frames = &c.gdt_frames[..c.gdt_ents.div_ceil(512) as usize];
    if let Err(e) = crate::hypercall::descriptor::set_gdt_frames(t, gdt_frames, c.gdt_ents) {
        frame_table::with(|m| {
            m.put_page_and_type(kernel);
            if user != 0 {
                m.put_page_and_type(user);
            }
        });
        return Err(e);
    }
    // Drop the bases it had (a context given again).
    let (old_k, old_u) = (core::mem::replace(&mut t.guest_table, kernel), core::mem::replace(&mut t.guest_table_user, user));
    frame_table::with(|m| {
        for old in [old_k, old_u] {
            if old != 0 {
                m.put_page_and_type(old);
            }
        }
    });

    t.kernel_mode = c.flags & VGCF_in_kernel != 0;
    t.trap_table = c.trap_ctxt;
    for ti in t.trap_table.iter_mut() {
        ti.cs = fixup_selector(ti.cs);
    }
    t.kernel_ss = u64::from(fixup_selector(c.kernel_ss as u16));
    t.kernel_sp = c.kernel_sp;
    t.callbacks.event = c.event_callback_eip;
    t.callbacks.failsafe = c.failsafe_callback_eip;
    t.callbacks.syscall = c.syscall_callback_eip;
    t.callbacks.failsafe_disables_events = c.flags & VGCF_failsafe_disables_events != 0;
    t.callbacks.syscall_disables_events = c.flags & VGCF_syscall_disables_events != 0;
    t.fs_base = c.fs_base;
    t.gs_base_kernel = c.gs_base_kernel;
    t.gs_base_user = c.gs_base_user;
    t.cr0_ts = c.ctrlreg[0] & 8 != 0;
    // The guest's CR4 view when the context has one (a restored image
    // carries it: Linux does not set FSGSBASE again after a resume), else
    // the fresh vCPU's (Xen's `arch_set_info_guest`).
    if c.ctrlreg[4] != 0 {
        t.cr4 = crate::pv::emulate::pv_guest_cr4(t.cr4, c.ctrlreg[4]);
    }
    // Kept as RFLAGS.IOPL bits, as `PHYSDEVOP_set_iopl` keeps it (Xen's
    // `v->arch.pv.iopl`): Linux starts its secondary vCPUs with IOPL 1.
    t.iopl = (r.rflags & (3 << 12)) as u32;
    for n in [0usize, 1, 2, 3, 6, 7] {
        if let Ok(val) = crate::debugreg::check(n as u32, c.debugreg[n]) {
            t.debugreg[n] = val;
        }
    }
    if c.ldt_ents != 0 {
        // An LDT is read through the guest's own address space
        // (`MMUEXT_SET_LDT`); a context cannot bring one.
        return Err(Errno::EOPNOTSUPP);
    }
    // The domain's assists come with vCPU 0's context (as Xen's).
    if t.vcpu_id == 0 {
        d.state.lock().vm_assist = c.vm_assist;
    }
    if c.flags & VGCF_I387_VALID != 0 {
        t.fpu.0[..512].copy_from_slice(&c.fpu_ctxt);
        // XSTATE_BV: x87 and SSE come from the image.
        t.fpu.0[512..520].copy_from_slice(&3u64.to_le_bytes());
    }
    t.frame = TrapFrame {
        r15: r.r15,
        r14: r.r14,
        r13: r.r13,
        r12: r.r12,
        rbp: r.rbp,
        rbx: r.rbx,
        r11: r.r11,
        r10: r.r10,
        r9: r.r9,
        r8: r.r8,
        rax: r.rax,
        rcx: r.rcx,
        rdx: r.rdx,
        rsi: r.rsi,
        rdi: r.rdi,
        error_code: 0,
        entry_vector: 0,
        rip: r.rip,
        cs: u64::from(fixup_selector(r.cs)),
        // Interrupts stay on for a PV guest; IOPL is virtual.
        rflags: (r.rflags & !((3 << 12) | (1 << 17))) | (1 << 9) | 2,
        rsp: r.rsp,
        ss: u64::from(fixup_selector(r.ss)),
    };
    let online = c.flags & VGCF_online != 0;
    t.online.store(online, core::sync::atomic::Ordering::Release);
    t.blocked.store(false, core::sync::atomic::Ordering::Release);
    t.periodic_next = crate::timer::now_ns() + t.period_ns;
    if online {
        crate::domain::runstate::set_state(t, dom0_abi::vcpu::RUNSTATE_runnable);
        crate::sched::wake(t);
    }
    Ok(())
}

/// `XEN_DOMCTL_getvcpucontext` (Xen's `arch_get_info_guest`): `ENODATA`
/// for a vCPU never given a context.
pub fn getvcpucontext(d: &Domain, op: &XenDomctl) -> Result<(), Errno> {
    // SAFETY: the vcpucontext member, plain old data.
    let vc = unsafe { op.u.vcpucontext };
    let t = d.vcpu(vc.vcpu).ok_or(Errno::EINVAL)?;
    if crate::sched::is_current(t) {
        return Err(Errno::EINVAL);
    }
    if t.guest_table == 0 {
        return Err(Errno::ENODATA);
    }
    let f = &t.frame;
    let mut c: VcpuGuestContext = dom0_abi::Pod::zeroed();
    c.fpu_ctxt.copy_from_slice(&t.fpu.0[..512]);
    c.flags = VGCF_I387_VALID
        | if t.kernel_mode { VGCF_in_kernel } else { 0 }
        | if t.is_online() { VGCF_online } else { 0 }
        | if t.callbacks.failsafe_disables_events { VGCF_failsafe_disables_events } else { 0 }
        | if t.callbacks.syscall_disables_events { VGCF_syscall_disables_events } else { 0 };
    c.user_regs = CpuUserRegs {
        r15: f.r15,
        r14: f.r14,
        r13: f.r13,
        r12: f.r12,
        rbp: f.rbp,
        rbx: f.rbx,
        r11: f.r11,
        r10: f.r10,
        r9: f.r9,
        r8: f.r8,
        rax: f.rax,
        rcx: f.rcx,
        rdx: f.rdx,
        rsi: f.rsi,
        rdi: f.rdi,
        rip: f.rip,
        cs: f.cs as u16,
        rflags: (f.rflags & !(3 << 12)) | u64::from(t.iopl),
        rsp: f.rsp,
        ss: f.ss as u16,
        saved_upcall_mask: t.vcpu_info().map_or(1, |vi| vi.evtchn_upcall_mask),
        ..Default::default()
    };
    c.trap_ctxt = t.trap_table;
    c.gdt_ents = t.gdt.len() as u64;
    for (slot, &f) in c.gdt_frames.iter_mut().zip(t.gdt_frames.iter()) {
        *slot = f;
    }
    c.kernel_ss = t.kernel_ss;
    c.kernel_sp = t.kernel_sp;
    c.ctrlreg[0] = 0x8005_0033 | if t.cr0_ts { 8 } else { 0 };
    c.ctrlreg[1] = t.guest_table_user << 12;
    c.ctrlreg[3] = t.guest_table << 12;
    c.ctrlreg[4] = t.cr4;
    c.debugreg = t.debugreg;
    c.event_callback_eip = t.callbacks.event;
    c.failsafe_callback_eip = t.callbacks.failsafe;
    c.syscall_callback_eip = t.callbacks.syscall;
    c.vm_assist = d.state.lock().vm_assist;
    c.fs_base = t.fs_base;
    c.gs_base_kernel = t.gs_base_kernel;
    c.gs_base_user = t.gs_base_user;
    write_guest(vc.ctxt.p, &c).map_err(|_| Errno::EFAULT)
}

/// `XEN_DOMCTL_getvcpuinfo`.
pub fn getvcpuinfo(d: &Domain, op: &mut XenDomctl) -> Result<(), Errno> {
    // SAFETY: the getvcpuinfo member, plain old data.
    let id = unsafe { op.u.getvcpuinfo.vcpu };
    let t = d.vcpu(id).ok_or(Errno::EINVAL)?;
    let now = crate::timer::now_ns();
    op.u.getvcpuinfo = XenDomctlGetvcpuinfo {
        vcpu: id,
        online: u8::from(t.is_online()),
        blocked: u8::from(t.is_blocked()),
        running: u8::from(crate::sched::is_running(t)),
        cpu_time: t.runstate.snapshot(now).time[dom0_abi::vcpu::RUNSTATE_running as usize],
        cpu: t.processor,
    };
    Ok(())
}

/// Read a `xenctl_bitmap` of CPUs (bits beyond 64 must be clear to count).
fn read_cpumap(b: &dom0_abi::xen::XenctlBitmap) -> Result<u64, Errno> {
    let bytes = (b.nr_bits as usize).div_ceil(8);
    let mut map = 0u64;
    for i in 0..bytes {
        let byte: u8 = read_guest(b.bitmap.p + i as u64).map_err(|_| Errno::EFAULT)?;
        if i < 8 {
            map |= u64::from(byte) << (8 * i);
        }
    }
    if b.nr_bits < 64 {
        map &= (1u64 << b.nr_bits) - 1;
    }
    Ok(map)
}

/// Write a CPU map into a `xenctl_bitmap` (as many bytes as it holds).
pub fn write_cpumap(b: &dom0_abi::xen::XenctlBitmap, map: u64) -> Result<(), Errno> {
    let bytes = (b.nr_bits as usize).div_ceil(8);
    for i in 0..bytes {
        let byte = if i < 8 { (map >> (8 * i)) as u8 } else { 0 };
        write_guest(b.bitmap.p + i as u64, &byte).map_err(|_| Errno::EFAULT)?;
    }
    Ok(())
}

/// `XEN_DOMCTL_{set,get}vcpuaffinity`. The CPUs of the scheduler's pool
/// are [`crate::sched::pool_cpus`]: a hard affinity with none of them is
/// refused (`EINVAL`), as Xen refuses one outside the domain's cpupool; the
/// maps written back are the effective ones (masked by the pool).
pub fn affinity(d: &Domain, cmd: u32, op: &mut XenDomctl) -> Result<(), Errno> {
    // SAFETY: the vcpuaffinity member, plain old data.
    let a = unsafe { op.u.vcpuaffinity };
    let t = d.vcpu(a.vcpu).ok_or(Errno::EINVAL)?;
    if a.flags & (XEN_VCPUAFFINITY_HARD | XEN_VCPUAFFINITY_SOFT) == 0 {
        return Err(Errno::EINVAL);
    }
    let pool = crate::sched::pool_cpus();
    if cmd == XEN_DOMCTL_setvcpuaffinity {
        let hard = if a.flags & XEN_VCPUAFFINITY_HARD != 0 { Some(read_cpumap(&a.cpumap_hard)?) } else { None };
        let soft = if a.flags & XEN_VCPUAFFINITY_SOFT != 0 { Some(read_cpumap(&a.cpumap_soft)?) } else { None };
        if hard.is_some_and(|h| h & pool == 0) {
            return Err(Errno::EINVAL);
        }
        if let Some(h) = hard {
            t.hard_affinity = h;
            crate::sched::affinity_changed(t);
        }
        if let Some(s) = soft {
            t.soft_affinity = s;
        }
    }
    // Set answers with the effective maps; get with the stored ones.
    let mask = if cmd == XEN_DOMCTL_setvcpuaffinity { pool } else { !0 };
    if a.flags & XEN_VCPUAFFINITY_HARD != 0 {
        write_cpumap(&a.cpumap_hard, t.hard_affinity & mask)?;
    }
    if a.flags & XEN_VCPUAFFINITY_SOFT != 0 {
        write_cpumap(&a.cpumap_soft, t.soft_affinity & mask)?;
    }
    Ok(())
}
