//! System time and guest timers.
//!
//! System time is nanoseconds since boot, from the TSC with the scale Xen
//! would give guests; the wallclock is the RTC at boot. Each vCPU has a
//! one-shot timer (`set_timer_op`, `VCPUOP_set_singleshot_timer`) and a
//! periodic one (10 ms by default, as on Xen); when one expires, the vCPU's
//! `VIRQ_TIMER` port is raised. As on Xen, the periodic timer only ticks
//! while the vCPU runs: it does not wake a blocked vCPU (a tick due then is
//! delivered when it runs again). The local APIC timer runs in one-shot
//! mode for the nearest deadline.

use core::sync::atomic::{AtomicI64, AtomicU32, AtomicU64, Ordering};

use dom0_abi::xen::VcpuTimeInfo;

use crate::arch::x86_64::{apic, rdtsc};
use crate::domain::Vcpu;
use crate::time::{unix_seconds, Scale, NS_PER_SEC};

/// Default periodic timer of a vCPU (Xen: 10 ms).
pub const DEFAULT_PERIOD_NS: u64 = 10_000_000;
/// `VIRQ_TIMER`.
const VIRQ_TIMER: u32 = 0;

static BOOT_TSC: AtomicU64 = AtomicU64::new(0);
static SCALE_MUL: AtomicU32 = AtomicU32::new(0);
static SCALE_SHIFT: AtomicI64 = AtomicI64::new(0);
static WALLCLOCK_SEC: AtomicU64 = AtomicU64::new(0);
static WALLCLOCK_NSEC: AtomicU32 = AtomicU32::new(0);

fn scale() -> Scale {
    Scale { mul: SCALE_MUL.load(Ordering::Relaxed), shift: SCALE_SHIFT.load(Ordering::Relaxed) as i8 }
}

static TSC_KHZ: AtomicU64 = AtomicU64::new(0);

/// The TSC frequency in kHz, as calibrated at boot.
pub fn tsc_khz() -> u64 {
    TSC_KHZ.load(Ordering::Relaxed)
}

/// Start system time (TSC frequency in kHz) and read the wallclock.
pub fn init(tsc_khz: u64) {
    TSC_KHZ.store(tsc_khz, Ordering::Relaxed);
    BOOT_TSC.store(rdtsc(), Ordering::Relaxed);
    let s = Scale::for_rate(tsc_khz * 1000);
    SCALE_MUL.store(s.mul, Ordering::Relaxed);
    SCALE_SHIFT.store(i64::from(s.shift), Ordering::Relaxed);
    let (y, mo, d, h, mi, se) = crate::arch::x86_64::rtc::now();
    WALLCLOCK_SEC.store(unix_seconds(y, mo, d, h, mi, se), Ordering::Relaxed);
}

/// Nanoseconds since boot.
pub fn now_ns() -> u64 {
    scale().apply(rdtsc().wrapping_sub(BOOT_TSC.load(Ordering::Relaxed)))
}

/// Fill a domain's time fields: the wallclock at system time 0 and each
/// vCPU's `vcpu_time_info`.
pub fn publish(si: &mut dom0_abi::xen::SharedInfo) {
    publish_wallclock(si);
    let base = time_base();
    for vi in si.vcpu_info.iter_mut() {
        vi.time = VcpuTimeInfo { version: 2, ..base };
    }
}

/// This host's `vcpu_time_info` (version 0): system time 0 at the boot
/// TSC, and the TSC's scale.
fn time_base() -> VcpuTimeInfo {
    let s = scale();
    VcpuTimeInfo {
        tsc_timestamp: BOOT_TSC.load(Ordering::Relaxed),
        system_time: 0,
        tsc_to_system_mul: s.mul,
        tsc_shift: s.shift,
        ..VcpuTimeInfo::default()
    }
}

