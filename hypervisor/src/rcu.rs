//! Grace periods before a domain's memory is freed (the part of Xen's RCU
//! that guards `struct domain`).
//!
//! Code on any CPU may hold a `&'static Domain` (or one of its vCPUs) that
//! it found a moment ago: a domctl of another dom0 vCPU that looked the
//! domain up, an event sent to it, the timer interrupt walking every
//! domain's vCPUs. Destroying a domain takes it out of the registry first,
//! so no new reference can be made, and then waits for a grace period:
//! until every other CPU has passed a quiescent state, a point where it
//! holds no such reference. Only then are the structures freed.
//!
//! A CPU is quiescent on its way out to a guest, once everything it had
//! to do in the hypervisor is done ([`crate::pv`]'s exit path), and at
//! each turn of its idle loop. [`synchronize`] notes every other CPU's
//! count of such passes, sends each an event-check IPI (so that a CPU
//! halted in idle or running a guest in user mode comes through its exit
//! path soon), and waits until every count has moved.
//!
//! The domain list itself is read the same way: lookups and walks (the
//! timer interrupt's among them) read a published copy without a lock,
//! and a replaced copy is freed after a grace period
//! ([`crate::domain::synchronize`]).
//!
//! A CPU waiting in [`synchronize`] counts as quiescent while it waits:
//! two CPUs destroying two domains at once must not wait for each other,
//! and a destroyer holds no reference to any other domain by then.

use core::sync::atomic::{AtomicU64, Ordering};

use crate::arch::x86_64::cpu::{self, MAX_CPUS};

/// Quiescent states passed by each CPU.
static PASSED: [AtomicU64; MAX_CPUS] = [const { AtomicU64::new(0) }; MAX_CPUS];

/// This CPU holds no reference to any domain found before now.
pub fn quiescent() {
    PASSED[cpu::this_cpu().cpu_id as usize].fetch_add(1, Ordering::Release);
}

/// Wait until every other CPU has been quiescent at least once since the
/// call (Xen's `synchronize_rcu`). Must not be called with a lock held
/// that another CPU may wait for outside a quiescent state.
pub fn synchronize() {
    let me = cpu::this_cpu().cpu_id as usize;
    let n = (cpu::CPUS_ONLINE.load(Ordering::Acquire) as usize).min(MAX_CPUS);
    let mut seen = [0u64; MAX_CPUS];
    for (c, s) in seen.iter_mut().enumerate().take(n) {
        *s = PASSED[c].load(Ordering::Acquire);
    }
    for c in (0..n).filter(|&c| c != me) {
        crate::arch::x86_64::apic::send_to_cpu(c as u32, crate::arch::x86_64::apic::EVENT_CHECK_VECTOR);
    }
    while (0..n).any(|c| c != me && PASSED[c].load(Ordering::Acquire) == seen[c]) {
        quiescent();
        crate::sync::cpu_relax();
    }
}
