//! `domctl`: the toolstack's control of domains, for the privileged domain
//! only (`EPERM`), with Xen 4.17's interface version (`EACCES`). Each
//! operation checks what Xen 4.17's `do_domctl`/`arch_do_domctl` check and
//! answers with its errno. vCPU contexts, affinities and information are in
//! [`vcpu`]; creating and destroying domains in [`crate::domain::create`]
//! and [`crate::domain::destroy`].

pub mod save;
pub mod vcpu;

use core::sync::atomic::Ordering;

use dom0_abi::domctl::*;
use dom0_abi::Errno;

use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::{self, Domain, Vcpu};
use crate::hypercall::{err, HcResult};
use crate::mm::frame_table;
use crate::mm::page::{Owner, PageType};

/// Event-channel ports of a domU when its toolstack names none.
const DEFAULT_MAX_EVTCHN_PORT: u32 = 1023;

/// `domctl(op)`.
pub fn domctl(v: &mut Vcpu, arg: u64) -> HcResult {
    let mut op: XenDomctl = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    if op.interface_version != XEN_DOMCTL_INTERFACE_VERSION {
        return err(Errno::EACCES);
    }
    // Xen looks the target up before its permission check: a domain that
    // does not exist is ESRCH for everyone.
    let needs_target = !matches!(op.cmd, XEN_DOMCTL_createdomain | XEN_DOMCTL_getdomaininfo);
    if needs_target && domain::by_id(op.domain.0).is_none() {
        return err(Errno::ESRCH);
    }
    before_permission(&op)?;
    if !v.domain.is_privileged {
        return err(Errno::EPERM);
    }
    log::trace!("d{}: domctl {} on d{}", v.domain.domid, op.cmd, op.domain.0);
    let copyback = match op.cmd {
        XEN_DOMCTL_createdomain => createdomain(&mut op)?,
        XEN_DOMCTL_getdomaininfo => {
            let mut ds = crate::domain::all();
            ds.sort_by_key(|d| d.domid);
            let d = ds.iter().find(|d| d.domid >= op.domain.0).ok_or(Errno::ESRCH)?;
            op.domain = dom0_abi::DomId(d.domid);
            op.u.getdomaininfo = d.info();
            true
        }
        cmd => {
            let d = domain::by_id(op.domain.0).ok_or(Errno::ESRCH)?;
            on_domain(v, d, cmd, &mut op)?
        }
    };
    if copyback {
        write_guest(arg, &op).map_err(|_| Errno::EFAULT)?;
    }
    Ok(0)
}

/// Operations on an existing domain `d`; returns whether `op` goes back.
/// What Xen's `do_domctl` rejects before the caller's permission, in the
/// operations it handles outside the domctl lock: pass-through interrupts
/// and I/O port mappings of a PV domain (every domain here is one:
/// `EINVAL`, `EOPNOTSUPP`), port and frame ranges that wrap or leave the
/// port space (`EINVAL`), and a `getdomaininfo` with no domain at or
/// after the id (`EINVAL` for a reserved id, else `ESRCH`).
fn before_permission(op: &XenDomctl) -> Result<(), Errno> {
    match op.cmd {
        XEN_DOMCTL_bind_pt_irq | XEN_DOMCTL_unbind_pt_irq => Err(Errno::EINVAL),
        XEN_DOMCTL_ioport_mapping => Err(Errno::EOPNOTSUPP),
        XEN_DOMCTL_ioport_permission => {
            // SAFETY: the union member of this command (plain data).
            let p = unsafe { op.u.ioport_permission };
            let end = p.first_port.wrapping_add(p.nr_ports);
            if end <= p.first_port || end > 0x10000 {
                return Err(Errno::EINVAL);
            }
            Ok(())
        }
        XEN_DOMCTL_iomem_permission => {
            // SAFETY: as above.
            let p = unsafe { op.u.iomem_permission };
            if p.first_mfn.wrapping_add(p.nr_mfns).wrapping_sub(1) < p.first_mfn {
                return Err(Errno::EINVAL);
            }
            Ok(())
        }
        XEN_DOMCTL_getdomaininfo if domain::by_id(op.domain.0).is_none() => {
            if op.domain.0 >= dom0_abi::xen::DOMID_FIRST_RESERVED {
                return Err(Errno::EINVAL);
            }
            match crate::domain::all().iter().any(|d| d.domid >= op.domain.0) {
                true => Ok(()),
                false => Err(Errno::ESRCH),
            }
        }
        _ => Ok(()),
    }
}