/// Make the `vcpu_time_info` `v` reads this host's (Xen's
/// `update_vcpu_system_time`, which Xen runs as each vCPU is scheduled in):
/// the version is odd while the fields change. Needed when something else
/// wrote them: a restore copies the `vcpu_info` of the saved domain, with
/// the time base of the host it ran on, into the new one (as libxc does),
/// and a guest then reading another host's base sees its clock seconds
/// away from ours (its timer deadlines all in the past, or late).
pub fn update_vcpu_system_time(v: &Vcpu) {
    let Some(vi) = v.vcpu_info() else { return };
    let t = &mut vi.time;
    let version = t.version | 1;
    // Only the time base counts (flags and padding are left as they are
    // when it is right).
    let base = VcpuTimeInfo { version: t.version, pad0: t.pad0, flags: t.flags, pad1: t.pad1, ..time_base() };
    if *t == base {
        return;
    }
    // SAFETY: fields of the vCPU's own `vcpu_info`, which its guest reads
    // concurrently: volatile stores, ordered by the fences around them.
    unsafe { core::ptr::write_volatile(&mut t.version, version) };
    core::sync::atomic::fence(Ordering::SeqCst);
    *t = VcpuTimeInfo { version, flags: 0, ..base };
    core::sync::atomic::fence(Ordering::SeqCst);
    // SAFETY: as above.
    unsafe { core::ptr::write_volatile(&mut t.version, version.wrapping_add(1)) };
    update_time_area(v);
}

/// Write the wallclock (at system time 0), shifted by `offset` seconds
/// (the domain's `settimeoffset`), into a shared-info page, with the
/// version odd while it changes.
pub fn publish_wallclock_offset(si: &mut dom0_abi::xen::SharedInfo, offset: i64) {
    let wall = WALLCLOCK_SEC.load(Ordering::Relaxed).wrapping_add(offset as u64);
    si.wc_version = si.wc_version.wrapping_add(1) | 1;
    core::sync::atomic::fence(Ordering::SeqCst);
    si.wc_sec = wall as u32;
    si.wc_sec_hi = (wall >> 32) as u32;
    si.wc_nsec = WALLCLOCK_NSEC.load(Ordering::Relaxed);
    core::sync::atomic::fence(Ordering::SeqCst);
    si.wc_version = si.wc_version.wrapping_add(1);
}

/// [`publish_wallclock_offset`] without an offset.
fn publish_wallclock(si: &mut dom0_abi::xen::SharedInfo) {
    publish_wallclock_offset(si, 0);
}

/// `XENPF_settime`: the wallclock was `secs`.`nsecs` at system time
/// `system_time`; every domain's shared info gets the new wallclock base.
pub fn set_wallclock(secs: u64, nsecs: u32, system_time: u64) {
    let at_boot = (u128::from(secs) * u128::from(NS_PER_SEC) + u128::from(nsecs)).saturating_sub(u128::from(system_time));
    let ns = u128::from(NS_PER_SEC);
    WALLCLOCK_SEC.store((at_boot / ns) as u64, Ordering::Relaxed);
    WALLCLOCK_NSEC.store((at_boot % ns) as u32, Ordering::Relaxed);
    crate::domain::for_each(|d| publish_wallclock_offset(d.shared_info(), d.time_offset.load(Ordering::Relaxed)));
}

/// Program the APIC for this CPU's nearest deadline: any vCPU's one-shot
/// timer, the running vCPU's periodic tick, the end of its time slice.
pub fn reprogram() {
    let mut next: Option<u64> = crate::sched::deadline();
    let mut earliest = |at: u64| next = Some(next.map_or(at, |n| n.min(at)));
    crate::sched::for_each_vcpu_here(|v| {
        if let Some(at) = v.singleshot {
            earliest(at);
        }
        if let Some(at) = v.poll_deadline {
            earliest(at);
        }
        if v.period_ns != 0 && !v.is_blocked() && crate::sched::is_current(v) && v.is_online() {
            earliest(v.periodic_next);
        }
    });
    match next {
        Some(at) => apic::timer_oneshot_ns(at.saturating_sub(now_ns()).max(1_000)),
        None => apic::timer_stop(),
    }
}

