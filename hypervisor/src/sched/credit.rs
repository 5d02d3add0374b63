//! Credit1's accounting (Xen's `sched_credit.c`): how a CPU is shared by
//! weight and held under a cap.
//!
//! Every vCPU has a credit balance and a priority. The running vCPU burns
//! 10 credits per millisecond it runs ([`burn`], on every switch and tick).
//! Every accounting period (30 ms) [`account`] shares out 300 credits per
//! CPU among the domains with active vCPUs in proportion to their weights
//! (`xm sched-credit -w`), never more than a domain's cap allows (`-c`,
//! percent of one CPU); a vCPU in credit is `UNDER`, one in debt `OVER`,
//! and the run queue serves `BOOST` (a vCPU just woken while `UNDER`)
//! before `UNDER` before `OVER`. A capped vCPU whose debt passes its
//! period's allowance is parked (not runnable) until accounting brings its
//! balance back above zero. A vCPU that stops using its credit (it idles)
//! leaves the active set once its balance passes one slice's worth, with
//! half its balance kept, and joins again at the first tick that finds it
//! running.
//!
//! Xen's constants: 10 ms tick, 30 ms slice, 3 ticks per accounting
//! period, 10 credits per ms.

use core::sync::atomic::{AtomicI64, Ordering};

use crate::domain::{self, Vcpu};

/// Credits burnt per millisecond of CPU time.
pub const CREDITS_PER_MSEC: i64 = 10;
/// The accounting tick.
pub const TICK_NS: u64 = 10_000_000;
/// Ticks per accounting period.
pub const TICKS_PER_ACCT: u64 = 3;
/// Credits of one 30 ms slice (and shared out per CPU per period).
pub const CREDITS_PER_TSLICE: i64 = 300;

const NS_PER_MSEC: u64 = 1_000_000;

/// A vCPU's place in the run queue, highest first (Xen's
/// `CSCHED_PRI_TS_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Pri {
    /// In debt: runs when no `UNDER` or `BOOST` vCPU waits.
    Over,
    /// In credit.
    Under,
    /// Woken while `UNDER`: runs first, until its next tick.
    Boost,
}

/// Credit1's per-vCPU state (Xen's `struct csched_unit`). The balance is
/// atomic: the vCPU's CPU burns it while the accounting CPU adds to it.
#[derive(Debug)]
pub struct CreditVcpu {
    /// Credit balance.
    pub credit: AtomicI64,
    /// Run-queue priority.
    pub pri: Pri,
    /// Burnt up to this system time while running.
    pub start_time: u64,
    /// Nanoseconds of running not yet turned into a whole credit.
    pub residual: u64,
    /// In the active set: earns credit at each accounting.
    pub active: bool,
    /// Held off the CPU by its domain's cap until back in credit.
    pub parked: bool,
    /// It yielded: it goes behind one vCPU of lower priority, if any.
    pub yielded: bool,
}

impl Default for CreditVcpu {
    fn default() -> Self {
        Self { credit: AtomicI64::new(0), pri: Pri::Under, start_time: NOT_RUNNING, residual: 0, active: false, parked: false, yielded: false }
    }
}

/// Charge the running vCPU `v` for its time since it was last charged.
pub fn burn(v: &mut Vcpu, now: u64) {
    let c = &mut v.csched;
    if now <= c.start_time {
        return;
    }
    let val = (now - c.start_time) * CREDITS_PER_MSEC as u64 + c.residual;
    let credits = val / NS_PER_MSEC;
    c.residual = val % NS_PER_MSEC;
    c.credit.fetch_sub(credits as i64, Ordering::AcqRel);
    c.start_time = now;
}

/// `v` starts running at `now`: its burning starts there.
pub fn start(v: &mut Vcpu, now: u64) {
    v.csched.start_time = now;
}

/// `v` stops running at `now` (the CPU idles with it still loaded):
/// charge it, and charge nothing more until it runs again.
pub fn stop(v: &mut Vcpu, now: u64) {
    burn(v, now);
    v.csched.start_time = NOT_RUNNING;
}

/// Whether `v` (current on its CPU) is running rather than idling.
pub fn is_running(v: &Vcpu) -> bool {
    v.csched.start_time != NOT_RUNNING
}

/// `start_time` of a vCPU that is not running.
const NOT_RUNNING: u64 = u64::MAX;

/// A vCPU waking up: a waiting `UNDER` vCPU that is not parked is boosted
/// (Xen's `csched_unit_wake`).
pub fn on_wake(v: &mut Vcpu) {
    if v.csched.pri == Pri::Under && !v.csched.parked {
        v.csched.pri = Pri::Boost;
    }
}

