//! Debian's Linux kernel (a bzImage, xz-compressed) as a PV domU under
//! Debian's Linux as PV dom0 with our `xm`, `xenstored` and `xenconsoled`,
//! on two CPUs, on Xen 4.17 and on our hypervisor: one test body, one boot
//! per hypervisor. dom0 and the domU have two vCPUs each (on ours they
//! share CPU 0).
//!
//! * `xm create` of `/etc/xen/linux.cfg` (`kernel = '/boot/vmlinuz'`, a
//!   busybox ramdisk, `extra = 'console=hvc0'`): the guest's `/init` prints
//!   its ready line on hvc0, into xenconsoled's log;
//! * its shell answers through `xm console`: `echo L$((6*7))` gives `L42`;
//! * `xm reboot`: Linux reboots, xenconsoled builds it again, its shell
//!   answers again;
//! * `xm vcpu-pin` and `xm vcpu-list` (hard affinity through
//!   `XEN_DOMCTL_setvcpuaffinity`/`getvcpuaffinity`): a vCPU pinned to
//!   CPU 1 is seen running there;
//! * `xm shutdown -w`: Linux powers off on `control/shutdown`, the domain is
//!   gone and the host's free memory is back.
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.

use std::time::{Duration, Instant};

use qemu_tests::linux_dom0::{
    boot_host_or_skip, machine, Host, LinuxDom0, LINUX_DOMU_READY, XENCONSOLED_LOG, XENSTORED_LOG,
};
use qemu_tests::qemu::Machine;

/// The guest's console log kept by xenconsoled.
const LOG: &str = "/var/log/xen/console/guest-linux1.log";
/// The log, printable: without the shell's escape sequences (`ESC[6n`
/// would be answered by a terminal) and ending in a newline (the prompt
/// has none, and the driver's markers must start their lines).
const CAT_LOG: &str = "tr -d '\\033\\r' < /var/log/xen/console/guest-linux1.log; echo";


/// Poll `cmd` until its output contains `want` (at most `secs` seconds).
fn wait_for(sys: &mut LinuxDom0, cmd: &str, want: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::new();
    while Instant::now() < deadline {
        last = sys.sh_guest(cmd).stdout;
        if last.contains(want) {
            return last;
        }
        sys.settle(Duration::from_secs(2));
    }
    let logs = sys.sh_guest(&format!("xm list; cat {LOG} {XENCONSOLED_LOG}")).stdout;
    panic!("{cmd} never showed {want:?}; last output:\n{last}\nlogs:\n{logs}\nserial:\n{}", sys.log());
}

/// CPU seconds of each of linux1's vCPUs (`xm vcpu-list`).
fn vcpu_times(sys: &mut LinuxDom0) -> Vec<f64> {
    let l = sys.sh_ok("xm vcpu-list linux1 | awk 'NR > 1 {print $6}'");
    l.split_whitespace().map(|t| t.parse().unwrap()).collect()
}

#[test]
fn linux_domu_on_xen() {
    linux_domu(Host::Xen);
}

#[test]
fn linux_domu_on_ours() {
    linux_domu(Host::Ours);
}

