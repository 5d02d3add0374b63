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
//!   most 27 % of a CPU (and is not starved: at least 15 %);
//! * both shut down, free memory back where it was.
//!
//! The measured numbers are printed as `sched: ...` lines (the bench reads
//! the same measurement). Without Debian's archive the test prints
//! `SKIPPED: ...` and passes.

use std::time::Duration;

use qemu_tests::linux_dom0::{boot_host_or_skip, machine, Host, LinuxDom0};

/// How long each share is measured (guest seconds).
const WINDOW_S: u32 = 24;

/// CPU seconds of each domain in `names`, from `xm list`.
fn cpu_times(sys: &mut LinuxDom0, names: &[&str]) -> Vec<f64> {
    let list = sys.sh_ok("xm list");
    names
        .iter()
        .map(|n| {
            let line = list
                .lines()
                .find(|l| l.split_whitespace().next() == Some(n))
                .unwrap_or_else(|| panic!("{n} not in xm list:\n{list}"));
            line.split_whitespace().last().unwrap().parse().unwrap()
        })
        .collect()
}

/// The CPU seconds `names` use over `WINDOW_S` seconds, with the wall
/// seconds dom0 measured, checking meanwhile (every 3 s) which CPU each
/// of their vCPUs is on.
fn measure(sys: &mut LinuxDom0, names: &[&str]) -> (Vec<f64>, f64, Vec<String>) {
    let t0 = cpu_times(sys, names);
    let samples = WINDOW_S / 3;
    let filter = names.join("|");
    let o = sys.sh_ok(&format!(
        "s=$(cat /proc/uptime); for i in $(seq {samples}); do sleep 3; \
         xm vcpu-list | awk '$1 ~ /^({filter})$/ {{print $1, $4}}'; done; e=$(cat /proc/uptime); \
         echo wall ${{s%% *}} ${{e%% *}}"
    ));
    let t1 = cpu_times(sys, names);
    let wall_line = o.lines().find(|l| l.starts_with("wall ")).expect("no wall line");
    let w: Vec<f64> = wall_line.split_whitespace().skip(1).map(|x| x.parse().unwrap()).collect();
    let placements = o.lines().filter(|l| !l.starts_with("wall ")).map(str::to_string).collect();
    (t1.iter().zip(&t0).map(|(b, a)| b - a).collect(), w[1] - w[0], placements)
}

/// Create a spinning `domu` named `name`, pinned to CPU 0.
fn spinner(sys: &mut LinuxDom0, name: &str) {
    let o = sys.sh_ok(&format!("xm create /etc/xen/domu.cfg name={name} extra=spin"));
    assert!(o.starts_with(&format!("Started domain {name}")), "{o}");
    sys.sh_ok(&format!(
        "i=0; while ! grep -q 'domu: ready (spinning)' /var/log/xen/console/guest-{name}.log 2>/dev/null; do \
         i=$((i+1)); [ $i -gt 300 ] && exit 1; usleep 100000; done"
    ));
    sys.sh_ok(&format!("xm vcpu-pin {name} 0 0"));
}

fn shares(host: Host) -> Option<String> {
    let mut sys = boot_host_or_skip(host, &machine())?;
    let h = host.name();
    let free0 = sys.xm_free_mib();
    spinner(&mut sys, "spinA");
    spinner(&mut sys, "spinB");
    sys.sh_ok("xm sched-credit -d spinA -w 256");
    sys.sh_ok("xm sched-credit -d spinB -w 512");
    let o = sys.sh_ok("xm sched-credit -d spinB");
    assert!(o.contains("512"), "{o}");
    // Let an accounting period or two settle the new weights.
    sys.settle(Duration::from_secs(1));
    let (t, wall, placed) = measure(&mut sys, &["spinA", "spinB"]);
    let ratio = t[1] / t[0];
    let error = (ratio / 2.0 - 1.0).abs();
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
    let (t, wall, _) = measure(&mut sys, &["spinA"]);
    let share = t[0] / wall;
    println!("sched: {h}: cap 25 alone over {wall:.1} s: {:.2} s of CPU, {:.1} %", t[0], share * 100.0);
    assert!(share <= 0.27, "{h}: cap 25 let spinA use {:.1} % of a CPU", share * 100.0);
    assert!(share >= 0.15, "{h}: cap 25 starved spinA: {:.1} % of a CPU", share * 100.0);
    // Without the cap it has the CPU again.
    sys.sh_ok("xm sched-credit -d spinA -c 0");
    sys.settle(Duration::from_secs(1));
    let (t, wall, _) = measure(&mut sys, &["spinA"]);
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
