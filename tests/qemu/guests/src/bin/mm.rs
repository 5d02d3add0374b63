//! `mm`: PV memory management as a well-behaved kernel uses it. The kernel
//! builds an address space from its own free frames with `mmu_update`,
//! pins it, switches to it and back, remaps pages with every
//! `update_va_mapping` flag, updates entries preserving A/D, edits the m2p,
//! writes an L1 with a plain `mov` under `writable_pagetables`, unpins,
//! clears and copies pages, loads a selector from its own LDT, and
//! balloons down and up. Every step prints one fact; MFNs and addresses are
//! implementation-specific (`~`), results and counts are not.
#![no_std]
#![no_main]

use dom0_abi::memory::*;
use dom0_abi::mmu::*;
use dom0_abi::types::DomId;
use dom0_abi::vm_assist::{VMASST_CMD_disable, VMASST_CMD_enable, VMASST_TYPE_writable_pagetables};
use dom0_abi::xen::DOMID_SELF;
use pv_guests::fmt::yes_no;
use pv_guests::hypercall::{self, XenResult};
use pv_guests::pt::{self, Frame, Frames, Scratch, ScratchPage, A, D, DATA_RO, DATA_RW, FLAGS_MASK, P, PAGE, RW, TABLE, US};
use pv_guests::report::show;
use pv_guests::transcript::Transcript;
use pv_guests::{key, traps, trigger, StartInfo};

pv_guests::entry!(main);

/// Backing bss page of a scratch mapping.
static mut PAGE_A: ScratchPage = ScratchPage([0; 4096]);
/// Backing bss page of a scratch mapping.
static mut PAGE_L1: ScratchPage = ScratchPage([0; 4096]);
/// Backing bss page of a scratch mapping.
static mut PAGE_LDT: ScratchPage = ScratchPage([0; 4096]);

/// L4 slot of the new address space's own mappings (empty at start).
const NEW_SLOT: u64 = 1;
/// First virtual address the new L1 maps.
const NEW_VA: u64 = NEW_SLOT << 39;
/// Markers written to the data frames.
const MARK: [u64; 4] = [0x6d6d_0000_0000_0000, 0x6d6d_0000_0000_0001, 0x6d6d_0000_0000_0002, 0x6d6d_0000_0000_0003];

/// The frames of the new address space.
struct Space {
    l4: Frame,
    l3: Frame,
    l2: Frame,
    l1: Frame,
    data: [Frame; 4],
    boot_l4: u64,
}

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("mm");
    t.fact("set_trap_table", show(traps::install()));
    t.fact("map shared_info", yes_no(pv_guests::shared::map(si).is_ok()));
    let a = Scratch::new(core::ptr::addr_of_mut!(PAGE_A));
    let l1view = Scratch::new(core::ptr::addr_of_mut!(PAGE_L1));
    let mut frames = Frames::new(si);
    queries(&mut t);
    let s = build(&mut t, si, &mut frames, a);
    pin_levels(&mut t, si, &mut frames);
    switch(&mut t, si, &s, a);
    uvmf(&mut t, si, &s, a);
    tlb_ops(&mut t, a);
    preserve_ad(&mut t, &s, l1view);
    machphys(&mut t, &s);
    writable_pagetables(&mut t, &s, l1view);
    t.fact("restore scratch L1 view", show(l1view.restore(si)));
    unpin(&mut t, si, &s, a);
    clear_copy(&mut t, si, &s, a);
    ldt(&mut t, si, &mut frames);
    balloon(&mut t, si, &s, a);
    t.fact("traps taken", traps::count());
    t.end();
}

/// `current_reservation` of ourselves.
fn reservation(cmd: u32) -> XenResult {
    let mut d = DomId(DOMID_SELF);
    // SAFETY: these commands take a domid_t.
    unsafe { pt::memory_op(cmd, &mut d) }
}

