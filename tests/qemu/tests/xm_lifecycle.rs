//! A domU's life under Debian's Linux as PV dom0 with our `xm`,
//! `xenstored` and `xenconsoled`, on Xen 4.17 and on our hypervisor: one
//! test body, one boot per hypervisor; a difference is a bug on our side.
//!
//! * bad configurations (missing kernel, not a PV ELF, more memory than
//!   free, duplicate name) fail with one clear line and leave nothing
//!   behind (`xm list` and free memory unchanged);
//! * `xm create` of the `domu` test kernel: listed with state and time, its
//!   xenstore nodes and permissions, its console output in the log and
//!   through `xm console`, console input echoed;
//! * pause, unpause, `mem-set`, `vcpu-set`, `shutdown -w`: the domain is
//!   gone and the host's free memory is back;
//! * `on_crash = 'restart'`: a guest that crashes comes back under a new id,
//!   and when that one crashes within a minute it is destroyed (the restart
//!   rate limit);
//! * [`qemu_tests::linux_dom0::measure_domu_times`] (the bench's numbers).
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.

use std::time::Duration;

use qemu_tests::linux_dom0::{boot_host_or_skip, machine, Host, LinuxDom0, XENCONSOLED_LOG, XENSTORED_LOG};

/// The domain id in `xm create`'s `Started domain NAME (id=N)`.
fn started_id(stdout: &str) -> u16 {
    let line = stdout.lines().find(|l| l.starts_with("Started domain ")).unwrap_or_else(|| panic!("{stdout}"));
    line.trim_end_matches(')').rsplit('=').next().unwrap().parse().unwrap()
}

/// Poll `cmd` until its output contains `want` (at most `tries` seconds).
fn wait_for(sys: &mut LinuxDom0, cmd: &str, want: &str, tries: u32) -> String {
    let mut last = String::new();
    for _ in 0..tries {
        last = sys.sh_guest(cmd).stdout;
        if last.contains(want) {
            return last;
        }
        sys.settle(Duration::from_secs(1));
    }
    let logs = sys.sh_guest(&format!("xm list; cat /var/log/xen/console/*.log {XENCONSOLED_LOG} {XENSTORED_LOG}")).stdout;
    panic!("{cmd} never showed {want:?}; last output:\n{last}\nlogs:\n{logs}");
}

#[test]
fn xm_lifecycle_on_xen() {
    lifecycle(Host::Xen);
}

#[test]
fn xm_lifecycle_on_ours() {
    lifecycle(Host::Ours);
}

