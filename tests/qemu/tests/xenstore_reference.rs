//! Our `xenstored` and `xenstore` client under Debian's Linux as PV dom0,
//! `/init` starting the static `xenstored` before the shell
//! ([`qemu_tests::linux_dom0`]), on Xen 4.17 and on ours: one test body,
//! one boot per hypervisor, running every check in turn:
//!
//! * the daemon came up and attached dom0's own xenbus ring;
//! * the client writes, reads, lists, removes, sets permissions and
//!   watches through the daemon's socket, with Xen's output formats;
//! * dom0's kernel is connected to the daemon: requests through
//!   `/dev/xen/xenbus` travel over the kernel's ring, and the kernel's own
//!   nodes (`control/feature-*`) appear under `/local/domain/0`;
//! * `xm list` takes dom0's name from xenstore.
//!
//! Permission checks can only be exercised as dom0 here (every connection
//! of this system is dom0's, and dom0 is privileged): ownership and ACLs
//! are set and read back, malformed ones refused; refusals to other
//! domains are covered by xenstored's host tests.
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.

use std::time::Duration;

use qemu_tests::linux_dom0::{boot_host_or_skip, machine, Host, LinuxDom0, XENSTORED_LOG};

/// Runs `cmd`, which must succeed, and returns its standard output.
fn ok(sys: &mut LinuxDom0, cmd: &str) -> String {
    let o = sys.sh(cmd);
    assert_eq!(o.exit_code, 0, "{cmd}: {o:?}");
    o.stdout
}

#[test]
fn xenstored_on_xen() {
    xenstored_on(Host::Xen);
}

#[test]
fn xenstored_on_ours() {
    xenstored_on(Host::Ours);
}

fn xenstored_on(host: Host) {
    let Some(mut sys) = boot_host_or_skip(host, &machine()) else { return };

    // The daemon is up, on its socket and on dom0's ring.
    let log = ok(&mut sys, &format!("cat {XENSTORED_LOG}"));
    assert!(log.contains("listening on /run/xenstored/socket"), "{log}");
    assert!(log.contains("domain 0: ring attached"), "dom0's ring was not attached:\n{log}");
    ok(&mut sys, "ls -l /proc/xen /dev/xen");
    assert_eq!(ok(&mut sys, "xenstore-read /local/domain/0/name /local/domain/0/domid"), "Domain-0\n0\n");

    // Writes, reads, lists, the tree.
    ok(&mut sys, "xenstore-write /test/a hello /test/b 'two words'");
    assert_eq!(ok(&mut sys, "xenstore-read -p /test/a /test/b"), "/test/a: hello\n/test/b: two words\n");
    assert_eq!(ok(&mut sys, "xenstore-list /test"), "a\nb\n");
    assert_eq!(ok(&mut sys, "xenstore ls /test"), "a = \"hello\"\nb = \"two words\"\n");
    let ls = ok(&mut sys, "xenstore-ls /local/domain/0");
    assert!(ls.lines().any(|l| l == "name = \"Domain-0\"") && ls.lines().any(|l| l == "domid = \"0\""), "{ls}");
    let o = sys.sh("xenstore-read /test/nonexistent");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.stderr.contains("couldn't read path /test/nonexistent") && o.stderr.contains("ENOENT"), "{o:?}");

    // Permissions: a node given to domain 5 with no access for others.
    ok(&mut sys, "xenstore-write /test/guest secret && xenstore-chmod /test/guest n5");
    assert_eq!(ok(&mut sys, "xenstore-getperms /test/guest"), "n5\n");
    let ls = ok(&mut sys, "xenstore-ls -p /test");
    assert!(ls.lines().any(|l| l.starts_with("guest = \"secret\"") && l.ends_with("  (n5)")), "{ls}");
    assert!(ls.lines().any(|l| l.starts_with("a = \"hello\"") && l.ends_with("  (n0)")), "{ls}");
    // Dom0 is privileged: it still reads, and may hand the node on.
    assert_eq!(ok(&mut sys, "xenstore-read /test/guest"), "secret\n");
    ok(&mut sys, "xenstore-chmod /test/guest n5 r7 b9");
    assert_eq!(ok(&mut sys, "xenstore-getperms /test/guest"), "n5 r7 b9\n");
    let o = sys.sh("xenstore-chmod /test/guest z5");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.stderr.contains("EINVAL"), "{o:?}");

    // Watches: the initial firing, a child's change, the node's own.
    let w = ok(
        &mut sys,
        "xenstore-watch -n 3 /test/w > /tmp/w.out & sleep 1; xenstore-write /test/w/x 1; xenstore-write /test/w 2; wait; cat /tmp/w.out",
    );
    assert_eq!(w, "/test/w\n/test/w/x\n/test/w\n");

    ok(&mut sys, "xenstore-rm /test");
    assert_eq!(sys.sh("xenstore-exists /test").exit_code, 1);

    // Dom0's kernel talks to our daemon over its ring: the same request
    // through the kernel's xenbus device, and the nodes the kernel wrote
    // itself once it found xenstored (shutdown features of control/).
    assert_eq!(
        ok(&mut sys, "XENSTORED_PATH=/dev/xen/xenbus xenstore-read /local/domain/0/name"),
        "Domain-0\n"
    );
    ok(&mut sys, "XENSTORED_PATH=/dev/xen/xenbus xenstore-write /test-kernel via-ring");
    assert_eq!(ok(&mut sys, "xenstore-read /test-kernel && xenstore-rm /test-kernel"), "via-ring\n");
    let mut control = String::new();
    for _ in 0..10 {
        control = sys.sh("xenstore-ls /local/domain/0/control").stdout;
        if control.contains("feature-poweroff") {
            break;
        }
        sys.settle(Duration::from_secs(1));
    }
    assert!(control.lines().any(|l| l == "feature-poweroff = \"1\""), "the kernel wrote no control nodes:\n{control}");
    ok(&mut sys, "dmesg | grep -i xenbus; true");

    // xm names domains from xenstore.
    let o = ok(&mut sys, "xm list");
    assert!(o.lines().nth(1).is_some_and(|l| l.starts_with("Domain-0 ")), "{o}");
    ok(&mut sys, "xenstore-write /local/domain/0/name dom0-renamed");
    let o = ok(&mut sys, "xm list; xm domname 0; xm domid dom0-renamed");
    assert!(o.lines().nth(1).is_some_and(|l| l.starts_with("dom0-renamed ")), "{o}");
    assert!(o.ends_with("dom0-renamed\n0\n"), "{o}");
    ok(&mut sys, "xenstore-write /local/domain/0/name Domain-0");
    let o = ok(&mut sys, "XENSTORED_PATH=/nonexistent xm list");
    assert!(o.lines().nth(1).is_some_and(|l| l.starts_with("Domain-0 ")), "fallback name: {o}");

    let log = ok(&mut sys, &format!("cat {XENSTORED_LOG}"));
    assert!(!log.contains("WARN"), "xenstored warned:\n{log}");
    sys.shutdown().unwrap();
}