fn queries(t: &mut Transcript) {
    let mut m = XenMachphysMapping::default();
    // SAFETY: XENMEM_machphys_mapping fills a xen_machphys_mapping.
    t.fact("machphys_mapping", show(unsafe { pt::memory_op(XENMEM_machphys_mapping, &mut m) }));
    t.fact("machphys_mapping v_start", format_args!("{:#x}", m.v_start));
    t.specific("machphys_mapping v_end", format_args!("{:#x}", m.v_end));
    t.specific("machphys_mapping max_mfn", format_args!("{:#x}", m.max_mfn));
    t.specific("current_reservation", show(reservation(XENMEM_current_reservation)));
    t.specific("maximum_reservation", show(reservation(XENMEM_maximum_reservation)));
}

/// Allocate, clear and fill the four levels with `mmu_update` while the
/// frames are still untyped, then pin the L4.
fn build(t: &mut Transcript, si: &StartInfo, frames: &mut Frames, a: Scratch) -> Space {
    let boot_l4 = pt::boot_l4_mfn(si);
    let (l4, l3, l2, l1) = (frames.alloc(si), frames.alloc(si), frames.alloc(si), frames.alloc(si));
    let data = [frames.alloc(si), frames.alloc(si), frames.alloc(si), frames.alloc(si)];
    t.specific("new L4 mfn", format_args!("{:#x}", l4.mfn));
    let all = [l4, l3, l2, l1, data[0], data[1], data[2], data[3]];
    let m2p_ok = all.iter().all(|f| pt::m2p(f.mfn) == f.pfn);
    t.fact("m2p of the free frames matches the p2m", yes_no(m2p_ok));
    let mut ops = [MmuextOp::default(); 8];
    for (op, f) in ops.iter_mut().zip(all) {
        *op = MmuextOp { cmd: MMUEXT_CLEAR_PAGE, arg1: f.mfn, arg2: 0 };
    }
    let mut done = 0;
    t.fact("mmuext_op(CLEAR_PAGE x8)", show(pt::mmuext(&ops, &mut done)));
    t.fact("mmuext_op(CLEAR_PAGE x8) done", done);
    for (f, mark) in data.iter().zip(MARK) {
        let _ = a.map(f.pte(DATA_RW));
        a.write(0, mark);
    }
    t.fact("restore scratch page", show(a.restore(si)));
    t.fact("boot L4 slot 1 empty", yes_no(pt::read_boot_table(boot_l4, NEW_SLOT as usize) == 0));

    let mut reqs = [MmuUpdate::default(); 520];
    let mut n = 0;
    let mut push = |ptr: u64, val: u64| {
        reqs[n] = MmuUpdate { ptr, val };
        n += 1;
    };
    push(l1.maddr(0), data[0].pte(DATA_RW));
    push(l1.maddr(8), data[1].pte(DATA_RW));
    push(l2.maddr(0), l1.pte(TABLE));
    push(l3.maddr(0), l2.pte(TABLE));
    let mut copied = 0;
    for i in (0..512u64).filter(|&i| !(256..272).contains(&i)) {
        let e = pt::read_boot_table(boot_l4, i as usize);
        if e & P != 0 {
            push(l4.maddr(i * 8), e);
            copied += 1;
        }
    }
    push(l4.maddr(NEW_SLOT * 8), l3.pte(TABLE));
    t.specific("boot L4 guest slots copied", copied);
    done = 0;
    t.fact("mmu_update(fill untyped L1/L2/L3/L4)", show(pt::mmu_update(&reqs[..n], &mut done)));
    t.fact("mmu_update(fill untyped L1/L2/L3/L4) all done", yes_no(done as usize == n));
    t.fact("mmuext_op(PIN_L4_TABLE new L4)", show(pt::mmuext1(MMUEXT_PIN_L4_TABLE, l4.mfn, 0)));
    Space { l4, l3, l2, l1, data, boot_l4 }
}

