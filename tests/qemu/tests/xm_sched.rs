//! The credit scheduler sharing one CPU, on Xen 4.17 (`sched=credit`) and
//! on our hypervisor: one test body, both machines booted side by side
//! (one CPU each, Linux dom0, our toolstack).
//!
//! One CPU, because credit1 shares out credit for the whole pool: on a
//! two-CPU Xen, two domUs pinned to one CPU earn two CPUs' worth between
//! them, are never in debt, and split their CPU 1:1 whatever their weights
//! (measured: 14.0 s and 14.5 s with weights 256 and 512).
//!
//! Two CPU-bound domUs (the `domu` test kernel with `spin`: it never
//! yields) are pinned to CPU 0, where they compete (with dom0, which
//! mostly sleeps meanwhile):
//!
//! * weights 256 and 512 (`xm sched-credit -w`): their CPU times over a
//!   measured window are in a 1:2 ratio within 10 % on ours (Xen's, about
//!   9 % off, is held to 25 %);
//! * the pinned vCPUs are seen on CPU 0 only (`xm vcpu-list`) meanwhile;
//! * cap 25 (`xm sched-credit -c 25`) on the one left alone: it gets at
//!   most 27 % of a CPU on ours (Xen's, seen at 27.6 %, is held to 30 %),
//!   and is not starved (at least 15 %);
//! * both shut down, free memory back where it was.
//!
//! The measured numbers are printed as `sched: ...` lines (the bench reads
//! the same measurement). Without Debian's archive the test prints
//! `SKIPPED: ...` and passes.

use std::time::Duration;

use qemu_tests::linux_dom0::{boot_host_or_skip, machine, Host};
use qemu_tests::sched::{fairness_error, measure, weighted_pair};

fn shares(host: Host) -> Option<String> {
    let mut sys = boot_host_or_skip(host, &machine())?;
    let h = host.name();
    let free0 = sys.xm_free_mib();
    let pair = weighted_pair(&mut sys).unwrap();
    let o = sys.sh_ok("xm sched-credit -d spinB");
    assert!(o.contains("512"), "{o}");
    let (t, wall, placed) = (&pair.cpu, pair.wall, &pair.placements);
    let ratio = t[1] / t[0];
    let error = fairness_error(&pair);
    println!("sched: {h}: weights 256:512 over {wall:.1} s: {:.2} s and {:.2} s of CPU, ratio {ratio:.3}, fairness error {:.1} %", t[0], t[1], error * 100.0);
    assert!(placed.len() >= 2, "no vcpu-list samples: {placed:?}");
    assert!(placed.iter().all(|l| l.ends_with(" 0")), "{h}: a pinned vCPU ran off CPU 0: {placed:?}");
    // Ours must be within 10 %. Xen's own credit1 is measured for the
    // bench, and only held to weights mattering (within 25 %): its dom0,
    // boosted at each wake-up, takes its CPU from the domUs unevenly
    // (9.1 % off in the run this test was written with).
    let bound = if host == Host::Ours { 0.10 } else { 0.25 };
    assert!(error <= bound, "{h}: weights 256:512 gave {t:?} CPU seconds (ratio {ratio:.3})");
    // Both busy: together they had (nearly) the whole CPU.
    assert!(t[0] + t[1] > wall * 0.8, "{h}: {t:?} CPU seconds in {wall:.1} s");

    // A cap holds spinA alone on CPU 0 to a quarter of it.
    sys.sh_ok("xm destroy spinB");
    sys.sh_ok("xm sched-credit -d spinA -c 25");
    let o = sys.sh_ok("xm sched-credit -d spinA");
    assert!(o.contains(" 25"), "{o}");
    sys.settle(Duration::from_secs(1));
    let m = measure(&mut sys, &["spinA"]).unwrap();
    let (t, wall) = (&m.cpu, m.wall);
    let share = t[0] / wall;
    println!("sched: {h}: cap 25 alone over {wall:.1} s: {:.2} s of CPU, {:.1} %", t[0], share * 100.0);
    // Ours must stay at 27 %; Xen's credit1 overshoots a little (27.6 %
    // seen), held to 30 %.
    let cap_bound = if host == Host::Ours { 0.27 } else { 0.30 };
    assert!(share <= cap_bound, "{h}: cap 25 let spinA use {:.1} % of a CPU", share * 100.0);
    assert!(share >= 0.15, "{h}: cap 25 starved spinA: {:.1} % of a CPU", share * 100.0);
    // Without the cap it has the CPU again.
    sys.sh_ok("xm sched-credit -d spinA -c 0");
    sys.settle(Duration::from_secs(1));
    let m = measure(&mut sys, &["spinA"]).unwrap();
    let (t, wall) = (&m.cpu, m.wall);
    println!("sched: {h}: uncapped alone over {wall:.1} s: {:.1} %", t[0] / wall * 100.0);
    assert!(t[0] / wall > 0.8, "{h}: uncapped spinA got {t:?} CPU seconds in {wall:.1} s");

    sys.sh_ok("xm shutdown -w spinA");
    assert_eq!(sys.xm_names(), ["Domain-0"]);
    assert_eq!(sys.xm_free_mib(), free0);
    sys.shutdown().unwrap();
    Some(h.to_string())
}

#[test]
fn credit_weights_and_caps_on_xen_and_ours() {
    let xen = std::thread::spawn(|| shares(Host::Xen));
    let ours = std::thread::spawn(|| shares(Host::Ours));
    let (xen, ours) = (xen.join(), ours.join());
    ours.unwrap_or_else(|e| std::panic::resume_unwind(e));
    xen.unwrap_or_else(|e| std::panic::resume_unwind(e));
}
