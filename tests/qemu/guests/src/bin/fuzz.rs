//! `fuzz`: a seeded, reproducible hypercall fuzzer. It calls hypercalls and
//! their sub-operations with random, boundary and hostile arguments
//! (hypervisor addresses, the direct map, unaligned and page-crossing
//! pointers, buffers of random bytes, huge counts), nested multicalls
//! included, and reports progress. The host must survive all of it, and the
//! domain's memory must be what it was at the end.
//!
//! The command line gives `seed=<n>`, `calls=<n>` and, to print every
//! call before it is made, `trace=1`. With `diff=1` the kernel prints a
//! transcript (`TRANSCRIPT BEGIN fuzz`) of every call's hypercall,
//! sub-operation and result, for comparison with Xen 4.17 (`cargo xtask
//! fuzz --diff`); the calls are the same as without it, those whose
//! results legitimately differ between hypervisors (see [`volatile`])
//! shown as `~ ` facts.
//!
//! `crash_at=<n>` makes the hypervisor crash the domain after call `n`
//! (the trap table is cleared, then an invalid opcode): the harnesses'
//! way to check that a crashed fuzzer gives way to the next seed.
//!
//! As an unprivileged domU (started by `xm create`) it prints to its
//! console ring and leaves its console and xenstore event channels alone
//! (a random `EVTCHNOP_close` of them would silence it). Operations that
//! would end the run on purpose (shutdown, vCPU down, ACPI sleep), replace
//! the kernel's own trap table, callbacks, GDT or stacks, or rewrite its
//! own page tables are left out: the fuzzer attacks the hypervisor, not
//! itself. Lines: `FUZZ <calls> calls` every 2000, then `FUZZ DONE calls=…
//! distinct=… pages_before=… pages_after=…`.
#![no_std]
#![no_main]

use dom0_abi::hypercall::*;
use dom0_abi::xen::MulticallEntry;
use core::sync::atomic::{AtomicU32, Ordering};

use pv_guests::hypercall::raw;
use pv_guests::report::show_raw;
use pv_guests::transcript::Transcript;
use pv_guests::{println, StartInfo};

pv_guests::entry!(main);

/// xorshift64* (reproducible from the seed).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
}

#[repr(C, align(4096))]
struct Pages([u8; 4 * 4096]);
/// Argument buffers, refilled with random bytes before each call.
static mut BUF: Pages = Pages([0; 4 * 4096]);

fn buf() -> u64 {
    core::ptr::addr_of!(BUF) as u64
}

fn fill(r: &mut Rng) {
    // SAFETY: only this kernel touches BUF, between calls.
    let b = unsafe { &mut *core::ptr::addr_of_mut!(BUF) };
    for chunk in b.0.chunks_mut(8) {
        let v = match r.below(4) {
            0 => 0,
            1 => r.below(64),
            2 => u64::MAX,
            _ => r.next(),
        };
        chunk.copy_from_slice(&v.to_le_bytes());
    }
}

/// Event channels the fuzzer must not close as a domU: its console's and
/// xenstore's (0: none).
static PROTECTED: [AtomicU32; 2] = [AtomicU32::new(0), AtomicU32::new(0)];

/// Where `p` points into our buffer with room for a port number, and that
/// number is a protected event channel, replace it by an invalid port.
fn protect_ports(p: u64) {
    if !(buf()..buf() + 4 * 4096 - 4).contains(&p) {
        return;
    }
    let port = p as *mut u32;
    // SAFETY: inside our own buffer, checked above (unaligned access).
    let v = unsafe { port.read_unaligned() };
    if v != 0 && PROTECTED.iter().any(|x| x.load(Ordering::Relaxed) == v) {
        // SAFETY: as above.
        unsafe { port.write_unaligned(u32::MAX) };
    }
}

