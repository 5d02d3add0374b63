//! `mm_hostile`: the known attack classes on PV memory management. The
//! kernel builds a small pinned address space of its own, then tries a
//! second writable mapping of page-table pages, foreign and hypervisor
//! frames, type confusion between levels, linear page-table loops,
//! superpages, reserved bits, m2p updates of frames it does not own,
//! updates of the hypervisor's L4 slots, bad pins and unpins, freeing a
//! page table in use, racing pin/unpin/remap in one multicall, and writing
//! a new page table through a writable TLB entry left behind. Each
//! attempt prints its result (the errno when refused); the hypervisor must
//! keep running and the kernel reach `TRANSCRIPT END`.
//!
//! As a domU (started by `xm create` with `neighbour=...` on its command
//! line, see [`pv_guests::neighbour`]) it prints to its console ring and
//! also goes after the frames of the healthy domU beside it: mapping them,
//! writing them as page tables, copying, pinning, freeing them, and naming
//! that domain or dom0 as the foreign domain of its requests.
#![no_std]
#![no_main]

use dom0_abi::hypercall::{HYPERVISOR_mmu_update, HYPERVISOR_mmuext_op, HYPERVISOR_multicall};
use dom0_abi::memory::*;
use dom0_abi::mmu::*;
use dom0_abi::types::{DomId, GuestHandle};
use dom0_abi::xen::{MulticallEntry, DOMID_IO, DOMID_SELF, DOMID_XEN};
use pv_guests::fmt::yes_no;
use pv_guests::hypercall::{self, XenResult};
use pv_guests::neighbour::Neighbour;
use pv_guests::pt::{self, Frame, Frames, Scratch, ScratchPage, DATA_RO, DATA_RW, P, PAGE, PSE, RW, TABLE, A};
use pv_guests::report::{show, show_raw};
use pv_guests::transcript::Transcript;
use pv_guests::{key, traps, StartInfo};

pv_guests::entry!(main);

/// Backing bss page of a scratch mapping.
static mut PAGE_A: ScratchPage = ScratchPage([0; 4096]);

/// The kernel's own pinned address space.
struct Space {
    l4: Frame,
    l3: Frame,
    l2: Frame,
    l1: Frame,
    data: Frame,
    spare: Frame,
    boot_l4: u64,
}

