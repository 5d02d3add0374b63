//! `platform_op`: the hardware domain's view of the platform, as Xen 4.17
//! answers it: wallclock setting, MTRR reads, firmware information,
//! physical CPU enumeration and versions, ACPI sleep (S5 powers the machine
//! off), processor power-management uploads.
//!
//! Only a privileged domain may call it (`EPERM`), with the right interface
//! version (`EACCES`).

use dom0_abi::platform::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::arch::x86_64::{cpu, cpuid};
use crate::domain::Vcpu;

const MSR_MTRRCAP: u32 = 0xfe;
const MSR_MTRR_PHYSBASE0: u32 = 0x200;

/// `platform_op(op)`.
pub fn platform_op(v: &mut Vcpu, arg: u64) -> HcResult {
    let mut op: XenPlatformOp = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    if op.interface_version != XENPF_INTERFACE_VERSION {
        return err(Errno::EACCES);
    }
    if !v.domain.is_privileged {
        return err(Errno::EPERM);
    }
    let r = match op.cmd {
        XENPF_settime32 => {
            // SAFETY: the union member of this command.
            let t = unsafe { op.u.settime32 };
            crate::timer::set_wallclock(u64::from(t.secs), t.nsecs, t.system_time);
            Ok(0)
        }
        XENPF_settime64 => {
            // SAFETY: as above.
            let t = unsafe { op.u.settime64 };
            if t.mbz != 0 {
                return err(Errno::EINVAL);
            }
            crate::timer::set_wallclock(t.secs, t.nsecs, t.system_time);
            Ok(0)
        }
        XENPF_read_memtype => {
            // SAFETY: as above.
            let reg = unsafe { op.u.read_memtype.reg };
            let (mfn, nr_mfns, ty) = read_mtrr(reg).ok_or(Errno::EINVAL)?;
            op.u.read_memtype.mfn = mfn;
            op.u.read_memtype.nr_mfns = nr_mfns;
            op.u.read_memtype.r#type = ty;
            Ok(0)
        }
        XENPF_firmware_info => firmware_info(&mut op),
        XENPF_enter_acpi_sleep => {
            // SAFETY: as above.
            let s = unsafe { op.u.enter_acpi_sleep };
            enter_acpi_sleep(v, &s)
        }
        XENPF_get_cpuinfo => {
            // SAFETY: as above.
            let info = unsafe { &mut op.u.pcpu_info };
            let cpus = cpu::pcpus();
            match cpus.get(info.xen_cpuid as usize) {
                Some(p) => {
                    info.apic_id = p.apic_id;
                    info.acpi_id = p.acpi_id;
                    info.flags = if p.online { XEN_PCPU_FLAGS_ONLINE } else { 0 };
                }
                None => info.flags = XEN_PCPU_FLAGS_INVALID,
            }
            info.max_present = cpus.len().saturating_sub(1) as u32;
            Ok(0)
        }
        XENPF_get_cpu_version => {
            // SAFETY: as above.
            let ver = unsafe { &mut op.u.pcpu_version };
            let cpus = cpu::pcpus();
            if cpus.get(ver.xen_cpuid as usize).is_some_and(|p| p.online) {
                let (family, model, stepping) = cpu_signature();
                ver.vendor_id = vendor_id();
                ver.family = family;
                ver.model = model;
                ver.stepping = stepping;
            } else {
                ver.vendor_id = [0; 12];
                ver.family = 0;
                ver.model = 0;
                ver.stepping = 0;
            }
            ver.max_present = cpus.len().saturating_sub(1) as u32;
            Ok(0)
        }
        XENPF_set_processor_pminfo => {
            // SAFETY: as above.
            let pm = unsafe { op.u.set_pminfo };
            set_pminfo(&pm)
        }
        XENPF_cpu_online => {
            // SAFETY: as above.
            let c = unsafe { op.u.cpu_ol.cpuid };
            // Every present CPU is brought online at boot and stays so.
            match cpu::pcpus().get(c as usize) {
                Some(p) if p.online => Ok(0),
                _ => err(Errno::EINVAL),
            }
        }
        XENPF_cpu_offline => {
            // SAFETY: as above.
            let c = unsafe { op.u.cpu_ol.cpuid };
            match cpu::pcpus().get(c as usize) {
                // CPU 0 cannot go offline (Xen: EOPNOTSUPP); taking others
                // offline is not supported here.
                Some(_) if c == 0 => err(Errno::EOPNOTSUPP),
                Some(_) => err(Errno::EBUSY),
                None => err(Errno::EINVAL),
            }
        }
        // No frequency control and no idle-time reporting for dom0 (Xen
        // without cpufreq=dom0-kernel).
        XENPF_change_freq | XENPF_getidletime => err(Errno::ENOSYS),
        XENPF_efi_runtime_call => err(Errno::ENOSYS),
        // Quirks dom0 reports: ours never rebalances IRQs and reads the
        // IO-APIC through its register select either way, so each known
        // one is taken note of (as Xen answers); others are EINVAL.
        XENPF_platform_quirk => {
            // SAFETY: as above.
            match unsafe { op.u.platform_quirk.quirk_id } {
                QUIRK_NOIRQBALANCING | QUIRK_IOAPIC_BAD_REGSEL | QUIRK_IOAPIC_GOOD_REGSEL => Ok(0),
                _ => err(Errno::EINVAL),
            }
        }
        cmd => {
            log::debug!("d{}: platform_op {cmd} not implemented", v.domain.domid);
            err(Errno::ENOSYS)
        }
    }?;
    write_guest(arg, &op).map_err(|_| Errno::EFAULT)?;
    Ok(r)
}