/// A pointer-like argument: mostly our buffer (random contents), else the
/// addresses a hostile guest would try.
fn pointer(r: &mut Rng) -> u64 {
    match r.below(12) {
        0 => 0,
        1 => 0xffff_8000_0000_0000 + (r.below(1 << 30) & !7), // the hypervisor's range
        2 => 0xffff_8300_0000_0000 + (r.below(1 << 28) & !7), // its direct map
        3 => 0xffff_82d0_4000_0000 + (r.below(1 << 22) & !7), // its image
        4 => 0x0000_8000_0000_0000 - 1 - r.below(16),          // crossing into non-canonical
        5 => buf() + 1 + r.below(64),                          // unaligned
        6 => r.next(),
        7 => 0x1000 + r.below(1 << 20),
        _ => buf() + (r.below(3) * 4096),
    }
}

/// A count-like or command-like argument.
fn scalar(r: &mut Rng) -> u64 {
    match r.below(8) {
        0 => 0,
        1 => 1,
        2 => r.below(16),
        3 => r.below(256),
        4 => u64::MAX,
        5 => 1 << r.below(64),
        6 => 0x7fff_ffff,
        _ => r.next(),
    }
}

/// Hypercalls and how many sub-operations to try of each (0: none).
const TARGETS: &[(u64, u64)] = &[
    (HYPERVISOR_memory_op, 32),
    (HYPERVISOR_xen_version, 16),
    (HYPERVISOR_console_io, 2),
    (HYPERVISOR_vcpu_op, 16),
    (HYPERVISOR_physdev_op, 32),
    (HYPERVISOR_platform_op, 0),
    (HYPERVISOR_event_channel_op, 14),
    (HYPERVISOR_grant_table_op, 14),
    (HYPERVISOR_mmuext_op, 0),
    (HYPERVISOR_mmu_update, 0),
    (HYPERVISOR_update_va_mapping, 0),
    (HYPERVISOR_update_va_mapping_otherdomain, 0),
    (HYPERVISOR_sysctl, 0),
    (HYPERVISOR_domctl, 0),
    (HYPERVISOR_set_debugreg, 8),
    (HYPERVISOR_get_debugreg, 8),
    (HYPERVISOR_mca, 0),
    (HYPERVISOR_xenpmu_op, 8),
    (HYPERVISOR_vm_assist, 2),
    (HYPERVISOR_sched_op, 0),
    (HYPERVISOR_set_timer_op, 0),
    (HYPERVISOR_multicall, 0),
    (HYPERVISOR_set_segment_base, 0),
];

/// Sub-operations that end the run or wreck the fuzzer itself.
fn excluded(nr: u64, sub: u64) -> bool {
    matches!(
        (nr, sub),
        (HYPERVISOR_vcpu_op, 2)            // VCPUOP_down: powers the domain off
            | (HYPERVISOR_vcpu_op, 0)      // VCPUOP_initialise
            | (HYPERVISOR_console_io, 0)   // writing random bytes to the console
            | (HYPERVISOR_event_channel_op, 10) // EVTCHNOP_reset
            | (HYPERVISOR_vcpu_op, 11) // VCPUOP_send_nmi (no NMI handler here)
            | (HYPERVISOR_set_debugreg, 5 | 7) // DR7 (and its alias): breakpoints on our own code
    )
}

