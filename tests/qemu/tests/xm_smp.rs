//! Four CPUs, on Xen 4.17 and on ours (one test body, the two machines
//! side by side): Linux dom0 gets a vCPU per CPU, a 4-vCPU Linux domU
//! brings all four up and keeps them busy with a parallel workload, and a
//! vCPU pinned to one CPU is only ever seen there while the others run;
//! `xm vcpu-set` takes two of its vCPUs down and brings them back.
//! Then an IPI storm: a 2-vCPU `domu` (`extra='ipistorm'`) whose vCPUs
//! send each other event-channel IPIs as fast as they can, each waiting
//! for the answer with `SCHEDOP_block`. While it runs, the Linux domU's
//! counting loop keeps advancing, dom0's `xm list` and a shell loop
//! finish within the ordinary command timeout, and the storm's round-trip
//! counts advance on both of its vCPUs; destroying it gives back its
//! memory. No speed is asserted (`cargo xtask bench --only ipi` measures).
//!
//! Without Debian's archive the test prints `SKIPPED: ...` and passes.

use std::time::{Duration, Instant};

use qemu_tests::ipistorm::{self, Progress};
use qemu_tests::linux_dom0::{boot_host_or_skip, machine, Host, LinuxDom0, LINUX_DOMU_READY};
use qemu_tests::qemu::Machine;

const CAT_LOG: &str = "tr -d '\\033\\r' < /var/log/xen/console/guest-linux1.log; echo";

/// Poll `cmd` until its output contains `want`.
fn wait_for(sys: &mut LinuxDom0, cmd: &str, want: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let out = sys.sh_guest(cmd).stdout;
        if out.contains(want) {
            return out;
        }
        assert!(Instant::now() < deadline, "{cmd} never showed {want:?}; last output:\n{out}");
        sys.settle(Duration::from_secs(2));
    }
}

/// `(cpu, seconds)` of each of linux1's vCPUs.
fn vcpus(sys: &mut LinuxDom0) -> Vec<(String, f64)> {
    let l = sys.sh_ok("xm vcpu-list linux1 | awk 'NR > 1 {print $4, $6}'");
    l.lines()
        .map(|v| {
            let (cpu, t) = v.split_once(' ').unwrap();
            (cpu.to_string(), t.parse().unwrap())
        })
        .collect()
}

fn four_cpus(host: Host) {
    let Some(mut sys) = boot_host_or_skip(host, &Machine { smp: 4, ..machine() }) else { return };
    let h = host.name();
    let free0 = sys.xm_free_mib();
    assert_eq!(sys.sh_ok("grep -c ^processor /proc/cpuinfo").trim(), "4", "{h}: dom0's CPUs");
    assert_eq!(sys.sh_ok("xm vcpu-list Domain-0 | grep -c '^Domain-0'").trim(), "4");

    let o = sys.sh_ok("xm create /etc/xen/linux.cfg vcpus=4");
    assert!(o.starts_with("Started domain linux1"), "{o}");
    let log = wait_for(&mut sys, CAT_LOG, LINUX_DOMU_READY, 300);
    assert!(log.contains("smp: Brought up 1 node, 4 CPUs"), "{h}: {log}");

    // vCPU 0 on CPU 2 only; the workload keeps all four busy.
    sys.sh_ok("xm vcpu-pin linux1 0 2");
    let before = vcpus(&mut sys);
    sys.sh_ok(
        "(sleep 2; echo 'for i in 1 2 3 4; do (n=0; while [ $n -lt 30000 ]; do n=$((n+1)); done) & done; wait; \
         echo Q$(grep -c ^processor /proc/cpuinfo)$((6*7))'; sleep 2) | timeout 10 xm console linux1 >/dev/null; true",
    );
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(400);
    loop {
        seen.push(vcpus(&mut sys)[0].0.clone());
        if sys.sh_guest(CAT_LOG).stdout.contains("Q442") {
            break;
        }
        assert!(Instant::now() < deadline, "{h}: the parallel workload did not finish");
        sys.settle(Duration::from_secs(2));
    }
    let after = vcpus(&mut sys);
    eprintln!("{h}: vCPU (cpu, seconds) before and after the workload: {before:?} {after:?}; vCPU 0 seen on {seen:?}");
    assert!(!seen.is_empty() && seen.iter().all(|c| c == "2"), "{h}: vCPU 0 ran off CPU 2: {seen:?}");
    assert!(after.iter().zip(&before).all(|(a, b)| a.1 - b.1 >= 0.3), "{h}: {before:?} -> {after:?}");

    // vCPU hot-unplug and back (`xm vcpu-set`): Linux takes CPUs 2 and 3
    // down (each vCPU calls VCPUOP_down on itself), then up again, where
    // each goes on from its VCPUOP_down.
    sys.sh_ok("xm vcpu-set linux1 2");
    // `VCPU` and `State` of each: "0-b- 1r-- 2--- 3---" (down is `---`).
    let states = "xm vcpu-list linux1 | awk 'NR > 1 {print $3 $5}' | tr '\\n' ' '; echo";
    let s = wait_for(&mut sys, states, "2--- 3---", 120);
    assert!(!s.contains("0---") && !s.contains("1---"), "{h}: vCPUs after vcpu-set 2: {s}");
    // Linux makes the vCPUs present again; onlining them is userspace's
    // (udev's) job, done here by hand.
    sys.sh_ok("xm vcpu-set linux1 4");
    let online = "(sleep 2; echo 'for c in 2 3; do echo 1 > /sys/devices/system/cpu/cpu$c/online; done; \
                  echo ON$(cat /sys/devices/system/cpu/online)NO'; sleep 4) | timeout 10 xm console linux1 >/dev/null; \
                  tr -d '\\033\\r' < /var/log/xen/console/guest-linux1.log | grep -o 'ON[0-9,-]*NO' | tail -1";
    wait_for(&mut sys, online, "ON0-3NO", 120);
    let up = vcpus(&mut sys);
    assert!(up.iter().all(|(cpu, _)| cpu != "-"), "{h}: vCPUs after vcpu-set 4: {up:?}");

    ipi_storm_beside_linux(&mut sys, h);

    sys.sh_ok("xm destroy linux1");
    assert_eq!(sys.xm_names(), ["Domain-0"]);
    assert_eq!(sys.xm_free_mib(), free0);
    sys.shutdown().unwrap();
}

