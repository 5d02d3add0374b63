//! Receiving events: an event callback that takes every pending,
//! unmasked port of the 2-level ABI (as Linux does) and records it, for
//! kernels that check when and which upcalls arrive.
//!
//! With more than one vCPU (see [`crate::smp`]) the callback runs on the
//! vCPU the hypervisor notified and handles only that vCPU's events: it
//! clears that vCPU's `vcpu_info` slot and selector, and takes only the
//! ports bound to it ([`bind_ipi`] records the owner; every other port
//! belongs to vCPU 0, where Xen binds ports by default), as Linux filters
//! the shared pending bitmap by its per-CPU port mask. A kernel may hand
//! the ports to a [`set_handler`] function instead of the recorder.
//!
//! The hypervisor enters the callback with Xen's bounce frame `{rcx, r11,
//! rip, cs, rflags, rsp, ss}` and events masked; the callback restores
//! `rcx`/`r11`, saves the rest, scans, and returns with `HYPERVISOR_iret`
//! (a zero `flags` word on top of the frame), which restores the event mask
//! from the saved flags.

use core::sync::atomic::{compiler_fence, AtomicU64, AtomicU8, AtomicUsize, Ordering};

use dom0_abi::arch_x86::XEN_LEGACY_MAX_VCPUS;
use dom0_abi::callback::{CallbackRegister, CALLBACKOP_register, CALLBACKTYPE_event};
use dom0_abi::event_channel::{EvtchnBindIpi, EVTCHNOP_bind_ipi};
use dom0_abi::hypercall::{HYPERVISOR_callback_op, HYPERVISOR_event_channel_op, HYPERVISOR_sched_op};
use dom0_abi::sched::SCHEDOP_block;
use dom0_abi::xen::{SharedInfo, VcpuInfo};

use crate::hypercall::{check, raw, XenError, XenResult};
use crate::StartInfo;

/// The shared_info mapping.
pub(crate) static SHARED: AtomicU64 = AtomicU64::new(0);
/// Ports the callback saw, in order (cleared by [`take_events`]).
static SEEN: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
static NSEEN: AtomicUsize = AtomicUsize::new(0);
/// Ports of the 2-level ABI.
const NR_PORTS: usize = 64 * 64;
/// The vCPU each port is bound to (0 unless [`bind_ipi`] said otherwise).
static OWNER: [AtomicU8; NR_PORTS] = [const { AtomicU8::new(0) }; NR_PORTS];
/// `fn(vcpu, port)` taking the ports instead of the recorder (0: record).
static HANDLER: AtomicU64 = AtomicU64::new(0);
/// The iret slot of the hypercall page, for the callback's return.
#[unsafe(no_mangle)]
static EVENTS_IRET: AtomicU64 = AtomicU64::new(0);

// The event callback: Xen's bounce frame is {rcx, r11, rip, cs, rflags,
// rsp, ss}; restore rcx/r11, save the rest, scan the pending bits, then
// return with HYPERVISOR_iret (a zero `flags` word on top of the frame).
core::arch::global_asm!(
    ".pushsection .text",
    ".global events_callback",
    "events_callback:",
    "pop rcx",
    "pop r11",
    "push rax", "push rbx", "push rcx", "push rdx", "push rsi", "push rdi", "push rbp",
    "push r8", "push r9", "push r10", "push r11", "push r12", "push r13", "push r14", "push r15",
    "call events_dispatch",
    "pop r15", "pop r14", "pop r13", "pop r12", "pop r11", "pop r10", "pop r9", "pop r8",
    "pop rbp", "pop rdi", "pop rsi", "pop rdx", "pop rcx", "pop rbx", "pop rax",
    "push 0",
    "jmp qword ptr [rip + EVENTS_IRET]",
    ".popsection",
);

unsafe extern "C" {
    fn events_callback();
}

/// Address of the event callback (for a secondary vCPU's context).
pub(crate) fn callback_address() -> u64 {
    events_callback as *const () as u64
}

/// Called by the callback with events masked: take every pending,
/// unmasked port bound to the vCPU it runs on (2-level scan, as Linux
/// does).
#[unsafe(no_mangle)]
extern "C" fn events_dispatch() {
    let vcpu = crate::smp::current();
    let si = SHARED.load(Ordering::Relaxed) as *mut SharedInfo;
    let handler = HANDLER.load(Ordering::Relaxed);
    // SAFETY: the shared_info page is mapped; only this vCPU's slot and the
    // bitmaps are touched, with atomic operations where the hypervisor
    // (or another vCPU) writes concurrently.
    unsafe {
        let vi = &raw mut (*si).vcpu_info[vcpu as usize];
        (*vi).evtchn_upcall_pending = 0;
        let sel = AtomicU64::from_ptr(&raw mut (*vi).evtchn_pending_sel).swap(0, Ordering::SeqCst);
        for word in (0..64).filter(|w| sel & (1 << w) != 0) {
            let pending = AtomicU64::from_ptr(&raw mut (*si).evtchn_pending[word]);
            let live = pending.load(Ordering::SeqCst) & !(*si).evtchn_mask[word];
            let bits = owned_by(vcpu, word, live);
            pending.fetch_and(!bits, Ordering::SeqCst);
            for bit in (0..64).filter(|b| bits & (1 << b) != 0) {
                let port = (word * 64 + bit) as u32;
                if handler != 0 {
                    // SAFETY: only `set_handler` stores a nonzero value,
                    // and it stores a `fn(u32, u32)`.
                    let f: fn(u32, u32) = core::mem::transmute(handler as *const ());
                    f(vcpu, port);
                    continue;
                }
                let n = NSEEN.fetch_add(1, Ordering::Relaxed);
                if n < SEEN.len() {
                    SEEN[n].store(u64::from(port), Ordering::Relaxed);
                }
            }
        }
    }
}