/// One random call; returns (hypercall, sub-operation, result), the
/// result `None` for a call drawn but not made. With `trace`, each call is
/// printed before it is made; with `diff`, calls that would take the
/// reference down are not made (see [`xen_unsafe`]).
fn one(r: &mut Rng, trace: bool, diff: bool) -> (u64, u64, Option<i64>) {
    let (nr, subs) = r.pick(TARGETS);
    fill(r);
    let p = pointer(r);
    let (sub, args): (u64, [u64; 5]) = match nr {
        HYPERVISOR_platform_op | HYPERVISOR_sysctl | HYPERVISOR_domctl | HYPERVISOR_mca => {
            // One structure argument: a command, the interface version
            // (usually right), then random bytes.
            let cmd = r.below(80);
            let version: u32 = match nr {
                HYPERVISOR_platform_op => 0x0300_0001,
                HYPERVISOR_mca => 0x01ec_c003,
                _ => 0x15,
            };
            if cmd == 51 && nr == HYPERVISOR_platform_op {
                return (nr, cmd, None); // XENPF_enter_acpi_sleep: S5 would power off
            }
            // SAFETY: the first 8 bytes of our own buffer.
            unsafe {
                let b = core::ptr::addr_of_mut!(BUF) as *mut u32;
                b.write(cmd as u32);
                if r.below(8) != 0 {
                    b.add(1).write(version);
                }
            }
            if diff && xen_unsafe(nr, cmd) {
                return (nr, cmd, None);
            }
            (cmd, [buf(), 0, 0, 0, 0])
        }
        HYPERVISOR_mmu_update | HYPERVISOR_mmuext_op => {
            // Requests of random commands on random frames: never a valid
            // edit of our own page tables (random machine addresses).
            let count = match r.below(4) {
                0 => r.below(8),
                1 => 0x8000_0000 | r.below(8),
                2 => u64::MAX,
                _ => 1,
            };
            (0, [p, count, pointer(r), r.pick(&[0x7ff0, 0x7ff1, 0x7ff2, 0, 5]), 0])
        }
        HYPERVISOR_update_va_mapping | HYPERVISOR_update_va_mapping_otherdomain => {
            // Virtual addresses outside this kernel: low memory and the
            // hypervisor's range.
            let va = if r.below(2) == 0 { r.below(1 << 32) & !0xfff } else { 0xffff_8000_0000_0000 + (r.below(1 << 30) & !0xfff) };
            (0, [va, r.next(), r.below(8), r.below(4), 0])
        }
        HYPERVISOR_sched_op => {
            // Yield, shutdown_code (records a code only), pin_override and
            // unknown commands: no shutdown, block, poll or watchdog.
            let sub = r.pick(&[0u64, 5, 7, 9, 99]);
            (sub, [sub, p, 0, 0, 0])
        }
        HYPERVISOR_set_timer_op => (0, [scalar(r), 0, 0, 0, 0]),
        HYPERVISOR_set_segment_base => (2, [2, scalar(r), 0, 0, 0]), // SEGBASE_GS_USER only
        HYPERVISOR_multicall => {
            // Random entries from the second page of the buffer on, the
            // rest of the buffer filled with harmless ones (a count past
            // the random entries runs those); a huge count goes with a
            // hostile list pointer only.
            let list = buf() + 4096;
            const SLOTS: u64 = 3 * 4096 / 64;
            let n = r.below(6);
            for i in 0..SLOTS {
                let e = if i < n {
                    let (enr, _) = r.pick(TARGETS);
                    let e = MulticallEntry { op: enr, result: 0, args: [r.below(32), pointer(r), r.below(17), 0, 0, 0] };
                    let unsafe_op = matches!(e.op, HYPERVISOR_sched_op | HYPERVISOR_platform_op | HYPERVISOR_mmu_update | HYPERVISOR_mmuext_op)
                        || (e.op == HYPERVISOR_event_channel_op && PROTECTED[0].load(Ordering::Relaxed) != 0);
                    if excluded(e.op, e.args[0]) || unsafe_op { MulticallEntry { op: HYPERVISOR_xen_version, ..e } } else { e }
                } else {
                    MulticallEntry { op: HYPERVISOR_xen_version, result: 0, args: [6, 0, 0, 0, 0, 0] }
                };
                // SAFETY: inside our own buffer (pages 2 to 4).
                unsafe { ((list + i * 64) as *mut MulticallEntry).write(e) };
            }
            match r.below(8) {
                0 => (0, [0xffff_8000_0000_0000 + (r.below(1 << 30) & !7), scalar(r), 0, 0, 0]),
                1 => (0, [list, SLOTS, 0, 0, 0]),
                _ => (0, [list, n, 0, 0, 0]),
            }
        }
        _ => {
            let sub = if subs == 0 { 0 } else { r.below(subs) };
            if excluded(nr, sub) || (diff && xen_unsafe(nr, sub)) {
                return (nr, sub, None);
            }
            // An array operation over our buffer gets a count that stays in
            // it (the hypervisor writes results back, which would otherwise
            // land on our own stack); huge counts go with hostile pointers.
            let in_buf = (buf()..buf() + 4 * 4096).contains(&p);
            let count = if nr == HYPERVISOR_grant_table_op && in_buf { r.below(17) } else { scalar(r) };
            let a1 = if r.below(4) == 0 { scalar(r) } else { p };
            if nr == HYPERVISOR_event_channel_op {
                protect_ports(a1);
            }
            (sub, [sub, a1, p, count, 0])
        }
    };
    // SAFETY: hostile arguments are the point; the hypervisor must check
    // them. Our own memory is never named writable in a page table.
    if trace {
        println!("FUZZ CALL {nr} {:#x} {:#x} {:#x} {:#x} {:#x}", args[0], args[1], args[2], args[3], args[4]);
        if nr == HYPERVISOR_multicall && args[0] == buf() + 4096 {
            for i in 0..args[1].min(6) {
                // SAFETY: entries we wrote into our buffer.
                let e = unsafe { ((buf() + 4096 + i * 64) as *const MulticallEntry).read() };
                println!("FUZZ   entry {} {:#x} {:#x} {:#x}", e.op, e.args[0], e.args[1], e.args[2]);
            }
        }
    }
    let ret = unsafe { raw(nr, args[0], args[1], args[2], args[3], args[4]) };
    (nr, sub, Some(ret))
}