fn linux_domu(host: Host) {
    // dom0 has two vCPUs on both: one per CPU by default.
    let Some(mut sys) = boot_host_or_skip(host, &Machine { smp: 2, ..machine() }) else { return };
    assert_eq!(sys.sh_ok("grep -c ^processor /proc/cpuinfo").trim(), "2", "dom0's CPUs");
    assert_eq!(sys.sh_ok("xm vcpu-list Domain-0 | grep -c '^Domain-0'").trim(), "2");
    let free0 = sys.xm_free_mib();
    let names0 = sys.xm_names();
    assert_eq!(names0, ["Domain-0"]);

    // Create: the bzImage is unpacked by xm's builder.
    let start = Instant::now();
    let o = sys.sh_ok("xm create /etc/xen/linux.cfg");
    assert!(o.starts_with("Started domain linux1 (id="), "{o}");
    eprintln!("xm create took {:.1?}", start.elapsed());
    let log = wait_for(&mut sys, CAT_LOG, LINUX_DOMU_READY, 240);
    eprintln!("Linux domU ready after {:.1?}", start.elapsed());
    assert!(log.contains("Booting kernel on Xen") || log.contains("Linux version"), "{log}");

    // Its shell, through xm console.
    let con = sys.sh_ok("(sleep 2; echo 'echo L$((6*7))'; sleep 4) | timeout 10 xm console linux1 | tr -d '\\033\\r'; echo");
    assert!(con.lines().any(|l| l.trim() == "L42"), "{con}");
    let log = sys.sh_ok(CAT_LOG);
    assert!(log.contains("L42"), "{log}");

    // Two vCPUs: Linux brings its second up (VCPUOP_initialise/up) and a
    // parallel workload keeps both busy.
    assert!(log.contains("smp: Brought up 1 node, 2 CPUs"), "{log}");
    let before = vcpu_times(&mut sys);
    sys.sh_ok(
        "(sleep 2; echo 'for i in 1 2; do (n=0; while [ $n -lt 20000 ]; do n=$((n+1)); done) & done; wait; \
         echo P$(grep -c ^processor /proc/cpuinfo)$((6*7))'; sleep 2) | timeout 10 xm console linux1 >/dev/null; true",
    );
    wait_for(&mut sys, CAT_LOG, "P242", 240);
    let after = vcpu_times(&mut sys);
    eprintln!("vCPU times before and after the parallel workload: {before:?} {after:?}");
    assert!(after.iter().zip(&before).all(|(a, b)| a - b >= 0.3), "{before:?} -> {after:?}");

    // Reboot: Linux reboots on control/shutdown = reboot and xenconsoled
    // builds it again (on_reboot defaults to restart) under a new id.
    let id0 = sys.sh_ok("xm domid linux1");
    sys.sh_ok("xm reboot linux1");
    let again = "[ $(grep -c LINUX-DOMU-READY /var/log/xen/console/guest-linux1.log) -ge 2 ] && echo rebooted";
    wait_for(&mut sys, again, "rebooted", 240);
    let id1 = sys.sh_ok("xm domid linux1");
    assert!(sys.sh_ok(CAT_LOG).contains("domu: rebooting"));
    assert_ne!(id0, id1);
    let log = sys.sh_ok(&format!("cat {XENCONSOLED_LOG}"));
    assert!(log.contains(&format!("domain {} stopped; restarted as domain {}", id0.trim(), id1.trim())), "{log}");
    let con = sys.sh_ok("(sleep 2; echo 'echo R$((6*7))'; sleep 4) | timeout 10 xm console linux1 | tr -d '\\033\\r'; echo");
    assert!(con.lines().any(|l| l.trim() == "R42"), "{con}");

    // Save and restore: Linux suspends on control/shutdown = suspend, xm
    // writes the image and destroys the domain; the restored guest's shell
    // answers again.
    let o = sys.run_for("xm save linux1 /tmp/linux1.save", Duration::from_secs(600)).unwrap();
    assert_eq!(o.exit_code, 0, "{o:?}");
    assert!(!sys.xm_names().contains(&"linux1".to_string()));
    let o = sys.run_for("xm restore /tmp/linux1.save", Duration::from_secs(600)).unwrap();
    assert_eq!(o.exit_code, 0, "{o:?}");
    sys.sh_ok("rm /tmp/linux1.save");
    let con = sys.sh_ok("(sleep 2; echo 'echo S$((6*7))'; sleep 4) | timeout 10 xm console linux1 | tr -d '\\033\\r'; echo");
    assert!(con.lines().any(|l| l.trim() == "S42"), "{con}");

    // Pinning: vcpu 0 to cpu 1, where it then runs, then back to any cpu.
    sys.sh_ok("xm vcpu-pin linux1 0 1");
    let l = sys.sh_ok("xm vcpu-list linux1");
    assert!(l.lines().nth(1).is_some_and(|v| v.ends_with(" 1")), "{l}");
    let l = wait_for(&mut sys, "xm vcpu-list linux1 | awk 'NR==2 {print \"on-cpu\" $4}'", "on-cpu1", 20);
    assert_eq!(l, "on-cpu1\n");
    sys.sh_ok("xm vcpu-pin linux1 all all");
    let l = sys.sh_ok("xm vcpu-list");
    assert!(l.lines().skip(1).all(|v| v.ends_with(" any cpu")), "{l}");
    let o = sys.sh_guest("xm vcpu-pin linux1 0 5");
    assert_eq!((o.exit_code, o.stderr.trim()), (1, "xm: cpu 5 does not exist (the host has cpus 0-1)"), "{o:?}");

    // Shutdown: Linux powers off on control/shutdown.
    sys.sh_ok("xm shutdown -w linux1");
    let log = sys.sh_ok(&format!("({CAT_LOG}) | tail -5"));
    // Without pm_power_off a PV domU halts: xen_machine_halt is
    // SCHEDOP_shutdown(poweroff).
    assert!(log.contains("domu: powering off") && log.contains("reboot: System halted"), "{log}");
    assert_eq!(sys.xm_names(), names0);
    assert_eq!(sys.xm_free_mib(), free0);

    let log = sys.sh_ok(&format!("cat {XENSTORED_LOG}"));
    assert!(!log.contains("WARN"), "xenstored warned:\n{log}");
    sys.shutdown().unwrap();
}
