//! Emulation of what a PV guest kernel may not execute in ring 3 but Xen
//! performs for it: port I/O (dom0, within its virtual IOPL), CLI/STI
//! (skipped), HLT, CLTS and control-register reads, the MSRs Xen's
//! PV policy allows, WBINVD for dom0, and CPUID behind the forced-emulation
//! prefix `ud2; .ascii "xen"`, answered with the PV CPUID policy.

use x86_64::instructions::port::Port;
use x86_64::registers::model_specific::Msr;

use crate::arch::x86_64::traps::TrapFrame;
use crate::arch::x86_64::uaccess::copy_from_guest;
use crate::arch::x86_64::{cpuid, rdtsc};
use crate::domain::Vcpu;

/// The forced-emulation signature: `ud2` then "xen".
pub const FORCED_PREFIX: [u8; 5] = [0x0f, 0x0b, b'x', b'e', b'n'];

fn fetch(regs: &TrapFrame) -> Option<[u8; 16]> {
    let mut insn = [0u8; 16];
    // Fetch what is readable (an instruction may end at a page boundary).
    for len in [16usize, 8, 4, 2, 1] {
        if copy_from_guest(&mut insn[..len], regs.rip).is_ok() {
            return Some(insn);
        }
    }
    None
}

/// #UD: `ud2; .ascii "xen"; cpuid` runs CPUID under the PV policy.
pub fn forced_invocation(v: &mut Vcpu, regs: &mut TrapFrame) -> bool {
    let Some(insn) = fetch(regs) else { return false };
    if insn[..5] != FORCED_PREFIX || insn[5..7] != [0x0f, 0xa2] {
        return false;
    }
    emulate_cpuid(v, regs);
    regs.rip += 7;
    true
}

/// CPUID as PV guest `v` sees it (see [`crate::cpuid_policy`]).
pub fn pv_cpuid(v: &Vcpu, leaf: u32, subleaf: u32) -> (u32, u32, u32, u32) {
    let xsave = crate::arch::x86_64::xstate::enabled();
    let ctx = crate::cpuid_policy::Context {
        hwdom_kernel: v.domain.is_privileged && v.kernel_mode,
        xsave,
        osxsave: v.cr4 & CR4_OSXSAVE != 0 || v.kernel_mode,
        host_xcr0: crate::arch::x86_64::xstate::host_xcr0(),
    };
    crate::cpuid_policy::pv_cpuid(leaf, subleaf, ctx, |l, s| {
        let r = cpuid(l, s);
        (r.eax, r.ebx, r.ecx, r.edx)
    })
}

fn emulate_cpuid(v: &Vcpu, regs: &mut TrapFrame) {
    let (a, b, c, d) = pv_cpuid(v, regs.rax as u32, regs.rcx as u32);
    regs.rax = u64::from(a);
    regs.rbx = u64::from(b);
    regs.rcx = u64::from(c);
    regs.rdx = u64::from(d);
}

/// Ports the hypervisor keeps for itself: PICs, PIT, the speaker/PIT gate,
/// COM1 (the hypervisor console). Reads from them give all ones, writes are
/// dropped, as Xen does for ports dom0 may not touch. (PCI configuration
/// ports are virtualised: [`super::pci_cfg`].)
fn port_denied(port: u16, bytes: u16) -> bool {
    let reserved: [(u16, u16); 5] = [(0x20, 0x21), (0xa0, 0xa1), (0x40, 0x43), (0x61, 0x61), (0x3f8, 0x3ff)];
    let end = port.saturating_add(bytes - 1);
    reserved.iter().any(|&(lo, hi)| port <= hi && end >= lo)
}

/// The guest's virtual IOPL allows I/O and CLI/STI at its current level.
fn iopl_ok(v: &Vcpu) -> bool {
    let cpl = if v.kernel_mode { 1 } else { 3 };
    (v.iopl >> 12) >= cpl
}

fn io_read(port: u16, bytes: u16) -> u32 {
    // SAFETY: dom0 is allowed this port; the read has device side effects
    // only, on a device the hypervisor does not use.
    unsafe {
        match bytes {
            1 => u32::from(Port::<u8>::new(port).read()),
            2 => u32::from(Port::<u16>::new(port).read()),
            _ => Port::<u32>::new(port).read(),
        }
    }
}

fn io_write(port: u16, bytes: u16, value: u32) {
    // SAFETY: as in `io_read`.
    unsafe {
        match bytes {
            1 => Port::<u8>::new(port).write(value as u8),
            2 => Port::<u16>::new(port).write(value as u16),
            _ => Port::<u32>::new(port).write(value),
        }
    }
}

