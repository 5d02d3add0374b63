//! `mca`: machine-check telemetry and physical CPU information for the
//! hardware domain (`EPERM` for others, `EACCES` for another interface
//! version), as Xen 4.17 answers: `XEN_MC_physcpuinfo` describes each
//! online CPU (ids, CPUID signature and strings, feature words, the
//! machine-check capability MSR); `XEN_MC_fetch` has no telemetry to give
//! (the hypervisor logs no machine checks yet): `XEN_MC_NODATA` (a null
//! buffer is `EINVAL`, an ack changes nothing);
//! `notifydomain` is unsupported (`EINVAL`, as on Xen); injection is not
//! offered (`ENOSYS`); unknown commands are `EINVAL`, as on Xen.

use dom0_abi::mca::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::cpuid;
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::Vcpu;

const MSR_MCG_CAP: u64 = 0x179;

/// `mca(op)`.
pub fn mca(v: &mut Vcpu, arg: u64) -> HcResult {
    if !v.domain.is_privileged {
        return err(Errno::EPERM);
    }
    let mut op: XenMc = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    if op.interface_version != XEN_MCA_INTERFACE_VERSION {
        return err(Errno::EACCES);
    }
    match op.cmd {
        XEN_MC_fetch => {
            // SAFETY: the union member of this command (plain data).
            let f = unsafe { &mut op.u.mc_fetch };
            if f.flags & (XEN_MC_NONURGENT | XEN_MC_URGENT) == 0
                || f.flags & (XEN_MC_NONURGENT | XEN_MC_URGENT) == (XEN_MC_NONURGENT | XEN_MC_URGENT)
            {
                return err(Errno::EINVAL);
            }
            if f.flags & XEN_MC_ACK != 0 {
                // Nothing was fetched, so nothing to release; as on Xen,
                // the argument is not written back.
                return Ok(0);
            }
            if f.data.addr() == 0 {
                return err(Errno::EINVAL);
            }
            f.flags = XEN_MC_OK | XEN_MC_NODATA;
            f.fetch_id = 0;
        }
        XEN_MC_notifydomain => return err(Errno::EINVAL),
        XEN_MC_physcpuinfo => {
            // SAFETY: as above.
            let p = unsafe { &mut op.u.mc_physcpuinfo };
            let cpus: alloc::vec::Vec<_> = crate::arch::x86_64::cpu::pcpus().iter().filter(|c| c.online).collect();
            let mut n = cpus.len().max(1) as u32;
            if p.info.addr() != 0 {
                // Xen: no CPUs is EINVAL; a count that is negative as an
                // int sizes an allocation that cannot succeed (ENOMEM).
                if p.ncpus == 0 {
                    return err(Errno::EINVAL);
                }
                if (p.ncpus as i32) < 0 {
                    return err(Errno::ENOMEM);
                }
                n = n.min(p.ncpus);
                let size = core::mem::size_of::<McinfoLogicalCpu>() as u64;
                for (i, c) in cpus.iter().take(n as usize).enumerate() {
                    let rec = logical_cpu(i as u32, c.apic_id);
                    write_guest(p.info.addr() + i as u64 * size, &rec).map_err(|_| Errno::EFAULT)?;
                }
            }
            p.ncpus = n;
        }
        // Injection (a debugging aid of Xen's) is not offered.
        XEN_MC_msrinject | XEN_MC_mceinject | XEN_MC_inject_v2 => return err(Errno::ENOSYS),
        // An unknown command: Xen's "bad command".
        _ => return err(Errno::EINVAL),
    }
    write_guest(arg, &op).map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// The record of CPU `cpu` (all CPUs are alike: the boot CPU's CPUID).
fn logical_cpu(cpu: u32, apic_id: u32) -> McinfoLogicalCpu {
    let mut r: McinfoLogicalCpu = dom0_abi::Pod::zeroed();
    let l0 = cpuid(0, 0);
    let l1 = cpuid(1, 0);
    let mut family = (l1.eax >> 8) & 0xf;
    let mut model = (l1.eax >> 4) & 0xf;
    if family == 0xf {
        family += (l1.eax >> 20) & 0xff;
    }
    if family >= 6 {
        model += ((l1.eax >> 16) & 0xf) << 4;
    }
    r.mc_cpunr = cpu;
    r.mc_chipid = cpu;
    r.mc_apicid = apic_id;
    r.mc_ncores = 1;
    r.mc_ncores_active = 1;
    r.mc_nthreads = 1;
    r.mc_cpuid_level = l0.eax as i32;
    r.mc_family = family;
    r.mc_model = model;
    r.mc_step = l1.eax & 0xf;
    // Xen's vendor codes: Intel 1, AMD 2.
    r.mc_vendor = match l0.ebx {
        0x756e_6547 => 1,
        0x6874_7541 => 2,
        _ => 0,
    };
    r.mc_vendorid[..4].copy_from_slice(&l0.ebx.to_le_bytes());
    r.mc_vendorid[4..8].copy_from_slice(&l0.edx.to_le_bytes());
    r.mc_vendorid[8..12].copy_from_slice(&l0.ecx.to_le_bytes());
    if cpuid(0x8000_0000, 0).eax >= 0x8000_0004 {
        for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
            let c = cpuid(leaf, 0);
            for (j, w) in [c.eax, c.ebx, c.ecx, c.edx].iter().enumerate() {
                let at = i * 16 + j * 4;
                r.mc_brandid[at..at + 4].copy_from_slice(&w.to_le_bytes());
            }
        }
    }
    let e1 = cpuid(0x8000_0001, 0);
    r.mc_cpu_caps = [l1.edx, e1.edx, 0, l1.ecx, 0, e1.ecx, 0];
    r.mc_cache_alignment = ((l1.ebx >> 8) & 0xff) * 8;
    if let Some(cap) = crate::arch::x86_64::uaccess::rdmsr_safe(MSR_MCG_CAP as u32) {
        r.mc_nmsrvals = 1;
        r.mc_msrvalues[0] = McinfoMsr { reg: MSR_MCG_CAP, value: cap };
    }
    r
}