/// The tick found `v` running (Xen's `csched_unit_acct`): charge it, make
/// it earn credit again, and end its boost (it uses the CPU for real).
pub fn tick_running(v: &mut Vcpu, now: u64) {
    burn(v, now);
    if v.csched.pri == Pri::Boost {
        v.csched.pri = Pri::Under;
    }
    v.csched.active = true;
}

/// What one accounting period did, for the log.
#[derive(Default, Debug)]
pub struct AcctSummary {
    /// vCPUs parked by their caps.
    pub parked: u32,
    /// vCPUs unparked (woken by the caller).
    pub unparked: u32,
}

/// The sum of the active vCPUs' balances after the last accounting
/// (Xen's `credit_balance`): while negative, the next period shares out
/// that much more and lets domains earn past one slice.
static CREDIT_BALANCE: AtomicI64 = AtomicI64::new(0);

/// One accounting period over every domain (Xen's `csched_acct`), the
/// pool having `nr_cpus` CPUs. Calls `unpark` for each vCPU let back on
/// (after clearing its flag, so it is not boosted). Credit a domain cannot
/// use (its active vCPUs' peak, or its cap) goes to the domains after it,
/// by weight; domains are visited in creation order (Xen rotates the ones
/// left short to the front, lazily).
pub fn account(nr_cpus: u32, mut unpark: impl FnMut(&'static mut Vcpu)) -> AcctSummary {
    use Ordering::Relaxed;
    let mut sum = AcctSummary::default();
    // Each domain's weight counts once per active vCPU.
    let mut weight_total: i64 = 0;
    let mut shares: alloc::vec::Vec<(&'static domain::Domain, i64, i64, i64)> = alloc::vec::Vec::new();
    for d in domain::all() {
        let active = d.vcpu_list().iter().filter(|r| r.get().csched.active).count() as i64;
        if active == 0 {
            continue;
        }
        let p = *d.sched_params.lock();
        weight_total += i64::from(p.weight) * active;
        shares.push((d, active, i64::from(p.weight), i64::from(p.cap)));
    }
    let balance = CREDIT_BALANCE.load(Relaxed);
    if weight_total == 0 {
        CREDIT_BALANCE.store(0, Relaxed);
        return sum;
    }
    let div_ceil = |a: i64, b: i64| (a + b - 1) / b;
    let mut credit_total = CREDITS_PER_TSLICE * i64::from(nr_cpus.max(1));
    if balance < 0 {
        credit_total -= balance;
    }
    let mut weight_left = weight_total;
    let mut new_balance = 0;
    for (d, active, weight, cap) in shares {
        weight_left -= weight * active;
        // At most one slice per active vCPU, more while the system is in
        // debt, never past the cap.
        let mut credit_peak = active * CREDITS_PER_TSLICE;
        if balance < 0 {
            credit_peak += div_ceil(-balance * weight * active, weight_total);
        }
        let mut credit_cap = 0;
        if cap != 0 {
            let dom_cap = div_ceil(cap * CREDITS_PER_TSLICE, 100);
            credit_peak = credit_peak.min(dom_cap);
            credit_cap = div_ceil(dom_cap, active);
        }
        let mut credit_fair = div_ceil(credit_total * weight * active, weight_total);
        if credit_fair >= credit_peak {
            if weight_left != 0 {
                // What it cannot use goes to the others.
                credit_total += div_ceil((credit_fair - credit_peak) * weight_total, weight_left);
            }
            credit_fair = credit_peak;
        }
        let fair = div_ceil(credit_fair, active);
        for r in d.vcpu_list() {
            let v = r.get();
            let c = &mut v.csched;
            if !c.active {
                continue;
            }
            let earned = c.credit.fetch_add(fair, Ordering::AcqRel) + fair;
            let mut credit = earned;
            if credit < 0 {
                c.pri = Pri::Over;
                if cap != 0 && credit < -credit_cap && !c.parked {
                    c.parked = true;
                    sum.parked += 1;
                }
                // A debt is never deeper than one slice.
                credit = credit.max(-CREDITS_PER_TSLICE);
            } else {
                c.pri = Pri::Under;
                if credit > CREDITS_PER_TSLICE {
                    // Not using what it earns: it stops earning, and
                    // starts again a little ahead.
                    c.active = false;
                    credit /= 2;
                }
            }
            if credit != earned {
                // Clamped or halved: adjust by the difference, keeping
                // what its CPU burnt meanwhile.
                c.credit.fetch_add(credit - earned, Ordering::AcqRel);
            }
            new_balance += credit;
            if c.parked && credit >= 0 {
                c.parked = false;
                sum.unparked += 1;
                unpark(v);
            }
        }
    }
    CREDIT_BALANCE.store(new_balance, Relaxed);
    sum
}
