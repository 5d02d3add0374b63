//! `grants`: grant tables (v1) as a PV dom0 sees them. The kernel queries
//! and sets up its table, maps its frame, grants pages of its own to
//! itself (loopback, domain 0 to domain 0), maps them with
//! `GNTTABOP_map_grant_ref` read-write and read-only (checking the data,
//! the handles, the PTE and the `GTF_reading`/`GTF_writing` flags the
//! hypervisor sets while mapped), maps them by the machine address of the
//! L1 entry (`GNTMAP_contains_pte`), unmaps them, copies through grants with
//! `GNTTABOP_copy`, then tries every error Xen reports: bad references,
//! entries that permit nothing, read-only grants mapped writable, bad
//! handles and addresses, unknown domains, counts and pointers.
#![no_std]
#![no_main]
// Xen spells its constants in lower case.
#![allow(non_upper_case_globals)]

use dom0_abi::grant_table::*;
use dom0_abi::hypercall::HYPERVISOR_grant_table_op;
use dom0_abi::types::{DomId, GuestHandle};
use dom0_abi::xen::DOMID_SELF;
use pv_guests::fmt::yes_no;
use pv_guests::hypercall::{check, raw, XenResult};
use pv_guests::pt::{self, Scratch, ScratchPage, DATA_RW, FLAGS_MASK, PAGE};
use pv_guests::report::show;
use pv_guests::transcript::Transcript;
use pv_guests::StartInfo;

pv_guests::entry!(main);

/// Where the grant table's first frame is mapped.
static mut PAGE_GT: ScratchPage = ScratchPage([0; 4096]);
/// The page granted (read-write grant, ref [`REF_RW`]).
static mut PAGE_DATA: ScratchPage = ScratchPage([0; 4096]);
/// A page granted read-only (ref [`REF_RO`]).
static mut PAGE_RODATA: ScratchPage = ScratchPage([0; 4096]);
/// Where grants are mapped read-write.
static mut PAGE_MAP_RW: ScratchPage = ScratchPage([0; 4096]);
/// Where grants are mapped read-only.
static mut PAGE_MAP_RO: ScratchPage = ScratchPage([0; 4096]);
/// A local page for copies.
static mut PAGE_LOCAL: ScratchPage = ScratchPage([0; 4096]);

/// A long batch of copies (long enough to be preempted).
static mut LONG_BATCH: [GnttabCopy; 1200] = [GnttabCopy {
    source: GnttabCopyPtr { u: 0, domid: DomId(0), offset: 0 },
    dest: GnttabCopyPtr { u: 0, domid: DomId(0), offset: 0 },
    len: 0,
    flags: 0,
    status: 0,
}; 1200];

/// Read-write grant of `PAGE_DATA` to ourselves.
const REF_RW: u32 = 10;
/// An entry that permits nothing (flags 0).
const REF_NONE: u32 = 11;
/// Read-only grant of `PAGE_RODATA` to ourselves.
const REF_RO: u32 = 12;
/// A grant of `PAGE_DATA` to domain 5 (not us).
const REF_OTHER: u32 = 13;
/// An entry with only GTF_accept_transfer.
const REF_TRANSFER: u32 = 14;
/// Beyond two frames of v1 entries (1024).
const REF_BEYOND: u32 = 1100;
/// Markers.
const MARK_DATA: u64 = 0x6772_616e_7400_0001;
const MARK_RO: u64 = 0x6772_616e_7400_0002;
const MARK_LOCAL: u64 = 0x6772_616e_7400_0003;
const MARK_WRITTEN: u64 = 0x6772_616e_7400_0004;

/// A hypervisor address no guest may name.
const HV_ADDR: u64 = 0xffff_8300_0000_0000;
/// A guest address mapped nowhere.
const UNMAPPED: u64 = 0x1000;

fn op_raw(cmd: u32, arg: u64, count: u32) -> XenResult {
    // SAFETY: callers pass live structures of the command's type (or bad
    // pointers on purpose, which the hypervisor must refuse).
    check(unsafe { raw(HYPERVISOR_grant_table_op, u64::from(cmd), arg, u64::from(count), 0, 0) })
}

fn op<T>(cmd: u32, arg: &mut [T]) -> XenResult {
    op_raw(cmd, arg.as_mut_ptr() as u64, arg.len() as u32)
}