/// Pin and unpin an empty table of each level.
fn pin_levels(t: &mut Transcript, si: &StartInfo, frames: &mut Frames) {
    let f = frames.alloc(si);
    let _ = pt::mmuext1(MMUEXT_CLEAR_PAGE, f.mfn, 0);
    for (name, cmd) in [("L1", MMUEXT_PIN_L1_TABLE), ("L2", MMUEXT_PIN_L2_TABLE), ("L3", MMUEXT_PIN_L3_TABLE)] {
        t.fact(key!("mmuext_op(PIN_{name}_TABLE empty frame)"), show(pt::mmuext1(cmd, f.mfn, 0)));
        t.fact(key!("mmuext_op(UNPIN_TABLE empty {name})"), show(pt::mmuext1(MMUEXT_UNPIN_TABLE, f.mfn, 0)));
    }
}

fn read_va(va: u64) -> u64 {
    // SAFETY: callers read addresses they have just mapped.
    unsafe { (va as *const u64).read_volatile() }
}

/// Switch to the new L4, use its mappings, switch back.
fn switch(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    let trap = traps::catch(|| trigger!("movq ({p}), {v}"; p = in(reg) NEW_VA, v = out(reg) _));
    t.fact("read of the new VA under the boot L4: vector", trap.map_or(0, |x| x.frame.vector));
    t.fact("mmuext_op(NEW_BASEPTR new L4)", show(pt::mmuext1(MMUEXT_NEW_BASEPTR, s.l4.mfn, 0)));
    t.fact("new VA page 0 reads marker 0", yes_no(read_va(NEW_VA) == MARK[0]));
    t.fact("new VA page 1 reads marker 1", yes_no(read_va(NEW_VA + PAGE) == MARK[1]));
    // SAFETY: NEW_VA maps data frame 0, writable, in the current tables.
    unsafe { ((NEW_VA + 8) as *mut u64).write_volatile(0x1234_5678) };
    let r = {
        // SAFETY: NEW_VA + 2 pages is mapped by nothing else we use.
        unsafe { hypercall::update_va_mapping(NEW_VA + 2 * PAGE, s.data[2].pte(DATA_RW), UVMF_INVLPG) }
    };
    t.fact("update_va_mapping(new VA page 2) under the new L4", show(r));
    t.fact("new VA page 2 reads marker 2", yes_no(read_va(NEW_VA + 2 * PAGE) == MARK[2]));
    t.fact("mmuext_op(NEW_USER_BASEPTR new L4)", show(pt::mmuext1(MMUEXT_NEW_USER_BASEPTR, s.l4.mfn, 0)));
    t.fact("mmuext_op(NEW_USER_BASEPTR 0)", show(pt::mmuext1(MMUEXT_NEW_USER_BASEPTR, 0, 0)));
    t.fact("mmuext_op(NEW_BASEPTR boot L4)", show(pt::mmuext1(MMUEXT_NEW_BASEPTR, s.boot_l4, 0)));
    let _ = a.map(s.data[0].pte(DATA_RW));
    t.fact("write through the new VA seen in the frame", yes_no(a.read(8) == 0x1234_5678));
    let _ = a.restore(si);
}

/// `update_va_mapping` with each flag on the scratch page.
fn uvmf(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    let mask: u64 = 1;
    let multi = core::ptr::addr_of!(mask) as u64;
    let cases: [(&str, u64); 7] = [
        ("UVMF_NONE", UVMF_NONE),
        ("UVMF_INVLPG", UVMF_INVLPG),
        ("UVMF_TLB_FLUSH", UVMF_TLB_FLUSH),
        ("UVMF_INVLPG|UVMF_ALL", UVMF_INVLPG | UVMF_ALL),
        ("UVMF_TLB_FLUSH|UVMF_ALL", UVMF_TLB_FLUSH | UVMF_ALL),
        ("UVMF_INVLPG|UVMF_MULTI(mask 1)", UVMF_INVLPG | UVMF_MULTI | multi),
        ("UVMF_TLB_FLUSH|UVMF_MULTI(mask 1)", UVMF_TLB_FLUSH | UVMF_MULTI | multi),
    ];
    for (i, (name, flags)) in cases.into_iter().enumerate() {
        let f = s.data[i % 4];
        // SAFETY: the scratch page is ours to remap; read only after.
        let r = unsafe { hypercall::update_va_mapping(a.va, f.pte(DATA_RW), flags) };
        if flags == UVMF_NONE {
            let _ = pt::mmuext1(MMUEXT_INVLPG_LOCAL, a.va, 0);
        }
        t.fact(key!("update_va_mapping({name})"), show(r));
        t.fact(key!("update_va_mapping({name}) maps the frame"), yes_no(a.read(0) == MARK[i % 4]));
    }
    t.fact("restore scratch page", show(a.restore(si)));
}