fn main(si: &'static StartInfo) {
    pv_guests::console::init(si);
    let mut t = Transcript::begin("mm_hostile");
    t.fact("set_trap_table", show(traps::install()));
    let a = Scratch::new(core::ptr::addr_of_mut!(PAGE_A));
    let mut frames = Frames::new(si);
    let s = build(&mut t, si, &mut frames);
    second_writable(&mut t, si, &s, a);
    foreign(&mut t, si, &s, a);
    hypervisor_frames(&mut t, si, &s, a);
    confusion(&mut t, si, &s, &mut frames);
    linear(&mut t, &s);
    superpages_and_reserved(&mut t, &s);
    xen_slots(&mut t, &s);
    pins(&mut t, &s);
    race(&mut t, si, &s, &mut frames);
    stale_tlb(&mut t, si, &s, &mut frames, a);
    if let Some(n) = Neighbour::of(si) {
        neighbour(&mut t, si, &s, a, n);
    }
    free_in_use(&mut t, si, &s, a);
    t.fact("mmuext_op(UNPIN_TABLE new L4)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, s.l4.mfn, 0)));
    t.fact("restore scratch page", show(a.restore(si)));
    t.fact("traps taken", traps::count());
    t.end();
}

/// A cleared frame.
fn fresh(si: &StartInfo, frames: &mut Frames) -> Frame {
    let f = frames.alloc(si);
    let _ = pt::mmuext1(MMUEXT_CLEAR_PAGE, f.mfn, 0);
    f
}

/// Build and pin L4 → L3 → L2 → L1 → data at L4 slot 1 (the L4 also
/// holds the boot L4's guest slots so that it could be switched to).
fn build(t: &mut Transcript, si: &StartInfo, frames: &mut Frames) -> Space {
    let boot_l4 = pt::boot_l4_mfn(si);
    let (l4, l3, l2, l1, data, spare) =
        (fresh(si, frames), fresh(si, frames), fresh(si, frames), fresh(si, frames), fresh(si, frames), fresh(si, frames));
    let mut reqs = [MmuUpdate::default(); 520];
    let mut n = 0;
    for (ptr, val) in [(l1.maddr(0), data.pte(DATA_RW)), (l2.maddr(0), l1.pte(TABLE)), (l3.maddr(0), l2.pte(TABLE)), (l4.maddr(8), l3.pte(TABLE))] {
        reqs[n] = MmuUpdate { ptr, val };
        n += 1;
    }
    for i in (0..512u64).filter(|&i| !(256..272).contains(&i) && i != 1) {
        let e = pt::read_boot_table(boot_l4, i as usize);
        if e & P != 0 {
            reqs[n] = MmuUpdate { ptr: l4.maddr(i * 8), val: e };
            n += 1;
        }
    }
    let mut done = 0;
    t.fact("mmu_update(fill tables)", show(pt::mmu_update(&reqs[..n], &mut done)));
    t.fact("mmuext_op(PIN_L4_TABLE)", show(pt::mmuext1(MMUEXT_PIN_L4_TABLE, l4.mfn, 0)));
    Space { l4, l3, l2, l1, data, spare, boot_l4 }
}

fn uvm(a: Scratch, pte: u64) -> XenResult {
    a.map(pte)
}

/// A second, writable mapping of page-table pages.
fn second_writable(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    t.fact("update_va_mapping(boot L4 writable)", show(uvm(a, (s.boot_l4 * PAGE) | DATA_RW)));
    t.fact("update_va_mapping(new L4 writable)", show(uvm(a, s.l4.pte(DATA_RW))));
    t.fact("update_va_mapping(new L1 writable)", show(uvm(a, s.l1.pte(DATA_RW))));
    t.fact("update_va_mapping(new L1 read-only)", show(uvm(a, s.l1.pte(DATA_RO))));
    t.fact("restore scratch page", show(a.restore(si)));
    let (boot_l1e, _) = pt::l1_entry_of(si, a.va).expect("the scratch page is mapped");
    let boot_l1 = boot_l1e / PAGE;
    t.fact("mmu_update(live boot L1: new L2 writable)", show(pt::set_entry(boot_l1e, s.l2.pte(DATA_RW))));
    t.fact("mmu_update(live boot L1: boot L4 writable)", show(pt::set_entry(boot_l1e, (s.boot_l4 * PAGE) | DATA_RW)));
    t.fact("mmu_update(new L1: new L4 writable)", show(pt::set_entry(s.l1.maddr(24), s.l4.pte(DATA_RW))));
    t.fact("mmu_update(new L1: boot L1 writable)", show(pt::set_entry(s.l1.maddr(24), (boot_l1 * PAGE) | DATA_RW)));
    t.fact("mmu_update(new L1: new L1 itself writable)", show(pt::set_entry(s.l1.maddr(24), s.l1.pte(DATA_RW))));
    t.fact("mmu_update(new L1: new L1 itself read-only)", show(pt::set_entry(s.l1.maddr(24), s.l1.pte(DATA_RO))));
    t.fact("mmu_update(new L1 entry 3 = 0)", show(pt::set_entry(s.l1.maddr(24), 0)));
}

/// Is `mfn` one of ours (by the m2p and our p2m)?
fn ours(si: &StartInfo, mfn: u64) -> bool {
    let pfn = pt::m2p(mfn);
    pfn < si.nr_pages && pt::p2m(si)[pfn as usize] == mfn
}

/// The highest RAM frame of the machine memory map that is not ours.
fn foreign_ram_frame(si: &StartInfo, max_mfn: u64) -> Option<u64> {
    let mut map = [dom0_abi::memory::E820Entry::default(); 32];
    let mut mm = XenMemoryMap { nr_entries: 32, buffer: GuestHandle::new(map.as_mut_ptr() as u64) };
    // SAFETY: the buffer holds nr_entries records.
    unsafe { pt::memory_op(XENMEM_machine_memory_map, &mut mm) }.ok()?;
    let mut best = None;
    for e in &map[..(mm.nr_entries as usize).min(32)] {
        let (addr, size, ty) = (e.addr, e.size, e.r#type);
        if ty != E820_RAM || size < PAGE {
            continue;
        }
        let mut mfn = ((addr + size) / PAGE - 1).min(max_mfn);
        let first = addr.div_ceil(PAGE).max(0x100);
        let mut tries = 0;
        while mfn >= first && tries < 4096 {
            if !ours(si, mfn) {
                best = best.max(Some(mfn));
                break;
            }
            mfn -= 1;
            tries += 1;
        }
    }
    best
}

fn foreign(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    let mut m = XenMachphysMapping::default();
    // SAFETY: XENMEM_machphys_mapping fills a xen_machphys_mapping.
    let _ = unsafe { pt::memory_op(XENMEM_machphys_mapping, &mut m) };
    let Some(mfn) = foreign_ram_frame(si, m.max_mfn) else {
        t.fact("a RAM frame that is not ours", "none found");
        return;
    };
    t.specific("RAM frame that is not ours", format_args!("{mfn:#x}"));
    t.fact("update_va_mapping(foreign RAM frame writable)", show(uvm(a, (mfn * PAGE) | DATA_RW)));
    t.fact("update_va_mapping(foreign RAM frame read-only)", show(uvm(a, (mfn * PAGE) | DATA_RO)));
    t.fact("restore scratch page", show(a.restore(si)));
    t.fact("mmu_update(new L1: foreign RAM frame)", show(pt::set_entry(s.l1.maddr(32), (mfn * PAGE) | DATA_RW)));
    let _ = pt::set_entry(s.l1.maddr(32), 0);
    let mut done = 0;
    let req = MmuUpdate { ptr: (mfn * PAGE) | MMU_MACHPHYS_UPDATE, val: 5 };
    t.fact("mmu_update(MACHPHYS_UPDATE foreign RAM frame)", show(pt::mmu_update(&[req], &mut done)));
    t.fact("mmu_update(MACHPHYS_UPDATE foreign RAM frame) done", done);
    let req = MmuUpdate { ptr: s.data.maddr(0) | MMU_MACHPHYS_UPDATE, val: s.data.pfn };
    t.fact("mmu_update(MACHPHYS_UPDATE own frame, foreigndom DOMID_XEN)", show(pt::mmu_update_for(&[req], &mut done, 0x7ff2)));
    t.fact("mmu_update(MACHPHYS_UPDATE own frame, foreigndom 7)", show(pt::mmu_update_for(&[req], &mut done, 7)));
}

fn hypervisor_frames(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    let mut list = [0u64; 4];
    let mut ml = XenMachphysMfnList { max_extents: 4, extent_start: GuestHandle::new(list.as_mut_ptr() as u64), nr_extents: 0 };
    // SAFETY: the list holds max_extents entries.
    t.fact("machphys_mfn_list(4)", show(unsafe { pt::memory_op(XENMEM_machphys_mfn_list, &mut ml) }));
    t.specific("machphys_mfn_list nr_extents", ml.nr_extents);
    let m2p_mfn = list[0];
    t.specific("m2p frame", format_args!("{m2p_mfn:#x}"));
    t.fact("update_va_mapping(m2p frame writable)", show(uvm(a, (m2p_mfn * PAGE) | DATA_RW)));
    let r = uvm(a, (m2p_mfn * PAGE) | DATA_RO);
    t.fact("update_va_mapping(m2p frame read-only)", show(r));
    if r.is_ok() {
        t.fact("m2p frame reads as the m2p", yes_no(a.read(8) == pt::m2p(1)));
    }
    t.fact("restore scratch page", show(a.restore(si)));
    t.fact("mmu_update(new L1: m2p frame writable)", show(pt::set_entry(s.l1.maddr(40), (m2p_mfn * PAGE) | DATA_RW)));
    let _ = pt::set_entry(s.l1.maddr(40), 0);
    let mut done = 0;
    let req = MmuUpdate { ptr: (m2p_mfn * PAGE) | MMU_MACHPHYS_UPDATE, val: 5 };
    t.fact("mmu_update(MACHPHYS_UPDATE m2p frame)", show(pt::mmu_update(&[req], &mut done)));
    for slot in [256usize, 261, 262] {
        let e = pt::read_boot_table(s.boot_l4, slot);
        t.fact(key!("boot L4 slot {slot} present"), yes_no(e & P != 0));
        if e & P == 0 {
            continue;
        }
        let mfn = (e & pt::ADDR_MASK) / PAGE;
        t.specific(key!("boot L4 slot {slot} frame"), format_args!("{mfn:#x}"));
        t.fact(key!("update_va_mapping(slot {slot} table writable)"), show(uvm(a, (mfn * PAGE) | DATA_RW)));
        t.fact(key!("update_va_mapping(slot {slot} table read-only)"), show(uvm(a, (mfn * PAGE) | DATA_RO)));
        t.fact(key!("mmu_update(new L4 slot 2 = slot {slot} table)"), show(pt::set_entry(s.l4.maddr(16), (mfn * PAGE) | TABLE)));
        let _ = pt::set_entry(s.l4.maddr(16), 0);
    }
    t.fact("restore scratch page", show(a.restore(si)));
}

/// Type confusion between levels.
fn confusion(t: &mut Transcript, si: &StartInfo, s: &Space, frames: &mut Frames) {
    t.fact("mmuext_op(PIN_L3_TABLE on the L2)", show(pt::mmuext1(MMUEXT_PIN_L3_TABLE, s.l2.mfn, 0)));
    t.fact("mmuext_op(PIN_L2_TABLE on the L3)", show(pt::mmuext1(MMUEXT_PIN_L2_TABLE, s.l3.mfn, 0)));
    t.fact("mmuext_op(PIN_L1_TABLE on the L4)", show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, s.l4.mfn, 0)));
    t.fact("mmuext_op(PIN_L4_TABLE on the L1)", show(pt::mmuext1(MMUEXT_PIN_L4_TABLE, s.l1.mfn, 0)));
    t.fact("mmu_update(L4 slot 2 -> the L2)", show(pt::set_entry(s.l4.maddr(16), s.l2.pte(TABLE))));
    t.fact("mmu_update(L3 entry 1 -> the L1)", show(pt::set_entry(s.l3.maddr(8), s.l1.pte(TABLE))));
    t.fact("mmu_update(L2 entry 1 -> the L3)", show(pt::set_entry(s.l2.maddr(8), s.l3.pte(TABLE))));
    t.fact("mmu_update(L2 entry 1 -> the L4)", show(pt::set_entry(s.l2.maddr(8), s.l4.pte(TABLE))));
    // An untyped frame shaped like an L2 (entry 0 -> the L1), pinned as L3.
    let f = fresh(si, frames);
    t.fact("mmu_update(untyped frame entry 0 -> the L1)", show(pt::set_entry(f.maddr(0), s.l1.pte(TABLE))));
    t.fact("mmuext_op(PIN_L3_TABLE on an L2-shaped frame)", show(pt::mmuext1(MMUEXT_PIN_L3_TABLE, f.mfn, 0)));
    t.fact("mmuext_op(PIN_L2_TABLE on it)", show(pt::mmuext1(MMUEXT_PIN_L2_TABLE, f.mfn, 0)));
    t.fact("mmuext_op(UNPIN_TABLE it)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, f.mfn, 0)));
}

/// Linear page tables: entries pointing back at their own level.
fn linear(t: &mut Transcript, s: &Space) {
    let cases: [(&str, u64, u64); 6] = [
        ("L4 slot 3 -> the L4 itself, read-only", s.l4.maddr(24), s.l4.pte(P | A)),
        ("L4 slot 3 -> the L4 itself, writable", s.l4.maddr(24), s.l4.pte(P | RW | A)),
        ("L4 slot 3 -> the boot L4, read-only", s.l4.maddr(24), (s.boot_l4 * PAGE) | P | A),
        ("L3 entry 2 -> the L3 itself, read-only", s.l3.maddr(16), s.l3.pte(P | A)),
        ("L2 entry 2 -> the L2 itself, read-only", s.l2.maddr(16), s.l2.pte(P | A)),
        ("L2 entry 2 -> the L2 itself, writable", s.l2.maddr(16), s.l2.pte(P | RW | A)),
    ];
    for (name, ptr, val) in cases {
        t.fact(key!("mmu_update({name})"), show(pt::set_entry(ptr, val)));
        t.fact(key!("mmu_update(undo {name})"), show(pt::set_entry(ptr, 0)));
    }
}

fn superpages_and_reserved(t: &mut Transcript, s: &Space) {
    let cases: [(&str, u64, u64); 10] = [
        ("L2 entry 3 with PSE (2 MiB superpage)", s.l2.maddr(24), s.data.pte(TABLE | PSE)),
        ("L3 entry 3 with PSE (1 GiB superpage)", s.l3.maddr(24), s.data.pte(TABLE | PSE)),
        ("L4 slot 4 with PSE", s.l4.maddr(32), s.l3.pte(TABLE | PSE)),
        ("L1 entry 6 with bit 51 (reserved)", s.l1.maddr(48), s.data.pte(DATA_RW) | 1 << 51),
        ("L1 entry 6 with bit 52", s.l1.maddr(48), s.data.pte(DATA_RW) | 1 << 52),
        ("L1 entry 6 with bit 62", s.l1.maddr(48), s.data.pte(DATA_RW) | 1 << 62),
        ("L1 entry 6 with NX", s.l1.maddr(48), s.data.pte(DATA_RW) | 1 << 63),
        ("L1 entry 6 with PAT", s.l1.maddr(48), s.data.pte(DATA_RW | PSE)),
        ("L1 entry 6 with PCD|PWT", s.l1.maddr(48), s.data.pte(DATA_RW | 0x18)),
        ("L2 entry 3 with bit 52", s.l2.maddr(24), s.spare.pte(TABLE) | 1 << 52),
    ];
    for (name, ptr, val) in cases {
        t.fact(key!("mmu_update({name})"), show(pt::set_entry(ptr, val)));
        let _ = pt::set_entry(ptr, 0);
    }
    let mut done = 0;
    for cmd in [4u64, 7] {
        let req = MmuUpdate { ptr: s.l1.maddr(48) | cmd, val: 0 };
        t.fact(key!("mmu_update(command {cmd})"), show(pt::mmu_update(&[req], &mut done)));
    }
    let req = MmuUpdate { ptr: s.l1.maddr(48) + 4, val: 0 };
    t.fact("mmu_update(misaligned ptr +4)", show(pt::mmu_update(&[req], &mut done)));
}

/// The hypervisor's L4 slots 256-271 belong to it.
fn xen_slots(t: &mut Transcript, s: &Space) {
    for slot in [255u64, 256, 262, 271, 272] {
        t.fact(key!("mmu_update(new L4 slot {slot} -> new L3)"), show(pt::set_entry(s.l4.maddr(slot * 8), s.l3.pte(TABLE))));
        t.fact(key!("mmu_update(new L4 slot {slot} = 0)"), show(pt::set_entry(s.l4.maddr(slot * 8), 0)));
    }
    t.fact("mmu_update(live boot L4 slot 256 = 0)", show(pt::set_entry(s.boot_l4 * PAGE + 256 * 8, 0)));
    t.fact("mmu_update(live boot L4 slot 262 -> new L3)", show(pt::set_entry(s.boot_l4 * PAGE + 262 * 8, s.l3.pte(TABLE))));
}

fn pins(t: &mut Transcript, s: &Space) {
    t.fact("mmuext_op(UNPIN_TABLE the L1, not pinned)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, s.l1.mfn, 0)));
    t.fact("mmuext_op(UNPIN_TABLE a data frame)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, s.data.mfn, 0)));
    t.fact("mmuext_op(PIN_L4_TABLE the L4 again)", show(pt::mmuext1(MMUEXT_PIN_L4_TABLE, s.l4.mfn, 0)));
    t.fact("mmuext_op(PIN_L1_TABLE the L1)", show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, s.l1.mfn, 0)));
    t.fact("mmuext_op(PIN_L1_TABLE the L1 twice)", show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, s.l1.mfn, 0)));
    t.fact("mmuext_op(UNPIN_TABLE the L1)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, s.l1.mfn, 0)));
    t.fact("mmuext_op(UNPIN_TABLE the L1 again)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, s.l1.mfn, 0)));
    t.fact("mmuext_op(NEW_BASEPTR the L1)", show(pt::mmuext1(MMUEXT_NEW_BASEPTR, s.l1.mfn, 0)));
    t.fact("mmuext_op(NEW_BASEPTR a data frame)", show(pt::mmuext1(MMUEXT_NEW_BASEPTR, s.data.mfn, 0)));
    t.fact("mmuext_op(PIN_L1_TABLE mfn 0xfffffffff)", show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, 0xf_ffff_ffff, 0)));
    t.fact("mmuext_op(CLEAR_PAGE the L4)", show(pt::mmuext1(MMUEXT_CLEAR_PAGE, s.l4.mfn, 0)));
    t.fact("mmuext_op(COPY_PAGE over the L1)", show(pt::mmuext1(MMUEXT_COPY_PAGE, s.l1.mfn, s.data.mfn)));
    t.fact("mmuext_op(command 14)", show(pt::mmuext1(14, 0, 0)));
}

