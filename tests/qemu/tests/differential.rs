//! Differential tests: each test kernel boots on our hypervisor and on
//! Xen 4.17 (Debian's `xen-hypervisor-4.17-amd64`) under the same QEMU,
//! and the two transcripts must agree line for line (values of `~ ` lines
//! excepted). A difference is a bug of ours: the test fails with the first
//! one and prints both transcripts.
//!
//! Without access to Debian's archive the Xen half prints `SKIPPED: ...`;
//! the kernel still boots on ours, which must print a complete transcript
//! (BEGIN to END) without crashing the domain.

use std::sync::Mutex;
use std::time::Instant;

use qemu_tests::qemu::Machine;
use qemu_tests::transcript::{compare, Transcript};
use qemu_tests::{build, debian, ours, xen};

/// Command line given to every test kernel (the one `hello` reports).
const KERNEL_CMDLINE: &str = "hello from the command line";

/// One QEMU at a time: the machines running these tests have few cores.
static QEMU: Mutex<()> = Mutex::new(());

/// Boot `name` on Xen 4.17; `None` (after printing why) when Xen cannot be
/// fetched.
fn on_xen(name: &str, kernel: &std::path::Path) -> Option<Transcript> {
    match debian::xen_hypervisor() {
        Ok(_) => {}
        Err(e) if debian::is_unavailable(&e) => {
            println!("SKIPPED: Xen 4.17 half of the differential test of '{name}': {e:#}");
            return None;
        }
        Err(e) => panic!("fetching Xen 4.17: {e:#}"),
    }
    let started = Instant::now();
    let t = xen::boot_on_xen(kernel, KERNEL_CMDLINE, &Machine::default())
        .unwrap_or_else(|e| panic!("'{name}' prints no transcript on Xen 4.17 (a wrong guest): {e:#}"));
    eprintln!("---- {name} on Xen 4.17 ({:.1?})\n{t}", started.elapsed());
    assert!(t.get("PANIC").is_none(), "'{name}' panics on Xen 4.17 (a wrong guest):\n{t}");
    Some(t)
}

/// Boot `name` on ours; the transcript must be complete, with no crash.
fn on_ours(name: &str, kernel: &std::path::Path) -> Transcript {
    let started = Instant::now();
    let t = ours::boot_on_ours(kernel, KERNEL_CMDLINE, &Machine::default())
        .unwrap_or_else(|e| panic!("'{name}' prints no complete transcript on our hypervisor: {e:#}"));
    eprintln!("---- {name} on ours ({:.1?})\n{t}", started.elapsed());
    let serial = &t.boot.as_ref().expect("a booted transcript keeps its boot").text;
    if let Some(line) = ours::crash_line(serial) {
        panic!("'{name}' crashed on our hypervisor: {line}\nserial log:\n{serial}");
    }
    t
}

/// Run the differential test of kernel `name`.
fn differential(name: &str) {
    let kernel = build::guest(name).expect("the test kernel builds");
    let _one_qemu = QEMU.lock().unwrap_or_else(|e| e.into_inner());
    let xen = on_xen(name, &kernel);
    let ours = on_ours(name, &kernel);
    assert_eq!(ours.name, name, "transcript name");
    if let Some(xen) = xen {
        if let Err(d) = compare(&ours, &xen) {
            panic!("'{name}' differs between ours and Xen 4.17: {d}\n---- ours\n{ours}\n---- Xen 4.17\n{xen}");
        }
    }
}

#[test]
fn hello() {
    differential("hello");
}

#[test]
fn traps() {
    differential("traps");
}

#[test]
fn hypercalls() {
    differential("hypercalls");
}

#[test]
fn hostile() {
    differential("hostile");
}

#[test]
fn mm() {
    differential("mm");
}

#[test]
fn mm_hostile() {
    differential("mm_hostile");
}

#[test]
fn events() {
    differential("events");
}

#[test]
fn time() {
    differential("time");
}

#[test]
fn grants() {
    differential("grants");
}

#[test]
fn dom0ops() {
    differential("dom0ops");
}