fn do_io(v: &Vcpu, regs: &mut TrapFrame, port: u16, bytes: u16, is_in: bool) -> bool {
    if !iopl_ok(v) {
        return false;
    }
    let mask: u64 = match bytes {
        1 => 0xff,
        2 => 0xffff,
        _ => 0xffff_ffff,
    };
    if v.domain.is_privileged && super::pci_cfg::handles(port, bytes) {
        if is_in {
            let value = u64::from(super::pci_cfg::read(v.domain, port, bytes));
            regs.rax = if bytes == 4 { value } else { (regs.rax & !mask) | (value & mask) };
        } else {
            super::pci_cfg::write(v.domain, port, bytes, (regs.rax & mask) as u32);
        }
        return true;
    }
    // The control domain has every port but the hypervisor's; another
    // domain those its toolstack gave it (`XEN_DOMCTL_ioport_permission`).
    let last = u32::from(port) + u32::from(bytes) - 1;
    let granted = v.domain.is_privileged
        || v.domain.ioports.lock().iter().any(|&(first, end)| first <= u32::from(port) && last <= end);
    let allowed = granted && !port_denied(port, bytes);
    if is_in {
        let value = if allowed { u64::from(io_read(port, bytes)) } else { mask };
        regs.rax = if bytes == 4 { value } else { (regs.rax & !mask) | (value & mask) };
    } else if allowed {
        io_write(port, bytes, (regs.rax & mask) as u32);
    }
    true
}

const MSR_FS_BASE: u32 = 0xc000_0100;
const MSR_GS_BASE: u32 = 0xc000_0101;
const MSR_SHADOW_GS_BASE: u32 = 0xc000_0102;
const MSR_EFER: u32 = 0xc000_0080;
const MSR_TSC: u32 = 0x10;
const MSR_PAT: u32 = 0x277;
const MSR_MISC_ENABLE: u32 = 0x1a0;
const MSR_PLATFORM_ID: u32 = 0x17;
/// The PAT value PV guests see (Xen's `XEN_MSR_PAT`).
const PV_PAT: u64 = 0x0005_0100_0704_0600 | 0x6;

use crate::pv::canonical;

fn rdmsr(v: &Vcpu, msr: u32) -> Option<u64> {
    // SAFETY (all arms): reading architectural MSRs that exist on x86-64.
    Some(match msr {
        // The guest may have changed it with WRFSBASE.
        MSR_FS_BASE => unsafe { Msr::new(MSR_FS_BASE).read() },
        MSR_GS_BASE => unsafe { Msr::new(MSR_GS_BASE).read() },
        MSR_SHADOW_GS_BASE => unsafe { Msr::new(MSR_SHADOW_GS_BASE).read() },
        MSR_EFER => (unsafe { Msr::new(MSR_EFER).read() }) & ((1 << 0) | (1 << 8) | (1 << 10) | (1 << 11)),
        MSR_TSC => rdtsc(),
        MSR_PAT => PV_PAT,
        MSR_MISC_ENABLE => (1 << 0) | (1 << 11) | (1 << 12), // fast strings, no BTS/PEBS
        MSR_PLATFORM_ID => 0,
        m => return v.vmce.rdmsr(m),
    })
}

fn wrmsr(v: &mut Vcpu, msr: u32, value: u64) -> bool {
    match msr {
        MSR_FS_BASE | MSR_GS_BASE | MSR_SHADOW_GS_BASE if canonical(value) => {
            match msr {
                MSR_FS_BASE => v.fs_base = value,
                MSR_GS_BASE if v.kernel_mode => v.gs_base_kernel = value,
                MSR_GS_BASE => v.gs_base_user = value,
                _ if v.kernel_mode => v.gs_base_user = value,
                _ => v.gs_base_kernel = value,
            }
            // SAFETY: canonical base for the running guest's own segment.
            unsafe { Msr::new(msr).write(value) };
            true
        }
        // Writes that leave the value as the guest sees it are accepted.
        MSR_PAT => value == PV_PAT,
        MSR_EFER => rdmsr(v, MSR_EFER) == Some(value),
        m => v.vmce.wrmsr(m, value),
    }
}

/// Emulate a privileged instruction that raised #GP(0); false when it is
/// not one we emulate (the caller bounces #GP).
pub fn privileged_op(v: &mut Vcpu, regs: &mut TrapFrame) -> bool {
    let Some(insn) = fetch(regs) else { return false };
    let mut i = 0;
    let mut opsize16 = false;
    while i < 4 && matches!(insn[i], 0x66 | 0x40..=0x4f) {
        opsize16 |= insn[i] == 0x66;
        i += 1;
    }
    let op_bytes = if opsize16 { 2 } else { 4 };
    let op = insn[i];
    let len = match op {
        0xe4..=0xe7 => {
            let bytes = if op & 1 == 0 { 1 } else { op_bytes };
            if !do_io(v, regs, u16::from(insn[i + 1]), bytes, op < 0xe6) {
                return false;
            }
            i + 2
        }
        0xec..=0xef => {
            let bytes = if op & 1 == 0 { 1 } else { op_bytes };
            if !do_io(v, regs, regs.rdx as u16, bytes, op < 0xee) {
                return false;
            }
            i + 1
        }
        // CLI/STI with enough IOPL are skipped: like Xen, they do not touch
        // the event mask (a later POPF could not be trapped to undo it).
        0xfa | 0xfb if iopl_ok(v) => i + 1,
        0xf4 if v.kernel_mode => {
            crate::hypercall::sched::block(v);
            i + 1
        }
        // CPUID (faulting) is emulated in user mode too.
        0x0f if insn[i + 1] == 0xa2 => {
            emulate_cpuid(v, regs);
            i + 2
        }
        0x0f if v.kernel_mode => match privileged_0f(v, regs, &insn[i + 1..]) {
            Some(n) => i + 1 + n,
            None => return false,
        },
        _ => return false,
    };
    regs.rip += len as u64;
    true
}

