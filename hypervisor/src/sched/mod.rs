//! The scheduler: which vCPU runs on each CPU, and switching between them.
//!
//! Every CPU brought up is in the scheduler's pool and has its own run
//! queue. CPU time is shared as Xen's credit1 shares it ([`credit`]): vCPUs
//! earn credit by their domain's weight and within its cap every 30 ms and
//! burn it while they run; a run queue serves a vCPU just woken (`BOOST`)
//! before those in credit (`UNDER`) before those in debt (`OVER`),
//! round-robin within each, with a 30 ms slice; a woken vCPU of higher
//! priority than the running one preempts it. A vCPU belongs to one CPU at
//! a time ([`Vcpu::processor`]): a waking vCPU goes to an idle CPU its hard
//! affinity allows if its own is busy, and a CPU with nothing to run steals
//! a waiting vCPU from another's queue. A vCPU is runnable when it is
//! online, not blocked, not parked by its cap, and its domain is not
//! paused, shut down or dying ([`runnable`]).
//!
//! Switching is stackless, as the hypervisor keeps no per-vCPU stack: the
//! running vCPU's registers are the frame at the top of its CPU's primary
//! stack, and a switch happens only on the way out to a guest
//! ([`schedule`]), where the outgoing vCPU's frame and hardware state are
//! saved into its [`Vcpu`] and the incoming one's are loaded
//! ([`crate::pv::context`]). A CPU with nothing to run saves the outgoing
//! vCPU too (so another CPU may take it) and idles until an interrupt or
//! another CPU's event-check IPI gives it work.
//!
//! Other CPUs are told with IPIs: `EVENT_CHECK` to look at their queue and
//! at pending events (a vCPU woken there, an event for the vCPU running
//! there), and TLB flushes ([`crate::mm::tlbflush`]).
//!
//! Lock order: one run queue at a time, nothing else locked under it
//! (accounting reads each domain's parameters before touching queues).

pub mod credit;

use alloc::collections::VecDeque;
use core::sync::atomic::{fence, AtomicBool, AtomicU32, AtomicU64, Ordering};

use crate::arch::x86_64::apic;
use crate::arch::x86_64::cpu::{self, MAX_CPUS};
use crate::arch::x86_64::traps::TrapFrame;
use crate::domain::{self, Vcpu, VcpuRef, NOT_RUNNING};
use crate::sync::Mutex;

/// The CPUs of the scheduler's pool (one bit per CPU): every CPU brought
/// up.
pub fn pool_cpus() -> u64 {
    let n = cpu::CPUS_ONLINE.load(Ordering::Acquire).clamp(1, 64);
    if n == 64 { u64::MAX } else { (1u64 << n) - 1 }
}

/// The CPUs of the pool, by number (CPUs are numbered from 0 as they are
/// brought up, so the pool is `0..n`).
fn pool_cpu_ids() -> core::ops::Range<u32> {
    0..pool_cpus().count_ones()
}

/// Credit1's time slice.
pub const TIMESLICE_NS: u64 = 30_000_000;

/// One CPU's scheduling state.
struct PerCpu {
    /// Runnable vCPUs waiting for this CPU, highest priority first, in the
    /// order they get it.
    runq: Mutex<VecDeque<VcpuRef>>,
    /// The running vCPU should give the CPU up at its next exit.
    need_resched: AtomicBool,
    /// When the running vCPU's slice ends (system time).
    slice_end: AtomicU64,
    /// When the next accounting tick is due.
    next_tick: AtomicU64,
    /// Time spent idle (ns).
    idle_ns: AtomicU64,
}

impl PerCpu {
    const fn new() -> Self {
        Self {
            runq: Mutex::new(VecDeque::new()),
            need_resched: AtomicBool::new(false),
            slice_end: AtomicU64::new(u64::MAX),
            next_tick: AtomicU64::new(0),
            idle_ns: AtomicU64::new(0),
        }
    }
}

static CPUS: [PerCpu; MAX_CPUS] = [const { PerCpu::new() }; MAX_CPUS];
/// When the next accounting period is due (whichever CPU ticks first
/// does it).
static NEXT_ACCT: AtomicU64 = AtomicU64::new(0);
/// CPUs in their idle loop with nothing queued (Xen's `prv->idlers`): a
/// CPU sets its bit each time it goes to sleep with nothing to run, and
/// whoever queues a vCPU on it clears it.
static IDLERS: AtomicU64 = AtomicU64::new(0);
/// vCPUs parked by their caps (the ticks keep going while any is, so
/// accounting can let them back on).
static PARKED: AtomicU32 = AtomicU32::new(0);