fn tlb_ops(t: &mut Transcript, a: Scratch) {
    let mask: u64 = 1;
    let m = core::ptr::addr_of!(mask) as u64;
    let ops: [(&str, u32, u64, u64); 10] = [
        ("TLB_FLUSH_LOCAL", MMUEXT_TLB_FLUSH_LOCAL, 0, 0),
        ("INVLPG_LOCAL", MMUEXT_INVLPG_LOCAL, a.va, 0),
        ("TLB_FLUSH_MULTI", MMUEXT_TLB_FLUSH_MULTI, 0, m),
        ("INVLPG_MULTI", MMUEXT_INVLPG_MULTI, a.va, m),
        ("TLB_FLUSH_ALL", MMUEXT_TLB_FLUSH_ALL, 0, 0),
        ("INVLPG_ALL", MMUEXT_INVLPG_ALL, a.va, 0),
        ("FLUSH_CACHE", MMUEXT_FLUSH_CACHE, 0, 0),
        ("FLUSH_CACHE_GLOBAL", MMUEXT_FLUSH_CACHE_GLOBAL, 0, 0),
        ("MARK_SUPER", MMUEXT_MARK_SUPER, 0, 0),
        ("UNMARK_SUPER", MMUEXT_UNMARK_SUPER, 0, 0),
    ];
    for (name, cmd, arg1, arg2) in ops {
        t.fact(key!("mmuext_op({name})"), show(pt::mmuext1(cmd, arg1, arg2)));
    }
}

/// `MMU_PT_UPDATE_PRESERVE_AD` keeps the old entry's A/D bits; a normal
/// update does not. The new L1 is read through a read-only view.
fn preserve_ad(t: &mut Transcript, s: &Space, view: Scratch) {
    t.fact("update_va_mapping(new L1 read-only)", show(view.map(s.l1.pte(DATA_RO))));
    let e0 = view.read(0);
    t.fact("new L1 entry 0 maps data frame 0", yes_no(e0 & pt::ADDR_MASK == s.data[0].mfn * PAGE));
    t.fact("new L1 entry 0 flags", format_args!("{:#x}", e0 & FLAGS_MASK));
    let ptr = s.l1.maddr(5 * 8);
    t.fact("mmu_update(entry 5 with A|D)", show(pt::set_entry(ptr, s.data[3].pte(P | RW | US | A | D))));
    t.fact("entry 5 flags", format_args!("{:#x}", view.read(40) & FLAGS_MASK));
    let mut done = 0;
    let req = MmuUpdate { ptr: ptr | MMU_PT_UPDATE_PRESERVE_AD, val: s.data[3].pte(P | RW | US) };
    t.fact("mmu_update(PRESERVE_AD entry 5 without A|D)", show(pt::mmu_update(&[req], &mut done)));
    t.fact("entry 5 flags after PRESERVE_AD", format_args!("{:#x}", view.read(40) & FLAGS_MASK));
    t.fact("mmu_update(NORMAL entry 5 without A|D)", show(pt::set_entry(ptr, s.data[3].pte(P | RW | US))));
    t.fact("entry 5 flags after NORMAL", format_args!("{:#x}", view.read(40) & FLAGS_MASK));
    t.fact("mmu_update(NORMAL entry 5 = 0)", show(pt::set_entry(ptr, 0)));
}