/// The round trips of each storm vCPU in its last progress line.
fn storm_trips(log: &str) -> Option<(u64, u64)> {
    Progress::all(log).last().map(|p| (p.vcpu0, p.vcpu1))
}

/// The largest `STORMTICK<n>` the Linux domU printed so far.
fn linux_ticks(sys: &mut LinuxDom0) -> u64 {
    let log = sys.sh_guest(CAT_LOG).stdout;
    log.lines().filter_map(|l| l.trim().strip_prefix("STORMTICK")?.parse().ok()).max().unwrap_or(0)
}

/// A 2-vCPU IPI storm beside the 4-vCPU Linux domU: everyone else keeps
/// going, the storm runs on both vCPUs, and its memory comes back.
fn ipi_storm_beside_linux(sys: &mut LinuxDom0, h: &str) {
    let started = Instant::now();
    let free = sys.xm_free_mib();
    // The Linux domU counts, printing its progress every 2000 steps.
    sys.sh_ok(
        "(sleep 2; echo '(n=0; while [ $n -lt 400000 ]; do n=$((n+1)); \
         [ $((n % 2000)) = 0 ] && echo STORMTICK$n; done) &'; sleep 2) | timeout 10 xm console linux1 >/dev/null; true",
    );
    let o = sys.sh_ok("xm create /etc/xen/ipistorm.cfg");
    assert!(o.starts_with("Started domain storm"), "{o}");
    let log = wait_for(sys, &ipistorm::log_cmd(ipistorm::NAME), ipistorm::LINE, 120);
    assert!(log.contains("vCPU 1 up, IPI ports"), "{h}: {log}");
    let first = storm_trips(&log).unwrap_or_else(|| panic!("{h}: no storm counts in {log}"));
    let ticks0 = linux_ticks(sys);

    // dom0 answers meanwhile (each within the ordinary command timeout).
    let list = sys.sh_ok("xm list");
    assert!(list.contains("storm") && list.contains("linux1"), "{h}: {list}");
    let o = sys.sh_ok("i=0; while [ $i -lt 3000 ]; do i=$((i+1)); done; echo loop $i");
    assert!(o.contains("loop 3000"), "{h}: {o}");
    let v = sys.sh_ok("xm vcpu-list storm | awk 'NR > 1 {print $3, $4, $5}'");
    assert_eq!(v.lines().count(), 2, "{h}: the storm's vCPUs: {v}");
    sys.settle(Duration::from_secs(4));

    let log = wait_for(sys, &ipistorm::log_cmd(ipistorm::NAME), ipistorm::LINE, 60);
    let last = storm_trips(&log).unwrap_or_else(|| panic!("{h}: no storm counts in {log}"));
    let ticks1 = linux_ticks(sys);
    eprintln!(
        "{h}: storm round trips {first:?} -> {last:?}; Linux domU count {ticks0} -> {ticks1}; storm (vCPU, CPU, state) {v:?}"
    );
    assert!(last.0 > first.0 && last.1 > first.1, "{h}: the storm stalled: {first:?} -> {last:?}
{log}");
    assert!(ticks1 > ticks0, "{h}: the Linux domU made no progress beside the storm ({ticks0} -> {ticks1})");

    sys.sh_ok("xm destroy storm");
    assert!(!sys.xm_names().iter().any(|n| n == "storm"), "{h}: storm still listed");
    assert_eq!(sys.xm_free_mib(), free, "{h}: the storm's memory did not come back");
    eprintln!("{h}: the IPI storm step took {:.1?}", started.elapsed());
}

#[test]
fn linux_dom0_and_domu_on_four_cpus() {
    let xen = std::thread::spawn(|| four_cpus(Host::Xen));
    let ours = std::thread::spawn(|| four_cpus(Host::Ours));
    let (xen, ours) = (xen.join(), ours.join());
    ours.unwrap_or_else(|e| std::panic::resume_unwind(e));
    xen.unwrap_or_else(|e| std::panic::resume_unwind(e));
}