fn me() -> u32 {
    cpu::this_cpu().cpu_id
}

fn here() -> &'static PerCpu {
    &CPUS[me() as usize]
}

/// Whether `v` may run now.
pub fn runnable(v: &Vcpu) -> bool {
    v.is_online() && !v.is_blocked() && !v.csched.parked && v.domain.may_run()
}

/// Whether `v`'s hard affinity lets it run on `cpu`.
fn allowed(v: &Vcpu, cpu: u32) -> bool {
    v.hard_affinity & pool_cpus() & (1 << cpu) != 0
}

/// Whether `v` is the vCPU running on this CPU.
pub fn is_current(v: &Vcpu) -> bool {
    domain::current().is_some_and(|c| core::ptr::eq(c, v))
}

/// Whether `v` is running on a CPU (`XEN_DOMINF_running`).
pub fn is_running(v: &Vcpu) -> bool {
    v.running_on.load(Ordering::Acquire) != NOT_RUNNING
}

/// Put `v` in queue `q` behind every vCPU of its priority or higher (Xen's
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

/// Whether CPU `c` has nothing to do.
fn is_idle(c: u32) -> bool {
    IDLERS.load(Ordering::Acquire) & (1 << c) != 0
}

/// The CPU `v` should wait on (Xen's `csched_cpu_pick`, simplified): its
/// own if allowed and idle, else an idle one it may use, else its own if
/// allowed, else the first it may use.
fn pick_cpu(v: &Vcpu) -> u32 {
    let mask = v.hard_affinity & pool_cpus();
    let own = v.processor;
    let ok = |c: u32| mask & (1 << c) != 0;
    if ok(own) && is_idle(own) {
        return own;
    }
    let idle = mask & IDLERS.load(Ordering::Acquire);
    if idle != 0 {
        return idle.trailing_zeros();
    }
    if ok(own) {
        return own;
    }
    (0..64).find(|&c| ok(c)).unwrap_or(0)
}

/// Tell CPU `c` to look at its queue and pending events.
fn poke(c: u32) {
    if c != me() {
        apic::send_to_cpu(c, apic::EVENT_CHECK_VECTOR);
    }
}

/// Queue `v` (runnable, neither queued nor loaded) on a CPU it may use and
/// let it preempt that CPU's vCPU if its priority is higher (Xen's tickle).
fn enqueue(v: &mut Vcpu) {
    if v.on_runq.swap(true, Ordering::AcqRel) {
        return;
    }
    if is_running(v) || !runnable(v) {
        v.on_runq.store(false, Ordering::Release);
        return;
    }
    let c = pick_cpu(v);
    v.processor = c;
    crate::domain::runstate::set_state(v, dom0_abi::vcpu::RUNSTATE_runnable);
    let pri = v.csched.pri;
    insert(&mut CPUS[c as usize].runq.lock(), v);
    IDLERS.fetch_and(!(1 << c), Ordering::AcqRel);
    let preempts = match domain::current_on(c) {
        Some(cur) => cur.running_on.load(Ordering::Acquire) == c && pri > cur.csched.pri,
        None => true,
    };
    if preempts {
        CPUS[c as usize].need_resched.store(true, Ordering::Release);
        poke(c);
    }
}

/// `v` may have become runnable (woken, unpaused, brought up): queue it,
/// boosted if it was in credit, and let it preempt a running vCPU of
/// lower priority.
pub fn wake(v: &mut Vcpu) {
    if v.on_runq.load(Ordering::Acquire) || is_running(v) || !runnable(v) {
        return;
    }
    credit::on_wake(v);
    enqueue(v);
}

/// Wake every vCPU of domain `d` that may run.
pub fn wake_domain(d: &crate::domain::Domain) {
    for v in d.vcpu_list() {
        wake(v.get());
    }
}

/// An event is pending for `v` (or its `SCHEDOP_poll` ended): unblock it,
/// end its poll, queue it if it is runnable but neither queued nor
/// running, and make the CPU it runs on, if another, look at its events.
pub fn unblock(v: &mut Vcpu) {
    v.blocked.store(false, Ordering::SeqCst);
    v.polling.store(false, Ordering::SeqCst);
    v.poll_deadline = None;
    // Pairs with the fence in `schedule`: either it sees `blocked` clear,
    // or this sees it no longer loaded. And with the one in `block_unless`:
    // either the blocker sees the event this was called for, or this sees
    // it blocked.
    fence(Ordering::SeqCst);
    wake(v);
    let on = v.running_on.load(Ordering::Acquire);
    if on != NOT_RUNNING {
        poke(on);
    }
}

