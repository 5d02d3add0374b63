//! `bench`: a PV kernel that measures the cost of the hypervisor's hot paths
//! in TSC cycles, for `cargo xtask bench`.
//!
//! Each operation runs [`RUNS`] timed runs (after one untimed warm-up run)
//! of many iterations; a run's value is its cycles divided by the number of
//! operations in it. The kernel prints, between the transcript markers, one
//! machine-readable line per operation:
//!
//! ```text
//! BENCH null_hypercall cycles=<median> min=<min> runs=<runs> iters=<ops per run>
//! BENCH exception_bounce n/a reason=<why>
//! ```
//!
//! `cycles` is the **median** of the runs and `min` the fastest run. The
//! operations:
//!
//! * `null_hypercall`: `xen_version(XENVER_version)` through the hypercall
//!   page;
//! * `multicall_entry`: one `multicall` of [`MULTICALL_ENTRIES`]
//!   `xen_version(XENVER_version)` entries, cycles divided by the entries
//!   (the batch's own entry and exit are spread over them);
//! * `update_va_mapping`: remap one page of bss between two frames with
//!   `UVMF_INVLPG`, cycles per call;
//! * `mmu_update_batch`: one `mmu_update` of [`L1_ENTRIES`] requests that
//!   rewrites every entry of a pinned L1 (alternating between two data
//!   frames), cycles per entry;
//! * `exception_bounce`: `ud2` → the hypervisor bounces #UD to our handler
//!   → the handler steps over the 2-byte instruction and returns with the
//!   `iret` hypercall.
//!
//! An operation the hypervisor refuses is reported `n/a` with the error,
//! never timed. The bounce runs last: if it kills the domain, the other
//! lines are already out. Nothing here judges the numbers; the host side
//! (`qemu_tests::bench`) parses them.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicU64, Ordering};

use pv_guests::dom0_abi::arch_x86::{TrapInfo, FLAT_KERNEL_CS};
use pv_guests::dom0_abi::hypercall::{HYPERVISOR_iret, HYPERVISOR_multicall, HYPERVISOR_set_trap_table, HYPERVISOR_xen_version};
use pv_guests::dom0_abi::xen::MulticallEntry;
use pv_guests::dom0_abi::xen_version::XENVER_version;
use pv_guests::dom0_abi::mmu::{MmuUpdate, MMUEXT_CLEAR_PAGE, MMUEXT_PIN_L1_TABLE};
use pv_guests::hypercall::{self, XenError};
use pv_guests::pt::{self, Frames, Scratch, ScratchPage};
use pv_guests::transcript::Transcript;
use pv_guests::{println, StartInfo};

pv_guests::entry!(main);

/// Timed runs per operation (the median and minimum are reported).
const RUNS: usize = 9;
/// Hypercalls per run of `null_hypercall`.
const NULL_ITERS: u64 = 2000;
/// Entries in one multicall of `multicall_entry`.
const MULTICALL_ENTRIES: usize = 32;
/// Multicalls per run of `multicall_entry`.
const MULTICALL_ITERS: u64 = 64;
/// `update_va_mapping` calls per run (half of them map the page back).
const UVM_ITERS: u64 = 2000;
/// Entries of an L1 (requests in one batch of `mmu_update_batch`).
const L1_ENTRIES: usize = 512;
/// Batches per run of `mmu_update_batch`.
const BATCH_ITERS: u64 = 8;
/// Round trips per run of `exception_bounce`.
const BOUNCE_ITERS: u64 = 1000;

/// Vector of the invalid-opcode exception (#UD).
const TRAP_INVALID_OP: u8 = 6;
/// Length of `ud2` (0f 0b), which the #UD handler steps over.
const UD2_LEN: u64 = 2;

fn main(si: &'static StartInfo) {
    let t = Transcript::begin("bench");
    report("null_hypercall", null_hypercall());
    report("multicall_entry", multicall_entry());
    report("update_va_mapping", update_va_mapping(si));
    report("mmu_update_batch", mmu_update_batch(si));
    report("exception_bounce", exception_bounce());
    t.end();
}

/// What one benchmark found.
enum Outcome {
    /// Cycles per operation of each run, sorted, and operations per run.
    Measured { runs: [u64; RUNS], ops_per_run: u64 },
    /// The operation could not run; why.
    Unavailable(Reason),
}

/// Why an operation was not measured.
enum Reason {
    /// A hypercall returned an error.
    Hypercall(&'static str, XenError),
    /// A hypercall succeeded but gave the wrong answer.
    Wrong(&'static str),
}

impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reason::Hypercall(what, e) => write!(f, "{what} failed: {e}"),
            Reason::Wrong(what) => f.write_str(what),
        }
    }
}

