//! `sysctl`: the toolstack's view of the host, for the privileged domain
//! only (`EPERM`), with Xen 4.17's interface version (`EACCES`):
//! `readconsole` (the console ring, incremental, with clear), `physinfo`,
//! `sched_id`, `getdomaininfolist`, `getcpuinfo` (idle time per CPU),
//! `cputopoinfo`, `numainfo` (one node) and the cpupool queries (`INFO`,
//! `FREEINFO`: pool 0 holds the scheduler's CPUs). Other operations answer
//! `ENOSYS`; changing cpupools answers `EOPNOTSUPP`.

use dom0_abi::domctl::{XenDomctlGetdomaininfo, XEN_SCHEDULER_CREDIT};

/// The scheduler `sched_id` reports (vCPUs time-share CPU 0 by credit1's
/// slice and weights; see [`crate::sched`]).
pub const SCHED_ID: u32 = XEN_SCHEDULER_CREDIT;
use dom0_abi::sysctl::*;
use dom0_abi::Errno;

use crate::arch::x86_64::uaccess::{copy_to_guest, read_guest, write_guest};
use crate::domain::Vcpu;
use crate::hypercall::{err, HcResult};

/// `sysctl(op)`.
pub fn sysctl(v: &mut Vcpu, arg: u64) -> HcResult {
    let mut op: XenSysctl = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    if op.interface_version != XEN_SYSCTL_INTERFACE_VERSION {
        return err(Errno::EACCES);
    }
    if !v.domain.is_privileged {
        return err(Errno::EPERM);
    }
    match op.cmd {
        XEN_SYSCTL_readconsole => {
            // SAFETY: the union member of this command (plain data).
            let rc = unsafe { &mut op.u.readconsole };
            let mut buf = [0u8; 512];
            let (mut done, mut index) = (0u32, rc.index);
            let want = rc.count;
            let incremental = rc.incremental != 0;
            let clear = rc.clear != 0;
            // Copy in chunks (the console lock is not held across guest
            // copies); each chunk continues from the index of the last.
            loop {
                let n = ((want - done) as usize).min(buf.len());
                let (got, next) = crate::console::CONSOLE.lock().ring_mut().read_console(
                    incremental || done > 0,
                    index,
                    &mut buf[..n],
                    false,
                );
                if got > 0 {
                    copy_to_guest(rc.buffer.addr() + u64::from(done), &buf[..got]).map_err(|_| Errno::EFAULT)?;
                }
                done += got as u32;
                index = next;
                if got < n || done == want {
                    break;
                }
            }
            if clear {
                let mut c = crate::console::CONSOLE.lock();
                c.ring_mut().read_console(true, index, &mut [], true);
            }
            rc.count = done;
            rc.index = index;
        }
        XEN_SYSCTL_physinfo => {
            // SAFETY: as above.
            let p = unsafe { &mut op.u.physinfo };
            *p = physinfo();
        }
        XEN_SYSCTL_sched_id => {
            // One vCPU per physical CPU, never moved: the null scheduler's
            // model (the credit scheduler is yet to come).
            op.u.sched_id.sched_id = SCHED_ID;
        }
        XEN_SYSCTL_getdomaininfolist => {
            // SAFETY: as above.
            let l = unsafe { &mut op.u.getdomaininfolist };
            let mut ds = crate::domain::all();
            ds.sort_by_key(|d| d.domid);
            let size = core::mem::size_of::<XenDomctlGetdomaininfo>() as u64;
            let mut n = 0u32;
            for d in ds.iter().filter(|d| d.domid >= l.first_domain.0).take(l.max_domains as usize) {
                write_guest(l.buffer.addr() + u64::from(n) * size, &d.info()).map_err(|_| Errno::EFAULT)?;
                n += 1;
            }
            l.num_domains = n;
        }
        XEN_SYSCTL_getcpuinfo => {
            // SAFETY: as above.
            let g = unsafe { &mut op.u.getcpuinfo };
            let cpus = online_cpus();
            let n = g.max_cpus.min(cpus);
            for cpu in 0..n {
                let info = XenSysctlCpuinfo { idletime: crate::sched::idle_time_ns(cpu) };
                write_guest(g.info.addr() + 8 * u64::from(cpu), &info).map_err(|_| Errno::EFAULT)?;
            }
            g.nr_cpus = n;
        }
        XEN_SYSCTL_cputopoinfo => {
            // SAFETY: as above.
            let t = unsafe { &mut op.u.cputopoinfo };
            let cpus = online_cpus();
            if t.cputopo.addr() != 0 {
                let (threads, cores) = topology(cpus);
                let size = core::mem::size_of::<XenSysctlCputopo>() as u64;
                for cpu in 0..t.num_cpus.min(cpus) {
                    let topo = XenSysctlCputopo { core: (cpu / threads) % cores, socket: cpu / (threads * cores), node: 0 };
                    write_guest(t.cputopo.addr() + u64::from(cpu) * size, &topo).map_err(|_| Errno::EFAULT)?;
                }
                if t.num_cpus < cpus {
                    // Xen fills what fits and reports how many there are.
                    t.num_cpus = cpus;
                    write_guest(arg, &op).map_err(|_| Errno::EFAULT)?;
                    return err(Errno::ENOBUFS);
                }
            }
            t.num_cpus = cpus;
        }
        XEN_SYSCTL_numainfo => {
            // SAFETY: as above.
            let n = unsafe { &mut op.u.numainfo };
            if n.meminfo.addr() != 0 && n.num_nodes >= 1 {
                let p = physinfo();
                let mi = XenSysctlMeminfo { memsize: p.total_pages * 4096, memfree: p.free_pages * 4096 };
                write_guest(n.meminfo.addr(), &mi).map_err(|_| Errno::EFAULT)?;
            }
            if n.distance.addr() != 0 && n.num_nodes >= 1 {
                write_guest(n.distance.addr(), &10u32).map_err(|_| Errno::EFAULT)?;
            }
            n.num_nodes = 1;
        }
        XEN_SYSCTL_cpupool_op => {
            // SAFETY: as above.
            let c = unsafe { &mut op.u.cpupool_op };
            cpupool_op(c)?;
        }
        XEN_SYSCTL_get_cpu_levelling_caps => {
            // Ours shapes a PV guest's CPUID by emulating it, never with
            // the hardware's masking or faulting MSRs: no levelling
            // capabilities (Xen copies out just this word).
            let caps = arg + core::mem::offset_of!(XenSysctl, u) as u64;
            write_guest(caps, &0u32).map_err(|_| Errno::EFAULT)?;
            return Ok(0);
        }
        cmd => {
            log::debug!("d{}: sysctl {cmd} not implemented", v.domain.domid);
            return err(Errno::ENOSYS);
        }
    }
    write_guest(arg, &op).map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// CPUs online.
fn online_cpus() -> u32 {
    crate::arch::x86_64::cpu::pcpus().iter().filter(|c| c.online).count().max(1) as u32
}

/// `XEN_SYSCTL_cpupool_op`: one pool (0) with the scheduler's CPUs and
/// every domain; the other online CPUs are free.
fn cpupool_op(c: &mut XenSysctlCpupoolOp) -> Result<(), Errno> {
    let pool = crate::sched::pool_cpus();
    let online = if online_cpus() >= 64 { !0 } else { (1u64 << online_cpus()) - 1 };
    match c.op {
        XEN_SYSCTL_CPUPOOL_OP_INFO => {
            // The first pool with an ID at or above the one asked for.
            if c.cpupool_id != XEN_SYSCTL_CPUPOOL_PAR_ANY && c.cpupool_id > 0 {
                return Err(Errno::ENOENT);
            }
            c.cpupool_id = 0;
            c.sched_id = SCHED_ID;
            c.n_dom = crate::domain::all().len() as u32;
            crate::domctl::vcpu::write_cpumap(&c.cpumap, pool)
        }
        XEN_SYSCTL_CPUPOOL_OP_FREEINFO => crate::domctl::vcpu::write_cpumap(&c.cpumap, online & !pool),
        XEN_SYSCTL_CPUPOOL_OP_CREATE
        | XEN_SYSCTL_CPUPOOL_OP_DESTROY
        | XEN_SYSCTL_CPUPOOL_OP_ADDCPU
        | XEN_SYSCTL_CPUPOOL_OP_RMCPU
        | XEN_SYSCTL_CPUPOOL_OP_MOVEDOMAIN => Err(Errno::EOPNOTSUPP),
        // Xen: an unknown pool operation.
        _ => Err(Errno::ENOSYS),
    }
}

/// The host as `XEN_SYSCTL_physinfo` describes it.
fn physinfo() -> XenSysctlPhysinfo {
    use crate::arch::x86_64::cpuid;
    let cpus = crate::arch::x86_64::cpu::pcpus().iter().filter(|c| c.online).count().max(1) as u32;
    let (total, free) = {
        let f = crate::mm::FRAMES.lock();
        f.as_ref().map_or((0, 0), |f| (f.total_frames(), f.free_frames()))
    };
    let mut p: XenSysctlPhysinfo = dom0_abi::Pod::zeroed();
    let (threads, cores) = topology(cpus);
    p.threads_per_core = threads;
    p.cores_per_socket = cores;
    p.nr_cpus = cpus;
    p.max_cpu_id = cpus - 1;
    p.nr_nodes = 1;
    p.max_node_id = 0;
    p.cpu_khz = crate::timer::tsc_khz() as u32;
    p.capabilities = XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_gnttab_v1;
    p.total_pages = total;
    p.free_pages = free;
    p.max_mfn = crate::mm::m2p::entries().saturating_sub(1);
    // Xen's first eight feature words, from the hardware.
    let l1 = cpuid(1, 0);
    let e1 = cpuid(0x8000_0001, 0);
    let xs = cpuid(0xd, 1);
    let l7 = cpuid(7, 0);
    let e7 = cpuid(0x8000_0007, 0);
    p.hw_cap = [l1.edx, l1.ecx, e1.edx, e1.ecx, xs.eax, l7.ebx, l7.ecx, e7.edx];
    p
}

/// Threads per core and cores per socket from CPUID, bounded by the CPUs
/// online (leaf 4's core count on Intel, 0x80000008 on AMD; leaf 1's
/// logical count gives the threads).
fn topology(cpus: u32) -> (u32, u32) {
    use crate::arch::x86_64::cpuid;
    let l1 = cpuid(1, 0);
    let htt = l1.edx & (1 << 28) != 0;
    let logical = if htt { (l1.ebx >> 16) & 0xff } else { 1 }.max(1);
    let vendor = cpuid(0, 0);
    let cores = if vendor.ebx == 0x756e_6547 && vendor.eax >= 4 {
        (cpuid(4, 0).eax >> 26) + 1
    } else if cpuid(0x8000_0000, 0).eax >= 0x8000_0008 {
        (cpuid(0x8000_0008, 0).ecx & 0xff) + 1
    } else {
        1
    };
    let threads = (logical / cores.max(1)).max(1);
    (threads.min(cpus), cores.min(cpus).max(1))
}