fn lifecycle(host: Host) {
    let Some(mut sys) = boot_host_or_skip(host, &machine()) else { return };
    sys.sh_ok(&format!("cat {XENCONSOLED_LOG}"));
    let free0 = sys.xm_free_mib();
    let names0 = sys.xm_names();
    assert_eq!(names0, ["Domain-0"]);

    // Bad configurations: one line each, nothing left behind.
    for (cfg, want) in [
        ("nokernel", "kernel image '/nonexistent/vmlinuz' not found"),
        ("notelf", "is not a Xen PV kernel"),
        ("huge", "not enough free memory for domain 'huge'"),
    ] {
        let o = sys.sh_guest(&format!("xm create /etc/xen/{cfg}.cfg"));
        assert_eq!(o.exit_code, 1, "{o:?}");
        assert!(o.stderr.contains(want) && o.stderr.lines().count() == 1, "{cfg}: {o:?}");
        assert_eq!(sys.xm_names(), names0);
    }
    assert_eq!(sys.xm_free_mib(), free0);

    // Create.
    let o = sys.sh_ok("xm create /etc/xen/domu.cfg");
    assert!(o.starts_with("Started domain domu1 (id="), "{o}");
    let id = started_id(&o);
    let log = wait_for(&mut sys, "cat /var/log/xen/console/guest-domu1.log", "domu: ready", 30);
    assert!(log.contains("domu: console ring"), "{log}");
    assert!(log.contains(&format!("domu: domid {id}")), "{log}");
    assert!(log.contains("domu: name domu1"), "{log}");
    // domctl, sysctl and the hypervisor console are the control domain's.
    assert!(log.contains("domu: privileged ops -1 -1 -1 -1"), "{log}");
    assert!(log.contains("domu: cmdline hello"), "{log}");
    assert!(log.contains("domu: watching control/shutdown (ok)"), "{log}");

    let list = sys.sh_ok("xm list domu1");
    let f: Vec<&str> = list.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(&f[..4], ["domu1", &id.to_string(), "32", "1"], "{list}");
    assert!(f[4].len() == 6 && !f[4].contains('p'), "{list}");
    let _time: f64 = f[5].parse().unwrap();
    // Its uptime, from the start time xm keeps in xenstore (H:MM:SS).
    let up = sys.sh_ok("xm uptime domu1");
    let up = up.lines().nth(1).unwrap().split_whitespace().last().unwrap().to_string();
    assert!(up.len() >= 7 && up.split(':').count() == 3, "{up}");

    let ls = sys.sh_ok(&format!("xenstore-ls -p /local/domain/{id}"));
    assert!(ls.lines().any(|l| l.starts_with("name = \"domu1\"") && l.ends_with(&format!("(n0,r{id})"))), "{ls}");
    assert!(ls.lines().any(|l| l.trim_start().starts_with("shutdown = \"\"") && l.ends_with(&format!("(n{id})"))), "{ls}");
    assert!(ls.contains("ring-ref") && ls.contains("static-max"), "{ls}");
    let vm = sys.sh_ok(&format!("xenstore-read /local/domain/{id}/vm"));
    assert_eq!(sys.sh_ok(&format!("xenstore-read {}/on_crash", vm.trim())), "restart\n");

    // Duplicate name.
    let o = sys.sh_guest("xm create /etc/xen/domu.cfg");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.stderr.contains(&format!("domain name 'domu1' is already in use by domain {id}")), "{o:?}");

    // The console: replayed output and input echoed.
    let con = sys.sh_ok("(sleep 2; echo typed-line; sleep 3) | timeout 8 xm console domu1; true");
    assert!(con.contains("domu: ready") && con.contains("domu: input typed-line"), "{con}");

    // Pause, unpause, memory and vcpus.
    sys.sh_ok("xm pause domu1");
    assert!(sys.sh_ok("xm list domu1").lines().nth(1).unwrap().contains("--p---"));
    sys.sh_ok("xm unpause domu1");
    assert!(!sys.sh_ok("xm list domu1").lines().nth(1).unwrap().contains('p'));
    sys.sh_ok("xm mem-set domu1 24");
    assert_eq!(sys.sh_ok(&format!("xenstore-read /local/domain/{id}/memory/target")), "24576\n");
    sys.sh_ok("xm mem-max domu1 48");
    assert_eq!(sys.sh_guest("xm vcpu-set domu1 4").exit_code, 1);

    // Shutdown.
    sys.sh_ok("xm shutdown -w domu1");
    let log = sys.sh_ok("cat /var/log/xen/console/guest-domu1.log");
    assert!(log.contains("domu: shutdown request: poweroff"), "{log}");
    assert_eq!(sys.xm_names(), names0);
    assert_eq!(sys.sh_guest(&format!("xenstore-exists /local/domain/{id}")).exit_code, 1);
    assert_eq!(sys.xm_free_mib(), free0);

    // on_crash = 'restart'.
    let o = sys.sh_ok("xm create /etc/xen/crashy.cfg");
    let first = started_id(&o);
    let log = wait_for(&mut sys, &format!("cat {XENCONSOLED_LOG}"), &format!("domain {first} stopped; restarted"), 60);
    assert!(log.contains("restarted as domain"), "{log}");
    // The restarted incarnation crashes at once too: within the restart
    // rate limit, so it is destroyed instead of restarted again.
    let second = log.lines().find_map(|l| l.split("restarted as domain ").nth(1)).unwrap().trim().to_string();
    wait_for(&mut sys, &format!("cat {XENCONSOLED_LOG}"), &format!("domain {second} stopped less than 60 s after its restart"), 60);
    sys.sh_ok("grep -q 'crashing as asked' /var/log/xen/console/guest-crashy.log");
    sys.sh_ok("xm list");
    // Destroy whichever incarnation is current (it may be restarting).
    for _ in 0..10 {
        if sys.sh_guest("xm destroy crashy").exit_code != 0 && !sys.xm_names().contains(&"crashy".to_string()) {
            break;
        }
        sys.settle(Duration::from_millis(500));
    }
    for _ in 0..20 {
        if sys.xm_names() == names0 {
            break;
        }
        sys.settle(Duration::from_millis(500));
    }
    assert_eq!(sys.xm_names(), names0);
    assert_eq!(sys.xm_free_mib(), free0);

    // The bench measurement runs here too (it must keep working).
    let times = qemu_tests::linux_dom0::measure_domu_times(&mut sys).unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("create to first console line {:?}, destroy {:?}", times.create_to_first_line, times.destroy);
    for _ in 0..20 {
        if sys.xm_names() == names0 {
            break;
        }
        sys.settle(Duration::from_millis(500));
    }
    assert_eq!(sys.xm_names(), names0);

    let log = sys.sh_ok(&format!("cat {XENSTORED_LOG}"));
    assert!(!log.contains("WARN"), "xenstored warned:\n{log}");
    sys.shutdown().unwrap();
}
