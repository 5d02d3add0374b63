//! A PV guest that crashes itself: the `crash` kernel has no trap table
//! and reads an unmapped address. The hypervisor cannot bounce the page
//! fault, so it crashes the domain with a register dump; for dom0 with
//! `noreboot` the host then halts. The guest can crash itself, never the
//! host: no hypervisor fatal exception may appear.
//!
//! The same kernel on Xen 4.17 is only printed (for comparison by eye);
//! without the Debian archive that half prints `SKIPPED: ...`.

use std::time::Duration;

use qemu_tests::fixture::{scratch_dir, Boot};
use qemu_tests::image::{make_iso, ImageSpec, Module};
use qemu_tests::qemu::{boot, Capture, Machine, Transcript};
use qemu_tests::{build, debian, ours, xen};

/// The last line a crashed dom0 makes the hypervisor print under `noreboot`.
const NOREBOOT_LINE: &str = "Hardware Dom0 crashed: 'noreboot' set";

/// The crash kernel as module 1 (dom0) of an image of `hypervisor`.
fn crash_module() -> Module {
    let kernel = build::guest("crash").expect("the crash kernel builds");
    Module { file: kernel, name: "dom0".into(), args: String::new() }
}

/// The `(XEN)` line containing `needle`, or a panic showing the log.
fn xen_line<'a>(t: &'a Transcript, needle: &str) -> &'a str {
    t.lines()
        .find(|l| l.starts_with("(XEN)") && l.contains(needle))
        .unwrap_or_else(|| panic!("no (XEN) line with {needle:?}; serial log:\n{}", t.text))
}

#[test]
fn crash_without_trap_table_is_a_domain_crash_with_a_register_dump() {
    let mut b = Boot::new("pv-crash-ours", ours::OURS_CMDLINE);
    b.modules = vec![crash_module()];
    b.stop_on = Some(NOREBOOT_LINE);
    b.timeout = Duration::from_secs(120);
    let t = b.run().expect("the boot runs");
    assert!(t.has("TRANSCRIPT BEGIN crash"), "the kernel ran:\n{}", t.text);
    let crashed = ours::crash_line(&t.text).unwrap_or_else(|| panic!("no '(XEN) ... crashed' line:\n{}", t.text));
    assert!(crashed.contains("domain 0"), "the crash names dom0: {crashed}");
    let rip = xen_line(&t, "RIP:");
    assert!(rip.contains("ffffffff8"), "RIP is in the kernel image: {rip}");
    xen_line(&t, "rax:");
    let cr3 = xen_line(&t, "cr3:");
    assert!(cr3.contains("vector: 0xe"), "the page fault's vector is shown: {cr3}");
    assert!(cr3.contains("error code:"), "the error code is shown: {cr3}");
    xen_line(&t, NOREBOOT_LINE);
    assert!(!t.has("PANIC"), "the guest did not survive the read:\n{}", t.text);
    assert!(!t.has("hypervisor fatal exception"), "the hypervisor did not fault:\n{}", t.text);
    assert!(!t.has("TRANSCRIPT END"), "nothing ran after the fault:\n{}", t.text);
}

#[test]
fn iret_to_a_non_canonical_address_crashes_the_guest_not_the_host() {
    let mut b = Boot::new("pv-crash-iret", ours::OURS_CMDLINE);
    let mut m = crash_module();
    m.args = "bad-iret".into();
    b.modules = vec![m];
    b.stop_on = Some(NOREBOOT_LINE);
    b.timeout = Duration::from_secs(120);
    let t = b.run().expect("the boot runs");
    assert!(t.has("about to iret"), "the kernel ran:\n{}", t.text);
    let crashed = ours::crash_line(&t.text).unwrap_or_else(|| panic!("no '(XEN) ... crashed' line:\n{}", t.text));
    assert!(crashed.contains("iret"), "the reason names the iret: {crashed}");
    xen_line(&t, NOREBOOT_LINE);
    assert!(!t.has("PANIC"), "the iret did not return:\n{}", t.text);
    assert!(!t.has("hypervisor fatal exception"), "the hypervisor did not fault:\n{}", t.text);
}

#[test]
fn crash_on_xen_is_printed() {
    let xen_image = match debian::xen_hypervisor() {
        Ok(path) => path,
        Err(e) if debian::is_unavailable(&e) => {
            println!("SKIPPED: Xen 4.17 boot of 'crash': {e:#}");
            return;
        }
        Err(e) => panic!("fetching Xen 4.17: {e:#}"),
    };
    let iso = scratch_dir().join(format!("pv-crash-xen-{}.iso", std::process::id()));
    let spec = ImageSpec { hypervisor: xen_image, cmdline: Some(xen::XEN_CMDLINE.to_string()), modules: vec![crash_module()] };
    make_iso(&spec, &iso).expect("the image builds");
    let cap = Capture { timeout: Duration::from_secs(120), stop_on: Some(NOREBOOT_LINE), ..Capture::default() };
    let t = boot(&iso, &Machine::default(), &cap);
    let _ = std::fs::remove_file(&iso);
    let t = t.expect("Xen boots");
    let from = t.text.find("TRANSCRIPT BEGIN").unwrap_or(0);
    eprintln!("---- crash on Xen 4.17 ({:?}, {:.1?})\n{}", t.ending, t.elapsed, &t.text[from..]);
    assert!(t.has("TRANSCRIPT BEGIN crash"), "the kernel ran on Xen:\n{}", t.text);
}