/// Block the running vCPU `v` (in `SCHEDOP_poll` when `polling`) unless
/// `pending()` finds an event it waits for; returns whether it blocked.
/// The flags are set before `pending()` looks: an event sent meanwhile
/// from another CPU is either seen by `pending()` or finds `v` blocked and
/// unblocks it ([`unblock`]), never lost between the two. The scheduler
/// takes a blocked vCPU off the CPU on its way out.
pub fn block_unless(v: &mut Vcpu, polling: bool, pending: impl FnOnce() -> bool) -> bool {
    v.polling.store(polling, Ordering::SeqCst);
    v.blocked.store(true, Ordering::SeqCst);
    fence(Ordering::SeqCst);
    if pending() {
        unblock(v);
        return false;
    }
    crate::domain::runstate::set_state(v, dom0_abi::vcpu::RUNSTATE_blocked);
    true
}

/// `SCHEDOP_yield`: the running vCPU `v` goes behind the others waiting
/// at its priority, and behind one of lower priority if there is one.
pub fn yield_now(v: &mut Vcpu) {
    if !here().runq.lock().is_empty() {
        v.csched.yielded = true;
        here().need_resched.store(true, Ordering::Release);
    }
}

/// Take `v` off the run queues, and off the CPU it runs on if another
/// (at that CPU's next exit, without waiting: Xen's `vcpu_sleep_nosync`):
/// its domain is paused, shut down or being destroyed, or it went down.
pub fn remove(v: &mut Vcpu) {
    for c in pool_cpu_ids() {
        CPUS[c as usize].runq.lock().retain(|r| r.0 != v as *mut Vcpu);
    }
    v.on_runq.store(false, Ordering::Release);
    if core::mem::take(&mut v.csched.parked) {
        PARKED.fetch_sub(1, Ordering::Relaxed);
    }
    let on = v.running_on.load(Ordering::Acquire);
    if on != NOT_RUNNING && on != me() {
        CPUS[on as usize].need_resched.store(true, Ordering::Release);
        poke(on);
    }
}

/// Take every vCPU of `d` off the CPUs (`d` is paused, shut down or dying,
/// so none may run): off the queues, and off any other CPU it is loaded
/// on, waiting until that CPU has saved it (Xen's `vcpu_sleep_sync`).
pub fn deschedule_domain(d: &crate::domain::Domain) {
    for r in d.vcpu_list() {
        let v = r.get();
        remove(v);
        let on = v.running_on.load(Ordering::Acquire);
        if on == NOT_RUNNING || on == me() {
            continue;
        }
        while v.running_on.load(Ordering::Acquire) == on {
            crate::sync::cpu_relax();
        }
    }
}

/// `v`'s hard affinity changed: move it off a CPU it may no longer use.
pub fn affinity_changed(v: &mut Vcpu) {
    if v.on_runq.load(Ordering::Acquire) && !allowed(v, v.processor) {
        CPUS[v.processor as usize].runq.lock().retain(|r| r.0 != v as *mut Vcpu);
        v.on_runq.store(false, Ordering::Release);
        enqueue(v);
    }
    let on = v.running_on.load(Ordering::Acquire);
    if on != NOT_RUNNING && !allowed(v, on) {
        CPUS[on as usize].need_resched.store(true, Ordering::Release);
        poke(on);
    }
}

/// Timer interrupts: the 10 ms tick charges the running vCPU, and the
/// first tick past an accounting period (30 ms) on any CPU shares out
/// credit; the running vCPU's slice is over if others wait.
pub fn tick(now: u64) {
    let pc = here();
    if now >= pc.next_tick.load(Ordering::Acquire) {
        pc.next_tick.store(now + credit::TICK_NS, Ordering::Release);
        if let Some(c) = domain::current().filter(|c| credit::is_running(c)) {
            credit::tick_running(c, now);
        }
        let due = NEXT_ACCT.load(Ordering::Acquire);
        if now >= due
            && NEXT_ACCT
                .compare_exchange(due, now + credit::TICK_NS * credit::TICKS_PER_ACCT, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            account();
        }
    }
    if now >= pc.slice_end.load(Ordering::Acquire) && !pc.runq.lock().is_empty() {
        pc.need_resched.store(true, Ordering::Release);
    }
}