/// Pin, write, unpin, remap and re-pin the same frame in one multicall.
fn race(t: &mut Transcript, si: &StartInfo, s: &Space, frames: &mut Frames) {
    let x = fresh(si, frames);
    let ext = |cmd: u32| MmuextOp { cmd, arg1: x.mfn, arg2: 0 };
    let ops = [ext(MMUEXT_PIN_L1_TABLE), ext(MMUEXT_UNPIN_TABLE)];
    let good = [MmuUpdate { ptr: x.maddr(0), val: s.data.pte(DATA_RW) }];
    let bad = [MmuUpdate { ptr: x.maddr(8), val: s.l4.pte(DATA_RW) }];
    let clear = [MmuUpdate { ptr: x.maddr(8), val: 0 }];
    let dom = u64::from(DOMID_SELF);
    let mu = |r: &[MmuUpdate; 1]| MulticallEntry { op: HYPERVISOR_mmu_update, result: 0, args: [r.as_ptr() as u64, 1, 0, dom, 0, 0] };
    let me = |o: &MmuextOp| MulticallEntry {
        op: HYPERVISOR_mmuext_op,
        result: 0,
        args: [o as *const MmuextOp as u64, 1, 0, dom, 0, 0],
    };
    let names = [
        "pin L1", "write entry 0", "unpin", "write a writable L4 mapping into the unpinned frame",
        "pin L1 with the bad entry", "clear the bad entry", "pin L1 again", "remap entry 0", "unpin",
    ];
    let mut batch = [
        me(&ops[0]),
        mu(&good),
        me(&ops[1]),
        mu(&bad),
        me(&ops[0]),
        mu(&clear),
        me(&ops[0]),
        mu(&good),
        me(&ops[1]),
    ];
    // SAFETY: the batch and everything its entries name are live.
    let r = unsafe { hypercall::raw(HYPERVISOR_multicall, batch.as_mut_ptr() as u64, batch.len() as u64, 0, 0, 0) };
    t.fact("multicall(pin/write/unpin/remap race)", show_raw(r));
    for (i, (e, name)) in batch.iter().zip(names).enumerate() {
        t.fact(key!("multicall entry {i} ({name})"), show_raw(e.result as i64));
    }
}