/// `MMU_MACHPHYS_UPDATE` and the m2p read back.
fn machphys(t: &mut Transcript, s: &Space) {
    let f = s.data[3];
    let mut done = 0;
    let req = MmuUpdate { ptr: f.maddr(0) | MMU_MACHPHYS_UPDATE, val: 0x1234 };
    t.fact("mmu_update(MACHPHYS_UPDATE to pfn 0x1234)", show(pt::mmu_update(&[req], &mut done)));
    t.fact("m2p reads 0x1234", yes_no(pt::m2p(f.mfn) == 0x1234));
    let req = MmuUpdate { ptr: f.maddr(0) | MMU_MACHPHYS_UPDATE, val: f.pfn };
    t.fact("mmu_update(MACHPHYS_UPDATE back)", show(pt::mmu_update(&[req], &mut done)));
    t.fact("m2p restored", yes_no(pt::m2p(f.mfn) == f.pfn));
}

/// Write `val` at `addr` with a plain `mov`, catching a fault.
fn mov_store(addr: u64, val: u64) -> Option<traps::Trap> {
    traps::catch(|| trigger!("movq {v}, ({p})"; v = in(reg) val, p = in(reg) addr))
}

fn print_trap(t: &mut Transcript, what: &str, trap: Option<traps::Trap>, addr: u64) {
    match trap {
        None => t.fact(key!("{what}: trap"), "none"),
        Some(x) => {
            t.fact(key!("{what}: trap"), format_args!("vector {} error code {:#x}", x.frame.vector, x.frame.error_code));
            t.fact(key!("{what}: cr2 is the entry"), yes_no(x.cr2 == addr));
        }
    }
}

fn writable_pagetables(t: &mut Transcript, s: &Space, view: Scratch) {
    let e6 = view.va + 6 * 8;
    print_trap(t, "mov into an L1 entry without writable_pagetables", mov_store(e6, s.data[2].pte(DATA_RW)), e6);
    t.fact("entry 6 still empty", yes_no(view.read(48) == 0));
    t.fact("vm_assist(enable, writable_pagetables)", show(pt::vm_assist(VMASST_CMD_enable, VMASST_TYPE_writable_pagetables)));
    print_trap(t, "mov into an L1 entry", mov_store(e6, s.data[2].pte(DATA_RW)), e6);
    let e = view.read(48);
    t.fact("entry 6 maps data frame 2", yes_no(e & pt::ADDR_MASK == s.data[2].mfn * PAGE));
    t.fact("entry 6 flags", format_args!("{:#x}", e & FLAGS_MASK));
    t.fact("mmuext_op(NEW_BASEPTR new L4)", show(pt::mmuext1(MMUEXT_NEW_BASEPTR, s.l4.mfn, 0)));
    t.fact("new VA page 6 reads marker 2", yes_no(read_va(NEW_VA + 6 * PAGE) == MARK[2]));
    t.fact("mmuext_op(NEW_BASEPTR boot L4)", show(pt::mmuext1(MMUEXT_NEW_BASEPTR, s.boot_l4, 0)));
    let e7 = view.va + 7 * 8;
    print_trap(t, "mov of a writable mapping of the L4 into an L1 entry", mov_store(e7, s.l4.pte(DATA_RW)), e7);
    t.fact("entry 7 still empty", yes_no(view.read(56) == 0));
    print_trap(t, "mov of an entry with bit 52 set", mov_store(e7, s.data[1].pte(DATA_RW) | 1 << 52), e7);
    t.fact("entry 7 still empty", yes_no(view.read(56) == 0));
    print_trap(t, "mov of 0 into entry 6", mov_store(e6, 0), e6);
    t.fact("entry 6 empty", yes_no(view.read(48) == 0));
    t.fact("vm_assist(disable, writable_pagetables)", show(pt::vm_assist(VMASST_CMD_disable, VMASST_TYPE_writable_pagetables)));
}

