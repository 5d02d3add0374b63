//! Exceptions bounced by the hypervisor: a trap table, entry stubs, a
//! recorder, and the return through `HYPERVISOR_iret`.
//!
//! Xen delivers an exception to a 64-bit PV kernel on its current stack
//! with the frame `{RCX, R11, [ERRCODE,] RIP, CS, RFLAGS, RSP, SS}` (lowest
//! address first). Each stub here restores `rcx`/`r11`, makes the frame
//! uniform (a zero error code where the CPU pushes none, then the vector),
//! saves every general register and calls [`trap_dispatch`] with a
//! [`TrapFrame`]. The handler records the trap; when the code that raised
//! it named a resume address (see [`trigger!`](crate::trigger)) the frame's
//! `rip` is moved there. The stub then restores the registers, pushes the
//! `flags` word of `struct iret_context` (0) and jumps to the iret slot of
//! the hypercall page, which pushes `rcx`, `r11`, `rax` and enters the
//! hypervisor.

use core::sync::atomic::{AtomicU64, Ordering};

use dom0_abi::arch_x86::{TrapInfo, FLAT_KERNEL_CS};
use dom0_abi::hypercall::HYPERVISOR_set_trap_table;

use crate::hypercall::{self, XenResult};

/// Vectors with an entry stub here: the exceptions 0-19, `int $0x80` and
/// `int $0x81`.
pub const STUB_VECTORS: &[u8] = &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 0x80, 0x81];

/// Whether the CPU pushes an error code for exception `vector`.
const fn has_error_code(vector: u8) -> bool {
    matches!(vector, 8 | 10 | 11 | 12 | 13 | 14 | 17)
}

/// The registers a stub saves, lowest address first, followed by the
/// (uniform) hardware frame.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default)]
pub struct TrapFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Vector (pushed by the stub).
    pub vector: u64,
    /// Error code (0 when the exception has none).
    pub error_code: u64,
    pub rip: u64,
    /// CS as the hypervisor wrote it (Xen keeps the saved upcall mask in
    /// bits 32-39).
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

/// One recorded trap.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trap {
    /// The frame as the handler saw it (before any `rip` change).
    pub frame: TrapFrame,
    /// `vcpu_info.arch.cr2` at the time of the trap (0 without shared_info).
    pub cr2: u64,
    /// Start of the instruction that [`trigger!`](crate::trigger) ran.
    pub trigger_at: u64,
    /// Address after it (where the handler resumed).
    pub trigger_end: u64,
}

impl Trap {
    /// Where the frame's `rip` pointed, relative to the triggering
    /// instruction.
    pub fn rip_where(&self) -> &'static str {
        if self.frame.rip == self.trigger_at {
            "the instruction"
        } else if self.frame.rip == self.trigger_end {
            "after the instruction"
        } else {
            "elsewhere"
        }
    }
}

/// Address of the instruction a [`trigger!`](crate::trigger) is about to run.
#[doc(hidden)]
pub static TRIGGER_AT: AtomicU64 = AtomicU64::new(0);
/// Where the handler resumes the interrupted code (0: where the frame says).
#[doc(hidden)]
pub static RESUME: AtomicU64 = AtomicU64::new(0);
/// Number of traps taken so far.
static COUNT: AtomicU64 = AtomicU64::new(0);
/// Address of the mapped shared_info (0: not mapped), for `cr2`.
static SHARED_INFO: AtomicU64 = AtomicU64::new(0);
/// How the handler changes `rax` on `int $0x80` (added to it).
pub static INT80_RAX_DELTA: AtomicU64 = AtomicU64::new(1);

/// The last trap (written by the handler, read after it returned).
static mut LAST: Trap = Trap {
    frame: TrapFrame {
        r15: 0, r14: 0, r13: 0, r12: 0, r11: 0, r10: 0, r9: 0, r8: 0, rbp: 0, rdi: 0, rsi: 0, rdx: 0, rcx: 0, rbx: 0,
        rax: 0, vector: 0, error_code: 0, rip: 0, cs: 0, rflags: 0, rsp: 0, ss: 0,
    },
    cr2: 0,
    trigger_at: 0,
    trigger_end: 0,
};

/// Consecutive traps without a resume address (a re-executed fault).
static RETRIES: AtomicU64 = AtomicU64::new(0);

/// Tell the handler where shared_info is mapped, so traps record `cr2`.
pub fn set_shared_info(addr: u64) {
    SHARED_INFO.store(addr, Ordering::Relaxed);
}