/// A writable mapping removed without a TLB flush leaves its TLB entry
/// behind; the page then pinned as an L1 must not be writable through it
/// (Xen flushes when a page that was writable takes a table type: its
/// TLB-flush clock). The write must fault and the pinned table stay empty.
fn stale_tlb(t: &mut Transcript, si: &StartInfo, s: &Space, frames: &mut Frames, a: Scratch) {
    let x = fresh(si, frames);
    t.fact("update_va_mapping(fresh frame writable)", show(a.map(x.pte(DATA_RW))));
    a.write(0, 0);
    // SAFETY: the scratch page is ours; nothing else uses its address.
    let unmap = unsafe { hypercall::update_va_mapping(a.va, 0, UVMF_NONE) };
    t.fact("update_va_mapping(unmap it, no flush)", show(unmap));
    t.fact("mmuext_op(PIN_L1_TABLE it)", show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, x.mfn, 0)));
    let (va, val) = (a.va + 8, s.l4.pte(DATA_RW));
    let before = traps::count();
    pv_guests::trigger!("movq {v}, ({p})"; v = in(reg) val, p = in(reg) va);
    t.fact("write through the stale TLB entry faults", yes_no(traps::count() != before));
    t.fact("update_va_mapping(it read-only)", show(a.map(x.pte(DATA_RO))));
    t.fact("the pinned L1 is still empty", yes_no(a.read(8) == 0));
    t.fact("mmuext_op(UNPIN_TABLE it)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, x.mfn, 0)));
    t.fact("restore scratch page", show(a.restore(si)));
}