/// Variable MTRR `reg`: first frame, number of frames and type, as Xen's
/// `mtrr_get` reports it (a disabled range reads as all zeros); `None` when
/// there is no such register.
fn read_mtrr(reg: u32) -> Option<(u64, u64, u32)> {
    if cpuid(1, 0).edx & (1 << 12) == 0 {
        return None;
    }
    let cap = crate::arch::x86_64::uaccess::rdmsr_safe(MSR_MTRRCAP)?;
    if u64::from(reg) >= cap & 0xff {
        return None;
    }
    let base = crate::arch::x86_64::uaccess::rdmsr_safe(MSR_MTRR_PHYSBASE0 + 2 * reg)?;
    let mask = crate::arch::x86_64::uaccess::rdmsr_safe(MSR_MTRR_PHYSBASE0 + 2 * reg + 1)?;
    if mask & (1 << 11) == 0 {
        return Some((0, 0, 0));
    }
    let bits = {
        let ext = cpuid(0x8000_0000, 0).eax;
        if ext >= 0x8000_0008 { cpuid(0x8000_0008, 0).eax & 0xff } else { 36 }
    };
    let addr_mask = ((1u64 << bits) - 1) & !0xfff;
    let size = (!(mask & addr_mask) & addr_mask).wrapping_add(0x1000);
    Some(((base & addr_mask) >> 12, size >> 12, (base & 0xff) as u32))
}

/// `XENPF_firmware_info`. The hypervisor collects no EDD or EDID data at
/// boot (Xen gathers them through real-mode BIOS calls), so those indexes
/// are all out of range (`ESRCH`), as on Xen booted with `edd=off` and no
/// video; there is no EFI (`ENOSYS`, as Xen booted without EFI).
fn firmware_info(op: &mut XenPlatformOp) -> Result<i64, Errno> {
    // SAFETY: the union member of this command.
    let fw = unsafe { &mut op.u.firmware_info };
    match fw.r#type {
        XEN_FW_DISK_INFO | XEN_FW_DISK_MBR_SIGNATURE | XEN_FW_VBEDDC_INFO => Err(Errno::ESRCH),
        XEN_FW_EFI_INFO => Err(Errno::ENOSYS),
        XEN_FW_KBD_SHIFT_FLAGS if fw.index == 0 => {
            // The BIOS data area keeps the keyboard shift flags at 0x417.
            // SAFETY: the first megabyte is RAM reached through the direct map.
            let flags = unsafe { *(crate::arch::x86_64::paging::maddr_to_virt(0x417) as *const u8) };
            fw.u.kbd_shift_flags = flags;
            Ok(0)
        }
        XEN_FW_KBD_SHIFT_FLAGS => Err(Errno::ESRCH),
        _ => Err(Errno::EINVAL),
    }
}