/// One accounting period: new balances and priorities, parking and
/// unparking by caps, each queue in its new priority order.
fn account() {
    let s = credit::account(pool_cpus().count_ones(), |v| {
        PARKED.fetch_sub(1, Ordering::Relaxed);
        enqueue(v);
    });
    // New priorities: each queue in their order (Xen's `csched_runq_sort`),
    // first come first within each.
    for c in pool_cpu_ids() {
        CPUS[c as usize].runq.lock().make_contiguous().sort_by(|a, b| b.get().csched.pri.cmp(&a.get().csched.pri));
    }
    if s.parked != 0 {
        PARKED.fetch_add(s.parked, Ordering::Relaxed);
        // A running vCPU parked gives its CPU up now.
        for c in pool_cpu_ids() {
            if domain::current_on(c).is_some_and(|v| v.csched.parked) {
                CPUS[c as usize].need_resched.store(true, Ordering::Release);
                poke(c);
            }
        }
    }
    if s.parked + s.unparked != 0 {
        log::debug!("credit: {} vCPU(s) parked, {} unparked", s.parked, s.unparked);
    }
}

/// This CPU's next scheduling deadline: the end of the running vCPU's
/// slice if others wait, the next tick while a vCPU runs or one is parked.
pub fn deadline() -> Option<u64> {
    let pc = here();
    let mut next = None;
    let end = pc.slice_end.load(Ordering::Acquire);
    if end != u64::MAX && !pc.runq.lock().is_empty() {
        next = Some(end);
    }
    let running = domain::current().is_some_and(|c| credit::is_running(c));
    if running || PARKED.load(Ordering::Relaxed) != 0 {
        let t = pc.next_tick.load(Ordering::Acquire);
        next = Some(next.map_or(t, |n: u64| n.min(t)));
    }
    next
}

/// The next vCPU of this CPU's queue that may still run here (others are
/// dropped: they are queued again when they become runnable).
fn pop_runnable() -> Option<&'static mut Vcpu> {
    let c = me();
    loop {
        let r = here().runq.lock().pop_front()?;
        let v = r.get();
        v.on_runq.store(false, Ordering::Release);
        // Claimed for this CPU before it is loaded: no other CPU may load
        // it meanwhile (it may have been queued on two CPUs).
        let ours = v.running_on.load(Ordering::Acquire) == c
            || v.running_on.compare_exchange(NOT_RUNNING, c, Ordering::AcqRel, Ordering::Acquire).is_ok();
        if ours && runnable(v) && allowed(v, c) {
            return Some(v);
        }
        if ours && !is_current(v) {
            v.running_on.store(NOT_RUNNING, Ordering::Release);
        }
        if runnable(v) && !is_running(v) {
            enqueue(v);
        }
    }
}

/// Take a waiting vCPU from another CPU's queue that may run here (an idle
/// CPU's work stealing, as credit1's `csched_load_balance`).
fn steal() -> Option<&'static mut Vcpu> {
    let c = me();
    for other in pool_cpu_ids().filter(|&o| o != c) {
        let mut q = CPUS[other as usize].runq.lock();
        let at = q.iter().position(|r| {
            let v = r.get();
            allowed(v, c) && runnable(v) && !is_running(v)
        });
        if let Some(at) = at {
            let v = q.remove(at).expect("position is in the queue").get();
            drop(q);
            v.on_runq.store(false, Ordering::Release);
            if v.running_on.compare_exchange(NOT_RUNNING, c, Ordering::AcqRel, Ordering::Acquire).is_err() {
                continue;
            }
            v.processor = c;
            return Some(v);
        }
    }
    None
}

