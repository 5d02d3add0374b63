//! The scheduler: which vCPU runs on the CPU, and switching between them.
//!
//! Every vCPU runs on CPU 0 for now (spreading them over all CPUs is the
//! rest of issue 13). CPU 0 is shared as Xen's credit1 shares a CPU
//! ([`credit`]): vCPUs earn credit by their domain's weight and within its
//! cap every 30 ms and burn it while they run; the run queue serves a vCPU
//! just woken (`BOOST`) before those in credit (`UNDER`) before those in
//! debt (`OVER`), round-robin within each, with a 30 ms slice; a woken vCPU
//! of higher priority than the running one preempts it at its next exit. A
//! vCPU is runnable when it is online, not blocked, not parked by its cap,
//! and its domain is not paused, shut down or dying ([`runnable`]).
//!
//! Switching is stackless, as the hypervisor keeps no per-vCPU stack: the
//! running vCPU's registers are the frame at the top of the CPU's primary
//! stack, and a switch happens only on the way out to a guest
//! ([`schedule`]), where the outgoing vCPU's frame and hardware state are
//! saved into its [`Vcpu`] and the incoming one's are loaded
//! ([`crate::pv::context`]). With nothing runnable the CPU idles in
//! [`schedule`] until an interrupt makes something runnable.
//!
//! Lock order: `RUNQ` is taken alone; nothing else is locked under it
//! (accounting reads each domain's parameters before touching the queue).

pub mod credit;

use alloc::collections::VecDeque;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

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

/// Runnable vCPUs waiting for CPU 0, highest priority first, in the order
/// they get it.
static RUNQ: Mutex<VecDeque<VcpuRef>> = Mutex::new(VecDeque::new());
/// The running vCPU should give the CPU up at its next exit.
static NEED_RESCHED: AtomicBool = AtomicBool::new(false);
/// When the running vCPU's slice ends (system time).
static SLICE_END: AtomicU64 = AtomicU64::new(u64::MAX);
/// When the next accounting tick is due.
static NEXT_TICK: AtomicU64 = AtomicU64::new(0);
/// Ticks since boot (every third one is an accounting period).
static TICKS: AtomicU64 = AtomicU64::new(0);
/// vCPUs parked by their caps (the tick keeps going while any is, so
/// accounting can let them back on).
static PARKED: AtomicU32 = AtomicU32::new(0);

/// Whether `v` may run now.
pub fn runnable(v: &Vcpu) -> bool {
    v.online && !v.blocked && !v.csched.parked && v.domain.may_run()
}

/// Whether `v` is the vCPU running on this CPU.
pub fn is_current(v: &Vcpu) -> bool {
    domain::current().is_some_and(|c| core::ptr::eq(c, v))
}

/// Whether `v` is running on a CPU (`XEN_DOMINF_running`).
pub fn is_running(v: &Vcpu) -> bool {
    is_current(v)
}

/// Put `v` in the queue behind every vCPU of its priority or higher (Xen's
/// `__runq_insert`); a vCPU that yielded goes one further, behind the
/// first of lower priority, if there is one.
fn insert(q: &mut VecDeque<VcpuRef>, v: &mut Vcpu) {
    let pri = v.csched.pri;
    let mut at = q.iter().position(|r| r.get().csched.pri < pri).unwrap_or(q.len());
    if core::mem::take(&mut v.csched.yielded) && at < q.len() {
        at += 1;
    }
    q.insert(at, VcpuRef(v));
}

/// Queue `v` if it is runnable and neither queued nor current.
fn enqueue(v: &mut Vcpu) {
    if v.on_runq || is_current(v) || !runnable(v) {
        return;
    }
    v.on_runq = true;
    crate::domain::runstate::set_state(v, dom0_abi::vcpu::RUNSTATE_runnable);
    insert(&mut RUNQ.lock(), v);
}

/// `v`, just queued, preempts the running vCPU if it has a higher priority
/// (Xen's tickle).
fn tickle(v: &Vcpu) {
    let preempts = match domain::current() {
        Some(c) if credit::is_running(c) && runnable(c) => v.csched.pri > c.csched.pri,
        _ => true,
    };
    if preempts {
        NEED_RESCHED.store(true, Ordering::Release);
    }
}