/// `XENPF_enter_acpi_sleep`: S5 powers the machine off through the FADT's
/// PM1 control registers, with the sleep type dom0 read from its DSDT.
/// Suspend to RAM (S3) is not supported: `EOPNOTSUPP`.
fn enter_acpi_sleep(v: &Vcpu, s: &XenpfEnterAcpiSleep) -> Result<i64, Errno> {
    if s.flags & !XENPF_ACPI_SLEEP_EXTENDED != 0 || s.sleep_state > 5 {
        return Err(Errno::EINVAL);
    }
    if s.sleep_state != 5 {
        return Err(Errno::EOPNOTSUPP);
    }
    v.domain.state.lock().shutdown = Some(crate::domain::ShutdownReason::Poweroff);
    crate::printk!("Hardware Dom0 entered ACPI S5: powering off\n");
    crate::arch::x86_64::power::power_off()
}

/// `XENPF_set_processor_pminfo`: with no processor power management in
/// the hypervisor, P- and C-state uploads are refused (`ENOSYS`, as Xen
/// without cpufreq/cpuidle) and T-states are `EINVAL`. `_PDC` capability
/// bits come back as Xen's `acpi_set_pdc_bits` leaves them when it manages
/// none of the states: only the C/P/T/C1PT bits kept, and no FFH C-states
/// without MONITOR (hidden from PV guests).
fn set_pminfo(pm: &XenpfSetProcessorPminfo) -> Result<i64, Errno> {
    const PDC_C_MASK: u32 = 0x352;
    const PDC_P_MASK: u32 = 0x821;
    const PDC_T_MASK: u32 = 0x84;
    const PDC_SMP_C1PT: u32 = 0x8;
    const PDC_C_FFH: u32 = 0x100 | 0x200;
    match pm.r#type {
        XEN_PM_PX | XEN_PM_CX => Err(Errno::ENOSYS),
        XEN_PM_TX => Err(Errno::EINVAL),
        XEN_PM_PDC => {
            // SAFETY: the union member of this type.
            let pdc = unsafe { pm.u.pdc }.addr();
            let head: [u32; 2] = read_guest(pdc).map_err(|_| Errno::EFAULT)?;
            if head[0] != 1 || head[1] == 0 {
                return Err(Errno::EINVAL);
            }
            if pm.id != u32::MAX && !cpu::pcpus().iter().any(|p| p.acpi_id == pm.id && p.online) {
                return Err(Errno::EINVAL);
            }
            let mut caps: u32 = read_guest(pdc + 8).map_err(|_| Errno::EFAULT)?;
            caps &= PDC_C_MASK | PDC_P_MASK | PDC_T_MASK | PDC_SMP_C1PT;
            caps &= !PDC_C_FFH;
            write_guest(pdc + 8, &caps).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

fn vendor_id() -> [u8; 12] {
    let r = cpuid(0, 0);
    let mut id = [0u8; 12];
    id[..4].copy_from_slice(&r.ebx.to_le_bytes());
    id[4..8].copy_from_slice(&r.edx.to_le_bytes());
    id[8..].copy_from_slice(&r.ecx.to_le_bytes());
    id
}

/// Family, model and stepping from CPUID leaf 1, with the extended fields
/// folded in as Linux and Xen compute them.
fn cpu_signature() -> (u32, u32, u32) {
    let a = cpuid(1, 0).eax;
    let mut family = (a >> 8) & 0xf;
    let mut model = (a >> 4) & 0xf;
    if family == 0xf {
        family += (a >> 20) & 0xff;
    }
    if family >= 6 {
        model += ((a >> 16) & 0xf) << 4;
    }
    (family, model, a & 0xf)
}
