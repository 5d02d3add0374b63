//! The scheduler: which vCPU runs on the CPU, and switching between them.
//!
//! Every vCPU runs on CPU 0 for now (the SMP credit scheduler is issue 13);
//! CPU 0 shares its time among the runnable vCPUs round-robin with Xen
//! credit1's 30 ms slice, and a vCPU woken by an event goes to the front
//! of the queue and preempts the running one at its next exit (credit1's
//! BOOST). A vCPU is runnable when it is online, not blocked, and its domain
//! is not paused, shut down or dying ([`runnable`]).
//!
//! Switching is stackless, as the hypervisor keeps no per-vCPU stack: the
//! running vCPU's registers are the frame at the top of the CPU's primary
//! stack, and a switch happens only on the way out to a guest
//! ([`schedule`]), where the outgoing vCPU's frame and hardware state are
//! saved into its [`Vcpu`] and the incoming one's are loaded
//! ([`crate::pv::context`]). With nothing runnable the CPU idles in
//! [`schedule`] until an interrupt makes something runnable.
//!
//! Lock order: `RUNQ` is taken alone; nothing else is locked under it.

use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use spin::Mutex;

use crate::arch::x86_64::traps::TrapFrame;
use crate::domain::{self, Vcpu, VcpuRef};

/// The CPU every vCPU runs on.
pub const CPU_OF_VCPUS: u32 = 0;

/// The CPUs of the scheduler's pool (one bit per CPU): CPU 0 only, the
/// others stay idle until the SMP scheduler (issue 13).
pub fn pool_cpus() -> u64 {
    1 << CPU_OF_VCPUS
}

/// Credit1's time slice.
pub const TIMESLICE_NS: u64 = 30_000_000;

/// Runnable vCPUs waiting for CPU 0, in the order they get it.
static RUNQ: Mutex<VecDeque<VcpuRef>> = Mutex::new(VecDeque::new());
/// The running vCPU should give the CPU up at its next exit.
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);
/// When the running vCPU's slice ends (system time).
static SLICE_END: AtomicU64 = AtomicU64::new(u64::MAX);

/// Whether `v` may run now.
pub fn runnable(v: &Vcpu) -> bool {
    v.online && !v.blocked && v.domain.may_run()
}

/// Whether `v` is the vCPU running on this CPU.
pub fn is_current(v: &Vcpu) -> bool {
    domain::current().is_some_and(|c| core::ptr::eq(c, v))
}

/// Whether `v` is running on a CPU (`XEN_DOMINF_running`).
pub fn is_running(v: &Vcpu) -> bool {
    is_current(v)
}

/// Queue `v` if it is runnable and neither queued nor running; `front`
/// puts it first (a wake-up).
fn enqueue(v: &mut Vcpu, front: bool) {
    if v.on_runq || is_current(v) || !runnable(v) {
        return;
    }
    v.on_runq = true;
    crate::domain::runstate::set_state(v, dom0_abi::vcpu::RUNSTATE_runnable);
    let mut q = RUNQ.lock();
    if front {
        q.push_front(VcpuRef(v));
    } else {
        q.push_back(VcpuRef(v));
    }
}

/// `v` may have become runnable (woken, unpaused, brought up): queue it
/// and have it preempt the running vCPU, as credit1 boosts a waking vCPU.
pub fn wake(v: &mut Vcpu) {
    if v.on_runq || is_current(v) || !runnable(v) {
        return;
    }
    enqueue(v, true);
    NEED_RESCHED.store(true, Ordering::Release);
}

/// Wake every vCPU of domain `d` that may run.
pub fn wake_domain(d: &crate::domain::Domain) {
    for v in d.vcpu_list() {
        wake(v.get());
    }
}

/// An event is pending for `v` (or its `SCHEDOP_poll` ended): unblock it,
/// end its poll, and queue it if it is runnable but neither queued nor
/// running.
pub fn unblock(v: &mut Vcpu) {
    v.blocked = false;
    v.polling = false;
    v.poll_deadline = None;
    wake(v);
}

/// `SCHEDOP_yield`: the running vCPU goes behind the others waiting.
pub fn yield_now() {
    if !RUNQ.lock().is_empty() {
        NEED_RESCHED.store(true, Ordering::Release);
    }
}

/// Take `v` off the run queue (its domain is being destroyed).
pub fn remove(v: &mut Vcpu) {
    RUNQ.lock().retain(|r| r.0 != v as *mut Vcpu);
    v.on_runq = false;
}

/// The running vCPU's slice is over if others wait: called on timer
/// interrupts.
pub fn tick(now: u64) {
    if now >= SLICE_END.load(Ordering::Acquire) && !RUNQ.lock().is_empty() {
        NEED_RESCHED.store(true, Ordering::Release);
    }
}