/// The bits of `bits` (ports of pending word `word`) bound to `vcpu`.
fn owned_by(vcpu: u32, word: usize, bits: u64) -> u64 {
    (0..64)
        .filter(|b| bits & (1 << b) != 0 && u32::from(OWNER[word * 64 + b].load(Ordering::Relaxed)) == vcpu)
        .fold(0, |acc, b| acc | 1 << b)
}

/// Hand every port the callback takes to `f(vcpu, port)` (it runs with
/// events masked, on the vCPU the port is bound to) instead of recording
/// it for [`take_events`].
pub fn set_handler(f: fn(u32, u32)) {
    HANDLER.store(f as *const () as u64, Ordering::Release);
}

/// `EVTCHNOP_bind_ipi`: a new port that notifies `vcpu`, which from then
/// on takes it in its callback. Returns the port.
pub fn bind_ipi(vcpu: u32) -> XenResult {
    let mut b = EvtchnBindIpi { vcpu, port: 0 };
    // SAFETY: the argument is a live `evtchn_bind_ipi`, written back.
    check(unsafe { raw(HYPERVISOR_event_channel_op, u64::from(EVTCHNOP_bind_ipi), &mut b as *mut _ as u64, 0, 0, 0) })?;
    if let (Some(slot), Ok(owner)) = (OWNER.get(b.port as usize), u8::try_from(vcpu)) {
        slot.store(owner, Ordering::Release);
    }
    Ok(u64::from(b.port))
}

/// This vCPU's `vcpu_info` slot in shared_info (after [`install`]).
fn my_vcpu_info() -> *mut VcpuInfo {
    let si = SHARED.load(Ordering::Relaxed) as *mut SharedInfo;
    let vcpu = crate::smp::current() as usize;
    assert!(!si.is_null() && vcpu < XEN_LEGACY_MAX_VCPUS, "events are not installed");
    // SAFETY: shared_info is mapped and the slot index is in range.
    unsafe { &raw mut (*si).vcpu_info[vcpu] }
}

/// Let upcalls in on this vCPU (clear its `evtchn_upcall_mask`).
pub fn unmask_this_vcpu() {
    let vi = my_vcpu_info();
    compiler_fence(Ordering::SeqCst);
    // SAFETY: our own vcpu_info slot; the hypervisor only reads the mask.
    unsafe { (&raw mut (*vi).evtchn_upcall_mask).write_volatile(0) };
}

/// Wait on this vCPU until `done()` holds, as an idle Linux vCPU waits:
/// with upcalls masked, check `done()`, and if it does not hold yet,
/// `SCHEDOP_block`, which unmasks upcalls and sleeps until an event is
/// pending (the callback then runs on the way back). Returns with upcalls
/// unmasked.
pub fn block_until(done: impl Fn() -> bool) {
    let vi = my_vcpu_info();
    loop {
        // SAFETY: our own vcpu_info slot; the hypervisor only reads the mask.
        unsafe { (&raw mut (*vi).evtchn_upcall_mask).write_volatile(1) };
        compiler_fence(Ordering::SeqCst);
        if done() {
            unmask_this_vcpu();
            return;
        }
        // SAFETY: SCHEDOP_block takes no argument.
        let r = unsafe { raw(HYPERVISOR_sched_op, u64::from(SCHEDOP_block), 0, 0, 0, 0) };
        assert!(r == 0, "SCHEDOP_block failed: {r}");
    }
}

/// The ports seen since the last call, as a list.
pub struct Seen([u64; 16], usize);

impl Seen {
    /// How many ports were seen.
    pub fn count(&self) -> usize {
        self.1
    }
}

impl core::fmt::Display for Seen {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("[")?;
        for (i, p) in self.0[..self.1.min(16)].iter().enumerate() {
            if i > 0 {
                f.write_str(" ")?;
            }
            write!(f, "{p}")?;
        }
        f.write_str("]")
    }
}

pub fn take_events() -> Seen {
    let n = NSEEN.swap(0, Ordering::Relaxed);
    let mut s = [0; 16];
    for (i, slot) in s.iter_mut().enumerate().take(n.min(16)) {
        *slot = SEEN[i].load(Ordering::Relaxed);
    }
    Seen(s, n)
}

/// Map shared_info, register the callback and unmask events; returns
/// shared_info and the registration's result.
pub fn install(si: &StartInfo) -> Result<(*mut SharedInfo, XenResult), XenError> {
    let shared = crate::shared::map(si)? as *mut SharedInfo;
    SHARED.store(shared as u64, Ordering::Relaxed);
    EVENTS_IRET.store(crate::hypercall::page_address() + 23 * 32, Ordering::Relaxed);
    let mut cb = CallbackRegister { r#type: CALLBACKTYPE_event, flags: 0, address: events_callback as *const () as u64 };
    // SAFETY: registers our callback entry point.
    let r = check(unsafe {
        raw(HYPERVISOR_callback_op, u64::from(CALLBACKOP_register), &mut cb as *mut _ as u64, 0, 0, 0)
    });
    // SAFETY: our own vcpu_info slot; unmasking lets upcalls in.
    unsafe { (*shared).vcpu_info[0].evtchn_upcall_mask = 0 };
    Ok((shared, r))
}
