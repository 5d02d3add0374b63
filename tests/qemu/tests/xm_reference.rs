//! `xm` on the reference system: Xen 4.17 with Debian's Linux as PV dom0
//! and our statically linked `xm` in a busybox initramfs
//! ([`qemu_tests::linux_dom0`]). The system boots once; one test runs every
//! check in turn, since a boot costs about 20 s under TCG.
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.

use qemu_tests::debian;
use qemu_tests::linux_dom0::{LinuxDom0, Output};

/// Boot the system, or `None` (after printing why) without the archive.
fn boot() -> Option<LinuxDom0> {
    if let Err(e) = qemu_tests::linux_dom0::artefacts() {
        if debian::is_unavailable(&e) {
            println!("SKIPPED: Linux dom0 reference system: {e:#}");
            return None;
        }
        panic!("fetching the reference system: {e:#}");
    }
    let sys = LinuxDom0::boot().unwrap_or_else(|e| panic!("booting Xen 4.17 + Linux dom0: {e:#}"));
    eprintln!("dom0 shell ready after {:.1?}", sys.boot_time);
    Some(sys)
}

fn run(sys: &mut LinuxDom0, cmd: &str) -> Output {
    let o = sys.run(cmd).unwrap_or_else(|e| panic!("{e:#}\nserial log:\n{}", sys.log()));
    eprintln!("$ {cmd}   (exit {})\n{}{}", o.exit_code, o.stdout, o.stderr);
    o
}

#[test]
fn xm_on_linux_dom0() {
    let Some(mut sys) = boot() else { return };
    let o = run(&mut sys, "ls /dev/xen");
    assert!(o.stdout.contains("privcmd"), "{o:?}");
    let o = run(&mut sys, "xm info");
    eprintln!("{o:?}");
    sys.shutdown().unwrap();
}

#[test]
#[ignore]
fn debug_console() {
    let Some(mut sys) = boot() else { return };
    for i in 0..6 {
        sys.settle(std::time::Duration::from_secs(3));
        sys.type_text(&format!("echo A{i}\n")).unwrap();
    }
    sys.settle(std::time::Duration::from_secs(5));
    let log = sys.log().to_string();
    let tail = &log[log.find("XM-DOM0-READY").unwrap()..];
    eprintln!("TAIL<<{tail}>>");
}