/// Print the `BENCH` line of `name`.
fn report(name: &str, outcome: Outcome) {
    match outcome {
        Outcome::Measured { runs, ops_per_run } => {
            let median = runs[RUNS / 2];
            println!("BENCH {name} cycles={median} min={} runs={RUNS} iters={ops_per_run}", runs[0]);
        }
        Outcome::Unavailable(why) => println!("BENCH {name} n/a reason={why}"),
    }
}

/// Read the TSC, fenced so that earlier work is done before it is read and
/// later work does not start before it.
#[inline(always)]
fn tsc() -> u64 {
    let lo: u32;
    let hi: u32;
    // SAFETY: `lfence` and `rdtsc` only read the time-stamp counter; the
    // hypervisors we run on leave CR4.TSD clear for PV guests.
    unsafe {
        core::arch::asm!("lfence", "rdtsc", "lfence", out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Run `body` once untimed, then [`RUNS`] timed times; `ops` operations per
/// run. Returns the sorted cycles per operation of each run.
fn measure(ops: u64, mut body: impl FnMut()) -> [u64; RUNS] {
    body();
    let mut runs = [0u64; RUNS];
    for run in runs.iter_mut() {
        let start = tsc();
        body();
        let end = tsc();
        *run = end.wrapping_sub(start) / ops;
    }
    runs.sort_unstable();
    runs
}

/// `xen_version(XENVER_version)`, the cheapest hypercall there is.
fn null_hypercall() -> Outcome {
    if let Err(e) = hypercall::xen_version(XENVER_version) {
        return Outcome::Unavailable(Reason::Hypercall("xen_version(XENVER_version)", e));
    }
    let runs = measure(NULL_ITERS, || {
        for _ in 0..NULL_ITERS {
            let _ = core::hint::black_box(hypercall::xen_version(XENVER_version));
        }
    });
    Outcome::Measured { runs, ops_per_run: NULL_ITERS }
}

/// A multicall of [`MULTICALL_ENTRIES`] `xen_version` entries.
fn multicall_entry() -> Outcome {
    let version = match hypercall::xen_version(XENVER_version) {
        Ok(v) => v,
        Err(e) => return Outcome::Unavailable(Reason::Hypercall("xen_version(XENVER_version)", e)),
    };
    let entry = MulticallEntry { op: HYPERVISOR_xen_version, result: 0, args: [XENVER_version.into(), 0, 0, 0, 0, 0] };
    let mut batch = [entry; MULTICALL_ENTRIES];
    let call = |batch: &mut [MulticallEntry; MULTICALL_ENTRIES]| {
        // SAFETY: `batch` is a live, writable array of MULTICALL_ENTRIES
        // multicall entries, each a xen_version command without a buffer.
        hypercall::check(unsafe {
            hypercall::raw(HYPERVISOR_multicall, batch.as_mut_ptr() as u64, MULTICALL_ENTRIES as u64, 0, 0, 0)
        })
    };
    if let Err(e) = call(&mut batch) {
        return Outcome::Unavailable(Reason::Hypercall("multicall", e));
    }
    if batch.iter().any(|e| e.result != version) {
        return Outcome::Unavailable(Reason::Wrong("multicall entries did not return the xen_version result"));
    }
    let runs = measure(MULTICALL_ITERS * MULTICALL_ENTRIES as u64, || {
        for _ in 0..MULTICALL_ITERS {
            let _ = core::hint::black_box(call(&mut batch));
        }
    });
    Outcome::Measured { runs, ops_per_run: MULTICALL_ITERS * MULTICALL_ENTRIES as u64 }
}

/// The page `update_va_mapping` remaps, and the page whose frame it maps
/// there in turn.
static mut UVM_PAGE: ScratchPage = ScratchPage([0; 4096]);
/// See [`UVM_PAGE`].
static mut UVM_OTHER: ScratchPage = ScratchPage([0; 4096]);

/// Remap [`UVM_PAGE`] to the frame of [`UVM_OTHER`] and back, with
/// `UVMF_INVLPG` each time.
fn update_va_mapping(si: &StartInfo) -> Outcome {
    let page = Scratch::new(core::ptr::addr_of_mut!(UVM_PAGE));
    let other = core::ptr::addr_of!(UVM_OTHER) as u64;
    let ptes = [(pt::va_mfn(si, other) * pt::PAGE) | pt::DATA_RW, (pt::va_mfn(si, page.va) * pt::PAGE) | pt::DATA_RW];
    for pte in ptes {
        if let Err(e) = page.map(pte) {
            return Outcome::Unavailable(Reason::Hypercall("update_va_mapping", e));
        }
    }
    let mut failed = None;
    let runs = measure(UVM_ITERS, || {
        for i in 0..UVM_ITERS {
            if let Err(e) = core::hint::black_box(page.map(ptes[(i & 1) as usize])) {
                failed = Some(e);
            }
        }
    });
    if let Some(e) = failed {
        return Outcome::Unavailable(Reason::Hypercall("update_va_mapping (timed)", e));
    }
    Outcome::Measured { runs, ops_per_run: UVM_ITERS }
}

/// Rewrite all entries of a pinned L1 in one `mmu_update`, alternating
/// between two data frames.
fn mmu_update_batch(si: &StartInfo) -> Outcome {
    let mut frames = Frames::new(si);
    let (l1, x, y) = (frames.alloc(si), frames.alloc(si), frames.alloc(si));
    if let Err(e) = pt::mmuext1(MMUEXT_CLEAR_PAGE, l1.mfn, 0) {
        return Outcome::Unavailable(Reason::Hypercall("mmuext_op(CLEAR_PAGE)", e));
    }
    if let Err(e) = pt::mmuext1(MMUEXT_PIN_L1_TABLE, l1.mfn, 0) {
        return Outcome::Unavailable(Reason::Hypercall("mmuext_op(PIN_L1_TABLE)", e));
    }
    let batch = |f: pt::Frame| {
        let mut reqs = [MmuUpdate::default(); L1_ENTRIES];
        for (i, r) in reqs.iter_mut().enumerate() {
            *r = MmuUpdate { ptr: l1.maddr(i as u64 * 8), val: f.pte(pt::DATA_RW) };
        }
        reqs
    };
    let batches = [batch(x), batch(y)];
    let mut done = 0;
    if let Err(e) = pt::mmu_update(&batches[0], &mut done) {
        return Outcome::Unavailable(Reason::Hypercall("mmu_update", e));
    }
    let mut failed = None;
    let runs = measure(BATCH_ITERS * L1_ENTRIES as u64, || {
        for i in 0..BATCH_ITERS {
            if let Err(e) = core::hint::black_box(pt::mmu_update(&batches[((i + 1) & 1) as usize], &mut done)) {
                failed = Some(e);
            }
        }
    });
    if let Some(e) = failed {
        return Outcome::Unavailable(Reason::Hypercall("mmu_update (timed)", e));
    }
    Outcome::Measured { runs, ops_per_run: BATCH_ITERS * L1_ENTRIES as u64 }
}

/// Where the #UD handler jumps to return: the `iret` slot of the hypercall
/// page (set before the trap table is installed).
static IRET_ENTRY: AtomicU64 = AtomicU64::new(0);

// The #UD handler. The hypervisor enters it on our kernel stack with
// `{RCX, R11, RIP, CS, RFLAGS, RSP, SS}` (no error code for #UD). It
// restores rcx and r11, steps the saved rip over `ud2`, and returns the way
// Linux's `xen_iret` does: push the `flags` word (0: not a syscall frame)
// and jump to the iret stub, which pushes rcx, r11 and rax to complete a
// `struct iret_context` and enters the hypervisor; it does not come back.
core::arch::global_asm!(
    ".pushsection .text.bench_ud_handler, \"ax\", @progbits",
    ".balign 16",
    ".globl bench_ud_handler",
    "bench_ud_handler:",
    "pop %rcx",
    "pop %r11",
    "addq ${ud2_len}, (%rsp)",
    "pushq $0",
    "jmp *{iret_entry}(%rip)",
    ".popsection",
    ud2_len = const UD2_LEN,
    iret_entry = sym IRET_ENTRY,
    options(att_syntax)
);

unsafe extern "C" {
    /// The #UD handler above (not callable from Rust: only its address is
    /// used).
    fn bench_ud_handler();
}

/// Raise #UD once; the handler returns right after the `ud2`.
#[inline(always)]
fn bounce_once() {
    // SAFETY: with our trap table installed, #UD is bounced to
    // `bench_ud_handler`, which returns to the next instruction with every
    // register and the flags as they were (the hypervisor's `iret` restores
    // them from the frame). The bounce frame is written below rsp, which
    // our code never uses (no red zone).
    unsafe { core::arch::asm!("ud2") };
}

/// `ud2` → #UD bounced to our handler → `iret` hypercall back.
fn exception_bounce() -> Outcome {
    IRET_ENTRY.store(hypercall::page_address() + HYPERVISOR_iret * 32, Ordering::Relaxed);
    let table = [
        TrapInfo { vector: TRAP_INVALID_OP, flags: 0, cs: FLAT_KERNEL_CS, address: bench_ud_handler as *const () as u64 },
        TrapInfo { vector: 0, flags: 0, cs: 0, address: 0 },
    ];
    // SAFETY: `table` is a live trap table ending with a null entry; the
    // handler it names is valid for #UD (see `bench_ud_handler`).
    let r = hypercall::check(unsafe { hypercall::raw(HYPERVISOR_set_trap_table, table.as_ptr() as u64, 0, 0, 0, 0) });
    if let Err(e) = r {
        return Outcome::Unavailable(Reason::Hypercall("set_trap_table", e));
    }
    let runs = measure(BOUNCE_ITERS, || {
        for _ in 0..BOUNCE_ITERS {
            bounce_once();
        }
    });
    Outcome::Measured { runs, ops_per_run: BOUNCE_ITERS }
}