/// Number of traps taken so far.
pub fn count() -> u64 {
    COUNT.load(Ordering::SeqCst)
}

/// The last recorded trap.
pub fn last() -> Trap {
    // SAFETY: only the handler writes LAST, and it has returned.
    unsafe { core::ptr::addr_of!(LAST).read_volatile() }
}

/// Run `f` and return the trap it raised, if any (the last one if several).
pub fn catch(f: impl FnOnce()) -> Option<Trap> {
    let before = count();
    f();
    (count() != before).then(last)
}

/// Called by the entry stubs with the saved frame.
#[unsafe(no_mangle)]
extern "C" fn pv_trap_dispatch(frame: &mut TrapFrame) {
    let shared = SHARED_INFO.load(Ordering::Relaxed);
    let cr2 = if shared == 0 {
        0
    } else {
        let si = shared as *const dom0_abi::xen::SharedInfo;
        // SAFETY: `shared` maps the shared_info page (set_shared_info).
        unsafe { core::ptr::addr_of!((*si).vcpu_info[0].arch.cr2).read_volatile() }
    };
    let resume = RESUME.swap(0, Ordering::SeqCst);
    let trap = Trap { frame: *frame, cr2, trigger_at: TRIGGER_AT.load(Ordering::SeqCst), trigger_end: resume };
    // SAFETY: the handler is not re-entered (no trap is raised in here
    // before this write) and readers run after it returns.
    unsafe { core::ptr::addr_of_mut!(LAST).write_volatile(trap) };
    COUNT.fetch_add(1, Ordering::SeqCst);
    if frame.vector == 0x80 {
        frame.rax = frame.rax.wrapping_add(INT80_RAX_DELTA.load(Ordering::Relaxed));
    }
    if resume != 0 {
        frame.rip = resume;
        RETRIES.store(0, Ordering::Relaxed);
    } else if RETRIES.fetch_add(1, Ordering::Relaxed) > 8 {
        panic!("unexpected trap: vector {} error {:#x} at rip {:#x}", frame.vector, frame.error_code, frame.rip);
    }
}

/// Run instructions with the trap recorder armed: the handler resumes after
/// them. `trigger!("ud2")`, or with extra operands after a `;`:
/// `trigger!("div %ecx"; in("ecx") 0, inout("eax") 1 => _, out("edx") _)`.
/// The instructions are AT&T syntax.
#[macro_export]
macro_rules! trigger {
    ($($insn:literal),+ $(; $($ops:tt)*)?) => {
        // SAFETY: the caller's instructions run with the trap handler set up
        // to resume after them; the operands say what they use.
        unsafe {
            core::arch::asm!(
                "lea 81f(%rip), {t}",
                "mov {t}, ({at})",
                "lea 82f(%rip), {t}",
                "xchg {t}, ({resume})",
                "81:",
                $($insn,)+
                "82:",
                "movq $0, ({resume})",
                t = out(reg) _,
                at = in(reg) $crate::traps::TRIGGER_AT.as_ptr(),
                resume = in(reg) $crate::traps::RESUME.as_ptr(),
                $($($ops)*,)?
                options(att_syntax)
            )
        }
    };
}

/// Generate the entry stub of one vector.
macro_rules! stub {
    ($vector:literal) => {
        core::arch::global_asm!(
            ".pushsection .text.pv_traps, \"ax\", @progbits",
            concat!(".globl pv_trap_", stringify!($vector)),
            concat!("pv_trap_", stringify!($vector), ":"),
            "pop %rcx",
            "pop %r11",
            ".if {ec} == 0",
            "push $0",
            ".endif",
            "push ${vector}",
            "jmp pv_trap_common",
            ".popsection",
            vector = const $vector,
            ec = const has_error_code($vector) as u8,
            options(att_syntax)
        );
    };
}

stub!(0);
stub!(1);
stub!(2);
stub!(3);
stub!(4);
stub!(5);
stub!(6);
stub!(7);
stub!(8);
stub!(9);
stub!(10);
stub!(11);
stub!(12);
stub!(13);
stub!(14);
stub!(15);
stub!(16);
stub!(17);
stub!(18);
stub!(19);
stub!(128);
stub!(129);