fn unpin(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    t.fact("update_va_mapping(L1 writable while pinned)", show(a.map(s.l1.pte(DATA_RW))));
    let _ = a.restore(si);
    t.fact("mmuext_op(UNPIN_TABLE new L4)", show(pt::mmuext1(MMUEXT_UNPIN_TABLE, s.l4.mfn, 0)));
    for (name, f) in [("L4", s.l4), ("L3", s.l3), ("L2", s.l2), ("L1", s.l1)] {
        t.fact(key!("update_va_mapping(former {name} writable)"), show(a.map(f.pte(DATA_RW))));
    }
    t.fact("restore scratch page", show(a.restore(si)));
}

fn clear_copy(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    let (src, dst) = (s.data[0], s.data[1]);
    t.fact("mmuext_op(COPY_PAGE data 0 -> data 1)", show(pt::mmuext1(MMUEXT_COPY_PAGE, dst.mfn, src.mfn)));
    let _ = a.map(dst.pte(DATA_RW));
    t.fact("copy has marker 0", yes_no(a.read(0) == MARK[0] && a.read(8) == 0x1234_5678));
    let _ = a.restore(si);
    t.fact("mmuext_op(CLEAR_PAGE data 1)", show(pt::mmuext1(MMUEXT_CLEAR_PAGE, dst.mfn, 0)));
    let _ = a.map(dst.pte(DATA_RO));
    t.fact("cleared page reads 0", yes_no(a.read(0) == 0 && a.read(8) == 0));
    let _ = a.restore(si);
}

/// A flat 64-bit data segment, DPL 3, present, writable, accessed.
const LDT_DATA: u64 = 0x00cf_f300_0000_ffff;

fn ldt(t: &mut Transcript, si: &StartInfo, frames: &mut Frames) {
    let v = Scratch::new(core::ptr::addr_of_mut!(PAGE_LDT));
    let f = frames.alloc(si);
    let _ = pt::mmuext1(MMUEXT_CLEAR_PAGE, f.mfn, 0);
    let _ = v.map(f.pte(DATA_RW));
    v.write(8, LDT_DATA);
    t.fact("map LDT page read-only", show(v.map(f.pte(DATA_RO))));
    t.fact("mmuext_op(SET_LDT 2 entries)", show(pt::mmuext1(MMUEXT_SET_LDT, v.va, 2)));
    let sel: u16 = (1 << 3) | 4 | 3;
    let trap = traps::catch(|| trigger!("movw {s:x}, %fs"; s = in(reg) sel));
    t.fact("load LDT selector 0xf into fs: trap", trap.map_or("none", |_| "yes"));
    let fs: u16;
    // SAFETY: reading a segment register has no side effect.
    unsafe { core::arch::asm!("movw %fs, {0:x}", out(reg) fs, options(att_syntax, nomem, nostack)) };
    t.fact("fs", format_args!("{fs:#x}"));
    let (ar, ok): (u32, u8);
    // SAFETY: lar only reads the descriptor table.
    unsafe {
        core::arch::asm!("larl {s:e}, {ar:e}", "setz {ok}", s = in(reg) u32::from(sel), ar = out(reg) ar, ok = out(reg_byte) ok,
            options(att_syntax, nostack));
    }
    t.fact("lar 0xf", format_args!("ok {ok} access {ar:#x}"));
    let bad: u16 = (2 << 3) | 4 | 3;
    let trap = traps::catch(|| trigger!("movw {s:x}, %fs"; s = in(reg) bad));
    match trap {
        None => t.fact("load selector 0x17 beyond the LDT: trap", "none"),
        Some(x) => t.fact(
            "load selector 0x17 beyond the LDT: trap",
            format_args!("vector {} error code {:#x}", x.frame.vector, x.frame.error_code),
        ),
    }
    let zero: u16 = 0;
    // SAFETY: a null selector in fs is always allowed.
    unsafe { core::arch::asm!("movw {0:x}, %fs", in(reg) zero, options(att_syntax, nomem, nostack)) };
    t.fact("mmuext_op(SET_LDT 0 entries)", show(pt::mmuext1(MMUEXT_SET_LDT, 0, 0)));
    t.fact("restore LDT scratch page", show(v.restore(si)));
}