fn on_domain(v: &mut Vcpu, d: &'static Domain, cmd: u32, op: &mut XenDomctl) -> Result<bool, Errno> {
    let is_self = d.domid == v.domain.domid;
    // SAFETY (all union reads below): each member is plain old data and
    // the one `cmd` selects; any bit pattern is a valid value.
    match cmd {
        XEN_DOMCTL_destroydomain => {
            if is_self || d.domid == 0 {
                return Err(Errno::EINVAL);
            }
            crate::domain::destroy::destroy(d);
            Ok(false)
        }
        XEN_DOMCTL_pausedomain => {
            if is_self {
                return Err(Errno::EINVAL);
            }
            // Xen's controller pause count saturates at 255 (EOVERFLOW).
            d.pause_count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| (c < 255).then_some(c + 1))
                .map_err(|_| Errno::EOVERFLOW)?;
            // Paused when this returns (Xen's `domain_pause`: vCPUs running
            // on other CPUs are saved first).
            crate::sched::deschedule_domain(d);
            Ok(false)
        }
        XEN_DOMCTL_unpausedomain => {
            d.pause_count
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |c| c.checked_sub(1))
                .map_err(|_| Errno::EINVAL)?;
            crate::sched::wake_domain(d);
            Ok(false)
        }
        XEN_DOMCTL_resumedomain => {
            if is_self {
                return Err(Errno::EINVAL);
            }
            crate::domain::destroy::resume(d);
            Ok(false)
        }
        XEN_DOMCTL_max_vcpus => {
            let max = unsafe { op.u.max_vcpus.max };
            // Xen 4.17 creates the vCPUs in createdomain: this must repeat it.
            if is_self || max as usize != d.vcpu_list().len() {
                return Err(Errno::EINVAL);
            }
            Ok(false)
        }
        XEN_DOMCTL_max_mem => {
            let kb = unsafe { op.u.max_mem.max_memkb };
            d.max_pages.store((kb >> 2).min(u64::from(u32::MAX)), Ordering::Release);
            Ok(false)
        }
        XEN_DOMCTL_setdomainhandle => {
            *d.handle.lock() = unsafe { op.u.setdomainhandle.handle };
            Ok(false)
        }
        XEN_DOMCTL_settimeoffset => {
            let secs = unsafe { op.u.settimeoffset.time_offset_seconds };
            d.time_offset.store(secs, Ordering::Release);
            crate::timer::publish_wallclock_offset(d.shared_info(), secs);
            Ok(false)
        }
        XEN_DOMCTL_get_address_size => {
            op.u.address_size = XenDomctlAddressSize { size: 64 };
            Ok(true)
        }
        XEN_DOMCTL_set_address_size => match unsafe { op.u.address_size.size } {
            64 => Ok(false),
            // A 32-bit (compat) PV guest is not supported.
            32 => Err(Errno::EOPNOTSUPP),
            _ => Err(Errno::EINVAL),
        },
        XEN_DOMCTL_hypercall_init => hypercall_init(d, unsafe { op.u.hypercall_init.gmfn }).map(|()| false),
        XEN_DOMCTL_ioport_permission => {
            let p = unsafe { op.u.ioport_permission };
            let last = p.first_port.checked_add(p.nr_ports).filter(|&e| e <= 0x10000 && p.nr_ports > 0);
            let Some(end) = last else { return Err(Errno::EINVAL) };
            permit(&d.ioports, (p.first_port, end - 1), p.allow_access != 0);
            Ok(false)
        }
        XEN_DOMCTL_iomem_permission => {
            let p = unsafe { op.u.iomem_permission };
            let end = p.first_mfn.checked_add(p.nr_mfns).filter(|_| p.nr_mfns > 0).ok_or(Errno::EINVAL)?;
            // Device memory is mapped by the control domain only: no device
            // passthrough to other domains yet, so a grant is refused
            // rather than recorded and ignored.
            if p.allow_access != 0 && !d.is_privileged {
                return Err(Errno::EOPNOTSUPP);
            }
            permit(&d.iomem, (p.first_mfn, end - 1), p.allow_access != 0);
            Ok(false)
        }
        XEN_DOMCTL_scheduler_op => scheduler_op(d, op).map(|()| true),
        XEN_DOMCTL_getpageframeinfo3 => getpageframeinfo3(d, op).map(|()| false),
        XEN_DOMCTL_setvcpucontext => vcpu::setvcpucontext(v, d, op).map(|()| false),
        XEN_DOMCTL_getvcpucontext => vcpu::getvcpucontext(d, op).map(|()| true),
        XEN_DOMCTL_getvcpuinfo => vcpu::getvcpuinfo(d, op).map(|()| true),
        XEN_DOMCTL_setvcpuaffinity | XEN_DOMCTL_getvcpuaffinity => vcpu::affinity(d, cmd, op).map(|()| true),
        XEN_DOMCTL_shadow_op => save::shadow_op(v, d, op).map(|()| true),
        XEN_DOMCTL_gettscinfo => {
            save::gettscinfo(op);
            Ok(true)
        }
        XEN_DOMCTL_settscinfo => save::settscinfo(op).map(|()| false),
        XEN_DOMCTL_get_ext_vcpucontext => save::get_ext_vcpucontext(d, op).map(|()| true),
        XEN_DOMCTL_set_ext_vcpucontext => save::set_ext_vcpucontext(d, op).map(|()| false),
        XEN_DOMCTL_getvcpuextstate => save::getvcpuextstate(d, op).map(|()| true),
        XEN_DOMCTL_setvcpuextstate => save::setvcpuextstate(d, op).map(|()| false),
        XEN_DOMCTL_get_vcpu_msrs => save::get_vcpu_msrs(d, op).map(|()| true),
        XEN_DOMCTL_set_vcpu_msrs => save::set_vcpu_msrs(d, op).map(|()| false),
        _ => {
            log::debug!("d{}: domctl {cmd} not implemented", v.domain.domid);
            Err(Errno::ENOSYS)
        }
    }
}