/// Calls the differential mode does not make because they take Xen 4.17
/// itself down as dom0 (both found with seed 5): machine-check injection
/// (`XEN_MC_msrinject` does not bound its MSR count and walks off its
/// stack copy into a fatal page fault; `mceinject` and `inject_v2` raise
/// machine checks) and `PHYSDEVOP_prepare_msix`/`release_msix` (a null
/// dereference in `pci_prepare_msix` for a device without MSI-X that an
/// earlier `pci_device_add` of the seed named).
/// Ours offers none of them (ENOSYS); the `hostile` kernel keeps both
/// crashes as cases against ours.
fn xen_unsafe(nr: u64, sub: u64) -> bool {
    matches!((nr, sub), (HYPERVISOR_mca, 4..=6) | (HYPERVISOR_physdev_op, 30 | 31))
}

/// Distinct (hypercall, sub-op, errno) triples, in an open-addressed set
/// (at most 4000 counted).
struct Triples {
    seen: [u64; 4096],
    distinct: u32,
}

impl Triples {
    fn add(&mut self, nr: u64, sub: u64, ret: i64) {
        let errno = if ret < 0 { (-ret) as u64 & 0xfff } else { 0 };
        let key = (nr << 40 | (sub & 0xff_ffff) << 12 | errno) + 1;
        let mut h = (key.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> 52) as usize;
        loop {
            if self.seen[h] == key {
                return;
            }
            if self.seen[h] == 0 {
                if self.distinct < 4000 {
                    self.seen[h] = key;
                    self.distinct += 1;
                }
                return;
            }
            h = (h + 1) % self.seen.len();
        }
    }
}