/// `v` may have become runnable (woken, unpaused, brought up): queue it,
/// boosted if it was in credit, and let it preempt a running vCPU of
/// lower priority.
pub fn wake(v: &mut Vcpu) {
    if v.on_runq || !runnable(v) {
        return;
    }
    if is_current(v) {
        // Blocked while current and woken while the CPU idles: the idle
        // loop resumes it, boosted as any vCPU waking up.
        if !credit::is_running(v) {
            credit::on_wake(v);
        }
        return;
    }
    credit::on_wake(v);
    enqueue(v);
    tickle(v);
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

/// `SCHEDOP_yield`: the running vCPU `v` goes behind the others waiting
/// at its priority, and behind one of lower priority if there is one.
pub fn yield_now(v: &mut Vcpu) {
    if !RUNQ.lock().is_empty() {
        v.csched.yielded = true;
        NEED_RESCHED.store(true, Ordering::Release);
    }
}

/// Take `v` off the run queue (its domain is being destroyed, or it went
/// down).
pub fn remove(v: &mut Vcpu) {
    RUNQ.lock().retain(|r| r.0 != v as *mut Vcpu);
    v.on_runq = false;
    if core::mem::take(&mut v.csched.parked) {
        PARKED.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Timer interrupts: the 10 ms tick charges the running vCPU and every
/// third one shares out credit; the running vCPU's slice is over if
/// others wait.
pub fn tick(now: u64) {
    if now >= NEXT_TICK.load(Ordering::Acquire) {
        NEXT_TICK.store(now + credit::TICK_NS, Ordering::Release);
        if let Some(c) = domain::current().filter(|c| credit::is_running(c)) {
            credit::tick_running(c, now);
        }
        if TICKS.fetch_add(1, Ordering::Relaxed) % credit::TICKS_PER_ACCT == credit::TICKS_PER_ACCT - 1 {
            let n = pool_cpus().count_ones();
            let s = credit::account(n, |v| {
                PARKED.fetch_sub(1, Ordering::Relaxed);
                enqueue(v);
                if v.on_runq {
                    tickle(v);
                }
            });
            // New priorities: the queue in their order (Xen's
            // `csched_runq_sort`), first come first within each.
            RUNQ.lock().make_contiguous().sort_by(|a, b| b.get().csched.pri.cmp(&a.get().csched.pri));
            if s.parked != 0 {
                PARKED.fetch_add(s.parked, Ordering::Relaxed);
                // A running vCPU parked gives the CPU up now.
                if domain::current().is_some_and(|c| c.csched.parked) {
                    NEED_RESCHED.store(true, Ordering::Release);
                }
            }
            if s.parked + s.unparked != 0 {
                log::debug!("credit: {} vCPU(s) parked, {} unparked", s.parked, s.unparked);
            }
        }
    }
    if now >= SLICE_END.load(Ordering::Acquire) && !RUNQ.lock().is_empty() {
        NEED_RESCHED.store(true, Ordering::Release);
    }
}

/// The scheduler's next deadline: the end of the running vCPU's slice if
/// others wait, the next tick while a vCPU runs or one is parked.
pub fn deadline() -> Option<u64> {
    let mut next = None;
    let end = SLICE_END.load(Ordering::Acquire);
    if end != u64::MAX && !RUNQ.lock().is_empty() {
        next = Some(end);
    }
    let running = domain::current().is_some_and(|c| credit::is_running(c));
    if running || PARKED.load(Ordering::Relaxed) != 0 {
        let t = NEXT_TICK.load(Ordering::Acquire);
        next = Some(next.map_or(t, |n: u64| n.min(t)));
    }
    next
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
/// nothing may run. The current vCPU, if it may go on, competes with the
/// queue by priority (Xen's `csched_schedule`). Returns with the vCPU to
/// resume in `regs` and current.
pub fn schedule(regs: &mut TrapFrame) {
    let keep = domain::current().is_some_and(|p| runnable(p));
    if keep && !NEED_RESCHED.swap(false, Ordering::AcqRel) {
        return;
    }
    NEED_RESCHED.store(false, Ordering::Release);
    let now = crate::timer::now_ns();
    if let Some(p) = domain::current() {
        credit::burn(p, now);
        if keep {
            // Back in line by its priority, without leaving the CPU yet.
            p.on_runq = true;
            insert(&mut RUNQ.lock(), p);
        }
    }
    let next = match pop_runnable() {
        Some(n) => n,
        None => idle(),
    };
    let now = crate::timer::now_ns();
    if !credit::is_running(next) {
        resume_tick(now);
    }
    credit::start(next, now);
    match domain::current() {
        Some(p) if core::ptr::eq(p, next) => {
            // Chosen again, or woken while idling with its state loaded.
            crate::domain::runstate::set_state(next, dom0_abi::vcpu::RUNSTATE_running);
        }
        Some(p) => {
            crate::pv::context::save(p, regs);
            crate::pv::context::load(next, regs);
            credit::stop(p, now);
            // Queued once it is no longer current (it may also have been
            // woken while the CPU idled).
            enqueue(p);
        }
        None => crate::pv::context::load(next, regs),
    }
    SLICE_END.store(now + TIMESLICE_NS, Ordering::Release);
    crate::timer::reprogram();
}

/// The CPU starts running a vCPU after idling: ticks resume on the tick
/// grid (Xen's `csched_tick_resume`), not at once (a tick right away would
/// end a just-woken vCPU's boost).
fn resume_tick(now: u64) {
    let next = now + credit::TICK_NS - now % credit::TICK_NS;
    if NEXT_TICK.load(Ordering::Acquire) < now {
        NEXT_TICK.store(next, Ordering::Release);
    }
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
        credit::stop(p, crate::timer::now_ns());
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