/// A domain id no domain has.
const NO_DOMAIN: u16 = 0x7fef;

/// `mmuext_op` of one operation on behalf of `foreigndom`.
fn mmuext_for(cmd: u32, arg1: u64, arg2: u64, foreigndom: u16) -> XenResult {
    let op = MmuextOp { cmd, arg1, arg2 };
    let mut done = 0u32;
    // SAFETY: one live operation and a live count.
    hypercall::check(unsafe {
        hypercall::raw(HYPERVISOR_mmuext_op, &op as *const MmuextOp as u64, 1, &mut done as *mut u32 as u64, foreigndom.into(), 0)
    })
}

/// `update_va_mapping_otherdomain(va, pte, flags, dom)`.
fn uvm_other(a: Scratch, pte: u64, dom: u16) -> XenResult {
    use dom0_abi::hypercall::HYPERVISOR_update_va_mapping_otherdomain;
    // SAFETY: the scratch page is ours to remap; the hypervisor must
    // refuse the foreign domain.
    hypercall::check(unsafe { hypercall::raw(HYPERVISOR_update_va_mapping_otherdomain, a.va, pte, UVMF_INVLPG, dom.into(), 0) })
}

/// The frames of the healthy domU `n` beside us (its console and xenstore
/// rings) and dom0 as a foreign domain: every attempt must be refused.
fn neighbour(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch, n: Neighbour) {
    t.specific("neighbour domain", n.domid);
    t.specific("neighbour console frame", format_args!("{:#x}", n.console_mfn));
    t.specific("neighbour store frame", format_args!("{:#x}", n.store_mfn));
    t.fact("neighbour console frame is ours", yes_no(ours(si, n.console_mfn)));
    for (name, mfn) in [("console", n.console_mfn), ("store", n.store_mfn)] {
        t.fact(key!("update_va_mapping(neighbour {name} frame writable)"), show(uvm(a, (mfn * PAGE) | DATA_RW)));
        t.fact(key!("update_va_mapping(neighbour {name} frame read-only)"), show(uvm(a, (mfn * PAGE) | DATA_RO)));
        t.fact("restore scratch page", show(a.restore(si)));
        t.fact(key!("mmu_update(new L1: neighbour {name} frame)"), show(pt::set_entry(s.l1.maddr(56), (mfn * PAGE) | DATA_RW)));
        let _ = pt::set_entry(s.l1.maddr(56), 0);
        t.fact(key!("mmu_update(write into the neighbour {name} frame)"), show(pt::set_entry(mfn * PAGE, 0)));
        let mut done = 0;
        let req = MmuUpdate { ptr: (mfn * PAGE) | MMU_MACHPHYS_UPDATE, val: s.data.pfn };
        t.fact(key!("mmu_update(MACHPHYS_UPDATE neighbour {name} frame)"), show(pt::mmu_update(&[req], &mut done)));
        t.fact(key!("mmuext_op(PIN_L1_TABLE neighbour {name} frame)"), show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, mfn, 0)));
        t.fact(key!("mmuext_op(CLEAR_PAGE neighbour {name} frame)"), show(pt::mmuext1(MMUEXT_CLEAR_PAGE, mfn, 0)));
        t.fact(key!("mmuext_op(COPY_PAGE from neighbour {name} frame)"), show(pt::mmuext1(MMUEXT_COPY_PAGE, s.spare.mfn, mfn)));
        t.fact(key!("mmuext_op(COPY_PAGE over neighbour {name} frame)"), show(pt::mmuext1(MMUEXT_COPY_PAGE, mfn, s.spare.mfn)));
        t.fact(key!("mmuext_op(NEW_BASEPTR neighbour {name} frame)"), show(pt::mmuext1(MMUEXT_NEW_BASEPTR, mfn, 0)));
    }
    let mfn = n.console_mfn;
    let mut done = 0;
    let req = [MmuUpdate { ptr: s.l1.maddr(56), val: (mfn * PAGE) | DATA_RW }];
    t.fact("mmu_update(new L1: neighbour console frame, foreigndom the neighbour)", show(pt::mmu_update_for(&req, &mut done, n.domid)));
    let req = [MmuUpdate { ptr: s.l1.maddr(56), val: s.data.pte(DATA_RW) }];
    t.fact("mmu_update(new L1: own frame, foreigndom dom0)", show(pt::mmu_update_for(&req, &mut done, 0)));
    let req = [MmuUpdate { ptr: (mfn * PAGE) | MMU_MACHPHYS_UPDATE, val: 5 }];
    t.fact("mmu_update(MACHPHYS_UPDATE neighbour console frame, foreigndom the neighbour)", show(pt::mmu_update_for(&req, &mut done, n.domid)));
    // The page-table owner in the upper half of foreigndom (Xen's
    // `pt_owner`): the neighbour's frame written as its own page table.
    let pt_owner = |dom: u16| ((u32::from(dom) + 1) << 16) | u32::from(DOMID_SELF);
    let req = [MmuUpdate { ptr: mfn * PAGE, val: 0 }];
    // SAFETY: a live request and count; the hypervisor must refuse.
    let r = unsafe { hypercall::raw(HYPERVISOR_mmu_update, req.as_ptr() as u64, 1, &mut done as *mut u32 as u64, pt_owner(n.domid).into(), 0) };
    t.fact("mmu_update(write into the neighbour console frame, pt_owner the neighbour)", show_raw(r));
    t.fact("mmuext_op(PIN_L1_TABLE neighbour console frame, foreigndom the neighbour)", show(mmuext_for(MMUEXT_PIN_L1_TABLE, mfn, 0, n.domid)));
    t.fact("mmuext_op(CLEAR_PAGE neighbour console frame, foreigndom the neighbour)", show(mmuext_for(MMUEXT_CLEAR_PAGE, mfn, 0, n.domid)));
    t.fact("mmuext_op(PIN_L1_TABLE own frame, foreigndom dom0)", show(mmuext_for(MMUEXT_PIN_L1_TABLE, s.spare.mfn, 0, 0)));
    t.fact("update_va_mapping_otherdomain(neighbour console frame, the neighbour)", show(uvm_other(a, (mfn * PAGE) | DATA_RW, n.domid)));
    t.fact("update_va_mapping_otherdomain(own frame, dom0)", show(uvm_other(a, s.data.pte(DATA_RW), 0)));
    // A domain that does not exist, and the hypervisor's pseudo-domains.
    let req = [MmuUpdate { ptr: s.l1.maddr(56), val: s.data.pte(DATA_RW) }];
    for (name, dom) in [("a domain that does not exist", NO_DOMAIN), ("DOMID_XEN", DOMID_XEN), ("DOMID_IO", DOMID_IO)] {
        t.fact(key!("mmu_update(new L1: own frame, foreigndom {name})"), show(pt::mmu_update_for(&req, &mut done, dom)));
        let _ = pt::set_entry(s.l1.maddr(56), 0);
        t.fact(key!("mmuext_op(PIN_L1_TABLE own frame, foreigndom {name})"), show(mmuext_for(MMUEXT_PIN_L1_TABLE, s.spare.mfn, 0, dom)));
        t.fact(key!("update_va_mapping_otherdomain(own frame, {name})"), show(uvm_other(a, s.data.pte(DATA_RW), dom)));
        t.fact("restore scratch page", show(a.restore(si)));
    }
    // SAFETY: a live request and count; the hypervisor must refuse.
    let r = unsafe { hypercall::raw(HYPERVISOR_mmu_update, req.as_ptr() as u64, 1, &mut done as *mut u32 as u64, pt_owner(NO_DOMAIN).into(), 0) };
    t.fact("mmu_update(new L1: own frame, pt_owner a domain that does not exist)", show_raw(r));
    let _ = pt::set_entry(s.l1.maddr(56), 0);
    t.fact("restore scratch page", show(a.restore(si)));
    let reserve = |dom: u16| {
        let mut ext = [mfn];
        let mut r = XenMemoryReservation {
            extent_start: GuestHandle::new(ext.as_mut_ptr() as u64),
            nr_extents: 1,
            extent_order: 0,
            mem_flags: 0,
            domid: DomId(dom),
        };
        // SAFETY: one live extent.
        unsafe { pt::memory_op(XENMEM_decrease_reservation, &mut r) }
    };
    t.fact("decrease_reservation(neighbour console frame)", show(reserve(DOMID_SELF)));
    t.fact("decrease_reservation(neighbour console frame, domid the neighbour)", show(reserve(n.domid)));
    t.fact("neighbour console frame still the neighbour's in the m2p", yes_no(!ours(si, mfn)));
}