fn reservation_op(cmd: u32, extents: &mut [u64]) -> XenResult {
    let mut r = XenMemoryReservation {
        extent_start: dom0_abi::types::GuestHandle::new(extents.as_mut_ptr() as u64),
        nr_extents: extents.len() as u64,
        extent_order: 0,
        mem_flags: 0,
        domid: DomId(DOMID_SELF),
    };
    // SAFETY: the reservation names `extents`, live and writable.
    unsafe { pt::memory_op(cmd, &mut r) }
}

fn balloon(t: &mut Transcript, si: &StartInfo, s: &Space, a: Scratch) {
    let before = reservation(XENMEM_current_reservation).unwrap_or(0) as i64;
    let delta = || reservation(XENMEM_current_reservation).unwrap_or(0) as i64 - before;
    let mut down = [s.data[2].mfn, s.data[3].mfn];
    t.fact("decrease_reservation(2 frames)", show(reservation_op(XENMEM_decrease_reservation, &mut down)));
    t.fact("current_reservation change", delta());
    let mut up = [0u64];
    t.fact("increase_reservation(1)", show(reservation_op(XENMEM_increase_reservation, &mut up)));
    t.specific("increase_reservation mfn", format_args!("{:#x}", up[0]));
    t.fact("current_reservation change", delta());
    let mut pop = [s.data[2].pfn];
    t.fact("populate_physmap(1 at a freed pfn)", show(reservation_op(XENMEM_populate_physmap, &mut pop)));
    t.specific("populate_physmap mfn", format_args!("{:#x}", pop[0]));
    t.fact("m2p of the populated frame is the pfn", yes_no(pt::m2p(pop[0]) == s.data[2].pfn));
    t.fact("current_reservation change", delta());
    let _ = a.map((pop[0] * PAGE) | DATA_RW);
    a.write(0, 77);
    t.fact("populated frame is usable", yes_no(a.read(0) == 77));
    let _ = a.restore(si);

    let old = s.data[0];
    let mut inp = [old.mfn];
    let mut out = [old.pfn];
    let mut x = XenMemoryExchange {
        r#in: XenMemoryReservation {
            extent_start: dom0_abi::types::GuestHandle::new(inp.as_mut_ptr() as u64),
            nr_extents: 1,
            extent_order: 0,
            mem_flags: 0,
            domid: DomId(DOMID_SELF),
        },
        out: XenMemoryReservation {
            extent_start: dom0_abi::types::GuestHandle::new(out.as_mut_ptr() as u64),
            nr_extents: 1,
            extent_order: 0,
            mem_flags: 0,
            domid: DomId(DOMID_SELF),
        },
        nr_exchanged: 0,
    };
    // SAFETY: both reservations name live one-entry arrays.
    t.fact("exchange(1 frame)", show(unsafe { pt::memory_op(XENMEM_exchange, &mut x) }));
    t.fact("exchange nr_exchanged", x.nr_exchanged);
    t.specific("exchange new mfn", format_args!("{:#x}", out[0]));
    t.fact("exchange gave a different frame", yes_no(out[0] != old.mfn));
    t.fact("m2p of the new frame is the pfn", yes_no(pt::m2p(out[0]) == old.pfn));
    t.fact("current_reservation change", delta());
    t.specific("maximum_reservation", show(reservation(XENMEM_maximum_reservation)));
    let mut d = DomId(DOMID_SELF);
    // SAFETY: XENMEM_maximum_gpfn takes a domid_t.
    t.specific("maximum_gpfn", show(unsafe { pt::memory_op(XENMEM_maximum_gpfn, &mut d) }));
}
