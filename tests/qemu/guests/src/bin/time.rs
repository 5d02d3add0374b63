//! `time`: system time, wallclock and timers as a PV dom0 sees them: the
//! `vcpu_time_info` scale, monotonic system time, a plausible wallclock,
//! and `VIRQ_TIMER` events from `set_timer_op`, the one-shot and the
//! periodic vCPU timers (waited for with `SCHEDOP_block`), with the errors
//! for past deadlines, short periods and missing vCPUs.
#![no_std]
#![no_main]

use dom0_abi::event_channel::{EvtchnBindVirq, EVTCHNOP_bind_virq};
use dom0_abi::hypercall::{HYPERVISOR_event_channel_op, HYPERVISOR_sched_op, HYPERVISOR_set_timer_op, HYPERVISOR_vcpu_op};
use dom0_abi::sched::SCHEDOP_block;
use dom0_abi::vcpu::*;
use dom0_abi::xen::{SharedInfo, VcpuTimeInfo};
use pv_guests::events::take_events;
use pv_guests::fmt::yes_no;
use pv_guests::hypercall::{check, raw, XenResult};
use pv_guests::report::show;
use pv_guests::transcript::Transcript;
use pv_guests::StartInfo;

pv_guests::entry!(main);

const MS: u64 = 1_000_000;

fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// System time now, from vcpu_time_info (version-checked read).
fn now(shared: *const SharedInfo) -> u64 {
    loop {
        // SAFETY: our vcpu_info in the mapped shared_info page.
        let t: VcpuTimeInfo = unsafe { core::ptr::read_volatile(&raw const (*shared).vcpu_info[0].time) };
        let tsc = rdtsc();
        // SAFETY: as above.
        let again = unsafe { core::ptr::read_volatile(&raw const (*shared).vcpu_info[0].time.version) };
        if t.version & 1 == 0 && t.version == again {
            let delta = tsc.wrapping_sub(t.tsc_timestamp);
            let d = if t.tsc_shift >= 0 { delta << t.tsc_shift } else { delta >> -t.tsc_shift };
            return t.system_time + ((u128::from(d) * u128::from(t.tsc_to_system_mul)) >> 32) as u64;
        }
    }
}

fn vcpu_op<T>(cmd: u32, vcpu: u64, arg: *mut T) -> XenResult {
    // SAFETY: `arg` is the structure `cmd` reads (or null where none).
    check(unsafe { raw(HYPERVISOR_vcpu_op, u64::from(cmd), vcpu, arg as u64, 0, 0) })
}

fn set_timer(at: u64) -> XenResult {
    // SAFETY: set_timer_op takes an absolute time.
    check(unsafe { raw(HYPERVISOR_set_timer_op, at, 0, 0, 0, 0) })
}

fn block() -> XenResult {
    // SAFETY: SCHEDOP_block takes no argument.
    check(unsafe { raw(HYPERVISOR_sched_op, u64::from(SCHEDOP_block), 0, 0, 0, 0) })
}

/// Mask event delivery: an event raised before the next `block` stays
/// pending (block unmasks and returns at once), so a timer that fires
/// early cannot be consumed before block and leave it waiting forever.
fn mask(shared: *mut SharedInfo) {
    // SAFETY: our own vcpu_info slot in the mapped shared_info page.
    unsafe { core::ptr::write_volatile(&raw mut (*shared).vcpu_info[0].evtchn_upcall_mask, 1) };
}