/// Give back frames that are still in use, then use them.
fn free_in_use(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    let reserve = |mfn: u64| {
        let mut ext = [mfn];
        let mut r = XenMemoryReservation {
            extent_start: GuestHandle::new(ext.as_mut_ptr() as u64),
            nr_extents: 1,
            extent_order: 0,
            mem_flags: 0,
            domid: DomId(DOMID_SELF),
        };
        // SAFETY: one live extent.
        unsafe { pt::memory_op(XENMEM_decrease_reservation, &mut r) }
    };
    t.fact("decrease_reservation(the L1, in use by the pinned L4)", show(reserve(s.l1.mfn)));
    t.fact("mmu_update(the freed L1 entry 1)", show(pt::set_entry(s.l1.maddr(8), s.data.pte(DATA_RW))));
    t.fact("update_va_mapping(the freed L1 read-only)", show(uvm(a, s.l1.pte(DATA_RO))));
    t.fact("mmuext_op(PIN_L1_TABLE the freed L1)", show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, s.l1.mfn, 0)));
    t.fact("restore scratch page", show(a.restore(si)));
    t.fact("update_va_mapping(data frame)", show(uvm(a, s.data.pte(DATA_RW))));
    a.write(0, 0x5a5a);
    t.fact("decrease_reservation(the data frame, mapped)", show(reserve(s.data.mfn)));
    t.fact("mapped freed frame still reads back", yes_no(a.read(0) == 0x5a5a));
    t.fact("restore scratch page", show(a.restore(si)));
    t.fact("update_va_mapping(the freed data frame)", show(uvm(a, s.data.pte(DATA_RW))));
    t.fact("decrease_reservation(the data frame again)", show(reserve(s.data.mfn)));
    t.fact("mmuext_op(PIN_L1_TABLE the freed data frame)", show(pt::mmuext1(MMUEXT_PIN_L1_TABLE, s.data.mfn, 0)));
}
