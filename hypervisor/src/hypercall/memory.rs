//! `memory_op`: a PV domain's reservation (increase, decrease, populate,
//! exchange), the sizes and maps it may ask about, and the machine-to-phys
//! table's location. PV guests see machine frames: new frames are returned
//! as MFNs and `populate_physmap`/`exchange` record their PFN in the M2P.
//! Long lists are preempted with a continuation in the command's upper
//! bits, as Xen does.

use core::sync::atomic::Ordering;

use dom0_abi::memory::*;
use dom0_abi::xen::DOMID_SELF;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::paging::maddr_to_virt;
use crate::arch::x86_64::uaccess::{read_guest, write_guest};
use crate::domain::{Domain, Vcpu};
use crate::mm::page::Owner;
use crate::mm::{self, frame_table, m2p, PAGE_SHIFT, PAGE_SIZE};

/// Largest extent order a domain may ask for (2 MiB).
pub const MAX_EXTENT_ORDER: u32 = 9;
/// Xen's `max_order` of the control domain (its page allocator's largest
/// order, 1 GiB): a larger one is refused as EPERM by `XENMEM_exchange`.
/// Ours still allocates at most [`MAX_EXTENT_ORDER`] (EINVAL between).
const CTLDOM_MAX_ORDER: u32 = 18;
/// Extents handled before the call is preempted.
const SLICE: u64 = 4096;

/// The domain `domid` names for `v`: its own, or another that exists
/// (else `ESRCH`, whoever asks: Xen looks it up first) to a privileged
/// caller (else `EPERM`).
fn target(v: &Vcpu, domid: u16) -> Result<&'static Domain, Errno> {
    if domid == DOMID_SELF || domid == v.domain.domid {
        return Ok(v.domain);
    }
    let d = crate::domain::by_id(domid).ok_or(Errno::ESRCH)?;
    if !v.domain.is_privileged {
        return Err(Errno::EPERM);
    }
    if d.dying.load(Ordering::Acquire) {
        return Err(Errno::ESRCH);
    }
    Ok(d)
}

/// Xen's `rcu_lock_domain_by_any_id`: DOMID_SELF or an existing domain
/// (`ESRCH` otherwise); no permission check yet.
fn by_any_id(v: &Vcpu, domid: u16) -> Result<&'static Domain, Errno> {
    if domid == DOMID_SELF || domid == v.domain.domid {
        return Ok(v.domain);
    }
    crate::domain::by_id(domid).ok_or(Errno::ESRCH)
}

/// `XENMEM_add_to_physmap` and `_batch`, checked in Xen's order up to
/// its verdict for a PV domain, which has no physmap (`EACCES`):
/// a resumed call must fit the size field (`EDOM`), then the argument
/// (`EFAULT`), the map spaces each refuses (`ENOSYS` for a foreign frame
/// outside a batch, `EOPNOTSUPP` for a range in one), the domain (`ESRCH`).
fn add_to_physmap(v: &Vcpu, op: u32, start: u64, arg: u64) -> HcResult {
    if start > u64::from(u16::MAX) {
        return err(Errno::EDOM);
    }
    let domid = if op == XENMEM_add_to_physmap {
        let x: XenAddToPhysmap = read_guest(arg).map_err(|_| Errno::EFAULT)?;
        if x.space == XENMAPSPACE_gmfn_foreign {
            return err(Errno::ENOSYS);
        }
        x.domid.0
    } else {
        let x: XenAddToPhysmapBatch = read_guest(arg).map_err(|_| Errno::EFAULT)?;
        if u32::from(x.space) == XENMAPSPACE_gmfn_range {
            return err(Errno::EOPNOTSUPP);
        }
        x.domid.0
    };
    by_any_id(v, domid)?;
    err(Errno::EACCES)
}

/// Allocate one extent of `2^order` zeroed frames for domain `d`.
fn alloc_extent(d: &Domain, order: u32) -> Option<u64> {
    let n = 1u64 << order;
    let tot = d.tot_pages.load(Ordering::Relaxed);
    if tot + n > d.max_pages.load(Ordering::Relaxed) {
        return None;
    }
    let mfn = mm::alloc_frames(n, n)?;
    for m in mfn..mfn + n {
        // SAFETY: freshly allocated frame, about to be given to the domain.
        unsafe { core::ptr::write_bytes(maddr_to_virt(m << PAGE_SHIFT) as *mut u8, 0, PAGE_SIZE as usize) };
        frame_table::assign(m, d.domid, false);
    }
    d.tot_pages.fetch_add(n, Ordering::Relaxed);
    Some(mfn)
}