/// When the running vCPU's slice ends, if other vCPUs wait for the CPU.
pub fn slice_deadline() -> Option<u64> {
    let end = SLICE_END.load(Ordering::Acquire);
    (end != u64::MAX && !RUNQ.lock().is_empty()).then_some(end)
}

/// The next queued vCPU that may still run (others are dropped from the
/// queue: they are queued again when they become runnable).
fn pop_runnable() -> Option<&'static mut Vcpu> {
    loop {
        let r = RUNQ.lock().pop_front()?;
        let v = r.get();
        v.on_runq = false;
        if runnable(v) {
            return Some(v);
        }
    }
}

/// On the way out to a guest, with `regs` the frame at the top of this
/// CPU's primary stack: keep running the current vCPU, or switch to
/// another (saving the current one's state into its `Vcpu`), idling while
/// nothing may run. Returns with the vCPU to resume in `regs` and current.
pub fn schedule(regs: &mut TrapFrame) {
    let prev = domain::current();
    let keep = prev.as_deref().is_some_and(runnable);
    if keep && !NEED_RESCHED.swap(false, Ordering::AcqRel) {
        return;
    }
    NEED_RESCHED.store(false, Ordering::Release);
    let next = match pop_runnable() {
        Some(n) => n,
        None if keep => {
            // Nothing else wants the CPU: a new slice for the same vCPU.
            SLICE_END.store(crate::timer::now_ns() + TIMESLICE_NS, Ordering::Release);
            return;
        }
        None => idle(),
    };
    if let Some(p) = prev {
        if core::ptr::eq(p, next) {
            // Woken while idling with its state still loaded.
            crate::domain::runstate::set_state(next, dom0_abi::vcpu::RUNSTATE_running);
            SLICE_END.store(crate::timer::now_ns() + TIMESLICE_NS, Ordering::Release);
            crate::timer::reprogram();
            return;
        }
        crate::pv::context::save(p, regs);
        crate::pv::context::load(next, regs);
        // Queued behind the others once it is no longer current (it may
        // also have been woken while the CPU idled).
        enqueue(p, false);
    } else {
        crate::pv::context::load(next, regs);
    }
    SLICE_END.store(crate::timer::now_ns() + TIMESLICE_NS, Ordering::Release);
    crate::timer::reprogram();
}

/// Time CPU 0 spent idle (ns).
static IDLE_NS: AtomicU64 = AtomicU64::new(0);

/// Time `cpu` spent idle since boot (`XEN_SYSCTL_getcpuinfo`): CPUs other
/// than the scheduler's run nothing.
pub fn idle_time_ns(cpu: u32) -> u64 {
    if cpu == CPU_OF_VCPUS { IDLE_NS.load(Ordering::Relaxed) } else { crate::timer::now_ns() }
}

/// Nothing may run: sleep through interrupts, running what they defer,
/// until a vCPU may. The outgoing vCPU (if any) stays current, its state
/// still in the registers, but not running.
fn idle() -> &'static mut Vcpu {
    let since = crate::timer::now_ns();
    let v = idle_loop();
    IDLE_NS.fetch_add(crate::timer::now_ns().saturating_sub(since), Ordering::Relaxed);
    v
}

fn idle_loop() -> &'static mut Vcpu {
    if let Some(p) = domain::current() {
        if p.online && !p.blocked {
            crate::domain::runstate::set_state(p, dom0_abi::vcpu::RUNSTATE_offline);
        } else if p.online {
            crate::domain::runstate::set_state(p, dom0_abi::vcpu::RUNSTATE_blocked);
        }
    }
    loop {
        crate::timer::reprogram();
        // SAFETY: sleep until the next interrupt; its handler runs on this
        // stack below the guest frame and returns here.
        unsafe { core::arch::asm!("sti; hlt; cli", options(nostack)) };
        crate::pv::softirqs();
        if let Some(v) = pop_runnable() {
            return v;
        }
        // The current vCPU may have been unblocked while not queued.
        if let Some(p) = domain::current() {
            if runnable(p) {
                return p;
            }
        }
    }
}

/// Take `v` (current, no longer runnable: shut down or crashed) off the
/// CPU for good and resume another vCPU; never returns. Its registers
/// are kept (the frame at the top of the stack) for the toolstack.
pub fn leave(v: &mut Vcpu) -> ! {
    let frame = crate::pv::guest_frame_ptr();
    // SAFETY: the frame at the top of this CPU's primary stack is the
    // current vCPU's; everything on the stack below it is abandoned.
    let regs = unsafe { &mut *frame };
    debug_assert!(is_current(v));
    schedule(regs);
    crate::pv::resume_current(regs)
}

/// All vCPUs (for timers): those of every domain.
pub fn for_each_vcpu(mut f: impl FnMut(&'static mut Vcpu)) {
    for d in domain::all() {
        for v in d.vcpu_list() {
            f(v.get());
        }
    }
}