/// Grant (`allow`) or revoke the inclusive range `r` in a permission list.
fn permit<T: Copy + Ord>(list: &crate::sync::Mutex<alloc::vec::Vec<(T, T)>>, r: (T, T), allow: bool) {
    let mut l = list.lock();
    if allow {
        if !l.contains(&r) {
            l.push(r);
        }
    } else {
        l.retain(|&x| x != r);
    }
}

/// `XEN_DOMCTL_createdomain`: checks as Xen 4.17's
/// `sanitise_domain_config` for a PV domain, the ID asked for (else the
/// next free one), and a domain left paused for its builder.
fn createdomain(op: &mut XenDomctl) -> Result<bool, Errno> {
    // SAFETY: the createdomain member, plain old data.
    let c = unsafe { op.u.createdomain };
    let known = XEN_DOMCTL_CDF_hvm
        | XEN_DOMCTL_CDF_hap
        | XEN_DOMCTL_CDF_s3_integrity
        | XEN_DOMCTL_CDF_oos_off
        | XEN_DOMCTL_CDF_xs_domain
        | XEN_DOMCTL_CDF_iommu
        | XEN_DOMCTL_CDF_nested_virt
        | XEN_DOMCTL_CDF_vpmu;
    if c.flags & !known != 0 || c.max_vcpus == 0 || c.max_grant_frames == 0 || c.max_maptrack_frames < -1 {
        return Err(Errno::EINVAL);
    }
    let version = c.grant_opts & XEN_DOMCTL_GRANT_version_mask;
    if version == 0 || version > 2 || c.grant_opts & !XEN_DOMCTL_GRANT_version_mask != 0 {
        return Err(Errno::EINVAL);
    }
    // PV only: HVM needs hardware virtualisation we do not offer, and a PV
    // domU emulates nothing.
    if c.flags & (XEN_DOMCTL_CDF_hvm | XEN_DOMCTL_CDF_hap | XEN_DOMCTL_CDF_nested_virt) != 0 {
        return Err(Errno::EINVAL);
    }
    if c.arch.emulation_flags != 0 || c.flags & (XEN_DOMCTL_CDF_iommu | XEN_DOMCTL_CDF_vpmu) != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if c.max_vcpus as usize > crate::domain::MAX_VIRT_CPUS {
        return Err(Errno::EINVAL);
    }
    let asked = op.domain.0;
    let domid = if asked > 0 && asked < dom0_abi::xen::DOMID_FIRST_RESERVED {
        if domain::by_id(asked).is_some() {
            return Err(Errno::EEXIST);
        }
        asked
    } else {
        crate::domain::create::next_free_domid().ok_or(Errno::ENOMEM)?
    };
    let max_port = if c.max_evtchn_port == 0 { DEFAULT_MAX_EVTCHN_PORT } else { c.max_evtchn_port };
    let d = crate::domain::create::create(crate::domain::create::NewDomain {
        domid,
        privileged: false,
        max_vcpus: c.max_vcpus,
        tot_pages: 0,
        max_pages: 0,
        p2m: alloc::vec::Vec::new(),
        vm_assist: 0,
        ssidref: c.ssidref,
        handle: c.handle,
        max_evtchn_port: max_port,
        shared_info_mfn: 0,
        paused: true,
    })?;
    op.domain = dom0_abi::DomId(d.domid);
    Ok(true)
}