/// Give back the frames of the extent at `mfn`: unpinned, the allocation
/// reference dropped; each frame is freed with its last mapping.
fn release_extent(d: &Domain, mfn: u64, order: u32) -> Result<(), Errno> {
    let n = 1u64 << order;
    // Still owned (mappings keep a released page alive): releasing it again
    // succeeds without effect, as on Xen.
    let releasable =
        |m: u64| frame_table::info(m).is_some_and(|p| p.owner == Owner::Domain(d.domid) && !p.xen_heap);
    if !(mfn..mfn + n).all(releasable) {
        return Err(Errno::EINVAL);
    }
    let released = frame_table::with(|m| {
        let mut released = 0;
        for f in mfn..mfn + n {
            m.release_pin(f);
            if m.release_allocation(f) {
                released += 1;
            }
        }
        released
    });
    d.tot_pages.fetch_sub(released, Ordering::Relaxed);
    Ok(())
}

fn extent_at(list: u64, i: u64) -> Result<u64, Errno> {
    read_guest::<u64>(list + 8 * i).map_err(|_| Errno::EFAULT)
}

fn put_extent(list: u64, i: u64, value: u64) -> Result<(), Errno> {
    write_guest(list + 8 * i, &value).map_err(|_| Errno::EFAULT)
}

/// increase/decrease_reservation and populate_physmap: returns the number
/// of extents done, or a continuation. As on Xen, no failure is an error:
/// an unreadable argument, a count too large to continue, a domain the
/// caller may not name (or that does not exist), a bad address width or
/// extent order, an extent list outside guest memory, or an extent that
/// cannot be read, written or allocated all end the call with the count
/// done so far.
fn reservation(v: &mut Vcpu, op: u32, start: u64, arg: u64) -> HcResult {
    let done = Ok(start as i64);
    let Ok(r) = read_guest::<XenMemoryReservation>(arg) else { return done };
    if r.nr_extents > u64::from(u32::MAX >> MEMOP_EXTENT_SHIFT) || start >= r.nr_extents {
        return done;
    }
    let Ok(d) = target(v, r.domid.0) else { return done };
    // XENMEMF_address_bits: a width within the first page is refused.
    let address_bits = r.mem_flags & XENMEMF_address_bits_mask;
    if address_bits != 0 && address_bits <= PAGE_SHIFT as u32 {
        return done;
    }
    if r.extent_order > MAX_EXTENT_ORDER {
        return done;
    }
    // Xen's guest_handle_subrange_okay: where the list resumes must be
    // guest memory (a null list is allowed for increase_reservation).
    let resume = r.extent_start.p.wrapping_add(8 * start);
    let list_ok = resume < 1 << 47 || resume >= dom0_abi::arch_x86::HYPERVISOR_VIRT_END;
    if !list_ok && !(op == XENMEM_increase_reservation && r.extent_start.p == 0) {
        return done;
    }
    let list = r.extent_start.p;
    let mut i = start;
    while i < r.nr_extents {
        if i - start == SLICE && !v.in_multicall {
            v.continuation = Some([u64::from(op) | (i << MEMOP_EXTENT_SHIFT), arg, 0, 0, 0, 0]);
            return Ok(0);
        }
        match op {
            // An extent whose machine address cannot be written back
            // stays the domain's but is not counted (as on Xen).
            XENMEM_increase_reservation => {
                let Some(mfn) = alloc_extent(d, r.extent_order) else { break };
                if list != 0 && put_extent(list, i, mfn).is_err() {
                    break;
                }
            }
            XENMEM_populate_physmap => {
                let Ok(gpfn) = extent_at(list, i) else { break };
                let Some(mfn) = alloc_extent(d, r.extent_order) else { break };
                for j in 0..1u64 << r.extent_order {
                    m2p::set(mfn + j, gpfn + j);
                }
                if put_extent(list, i, mfn).is_err() {
                    break;
                }
            }
            _ => {
                let Ok(gmfn) = extent_at(list, i) else { break };
                if release_extent(d, gmfn, r.extent_order).is_err() {
                    break;
                }
            }
        }
        i += 1;
    }
    Ok(i as i64)
}

/// Input extents exchanged per call; the rest follows in a continuation
/// (progress in `nr_exchanged`, as Xen does).
const EXCHANGE_SLICE: u64 = 512;