/// Expire `v`'s due timers, raising `VIRQ_TIMER` (which wakes it). The
/// periodic timer only counts while `v` runs: a tick missed meanwhile is
/// delivered once when it runs again, as on Xen.
pub fn expire(v: &mut Vcpu) {
    let now = now_ns();
    let mut fire = false;
    if v.is_polling() && v.poll_deadline.is_some_and(|at| at <= now) {
        crate::sched::unblock(v);
    }
    if v.singleshot.is_some_and(|at| at <= now) {
        v.singleshot = None;
        fire = true;
    }
    let running = crate::sched::is_current(v) && !v.is_blocked();
    if running && v.period_ns != 0 && v.periodic_next <= now {
        let missed = (now - v.periodic_next) / v.period_ns + 1;
        v.periodic_next += missed * v.period_ns;
        fire = true;
    }
    if fire {
        let port = v.domain.evtchn.lock().virq_port_on(VIRQ_TIMER, v.vcpu_id);
        if let Some(p) = port {
            crate::hypercall::event_channel::notify(v.domain, p);
        }
    }
}

/// Set by the timer interrupt; timers are expired where no vCPU is
/// borrowed (on the way back to a guest, or while idle).
static TIMER_DUE: [core::sync::atomic::AtomicBool; crate::arch::x86_64::cpu::MAX_CPUS] =
    [const { core::sync::atomic::AtomicBool::new(false) }; crate::arch::x86_64::cpu::MAX_CPUS];

/// The timer interrupt: note that timers are due on this CPU.
pub fn interrupt() {
    TIMER_DUE[crate::arch::x86_64::cpu::this_cpu().cpu_id as usize].store(true, Ordering::Release);
}

/// If the timer interrupt fired: expire every vCPU's due timers, end the
/// running vCPU's slice if it is over, and re-arm.
pub fn run_pending() {
    if TIMER_DUE[crate::arch::x86_64::cpu::this_cpu().cpu_id as usize].swap(false, Ordering::AcqRel) {
        crate::sched::for_each_vcpu_here(expire);
        crate::sched::tick(now_ns());
        reprogram();
    }
}

/// Set the one-shot timer (absolute system time; `None` stops it).
pub fn set_singleshot(v: &mut Vcpu, at: Option<u64>) {
    v.singleshot = at;
    expire(v);
    reprogram();
}

/// Set the periodic timer (0 stops it).
pub fn set_periodic(v: &mut Vcpu, period_ns: u64) {
    v.period_ns = period_ns;
    v.periodic_next = now_ns() + period_ns;
    expire(v);
    reprogram();
}

/// A far-future or negative `set_timer_op` timeout fires 100 ms from now,
/// as on Xen.
pub fn sanitize(timeout: u64) -> u64 {
    let now = now_ns();
    if (timeout as i64) < 0 || timeout.saturating_sub(now) >> 50 != 0 {
        now + 100 * NS_PER_SEC / 1000
    } else {
        timeout
    }
}

/// Copy `v`'s `vcpu_time_info` into the guest's secondary time area
/// (`VCPUOP_register_vcpu_time_memory_area`), if it has one: the version
/// is made odd while the copy is written, then even, as readers expect.
pub fn update_time_area(v: &Vcpu) {
    use crate::arch::x86_64::uaccess::write_guest;
    let (addr, Some(vi)) = (v.time_area, v.vcpu_info()) else { return };
    // A guest virtual address: only reachable in the vCPU's own address
    // space (it is refreshed whenever the vCPU's time is republished).
    if addr == 0 || !v.kernel_mode || !crate::sched::is_current(v) {
        return;
    }
    let mut t = vi.time;
    let version = t.version | 1;
    t.version = version;
    // A guest that unmapped its area only loses the update (as on Xen).
    let _ = write_guest(addr, &t);
    core::sync::atomic::fence(Ordering::SeqCst);
    let _ = write_guest(addr, &version.wrapping_add(1));
}
