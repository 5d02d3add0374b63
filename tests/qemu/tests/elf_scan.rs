//! The linked hypervisor must not clobber guest FPU/SSE state.
//!
//! Our crates are compiled without SSE, so none of our functions may
//! contain an XMM/YMM/ZMM instruction. The precompiled `core::fmt` family
//! does contain some; those run only inside console output, under the
//! FXSAVE/FXRSTOR guard (`arch::x86_64::fpu`). Any other function that
//! gains SSE fails this test.

use std::collections::BTreeMap;
use std::process::Command;

/// Mangled-name fragments of the precompiled functions allowed to hold SSE
/// because they are only reached through console formatting.
const FORMATTING_ONLY: &[&str] = &[
    "4core3fmt",           // core::fmt (Formatter::pad, pad_integral, builders, num)
    "4core3str5count",     // str::count::do_count_chars, used by Formatter::pad
    "4core5panic10panic_info", // PanicInfo's Display, in the panic handler's print
    "5alloc3fmt",          // alloc::fmt::format (format!), formatting only
];

fn sse_functions(elf: &std::path::Path) -> BTreeMap<String, usize> {
    let out = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(elf)
        .output()
        .expect("objdump (binutils) runs");
    assert!(out.status.success(), "objdump failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut current = String::new();
    let mut found = BTreeMap::new();
    for line in text.lines() {
        if line.ends_with(">:") {
            current = line.rsplit('<').next().unwrap_or_default().trim_end_matches(">:").to_string();
        } else if ["%xmm", "%ymm", "%zmm"].iter().any(|r| line.contains(r)) {
            *found.entry(current.clone()).or_insert(0) += 1;
        }
    }
    found
}

#[test]
fn no_sse_outside_guarded_formatting() {
    let elf = qemu_tests::fixture::hypervisor_elf();
    let found = sse_functions(&elf);
    let offenders: Vec<_> =
        found.iter().filter(|(name, _)| !FORMATTING_ONLY.iter().any(|f| name.contains(f))).collect();
    assert!(offenders.is_empty(), "functions with XMM/YMM instructions outside the allow-list: {offenders:#?}");
    let ours: Vec<_> = found.keys().filter(|n| n.contains("10hypervisor")).collect();
    assert!(ours.is_empty(), "our own code contains SSE: {ours:?}");
}

#[test]
fn scanner_sees_sse() {
    // The scan itself must be able to fail: objdump of a host binary that
    // certainly uses SSE (this test binary) finds some.
    let me = std::env::current_exe().unwrap();
    assert!(!sse_functions(&me).is_empty(), "the scanner finds XMM instructions where they exist");
}