/// `XEN_DOMCTL_hypercall_init`: write the hypercall page into frame `gmfn`
/// of `d` (a frame it owns that may be writable: else `EPERM`; not its
/// frame: `EINVAL`).
fn hypercall_init(d: &Domain, gmfn: u64) -> Result<(), Errno> {
    if !d.owns(gmfn) {
        return Err(Errno::EINVAL);
    }
    let a = d.actor();
    frame_table::with(|m| {
        m.get_page(gmfn, d.domid)?;
        if let Err(e) = m.get_page_type(gmfn, PageType::Writable, a) {
            m.put_page(gmfn);
            return Err(e);
        }
        Ok(())
    })
    .map_err(|_| Errno::EPERM)?;
    let page = crate::pv::hypercall_page::contents();
    // SAFETY: a frame of `d` held writable above, reached through the
    // direct map.
    unsafe {
        core::ptr::copy_nonoverlapping(
            page.as_ptr(),
            crate::arch::x86_64::paging::maddr_to_virt(gmfn << 12) as *mut u8,
            page.len(),
        )
    };
    frame_table::with(|m| m.put_page_and_type(gmfn));
    Ok(())
}

/// `XEN_DOMCTL_scheduler_op`: the credit scheduler's per-domain weight and
/// cap (Xen's checks: the scheduler must be the domain's; weight 1-65535,
/// cap 0-100 per vCPU).
fn scheduler_op(d: &Domain, op: &mut XenDomctl) -> Result<(), Errno> {
    // SAFETY: the scheduler_op member, plain old data.
    let s = unsafe { &mut op.u.scheduler_op };
    if s.sched_id != crate::sysctl::SCHED_ID {
        return Err(Errno::EINVAL);
    }
    match s.cmd {
        XEN_DOMCTL_SCHEDOP_getinfo => {
            let p = *d.sched_params.lock();
            s.u.credit = XenDomctlSchedCredit { weight: p.weight, cap: p.cap };
            Ok(())
        }
        XEN_DOMCTL_SCHEDOP_putinfo => {
            // SAFETY: the credit member, plain old data.
            let c = unsafe { s.u.credit };
            let nr_vcpus = d.vcpu_list().len() as u32;
            if u32::from(c.cap) > 100 * nr_vcpus {
                return Err(Errno::EINVAL);
            }
            let mut p = d.sched_params.lock();
            if c.weight != 0 {
                p.weight = c.weight;
            }
            p.cap = c.cap;
            Ok(())
        }
        _ => Err(Errno::EINVAL),
    }
}

/// `XEN_DOMCTL_getpageframeinfo3`: each frame of the array (at most
/// 1024, else `E2BIG`) replaced by its type as Xen reports it
/// (`XEN_DOMCTL_PFINFO_*`): a validated page table's level, pinned or not;
/// `XTAB` for a frame `d` does not own or a hypervisor page shared with it.
fn getpageframeinfo3(d: &Domain, op: &XenDomctl) -> Result<(), Errno> {
    // SAFETY: the getpageframeinfo3 member, plain old data.
    let g = unsafe { op.u.getpageframeinfo3 };
    if g.num > 1024 {
        return Err(Errno::E2BIG);
    }
    for i in 0..g.num {
        let addr = g.array.p + 8 * i;
        let mfn: u64 = read_guest(addr).map_err(|_| Errno::EFAULT)?;
        let ty = match frame_table::info(mfn) {
            Some(p) if p.owner == Owner::Domain(d.domid) && !p.xen_heap => {
                let lt = match p.ty {
                    PageType::L1 if p.type_count > 0 => XEN_DOMCTL_PFINFO_L1TAB,
                    PageType::L2 if p.type_count > 0 => XEN_DOMCTL_PFINFO_L2TAB,
                    PageType::L3 if p.type_count > 0 => XEN_DOMCTL_PFINFO_L3TAB,
                    PageType::L4 if p.type_count > 0 => XEN_DOMCTL_PFINFO_L4TAB,
                    _ => XEN_DOMCTL_PFINFO_NOTAB,
                };
                if p.pinned { lt | XEN_DOMCTL_PFINFO_LPINTAB } else { lt }
            }
            _ => XEN_DOMCTL_PFINFO_XTAB,
        };
        write_guest(addr, &u64::from(ty)).map_err(|_| Errno::EFAULT)?;
    }
    Ok(())
}