fn main(si: &'static StartInfo) {
    let mut t = Transcript::begin("time");
    let (shared, r) = pv_guests::events::install(si).expect("shared_info maps");
    t.fact("register event callback", show(r));
    // SAFETY: reading the mapped shared_info.
    let (ti, wc_version, wc_sec) =
        unsafe { ((*shared).vcpu_info[0].time, (*shared).wc_version, u64::from((*shared).wc_sec)) };
    t.fact("vcpu_time_info version even", yes_no(ti.version & 1 == 0));
    t.fact("tsc_to_system_mul nonzero", yes_no(ti.tsc_to_system_mul != 0));
    t.specific("tsc_to_system_mul", ti.tsc_to_system_mul);
    t.specific("tsc_shift", ti.tsc_shift);
    t.specific("time flags", ti.flags);
    t.fact("wc_version even", yes_no(wc_version & 1 == 0));
    t.fact("wallclock after 2020", yes_no(wc_sec > 1_577_836_800));
    let mut last = now(shared);
    let mut monotonic = true;
    for _ in 0..1000 {
        let n = now(shared);
        monotonic &= n >= last;
        last = n;
    }
    t.fact("system time monotonic over 1000 reads", yes_no(monotonic));

    // Quiet the default periodic timer before binding VIRQ_TIMER.
    t.fact("stop_periodic_timer", show(vcpu_op::<u8>(VCPUOP_stop_periodic_timer, 0, core::ptr::null_mut())));
    let mut b = EvtchnBindVirq { virq: 0, vcpu: 0, port: 0 };
    // SAFETY: bind_virq reads and writes `b`.
    let r = check(unsafe { raw(HYPERVISOR_event_channel_op, u64::from(EVTCHNOP_bind_virq), &mut b as *mut _ as u64, 0, 0, 0) });
    t.fact("bind VIRQ_TIMER", show(r));
    t.fact("VIRQ_TIMER port", b.port);
    t.fact("events after binding", take_events());

    let start = now(shared);
    mask(shared);
    t.fact("set_timer_op in 2 ms", show(set_timer(start + 2 * MS)));
    t.fact("block", show(block()));
    t.fact("events after it", take_events());
    t.fact("slept at least 2 ms", yes_no(now(shared) >= start + 2 * MS));
    // A deadline already past fires at once: the event arrives on the way
    // back from the hypercall itself (blocking afterwards would wait for
    // another one).
    t.fact("set_timer_op in the past", show(set_timer(now(shared) - MS)));
    t.fact("events after it", take_events());
    t.fact("set_timer_op 0 (cancel)", show(set_timer(0)));

    let start = now(shared);
    let mut ss = VcpuSetSingleshotTimer { timeout_abs_ns: start + MS, flags: 0 };
    mask(shared);
    t.fact("set_singleshot_timer in 1 ms", show(vcpu_op(VCPUOP_set_singleshot_timer, 0, &mut ss)));
    t.fact("block", show(block()));
    t.fact("events after it", take_events());
    t.fact("slept at least 1 ms", yes_no(now(shared) >= start + MS));
    let mut past = VcpuSetSingleshotTimer { timeout_abs_ns: now(shared) - MS, flags: VCPU_SSHOTTMR_future };
    // Xen 4.17 ignores VCPU_SSHOTTMR_future: a past deadline fires at once.
    t.fact("set_singleshot_timer in the past, future flag", show(vcpu_op(VCPUOP_set_singleshot_timer, 0, &mut past)));
    t.fact("events after it", take_events());
    t.fact("set_singleshot_timer on vcpu 1", show(vcpu_op(VCPUOP_set_singleshot_timer, 1, &mut ss)));
    t.fact("stop_singleshot_timer", show(vcpu_op::<u8>(VCPUOP_stop_singleshot_timer, 0, core::ptr::null_mut())));
    t.fact("events after it", take_events());

    // The periodic timer ticks while the vCPU runs (it does not wake a
    // blocked one): spin for 12 periods and count the ticks.
    let mut p = VcpuSetPeriodicTimer { period_ns: 5 * MS };
    t.fact("set_periodic_timer 5 ms", show(vcpu_op(VCPUOP_set_periodic_timer, 0, &mut p)));
    let start = now(shared);
    while now(shared) < start + 60 * MS {
        core::hint::spin_loop();
    }
    t.fact("stop_periodic_timer", show(vcpu_op::<u8>(VCPUOP_stop_periodic_timer, 0, core::ptr::null_mut())));
    let ticks = take_events();
    t.fact("periodic ticks while spinning 60 ms: at least 4", yes_no(ticks.count() >= 4));
    t.specific("periodic ticks while spinning 60 ms", ticks.count());
    let mut short = VcpuSetPeriodicTimer { period_ns: 100_000 };
    t.fact("set_periodic_timer 100 us", show(vcpu_op(VCPUOP_set_periodic_timer, 0, &mut short)));
    t.fact("is_up vcpu 0", show(vcpu_op::<u8>(VCPUOP_is_up, 0, core::ptr::null_mut())));
    t.fact("is_up vcpu 1", show(vcpu_op::<u8>(VCPUOP_is_up, 1, core::ptr::null_mut())));
    t.fact("vcpu_op 99", show(vcpu_op::<u8>(99, 0, core::ptr::null_mut())));
    t.fact("events at the end", take_events());
    t.end();
}