fn op1<T>(cmd: u32, arg: &mut T) -> XenResult {
    op(cmd, core::slice::from_mut(arg))
}

fn self_dom() -> DomId {
    DomId(DOMID_SELF)
}

/// Shows a grant status by its Xen name.
struct St(i16);

impl core::fmt::Display for St {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let name = match Gntst::try_from(self.0) {
            Ok(s) => s.message(),
            Err(_) => "?",
        };
        write!(f, "{} ({name})", self.0)
    }
}

/// The grant-table view: entries of frame 0, mapped at `PAGE_GT`.
struct Table(u64);

impl Table {
    fn entry(&self, r: u32) -> *mut GrantEntryV1 {
        (self.0 + u64::from(r) * 8) as *mut GrantEntryV1
    }

    /// Publish an entry: frame and domid first, then the flags.
    fn grant(&self, r: u32, domid: u16, frame: u64, flags: u16) {
        let e = self.entry(r);
        // SAFETY: the entry lies in our mapped grant-table frame.
        unsafe {
            (&raw mut (*e).domid).write_volatile(DomId(domid));
            (&raw mut (*e).frame).write_volatile(frame as u32);
            core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
            (&raw mut (*e).flags).write_volatile(flags);
        }
    }

    fn flags(&self, r: u32) -> u16 {
        // SAFETY: as in `grant`; the hypervisor updates flags concurrently.
        unsafe { (&raw const (*self.entry(r)).flags).read_volatile() }
    }
}

