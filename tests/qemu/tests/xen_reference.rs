//! Reference boots: the test kernels on real Xen 4.17 (Debian's
//! `xen-hypervisor-4.17-amd64`) under the same QEMU. A transcript printed
//! here is what our hypervisor must reproduce, so these tests pin down
//! both the guest (a kernel that misbehaves on Xen is a wrong kernel) and
//! the facts the differential tests rely on.
//!
//! Without access to Debian's archive the tests print `SKIPPED: ...` and
//! pass: a missing network must not fail CI.

use qemu_tests::qemu::Machine;
use qemu_tests::transcript::Transcript;
use qemu_tests::{build, debian, xen};

/// Command line given to the test kernel.
const HELLO_CMDLINE: &str = "hello from the command line";

/// Boot test kernel `name` on Xen; `None` (after printing why) when Xen
/// cannot be fetched.
fn on_xen(name: &str, cmdline: &str) -> Option<Transcript> {
    let xen_image = match debian::xen_hypervisor() {
        Ok(path) => path,
        Err(e) if debian::is_unavailable(&e) => {
            println!("SKIPPED: Xen 4.17 reference boot of '{name}': {e:#}");
            return None;
        }
        Err(e) => panic!("fetching Xen 4.17: {e:#}"),
    };
    eprintln!("Xen 4.17 image: {}", xen_image.display());
    let kernel = build::guest(name).expect("the test kernel builds");
    let t = xen::boot_on_xen(&kernel, cmdline, &Machine::default()).expect("the kernel prints a transcript on Xen");
    let boot = t.boot.as_ref().expect("a booted transcript keeps its boot");
    eprintln!("---- {name} on Xen 4.17 ({:?}, TRANSCRIPT END at {:.2?})\n{}", boot.ending, boot.mark_at.unwrap_or_default(), boot.text);
    println!("{t}");
    Some(t)
}

#[test]
fn hello_on_xen() {
    let Some(t) = on_xen_cached() else { return };
    assert_eq!(t.name, "hello");
    // "p": the kernel's PAE_MODE note says "yes" (as Linux's does).
    assert_eq!(t.value("start_info.magic"), "xen-3.0-x86_64p");
    assert_eq!(t.value("start_info.magic starts xen-3.0-x86_64"), "yes");
    assert_eq!(t.value("start_info.flags"), "SIF_PRIVILEGED|SIF_INITDOMAIN");
    // XEN_PROCESSOR_PM_PX | XEN_PROCESSOR_PM_CX: dom0 does power management.
    assert_eq!(t.value("start_info.flags PM bits"), "0x3");
    assert_eq!(t.value("start_info.cmd_line"), HELLO_CMDLINE);
    assert_eq!(t.value("start_info.pt_base page aligned"), "yes");
    assert_eq!(t.value("start_info.shared_info page aligned"), "yes");
    assert_eq!(t.value("start_info.mod_start"), "0");
    assert_eq!(t.value("layout.mfn_list"), "kernel image end");
    assert_eq!(t.value("layout.start_info"), "page after mfn_list");
    assert_eq!(t.value("layout.pt_base"), "page after start_info");
    assert_eq!(t.value("layout.boot rsp"), "top of the page after the page tables");
    assert_eq!(t.value("shared_info.vcpu_info[0].evtchn_upcall_mask"), "1", "events start masked");
    assert_eq!(t.value("xen_version"), "4.17");
    assert_eq!(t.value("xen_version.capabilities has xen-3.0-x86_64"), "yes");
    assert!(t.value("xen_version.capabilities").split(' ').any(|c| c == "xen-3.0-x86_64"));
    assert_eq!(t.value("xen_version.pagesize"), "4096");
    assert!(t.value("hypercall 59 (unused page slot)").starts_with("-38 "), "unknown hypercall gives -ENOSYS");
    assert!(t.value("xen_version unknown command 99").starts_with("-38 "));
    assert!(t.value("xen_version.get_features submap 1").starts_with("-22 "), "only submap 0 exists");
    assert!(t.value("hypercall 1000 (syscall, past the table)").starts_with("-38 "));
    assert_eq!(t.value("update_va_mapping(shared_info)"), "0");
    assert_eq!(t.value("console"), "written with CONSOLEIO_write");
    assert!(t.get("PANIC").is_none(), "no panic:\n{t}");
    // Every fact the ABI fixes is printed plain, and the kernel's lines all
    // parse as facts.
    assert!(t.facts.iter().all(|f| !f.key.is_empty()), "{t}");
}

#[test]
fn xen_transcript_compares_with_itself() {
    // A cheap check of the comparison on real output, without a second boot:
    // changing a `~ ` value is accepted, changing a fixed one is reported.
    let Some(t) = on_xen_cached() else { return };
    let mut ours = t.clone();
    for f in ours.facts.iter_mut().filter(|f| f.specific) {
        f.value = "different".into();
    }
    assert_eq!(qemu_tests::transcript::compare(&ours, &t), Ok(()));
    let i = ours.facts.iter().position(|f| f.key == "xen_version").unwrap();
    ours.facts[i].value = "4.16".into();
    let d = qemu_tests::transcript::compare(&ours, &t).unwrap_err();
    assert_eq!(d.line, i + 1, "{d}");
}

/// The `hello` transcript on Xen, booted once per test process.
fn on_xen_cached() -> Option<Transcript> {
    static T: std::sync::OnceLock<Option<Transcript>> = std::sync::OnceLock::new();
    T.get_or_init(|| on_xen("hello", HELLO_CMDLINE)).clone()
}
