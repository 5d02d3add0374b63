//! Receiving events: an event callback that takes every pending,
//! unmasked port of the 2-level ABI (as Linux does) and records it, for
//! kernels that check when and which upcalls arrive.
//!
//! The hypervisor enters the callback with Xen's bounce frame `{rcx, r11,
//! rip, cs, rflags, rsp, ss}` and events masked; the callback restores
//! `rcx`/`r11`, saves the rest, scans, and returns with `HYPERVISOR_iret`
//! (a zero `flags` word on top of the frame), which restores the event mask
//! from the saved flags.

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use dom0_abi::callback::{CallbackRegister, CALLBACKOP_register, CALLBACKTYPE_event};
use dom0_abi::hypercall::HYPERVISOR_callback_op;
use dom0_abi::xen::SharedInfo;

use crate::hypercall::{check, raw, XenError, XenResult};
use crate::StartInfo;

/// The shared_info mapping.
pub(crate) static SHARED: AtomicU64 = AtomicU64::new(0);
/// Ports the callback saw, in order (cleared by [`take_events`]).
static SEEN: [AtomicU64; 16] = [const { AtomicU64::new(0) }; 16];
static NSEEN: AtomicUsize = AtomicUsize::new(0);
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

/// Called by the callback with events masked: take every pending,
/// unmasked port (2-level scan, as Linux does).
#[unsafe(no_mangle)]
extern "C" fn events_dispatch() {
    let si = SHARED.load(Ordering::Relaxed) as *mut SharedInfo;
    // SAFETY: the shared_info page is mapped; only this vCPU's slot and the
    // bitmaps are touched, with atomic operations where the hypervisor
    // writes concurrently.
    unsafe {
        (*si).vcpu_info[0].evtchn_upcall_pending = 0;
        let sel = AtomicU64::from_ptr(&raw mut (*si).vcpu_info[0].evtchn_pending_sel).swap(0, Ordering::SeqCst);
        for word in (0..64).filter(|w| sel & (1 << w) != 0) {
            let pending = AtomicU64::from_ptr(&raw mut (*si).evtchn_pending[word]);
            let bits = pending.load(Ordering::SeqCst) & !(*si).evtchn_mask[word];
            pending.fetch_and(!bits, Ordering::SeqCst);
            for bit in (0..64).filter(|b| bits & (1 << b) != 0) {
                let n = NSEEN.fetch_add(1, Ordering::Relaxed);
                if n < SEEN.len() {
                    SEEN[n].store((word * 64 + bit) as u64, Ordering::Relaxed);
                }
            }
        }
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