fn cmdline_value(si: &StartInfo, key: &str) -> Option<u64> {
    let end = si.cmd_line.iter().position(|&b| b == 0).unwrap_or(si.cmd_line.len());
    let line = core::str::from_utf8(&si.cmd_line[..end]).ok()?;
    line.split(' ').find_map(|w| w.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
}

/// XENMEM_current_reservation (`op` 3) or maximum_reservation (4) of
/// DOMID_SELF.
fn reservation_of(op: u64) -> i64 {
    let mut dom: u16 = 0x7ff0;
    // SAFETY: a domid_t argument.
    unsafe { raw(HYPERVISOR_memory_op, op, core::ptr::addr_of_mut!(dom) as u64, 0, 0, 0) }
}

fn reservation() -> i64 {
    reservation_of(3)
}

/// Whether a call's result legitimately differs between hypervisors (a
/// `~ ` fact in the `diff=1` transcript): values that follow from the
/// machine's memory or the hypervisor's build rather than from the ABI.
fn volatile(nr: u64, sub: u64) -> bool {
    matches!(
        (nr, sub),
        (HYPERVISOR_memory_op, 2) // XENMEM_maximum_ram_page: the machine's top frame
    )
}

/// A call's line in the `diff=1` transcript: `<i> <hypercall>.<sub>:
/// <result>` (the arguments follow from the seed; `trace=1` prints them).
/// Printed directly: it is a [`Transcript`] fact, keyed by call.
fn diff_line(i: u64, nr: u64, sub: u64, ret: Option<i64>) {
    let mark = if volatile(nr, sub) { "~ " } else { "" };
    match ret {
        Some(ret) => println!("{mark}{i} {nr}.{sub}: {}", show_raw(ret)),
        None => println!("{i} {nr}.{sub}: not made"),
    }
}

/// Have the hypervisor crash this domain: no trap table, then `ud2`,
/// which has no handler to bounce to.
fn crash_by_hypervisor(after: u64) -> ! {
    println!("FUZZ CRASH after {after} calls: no trap table, then ud2");
    // SAFETY: a null trap table clears ours; the invalid opcode that
    // follows ends the domain (nothing of ours runs after it).
    unsafe {
        raw(HYPERVISOR_set_trap_table, 0, 0, 0, 0, 0);
        core::arch::asm!("ud2", options(noreturn));
    }
}

fn main(si: &'static StartInfo) {
    let seed = cmdline_value(si, "seed").unwrap_or(1);
    let calls = cmdline_value(si, "calls").unwrap_or(20_000);
    let trace = cmdline_value(si, "trace") == Some(1);
    let diff = cmdline_value(si, "diff") == Some(1);
    let crash_at = cmdline_value(si, "crash_at");
    if pv_guests::console::init(si) {
        // SAFETY: the console union holds `domU` for unprivileged domains.
        PROTECTED[0].store(unsafe { si.console.domU.evtchn }, Ordering::Relaxed);
        PROTECTED[1].store(si.store_evtchn, Ordering::Relaxed);
    }
    let table = pv_guests::traps::standard_table();
    // SAFETY: our own trap table, for faults a hypercall result might cause.
    unsafe { raw(HYPERVISOR_set_trap_table, core::ptr::addr_of!(table) as u64, 0, 0, 0, 0) };
    let before = reservation();
    let max_before = reservation_of(4);
    println!("FUZZ BEGIN seed={seed} calls={calls}");
    let transcript = diff.then(|| Transcript::begin("fuzz"));
    let mut r = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
    let mut triples = Triples { seen: [0; 4096], distinct: 0 };
    for i in 1..=calls {
        let (nr, sub, ret) = one(&mut r, trace, diff);
        if transcript.is_some() {
            diff_line(i, nr, sub, ret);
        }
        if let Some(ret) = ret {
            triples.add(nr, sub, ret);
        }
        if crash_at == Some(i) {
            crash_by_hypervisor(i);
        }
        if i % 2000 == 0 && !diff {
            println!("FUZZ {i} calls");
        }
    }
    let after = reservation();
    if let Some(t) = transcript {
        t.end();
    }
    // The maximum too: as dom0 the fuzzer may raise its own (domctl
    // max_mem), and then grow within it.
    let (max_before, max_after) = (max_before, reservation_of(4));
    println!(
        "FUZZ DONE calls={calls} distinct={} pages_before={before} pages_after={after} max_before={max_before} max_after={max_after}",
        triples.distinct
    );
}