/// On the way out to a guest, with `regs` the frame at the top of this
/// CPU's primary stack: keep running the current vCPU, or switch to
/// another (saving the current one's state into its `Vcpu`), idling while
/// nothing may run. The current vCPU, if it may go on, competes with the
/// queue by priority (Xen's `csched_schedule`). Returns with the vCPU to
/// resume in `regs` and current.
pub fn schedule(regs: &mut TrapFrame) {
    let c = me();
    let pc = here();
    let keep = domain::current().is_some_and(|p| runnable(p) && allowed(p, c));
    if keep && !pc.need_resched.swap(false, Ordering::AcqRel) {
        return;
    }
    pc.need_resched.store(false, Ordering::Release);
    let now = crate::timer::now_ns();
    if let Some(p) = domain::current() {
        credit::burn(p, now);
        if keep && !p.on_runq.swap(true, Ordering::AcqRel) {
            // Back in line by its priority, without leaving the CPU yet
            // (unless another CPU is queueing it right now: it then finds
            // it loaded and lets go, and it is queued once saved).
            p.processor = c;
            insert(&mut pc.runq.lock(), p);
        }
    }
    let mut next = pop_runnable().or_else(steal);
    if next.is_none() {
        if let Some(p) = domain::current() {
            // Nothing else: save it so that it may run anywhere when it
            // wakes, and look again once it is no longer loaded (a wake-up
            // that saw it loaded left it to this CPU).
            crate::pv::context::save(p, regs);
            credit::stop(p, now);
            domain::clear_current();
            fence(Ordering::SeqCst);
            enqueue(p);
            next = pop_runnable();
        }
    }
    let next = match next {
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
            // Chosen again.
            crate::domain::runstate::set_state(next, dom0_abi::vcpu::RUNSTATE_running);
        }
        Some(p) => {
            crate::pv::context::save(p, regs);
            credit::stop(p, now);
            domain::clear_current();
            fence(Ordering::SeqCst);
            crate::pv::context::load(next, regs);
            // Queued again if it may still run (preempted), on a CPU it
            // may use.
            enqueue(p);
        }
        None => crate::pv::context::load(next, regs),
    }
    pc.slice_end.store(now + TIMESLICE_NS, Ordering::Release);
    crate::timer::reprogram();
}

/// The CPU starts running a vCPU after idling: ticks resume on the tick
/// grid (Xen's `csched_tick_resume`), not at once (a tick right away would
/// end a just-woken vCPU's boost).
fn resume_tick(now: u64) {
    let pc = here();
    let next = now + credit::TICK_NS - now % credit::TICK_NS;
    if pc.next_tick.load(Ordering::Acquire) < now {
        pc.next_tick.store(next, Ordering::Release);
    }
}

/// Time `cpu` spent idle since boot (`XEN_SYSCTL_getcpuinfo`).
pub fn idle_time_ns(cpu: u32) -> u64 {
    CPUS.get(cpu as usize).map_or(0, |pc| pc.idle_ns.load(Ordering::Relaxed))
}

/// Nothing may run here: sleep through interrupts, running what they
/// defer, until a vCPU may (queued here, or stolen from another CPU).
fn idle() -> &'static mut Vcpu {
    let pc = here();
    let since = crate::timer::now_ns();
    let bit = 1u64 << me();
    let v = loop {
        // Idle again (a vCPU queued here meanwhile cleared the bit): the
        // queue is looked at after this, so none is missed; then other
        // CPUs' queues, before every sleep.
        IDLERS.fetch_or(bit, Ordering::AcqRel);
        if let Some(v) = pop_runnable().or_else(steal) {
            break v;
        }
        crate::timer::reprogram();
        // SAFETY: sleep until the next interrupt; its handler runs on this
        // stack below the guest frame and returns here.
        unsafe { core::arch::asm!("sti; hlt; cli", options(nostack)) };
        crate::pv::softirqs();
        crate::mm::tlbflush::service();
        crate::rcu::quiescent();
    };
    IDLERS.fetch_and(!bit, Ordering::AcqRel);
    pc.idle_ns.fetch_add(crate::timer::now_ns().saturating_sub(since), Ordering::Relaxed);
    v
}

/// A CPU other than the boot CPU, once up: run whatever the scheduler
/// gives it, from the frame slot at the top of its primary stack (the
/// caller runs below it).
pub extern "C" fn ap_main() -> ! {
    let frame = crate::pv::guest_frame_ptr();
    // SAFETY: the slot at the top of this CPU's primary stack is free: the
    // caller moved the stack pointer below it.
    let regs = unsafe { &mut *frame };
    schedule(regs);
    crate::pv::resume_current(regs)
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

/// All vCPUs: those of every domain.
pub fn for_each_vcpu(mut f: impl FnMut(&'static mut Vcpu)) {
    domain::for_each(|d| {
        for v in d.vcpu_list() {
            f(v.get());
        }
    });
}

/// The vCPUs whose timers this CPU keeps: those it runs or queues.
pub fn for_each_vcpu_here(mut f: impl FnMut(&'static mut Vcpu)) {
    let c = me();
    for_each_vcpu(|v| {
        if v.processor == c {
            f(v)
        }
    });
}