fn map_op(host_addr: u64, flags: u32, r: u32, dom: u16) -> GnttabMapGrantRef {
    GnttabMapGrantRef { host_addr, flags, r#ref: r, dom: DomId(dom), status: 99, handle: 0xdead, dev_bus_addr: 0 }
}

fn unmap_op(host_addr: u64, handle: u32) -> GnttabUnmapGrantRef {
    GnttabUnmapGrantRef { host_addr, dev_bus_addr: 0, handle, status: 99 }
}

/// Map one grant and print its result and status; returns the operation.
fn map(t: &mut Transcript, label: &str, host_addr: u64, flags: u32, r: u32, dom: u16) -> GnttabMapGrantRef {
    let mut m = map_op(host_addr, flags, r, dom);
    let res = op1(GNTTABOP_map_grant_ref, &mut m);
    t.fact(label, format_args!("{} status {}", show(res), St(m.status)));
    m
}

fn unmap(t: &mut Transcript, label: &str, host_addr: u64, handle: u32) -> i16 {
    let mut u = unmap_op(host_addr, handle);
    let res = op1(GNTTABOP_unmap_grant_ref, &mut u);
    t.fact(label, format_args!("{} status {}", show(res), St(u.status)));
    u.status
}

fn swap(t: &mut Transcript, table: &Table, label: &str, a: u32, b: u32) {
    let mut s = GnttabSwapGrantRef { ref_a: a, ref_b: b, status: 99 };
    let res = op1(GNTTABOP_swap_grant_ref, &mut s);
    t.fact(
        label,
        format_args!("{} status {} flags {} {}", show(res), St(s.status), table.flags(REF_RW), table.flags(20)),
    );
}

fn copy_ptr(u: u64, domid: u16, offset: u16) -> GnttabCopyPtr {
    GnttabCopyPtr { u, domid: DomId(domid), offset }
}

fn copy(t: &mut Transcript, label: &str, source: GnttabCopyPtr, dest: GnttabCopyPtr, len: u16, flags: u16) {
    let mut c = GnttabCopy { source, dest, len, flags, status: 99 };
    let res = op1(GNTTABOP_copy, &mut c);
    t.fact(label, format_args!("{} status {}", show(res), St(c.status)));
}

fn query(t: &mut Transcript, label: &str, dom: u16) {
    let mut q = GnttabQuerySize { dom: DomId(dom), nr_frames: 0, max_nr_frames: 0, status: 99 };
    let res = op1(GNTTABOP_query_size, &mut q);
    t.fact(
        label,
        format_args!(
            "{} status {} nr_frames {} max_nr_frames {}",
            show(res),
            St(q.status),
            q.nr_frames,
            q.max_nr_frames
        ),
    );
}

fn setup(t: &mut Transcript, label: &str, dom: u16, nr_frames: u32, list: u64) {
    let mut s = GnttabSetupTable { dom: DomId(dom), nr_frames, status: 99, frame_list: GuestHandle::new(list) };
    let res = op1(GNTTABOP_setup_table, &mut s);
    t.fact(label, format_args!("{} status {}", show(res), St(s.status)));
}

/// Mappings named by the machine address of their L1 entry
/// (`GNTMAP_contains_pte`, how Linux maps its backends' rings): the map,
/// its PTE, an unmap by the linear address (not the entry's address:
/// refused), `unmap_and_replace` (not offered in this mode), the unmap;
/// then misaligned and non-L1 entry addresses.
fn pte_address_maps(t: &mut Transcript, si: &StartInfo, table: &Table, map_rw: Scratch, map_ro: Scratch, data_mfn: u64) {
    let flags = GNTMAP_host_map | GNTMAP_contains_pte;
    let Some((pte_ma, _)) = pt::l1_entry_of(si, map_rw.va) else {
        t.fact("map ref 10 by pte address", "no L1");
        return;
    };
    let m = map(t, "map ref 10 by pte address", pte_ma, flags, REF_RW, 0);
    t.fact("data through the pte-address mapping", yes_no(map_rw.read(0) == MARK_DATA));
    match pt::l1_entry_of(si, map_rw.va) {
        Some((_, pte)) => {
            t.fact("pte-address mapping pte flags", format_args!("{:#x}", pte & FLAGS_MASK));
            t.fact("pte-address mapping frame is the granted page", yes_no((pte & pt::ADDR_MASK) / PAGE == data_mfn));
        }
        None => t.fact("pte-address mapping pte flags", "none"),
    }
    t.fact("entry 10 flags while mapped by pte address", table.flags(REF_RW));
    unmap(t, "unmap a pte-address mapping by its linear address", map_rw.va, m.handle);
    let mut ur = GnttabUnmapAndReplace { host_addr: pte_ma, new_addr: map_ro.va, handle: m.handle, status: 99 };
    let r = op1(GNTTABOP_unmap_and_replace, &mut ur);
    t.fact("unmap_and_replace of a pte-address mapping", format_args!("{} status {}", show(r), St(ur.status)));
    unmap(t, "unmap by pte address", pte_ma, m.handle);
    t.fact("pte-address mapping gone", yes_no(pt::l1_entry_of(si, map_rw.va).is_some_and(|(_, e)| e & pt::P == 0)));
    t.fact("entry 10 flags after unmapping by pte address", table.flags(REF_RW));
    map(t, "map by a misaligned pte address", pte_ma + 4, flags, REF_RW, 0);
    map(t, "map by the address of a data page", data_mfn * PAGE + 8, flags, REF_RW, 0);
    map(t, "map by a pte address beyond RAM", 0xf_ffff_f000_0000, flags, REF_RW, 0);
    t.fact("entry 10 flags after the pte-address errors", table.flags(REF_RW));
    t.fact("restore rw page", show(map_rw.restore(si)));
}

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("grants");
    let gt = Scratch::new(core::ptr::addr_of_mut!(PAGE_GT));
    let data = Scratch::new(core::ptr::addr_of_mut!(PAGE_DATA));
    let rodata = Scratch::new(core::ptr::addr_of_mut!(PAGE_RODATA));
    let map_rw = Scratch::new(core::ptr::addr_of_mut!(PAGE_MAP_RW));
    let map_ro = Scratch::new(core::ptr::addr_of_mut!(PAGE_MAP_RO));
    let local = Scratch::new(core::ptr::addr_of_mut!(PAGE_LOCAL));
    data.write(0, MARK_DATA);
    rodata.write(0, MARK_RO);
    local.write(0, MARK_LOCAL);
    let data_mfn = pt::va_mfn(si, data.va);
    let rodata_mfn = pt::va_mfn(si, rodata.va);
    let local_mfn = pt::va_mfn(si, local.va);

    // Size, set up, version.
    query(&mut t, "query_size at start", DOMID_SELF);
    let mut v = GnttabGetVersion { dom: self_dom(), pad: 0, version: 99 };
    let r = op1(GNTTABOP_get_version, &mut v);
    t.fact("get_version at start", format_args!("{} version {}", show(r), v.version));
    let mut frames = [0u64; 4];
    setup(&mut t, "setup_table 1 frame", DOMID_SELF, 1, frames.as_mut_ptr() as u64);
    t.specific("frame 0", format_args!("{:#x}", frames[0]));
    let first = frames[0];
    setup(&mut t, "setup_table 2 frames", DOMID_SELF, 2, frames.as_mut_ptr() as u64);
    t.specific("frame 1", format_args!("{:#x}", frames[1]));
    t.fact("frame 0 unchanged", yes_no(frames[0] == first));
    t.fact("frames distinct", yes_no(frames[0] != frames[1]));
    t.fact("frames left alone beyond nr_frames", yes_no(frames[2] == 0));
    query(&mut t, "query_size after setup", DOMID_SELF);
    query(&mut t, "query_size by domid 0", 0);
    setup(&mut t, "setup_table 1 frame again", 0, 1, frames.as_mut_ptr() as u64);
    query(&mut t, "query_size after asking for fewer", DOMID_SELF);
    setup(&mut t, "setup_table 0 frames", DOMID_SELF, 0, 0);
    setup(&mut t, "setup_table 65 frames", DOMID_SELF, 65, frames.as_mut_ptr() as u64);
    setup(&mut t, "setup_table domain 7", 7, 1, frames.as_mut_ptr() as u64);
    setup(&mut t, "setup_table frame_list unmapped", DOMID_SELF, 1, UNMAPPED);
    setup(&mut t, "setup_table frame_list hypervisor", DOMID_SELF, 1, HV_ADDR);
    let mut s = GnttabSetupTable {
        dom: self_dom(),
        nr_frames: 1,
        status: 99,
        frame_list: GuestHandle::new(frames.as_mut_ptr() as u64),
    };
    let mut two = [s, s];
    t.fact("setup_table count 2", show(op(GNTTABOP_setup_table, &mut two)));
    t.fact("setup_table count 0", show(op_raw(GNTTABOP_setup_table, &mut s as *mut _ as u64, 0)));
    query(&mut t, "query_size domain 7", 7);
    let mut q = GnttabQuerySize::default();
    t.fact("query_size count 2", show(op_raw(GNTTABOP_query_size, &mut q as *mut _ as u64, 2)));
    t.fact("query_size arg hypervisor", show(op_raw(GNTTABOP_query_size, HV_ADDR, 1)));
    t.fact("query_size arg unmapped", show(op_raw(GNTTABOP_query_size, UNMAPPED, 1)));

    let mut sv = GnttabSetVersion { version: 1 };
    let r = op1(GNTTABOP_set_version, &mut sv);
    t.fact("set_version 1", format_args!("{} version {}", show(r), sv.version));
    let mut sv = GnttabSetVersion { version: 3 };
    let r = op1(GNTTABOP_set_version, &mut sv);
    t.fact("set_version 3", format_args!("{} version {}", show(r), sv.version));
    let mut sv = GnttabSetVersion { version: 0 };
    let r = op1(GNTTABOP_set_version, &mut sv);
    t.fact("set_version 0", format_args!("{} version {}", show(r), sv.version));
    let mut v = GnttabGetVersion { dom: self_dom(), pad: 0, version: 99 };
    let r = op1(GNTTABOP_get_version, &mut v);
    t.fact("get_version", format_args!("{} version {}", show(r), v.version));
    let mut v = GnttabGetVersion { dom: DomId(7), pad: 0, version: 99 };
    let r = op1(GNTTABOP_get_version, &mut v);
    t.fact("get_version domain 7", format_args!("{} version {}", show(r), v.version));

    // Map the table and grant pages to ourselves.
    t.fact("map grant-table frame 0", show(gt.map((first * PAGE) | DATA_RW)));
    let table = Table(gt.va);
    t.fact("entry 10 flags at start", table.flags(REF_RW));
    table.grant(REF_RW, 0, data_mfn, GTF_permit_access);
    table.grant(REF_NONE, 0, data_mfn, GTF_invalid);
    table.grant(REF_RO, 0, rodata_mfn, GTF_permit_access | GTF_readonly);
    table.grant(REF_OTHER, 5, data_mfn, GTF_permit_access);
    table.grant(REF_TRANSFER, 0, data_mfn, GTF_accept_transfer);

    // Read-write mapping.
    let m = map(&mut t, "map ref 10 rw", map_rw.va, GNTMAP_host_map, REF_RW, 0);
    t.fact("map ref 10 rw handle", m.handle);
    t.specific("map ref 10 rw dev_bus_addr", format_args!("{:#x}", m.dev_bus_addr));
    t.fact("dev_bus_addr is the granted frame's address", yes_no(m.dev_bus_addr == data_mfn * PAGE));
    t.fact("entry 10 flags while mapped rw", table.flags(REF_RW));
    t.fact("data through the mapping", yes_no(map_rw.read(0) == MARK_DATA));
    map_rw.write(8, MARK_WRITTEN);
    t.fact("write through the mapping seen in the page", yes_no(data.read(8) == MARK_WRITTEN));
    match pt::l1_entry_of(si, map_rw.va) {
        Some((_, pte)) => {
            t.fact("mapping pte flags", format_args!("{:#x}", pte & FLAGS_MASK));
            t.fact("mapping pte frame is the granted page", yes_no((pte & pt::ADDR_MASK) / PAGE == data_mfn));
        }
        None => t.fact("mapping pte flags", "none"),
    }
    // A second, read-only mapping of the same grant.
    let m2 = map(&mut t, "map ref 10 ro too", map_ro.va, GNTMAP_host_map | GNTMAP_readonly, REF_RW, 0);
    t.fact("map ref 10 ro handle", m2.handle);
    t.fact("entry 10 flags while mapped rw and ro", table.flags(REF_RW));
    match pt::l1_entry_of(si, map_ro.va) {
        Some((_, pte)) => t.fact("ro mapping pte flags", format_args!("{:#x}", pte & FLAGS_MASK)),
        None => t.fact("ro mapping pte flags", "none"),
    }
    swap(&mut t, &table, "swap ref 10 (mapped) and 20", REF_RW, 20);
    unmap(&mut t, "unmap at the wrong address", map_ro.va, m.handle);
    unmap(&mut t, "unmap rw", map_rw.va, m.handle);
    t.fact("entry 10 flags while mapped ro", table.flags(REF_RW));
    t.fact("rw address unmapped", yes_no(pt::l1_entry_of(si, map_rw.va).is_some_and(|(_, e)| e & pt::P == 0)));
    unmap(&mut t, "unmap rw again", map_rw.va, m.handle);
    unmap(&mut t, "unmap ro", map_ro.va, m2.handle);
    t.fact("entry 10 flags after unmapping", table.flags(REF_RW));
    unmap(&mut t, "unmap handle 9999", map_ro.va, 9999);
    t.fact("restore rw page", show(map_rw.restore(si)));
    t.fact("restore ro page", show(map_ro.restore(si)));

    // The read-only grant.
    map(&mut t, "map ro grant writable", map_rw.va, GNTMAP_host_map, REF_RO, 0);
    t.fact("entry 12 flags after the refusal", table.flags(REF_RO));
    let m = map(&mut t, "map ro grant readonly", map_ro.va, GNTMAP_host_map | GNTMAP_readonly, REF_RO, 0);
    t.fact("map ro grant handle", m.handle);
    t.fact("entry 12 flags while mapped", table.flags(REF_RO));
    t.fact("data through the ro mapping", yes_no(map_ro.read(0) == MARK_RO));
    unmap(&mut t, "unmap ro grant", map_ro.va, m.handle);
    t.fact("entry 12 flags after unmapping", table.flags(REF_RO));
    t.fact("restore ro page", show(map_ro.restore(si)));

    // Map errors.
    map(&mut t, "map ref 1100", map_rw.va, GNTMAP_host_map, REF_BEYOND, 0);
    map(&mut t, "map ref 11 (flags 0)", map_rw.va, GNTMAP_host_map, REF_NONE, 0);
    map(&mut t, "map ref 13 (granted to domain 5)", map_rw.va, GNTMAP_host_map, REF_OTHER, 0);
    map(&mut t, "map ref 14 (accept_transfer)", map_rw.va, GNTMAP_host_map, REF_TRANSFER, 0);
    map(&mut t, "map from domain 7", map_rw.va, GNTMAP_host_map, REF_RW, 7);
    map(&mut t, "map from DOMID_SELF", map_rw.va, GNTMAP_host_map, REF_RW, DOMID_SELF);
    map(&mut t, "map with flags 0", map_rw.va, 0, REF_RW, 0);
    map(&mut t, "map at a hypervisor address", HV_ADDR, GNTMAP_host_map, REF_RW, 0);
    map(&mut t, "map at an address without L1", 0x40_0000_0000, GNTMAP_host_map, REF_RW, 0);
    t.fact("entry 10 flags after the errors", table.flags(REF_RW));
    // A batch: a good map, then a bad one.
    let mut batch = [map_op(map_rw.va, GNTMAP_host_map, REF_RW, 0), map_op(map_ro.va, GNTMAP_host_map, REF_BEYOND, 0)];
    let r = op(GNTTABOP_map_grant_ref, &mut batch);
    t.fact("map batch of 2", format_args!("{} status {} {}", show(r), St(batch[0].status), St(batch[1].status)));
    t.fact("map batch handle", batch[0].handle);
    unmap(&mut t, "unmap the batch's mapping", map_rw.va, batch[0].handle);
    t.fact("restore rw page", show(map_rw.restore(si)));
    // A mapping for guest user mode.
    let m = map(&mut t, "map ref 10 application_map", map_rw.va, GNTMAP_host_map | GNTMAP_application_map, REF_RW, 0);
    match pt::l1_entry_of(si, map_rw.va) {
        Some((_, pte)) => t.fact("application_map pte flags", format_args!("{:#x}", pte & FLAGS_MASK)),
        None => t.fact("application_map pte flags", "none"),
    }
    unmap(&mut t, "unmap it", map_rw.va, m.handle);
    t.fact("restore rw page", show(map_rw.restore(si)));
    pte_address_maps(&mut t, si, &table, map_rw, map_ro, data_mfn);
    let mut none: [GnttabMapGrantRef; 0] = [];
    t.fact("map count 0", show(op(GNTTABOP_map_grant_ref, &mut none)));
    t.fact("map count 0x80000000", show(op_raw(GNTTABOP_map_grant_ref, batch.as_mut_ptr() as u64, 0x8000_0000)));
    t.fact("map arg hypervisor", show(op_raw(GNTTABOP_map_grant_ref, HV_ADDR, 1)));
    t.fact("map arg unmapped", show(op_raw(GNTTABOP_map_grant_ref, UNMAPPED, 1)));
    t.fact("unmap arg hypervisor", show(op_raw(GNTTABOP_unmap_grant_ref, HV_ADDR, 1)));
    t.fact("unmap arg unmapped", show(op_raw(GNTTABOP_unmap_grant_ref, UNMAPPED, 1)));

    // Copies.
    copy(
        &mut t,
        "copy gref 10 -> local gmfn",
        copy_ptr(REF_RW.into(), DOMID_SELF, 0),
        copy_ptr(local_mfn, DOMID_SELF, 16),
        8,
        GNTCOPY_source_gref,
    );
    t.fact("copied into local", yes_no(local.read(16) == MARK_DATA));
    copy(
        &mut t,
        "copy local gmfn -> gref 10",
        copy_ptr(local_mfn, DOMID_SELF, 0),
        copy_ptr(REF_RW.into(), 0, 24),
        8,
        GNTCOPY_dest_gref,
    );
    t.fact("copied into the granted page", yes_no(data.read(24) == MARK_LOCAL));
    copy(
        &mut t,
        "copy gref 12 -> gref 10",
        copy_ptr(REF_RO.into(), 0, 0),
        copy_ptr(REF_RW.into(), DOMID_SELF, 32),
        8,
        GNTCOPY_source_gref | GNTCOPY_dest_gref,
    );
    t.fact("copied between grants", yes_no(data.read(32) == MARK_RO));
    t.fact("entry 10 flags after the copies", table.flags(REF_RW));
    t.fact("entry 12 flags after the copies", table.flags(REF_RO));
    copy(
        &mut t,
        "copy len 0",
        copy_ptr(REF_RW.into(), DOMID_SELF, 0),
        copy_ptr(local_mfn, DOMID_SELF, 0),
        0,
        GNTCOPY_source_gref,
    );
    copy(
        &mut t,
        "copy into gref 12 (read-only)",
        copy_ptr(local_mfn, DOMID_SELF, 0),
        copy_ptr(REF_RO.into(), DOMID_SELF, 0),
        8,
        GNTCOPY_dest_gref,
    );
    copy(
        &mut t,
        "copy from gref 1100",
        copy_ptr(REF_BEYOND.into(), DOMID_SELF, 0),
        copy_ptr(local_mfn, DOMID_SELF, 0),
        8,
        GNTCOPY_source_gref,
    );
    copy(
        &mut t,
        "copy from gref 11 (flags 0)",
        copy_ptr(REF_NONE.into(), DOMID_SELF, 0),
        copy_ptr(local_mfn, DOMID_SELF, 0),
        8,
        GNTCOPY_source_gref,
    );
    copy(
        &mut t,
        "copy from gref 13 (domain 5's)",
        copy_ptr(REF_OTHER.into(), DOMID_SELF, 0),
        copy_ptr(local_mfn, DOMID_SELF, 0),
        8,
        GNTCOPY_source_gref,
    );
    copy(
        &mut t,
        "copy from domain 7",
        copy_ptr(REF_RW.into(), 7, 0),
        copy_ptr(local_mfn, DOMID_SELF, 0),
        8,
        GNTCOPY_source_gref,
    );
    copy(
        &mut t,
        "copy gmfn named by domid 0",
        copy_ptr(local_mfn, 0, 0),
        copy_ptr(REF_RW.into(), DOMID_SELF, 0),
        8,
        GNTCOPY_dest_gref,
    );
    copy(
        &mut t,
        "copy across the page end",
        copy_ptr(REF_RW.into(), DOMID_SELF, 4090),
        copy_ptr(local_mfn, DOMID_SELF, 0),
        8,
        GNTCOPY_source_gref,
    );
    copy(
        &mut t,
        "copy to the page end",
        copy_ptr(REF_RW.into(), DOMID_SELF, 0),
        copy_ptr(local_mfn, DOMID_SELF, 4088),
        8,
        GNTCOPY_source_gref,
    );
    copy(
        &mut t,
        "copy from gmfn 0xfffffffff",
        copy_ptr(0xf_ffff_ffff, DOMID_SELF, 0),
        copy_ptr(REF_RW.into(), DOMID_SELF, 0),
        8,
        GNTCOPY_dest_gref,
    );
    copy(
        &mut t,
        "copy from a hypervisor frame",
        copy_ptr(first, DOMID_SELF, 0),
        copy_ptr(local_mfn, DOMID_SELF, 0),
        8,
        0,
    );
    t.fact("entry 10 flags after the errors", table.flags(REF_RW));
    let good = GnttabCopy {
        source: copy_ptr(REF_RW.into(), DOMID_SELF, 0),
        dest: copy_ptr(local_mfn, DOMID_SELF, 40),
        len: 8,
        flags: GNTCOPY_source_gref,
        status: 99,
    };
    let bad = GnttabCopy { source: copy_ptr(REF_BEYOND.into(), DOMID_SELF, 0), ..good };
    let mut cb = [bad, good];
    let r = op(GNTTABOP_copy, &mut cb);
    t.fact("copy batch of 2", format_args!("{} status {} {}", show(r), St(cb[0].status), St(cb[1].status)));
    t.fact("copy batch's good op done", yes_no(local.read(40) == MARK_DATA));
    // SAFETY: only used here, by this single vCPU.
    let long = unsafe { &mut *core::ptr::addr_of_mut!(LONG_BATCH) };
    for (i, c) in long.iter_mut().enumerate() {
        let src = if i == 700 { REF_BEYOND } else { REF_RW };
        *c = GnttabCopy {
            dest: copy_ptr(local_mfn, DOMID_SELF, (i % 512) as u16 * 8),
            source: copy_ptr(src.into(), DOMID_SELF, 0),
            len: 8,
            flags: GNTCOPY_source_gref,
            status: 99,
        };
    }
    local.write(8 * 100, 0);
    local.write(8 * 511, 0);
    let r = op(GNTTABOP_copy, long);
    let okay = long.iter().filter(|c| c.status == GNTST_okay).count();
    t.fact("copy batch of 1200", format_args!("{} okay {} status of op 700 {}", show(r), okay, St(long[700].status)));
    t.fact("long batch copied", yes_no(local.read(8 * 100) == MARK_DATA && local.read(8 * 511) == MARK_DATA));
    let mut none: [GnttabCopy; 0] = [];
    t.fact("copy count 0", show(op(GNTTABOP_copy, &mut none)));
    t.fact("copy count 0x80000000", show(op_raw(GNTTABOP_copy, cb.as_mut_ptr() as u64, 0x8000_0000)));
    t.fact("copy arg hypervisor", show(op_raw(GNTTABOP_copy, HV_ADDR, 1)));
    t.fact("copy arg unmapped", show(op_raw(GNTTABOP_copy, UNMAPPED, 1)));

    // Swaps.
    swap(&mut t, &table, "swap ref 10 and 20", REF_RW, 20);
    swap(&mut t, &table, "swap ref 20 and 10 back", 20, REF_RW);
    swap(&mut t, &table, "swap ref 10 with itself", REF_RW, REF_RW);
    swap(&mut t, &table, "swap ref 10 and 1100", REF_RW, REF_BEYOND);
    swap(&mut t, &table, "swap ref 1100 and 10", REF_BEYOND, REF_RW);
    t.fact("swap arg hypervisor", show(op_raw(GNTTABOP_swap_grant_ref, HV_ADDR, 1)));

    // Ending access: an entry no longer mapped can be cleared.
    table.grant(REF_RW, 0, data_mfn, GTF_invalid);
    map(&mut t, "map ref 10 after ending access", map_rw.va, GNTMAP_host_map, REF_RW, 0);
    // The other commands, gently.
    let mut sf = GnttabGetStatusFrames {
        nr_frames: 1,
        dom: self_dom(),
        status: 99,
        frame_list: GuestHandle::new(frames.as_mut_ptr() as u64),
    };
    let r = op1(GNTTABOP_get_status_frames, &mut sf);
    t.fact("get_status_frames 1 (v1)", format_args!("{} status {}", show(r), St(sf.status)));
    let mut sf = GnttabGetStatusFrames {
        nr_frames: 0,
        dom: self_dom(),
        status: 99,
        frame_list: GuestHandle::new(frames.as_mut_ptr() as u64),
    };
    let r = op1(GNTTABOP_get_status_frames, &mut sf);
    t.fact("get_status_frames 0 (v1)", format_args!("{} status {}", show(r), St(sf.status)));
    let mut dt = GnttabDumpTable { dom: self_dom(), status: 99 };
    let r = op1(GNTTABOP_dump_table, &mut dt);
    t.fact("dump_table", format_args!("{} status {}", show(r), St(dt.status)));
    let mut ur = GnttabUnmapAndReplace { host_addr: map_rw.va, new_addr: 0, handle: 9999, status: 99 };
    let r = op1(GNTTABOP_unmap_and_replace, &mut ur);
    t.fact("unmap_and_replace handle 9999", format_args!("{} status {}", show(r), St(ur.status)));
    table.grant(REF_RW, 0, data_mfn, GTF_permit_access);
    map_ro.write(0, MARK_LOCAL);
    let m = map(&mut t, "map ref 10 to replace", map_rw.va, GNTMAP_host_map, REF_RW, 0);
    let mut ur = GnttabUnmapAndReplace { host_addr: map_rw.va, new_addr: map_ro.va, handle: m.handle, status: 99 };
    let r = op1(GNTTABOP_unmap_and_replace, &mut ur);
    t.fact("unmap_and_replace", format_args!("{} status {}", show(r), St(ur.status)));
    t.fact("the replacement moved", yes_no(map_rw.read(0) == MARK_LOCAL));
    t.fact("its old address unmapped", yes_no(pt::l1_entry_of(si, map_ro.va).is_some_and(|(_, e)| e & pt::P == 0)));
    t.fact("entry 10 flags after it", table.flags(REF_RW));
    table.grant(REF_RW, 0, data_mfn, GTF_invalid);
    t.fact("restore rw page", show(map_rw.restore(si)));
    t.fact("restore ro page", show(map_ro.restore(si)));
    t.fact("transfer count 0", show(op_raw(GNTTABOP_transfer, frames.as_mut_ptr() as u64, 0)));
    t.fact("cache_flush count 0", show(op_raw(GNTTABOP_cache_flush, frames.as_mut_ptr() as u64, 0)));
    t.fact("unknown command 99", show(op_raw(99, 0, 1)));
    t.fact("query_size with continuation bits", show(op_raw(GNTTABOP_query_size | 0x1000, &mut q as *mut _ as u64, 1)));
    t.fact("restore rw page", show(map_rw.restore(si)));
    t.fact("restore grant-table page", show(gt.restore(si)));
    t.end();
}