/// XENMEM_exchange: trade the domain's `in` extents for fresh `out` ones.
fn exchange(v: &mut Vcpu, arg: u64) -> HcResult {
    // Xen's order: the argument, the extent orders (EPERM), the sizes and
    // domains (EINVAL), nothing left to do (0), where the lists resume
    // (EFAULT), then the domain (ESRCH, EPERM).
    let mut x: XenMemoryExchange = read_guest(arg).map_err(|_| Errno::EFAULT)?;
    let (io, oo) = (x.r#in.extent_order, x.out.extent_order);
    let max_order = if v.domain.is_privileged { CTLDOM_MAX_ORDER } else { MAX_EXTENT_ORDER };
    if io.max(oo) > max_order {
        return err(Errno::EPERM);
    }
    let total_pages = x.r#in.nr_extents.checked_shl(io).filter(|p| p >> io == x.r#in.nr_extents);
    if total_pages.is_none()
        || total_pages != x.out.nr_extents.checked_shl(oo).filter(|p| p >> oo == x.out.nr_extents)
        || x.nr_exchanged > x.r#in.nr_extents
        || x.r#in.domid != x.out.domid
    {
        return err(Errno::EINVAL);
    }
    if x.nr_exchanged == x.r#in.nr_extents {
        return Ok(0);
    }
    let out_done = if oo >= io { x.nr_exchanged >> (oo - io) } else { x.nr_exchanged << (io - oo) };
    let guest = |a: u64| a < 1 << 47 || a >= dom0_abi::arch_x86::HYPERVISOR_VIRT_END;
    if !guest(x.r#in.extent_start.p.wrapping_add(8 * x.nr_exchanged)) || !guest(x.out.extent_start.p.wrapping_add(8 * out_done)) {
        return err(Errno::EFAULT);
    }
    let d = target(v, x.r#in.domid.0)?;
    if io.max(oo) > MAX_EXTENT_ORDER {
        return err(Errno::EINVAL);
    }
    // This slice: whole input extents covering whole output extents.
    let per_out = if oo > io { 1u64 << (oo - io) } else { 1 };
    let start = x.nr_exchanged;
    let mut end = x.r#in.nr_extents.min(start + EXCHANGE_SLICE.max(per_out));
    end -= (end - start) % per_out;
    // Check the slice's input frames first: owned, releasable, distinct.
    let mut inputs = alloc::vec::Vec::with_capacity((end - start) as usize);
    for i in start..end {
        let gmfn = extent_at(x.r#in.extent_start.p, i)?;
        let ok = (gmfn..gmfn + (1 << io)).all(|m| {
            frame_table::info(m).is_some_and(|p| p.owner == Owner::Domain(d.domid) && p.allocated && !p.xen_heap)
        });
        if !ok {
            return err(Errno::EINVAL);
        }
        inputs.push(gmfn);
    }
    let mut sorted = inputs.clone();
    sorted.sort_unstable();
    if sorted.windows(2).any(|w| w[1] < w[0] + (1 << io)) {
        return err(Errno::EINVAL);
    }
    // The new frames count against the reservation the old ones free.
    let pages_in = (end - start) << io;
    d.max_pages.fetch_add(pages_in, Ordering::Relaxed);
    let out_first = (start << io) >> oo;
    let out_end = (end << io) >> oo;
    let mut got = alloc::vec::Vec::with_capacity((out_end - out_first) as usize);
    for _ in out_first..out_end {
        match alloc_extent(d, oo) {
            Some(m) => got.push(m),
            None => {
                for &m in &got {
                    let _ = release_extent(d, m, oo);
                }
                d.max_pages.fetch_sub(pages_in, Ordering::Relaxed);
                return err(Errno::ENOMEM);
            }
        }
    }
    for &gmfn in &inputs {
        release_extent(d, gmfn, io)?;
    }
    d.max_pages.fetch_sub(pages_in, Ordering::Relaxed);
    for (k, &mfn) in got.iter().enumerate() {
        let i = out_first + k as u64;
        let gpfn = extent_at(x.out.extent_start.p, i)?;
        for j in 0..1u64 << oo {
            m2p::set(mfn + j, gpfn + j);
        }
        put_extent(x.out.extent_start.p, i, mfn)?;
    }
    x.nr_exchanged = end;
    write_guest(arg, &x).map_err(|_| Errno::EFAULT)?;
    if end < x.r#in.nr_extents && !v.in_multicall {
        v.continuation = Some([u64::from(XENMEM_exchange), arg, 0, 0, 0, 0]);
    }
    Ok(0)
}

/// `memory_op(cmd, arg)`.
pub fn memory_op(v: &mut Vcpu, cmd: u64, arg: u64) -> HcResult {
    let op = (cmd & MEMOP_CMD_MASK) as u32;
    let start = cmd >> MEMOP_EXTENT_SHIFT;
    match op {
        XENMEM_increase_reservation | XENMEM_decrease_reservation | XENMEM_populate_physmap => {
            reservation(v, op, start, arg)
        }
        // Xen: only the reservation calls and add_to_physmap(_batch) carry
        // progress in the command's upper bits.
        XENMEM_exchange | XENMEM_current_reservation | XENMEM_maximum_reservation | XENMEM_maximum_gpfn
        | XENMEM_maximum_ram_page | XENMEM_remove_from_physmap | XENMEM_get_vnumainfo
            if start != 0 =>
        {
            err(Errno::EINVAL)
        }
        XENMEM_exchange => exchange(v, arg),
        XENMEM_current_reservation | XENMEM_maximum_reservation => {
            let domid: u16 = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let d = target(v, domid)?;
            let n = if op == XENMEM_current_reservation { &d.tot_pages } else { &d.max_pages };
            Ok(n.load(Ordering::Relaxed) as i64)
        }
        XENMEM_maximum_gpfn => {
            let domid: u16 = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let d = target(v, domid)?;
            Ok((d.shared_info().arch.max_pfn.max(1) - 1) as i64)
        }
        XENMEM_maximum_ram_page => Ok((mm::m2p::entries().saturating_sub(1)) as i64),
        XENMEM_machphys_mapping => {
            let m = XenMachphysMapping {
                v_start: dom0_abi::arch_x86::MACH2PHYS_VIRT_START,
                v_end: dom0_abi::arch_x86::MACH2PHYS_VIRT_END,
                max_mfn: mm::m2p::entries().saturating_sub(1),
            };
            write_guest(arg, &m).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        XENMEM_machphys_mfn_list => {
            let mut l: XenMachphysMfnList = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let (first, pages) = mm::m2p::frames();
            let extents = pages.div_ceil(512);
            let n = extents.min(u64::from(l.max_extents));
            for i in 0..n {
                put_extent(l.extent_start.p, i, first + i * 512)?;
            }
            l.nr_extents = n as u32;
            write_guest(arg, &l).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        XENMEM_machine_memory_map => {
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            let mut map: XenMemoryMap = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            let host = crate::setup::HOST_E820.lock();
            // As Xen: a null buffer asks for the count only; a buffer
            // needs room for the whole map and one more entry, and must
            // start in guest memory.
            let store = map.buffer.p != 0;
            let entries = host.iter().filter(|e| e.1 != 0).count() as u32;
            if store && map.nr_entries < entries + 1 {
                return err(Errno::EINVAL);
            }
            if store && !(map.buffer.p < 1 << 47 || map.buffer.p >= dom0_abi::arch_x86::HYPERVISOR_VIRT_END) {
                return err(Errno::EFAULT);
            }
            let mut n = 0;
            for &(addr, size, ty) in host.iter().filter(|e| e.1 != 0) {
                if store {
                    let e = E820Entry { addr, size, r#type: ty };
                    write_guest(map.buffer.p + u64::from(n) * 20, &e).map_err(|_| Errno::EFAULT)?;
                }
                n += 1;
            }
            map.nr_entries = n;
            write_guest(arg, &map).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        // A PV domain without a pseudo-physical map set by its toolstack
        // (once Xen has read the argument).
        XENMEM_memory_map => {
            let _: XenMemoryMap = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            err(Errno::ENOSYS)
        }
        // PV domains are not translated: no physmap to add to or remove
        // from (EACCES, after Xen's checks of the argument).
        XENMEM_add_to_physmap | XENMEM_add_to_physmap_batch => add_to_physmap(v, op, start, arg),
        XENMEM_remove_from_physmap => {
            let x: XenRemoveFromPhysmap = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            by_any_id(v, x.domid.0)?;
            err(Errno::EACCES)
        }
        // Populate-on-demand is for HVM guests; every domain here is PV,
        // which Xen answers with EINVAL once it has read xen_pod_target
        // (four counts, then the domain id at byte 32) and found the domain.
        XENMEM_set_pod_target | XENMEM_get_pod_target => {
            let t: [u8; 40] = read_guest(arg).map_err(|_| Errno::EFAULT)?;
            by_any_id(v, u16::from_le_bytes([t[32], t[33]]))?;
            err(Errno::EINVAL)
        }
        // No 32-bit PV guests, so no compat M2P (Xen without pv32).
        XENMEM_machphys_compat_mfn_list => err(Errno::EOPNOTSUPP),
        // No memory sharing: nothing saved, nothing shared.
        XENMEM_get_sharing_freed_pages | XENMEM_get_sharing_shared_pages => Ok(0),
        XENMEM_get_vnumainfo => {
            // xen_vnuma_topology_info: domid, pad, three counts, three
            // handles. No domain has a virtual NUMA topology here.
            let mut t = [0u8; 40];
            crate::arch::x86_64::uaccess::copy_from_guest(&mut t, arg).map_err(|_| Errno::EFAULT)?;
            if t[2..4] != [0, 0] {
                return err(Errno::EINVAL);
            }
            let d = by_any_id(v, u16::from_le_bytes([t[0], t[1]]))?;
            if !core::ptr::eq(d, v.domain) && !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            err(Errno::EOPNOTSUPP)
        }
        _ => err(Errno::ENOSYS),
    }
}