/// Two-byte opcodes (after 0x0f); returns the bytes consumed.
fn privileged_0f(v: &mut Vcpu, regs: &mut TrapFrame, b: &[u8]) -> Option<usize> {
    match b[0] {
        0x06 => {
            v.cr0_ts = false;
            crate::arch::x86_64::fpu::clts();
            Some(1)
        }
        0x09 if v.domain.is_privileged => {
            // SAFETY: WBINVD writes back caches; dom0 may ask for it.
            unsafe { core::arch::asm!("wbinvd", options(nostack)) };
            Some(1)
        }
        0x20 => {
            let modrm = b[1];
            if modrm >> 6 != 3 {
                return None;
            }
            let value = match (modrm >> 3) & 7 {
                0 => 0x8005_0033 | if v.cr0_ts { 8 } else { 0 },
                2 => v.vcpu_info().map_or(0, |vi| vi.arch.cr2),
                3 => v.guest_table << 12,
                4 => v.cr4,
                _ => return None,
            };
            set_gpr(regs, modrm & 7, value);
            Some(2)
        }
        0x22 => {
            let modrm = b[1];
            if modrm >> 6 != 3 {
                return None;
            }
            let value = get_gpr(regs, modrm & 7);
            match (modrm >> 3) & 7 {
                // CR0: only TS is the guest's (as `fpu_taskswitch`).
                0 => {
                    v.cr0_ts = value & 8 != 0;
                    if v.cr0_ts {
                        crate::arch::x86_64::fpu::stts();
                    } else {
                        crate::arch::x86_64::fpu::clts();
                    }
                }
                4 => {
                    v.cr4 = pv_guest_cr4(v.cr4, value);
                    crate::arch::x86_64::set_fsgsbase(v.cr4 & crate::arch::x86_64::CR4_FSGSBASE != 0);
                }
                _ => return None,
            }
            Some(2)
        }
        // XSETBV: XCR0 only, as Xen's rules allow.
        0x01 if b[1] == 0xd1 => {
            let value = (regs.rdx << 32) | (regs.rax & 0xffff_ffff);
            let host = crate::arch::x86_64::xstate::host_xcr0();
            if regs.rcx as u32 != 0 || !crate::arch::x86_64::xstate::enabled() || !crate::xstate_policy::valid_xcr0(value, host) {
                return None;
            }
            // SAFETY: checked against the CPU's supported components.
            unsafe { crate::arch::x86_64::xstate::set_xcr0(value) };
            v.xcr0 = value;
            Some(2)
        }
        0x30 => {
            let value = (regs.rdx << 32) | (regs.rax & 0xffff_ffff);
            wrmsr(v, regs.rcx as u32, value).then_some(1)
        }
        0x32 => {
            let value = rdmsr(v, regs.rcx as u32)?;
            regs.rax = value & 0xffff_ffff;
            regs.rdx = value >> 32;
            Some(1)
        }
        _ => None,
    }
}

/// CR4.OSXSAVE.
const CR4_OSXSAVE: u64 = 1 << 18;

/// A guest write of CR4, as Xen's `pv_fixup_guest_cr4` takes it: only the
/// guest-owned bits change (TSD, DE, OSXSAVE where the hypervisor has XSAVE
/// on, FSGSBASE where the CPU has it); attempts on the others are ignored.
pub(crate) fn pv_guest_cr4(old: u64, new: u64) -> u64 {
    let mut guest_owned: u64 = (1 << 2) | (1 << 3);
    if crate::arch::x86_64::xstate::enabled() {
        guest_owned |= CR4_OSXSAVE;
    }
    if crate::arch::x86_64::has_fsgsbase() {
        guest_owned |= crate::arch::x86_64::CR4_FSGSBASE;
    }
    if (old ^ new) & !guest_owned != 0 {
        log::debug!("guest attempt to change CR4 flags {old:#x} -> {new:#x}");
    }
    (old & !guest_owned) | (new & guest_owned)
}

fn get_gpr(regs: &TrapFrame, n: u8) -> u64 {
    match n {
        0 => regs.rax,
        1 => regs.rcx,
        2 => regs.rdx,
        3 => regs.rbx,
        4 => regs.rsp,
        5 => regs.rbp,
        6 => regs.rsi,
        _ => regs.rdi,
    }
}

fn set_gpr(regs: &mut TrapFrame, n: u8, value: u64) {
    match n {
        0 => regs.rax = value,
        1 => regs.rcx = value,
        2 => regs.rdx = value,
        3 => regs.rbx = value,
        4 => regs.rsp = value,
        5 => regs.rbp = value,
        6 => regs.rsi = value,
        _ => regs.rdi = value,
    }
}