core::arch::global_asm!(
    ".pushsection .text.pv_traps, \"ax\", @progbits",
    "pv_trap_common:",
    "push %rax",
    "push %rbx",
    "push %rcx",
    "push %rdx",
    "push %rsi",
    "push %rdi",
    "push %rbp",
    "push %r8",
    "push %r9",
    "push %r10",
    "push %r11",
    "push %r12",
    "push %r13",
    "push %r14",
    "push %r15",
    "mov %rsp, %rdi",
    "mov %rsp, %rbx",
    "and $-16, %rsp",
    "cld",
    "call {dispatch}",
    "mov %rbx, %rsp",
    "pop %r15",
    "pop %r14",
    "pop %r13",
    "pop %r12",
    "pop %r11",
    "pop %r10",
    "pop %r9",
    "pop %r8",
    "pop %rbp",
    "pop %rdi",
    "pop %rsi",
    "pop %rdx",
    "pop %rcx",
    "pop %rbx",
    "pop %rax",
    // Drop vector and error code; push iret_context.flags = 0.
    "add $16, %rsp",
    "push $0",
    "jmp pv_guest_hypercall_page + {iret}",
    ".popsection",
    dispatch = sym pv_trap_dispatch,
    iret = const dom0_abi::hypercall::HYPERVISOR_iret * 32,
    options(att_syntax)
);

unsafe extern "C" {
    fn pv_trap_0();
    fn pv_trap_1();
    fn pv_trap_2();
    fn pv_trap_3();
    fn pv_trap_4();
    fn pv_trap_5();
    fn pv_trap_6();
    fn pv_trap_7();
    fn pv_trap_8();
    fn pv_trap_9();
    fn pv_trap_10();
    fn pv_trap_11();
    fn pv_trap_12();
    fn pv_trap_13();
    fn pv_trap_14();
    fn pv_trap_15();
    fn pv_trap_16();
    fn pv_trap_17();
    fn pv_trap_18();
    fn pv_trap_19();
    fn pv_trap_128();
    fn pv_trap_129();
}

/// Entry point of the stub for `vector` (one of [`STUB_VECTORS`]).
pub fn stub_address(vector: u8) -> u64 {
    let f: unsafe extern "C" fn() = match vector {
        0 => pv_trap_0,
        1 => pv_trap_1,
        2 => pv_trap_2,
        3 => pv_trap_3,
        4 => pv_trap_4,
        5 => pv_trap_5,
        6 => pv_trap_6,
        7 => pv_trap_7,
        8 => pv_trap_8,
        9 => pv_trap_9,
        10 => pv_trap_10,
        11 => pv_trap_11,
        12 => pv_trap_12,
        13 => pv_trap_13,
        14 => pv_trap_14,
        15 => pv_trap_15,
        16 => pv_trap_16,
        17 => pv_trap_17,
        18 => pv_trap_18,
        19 => pv_trap_19,
        0x80 => pv_trap_128,
        0x81 => pv_trap_129,
        _ => panic!("no trap stub for vector {vector}"),
    };
    f as usize as u64
}

/// A trap-table entry for `vector` pointing at its stub, with `dpl`.
pub fn entry(vector: u8, dpl: u8) -> TrapInfo {
    TrapInfo { vector, flags: dpl & 3, cs: FLAT_KERNEL_CS, address: stub_address(vector) }
}

/// Number of entries in [`standard_table`] (plus the terminator).
pub const TABLE_LEN: usize = 21;

/// The usual table: exceptions 0-19 (int3 and into with DPL 3, the rest
/// DPL 0), `int $0x80` with DPL 3, and the terminating zero entry.
pub fn standard_table() -> [TrapInfo; TABLE_LEN + 1] {
    let mut t = [TrapInfo::default(); TABLE_LEN + 1];
    for v in 0..20u8 {
        t[v as usize] = entry(v, if v == 3 || v == 4 { 3 } else { 0 });
    }
    t[20] = entry(0x80, 3);
    t
}

/// `HYPERVISOR_set_trap_table(table)`.
///
/// # Safety
/// `table` must point to `trap_info` entries ending with a zero address
/// (or be null, which clears the table).
pub unsafe fn set_trap_table_raw(table: u64) -> XenResult {
    // SAFETY: the caller vouches for the table.
    hypercall::check(unsafe { hypercall::raw(HYPERVISOR_set_trap_table, table, 0, 0, 0, 0) })
}

/// Install `table` (which must end with a zero entry).
pub fn set_trap_table(table: &[TrapInfo]) -> XenResult {
    assert!(table.last().is_some_and(|e| e.address == 0), "trap table must end with a zero entry");
    // SAFETY: a live, terminated table.
    unsafe { set_trap_table_raw(table.as_ptr() as u64) }
}

/// Install [`standard_table`].
pub fn install() -> XenResult {
    set_trap_table(&standard_table())
}
