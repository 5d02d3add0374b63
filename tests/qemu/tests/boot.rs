//! Boot tests of the hypervisor on its own: banner, CPUs, RAM, command-line
//! options, the fatal-exception dump and power-off without a dom0.

use qemu_tests::fixture::Boot;
use qemu_tests::image::Module;
use qemu_tests::qemu::{Ending, Machine, Transcript};

const POWER_OFF: &str = "No dom0 kernel was given";

fn boot_plain(name: &str, cmdline: &str, smp: u32, mem_mib: u32) -> Transcript {
    let mut b = Boot::new(name, cmdline);
    b.machine = Machine { smp, mem_mib, ..Machine::default() };
    b.run().expect("boot runs")
}

/// The value after `key` on the first line containing it, as a number.
fn number_after(t: &Transcript, key: &str) -> u64 {
    let line = t.line_with(key).unwrap_or_else(|| panic!("no line with {key:?}:\n{}", t.text));
    let rest = &line[line.find(key).unwrap() + key.len()..];
    let digits: String = rest.trim_start().chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or_else(|_| panic!("no number after {key:?} in {line:?}"))
}

#[test]
fn banner_summary_and_clean_power_off() {
    let t = boot_plain("banner", "console=com1 loglvl=info", 1, 512);
    let first = t.lines().next().unwrap_or_default();
    assert!(first.starts_with("(XEN) Rust PV hypervisor "), "first line is the banner: {first:?}");
    assert!(first.ends_with("(Xen 4.17 x86-64 PV ABI)"), "{first:?}");
    assert!(t.has("(XEN) Boot summary:"));
    assert!(t.has("(XEN)   command line: console=com1 loglvl=info"));
    assert!(t.has("(XEN)   modules: 0"));
    assert!(t.has("APIC timer: 3 interrupts"), "the APIC timer interrupts");
    assert!(t.has("FPU/SSE state survives console formatting"), "the FPU guard works");
    assert!(t.has(POWER_OFF), "says why it stops");
    assert_eq!(t.ending, Ending::Exited(Some(0)), "ACPI power-off ends QEMU cleanly");
    assert!(!t.has("fatal exception") && !t.has("Panic"), "no fault on the way");
}

#[test]
fn cpus_online_for_smp_1_2_4() {
    for smp in [1u32, 2, 4] {
        let t = boot_plain(&format!("smp{smp}"), "console=com1", smp, 256);
        assert_eq!(number_after(&t, "CPUs online:"), u64::from(smp), "-smp {smp}");
        for cpu in 1..smp {
            assert!(t.has(&format!("CPU{cpu} (APIC ID ")), "CPU{cpu} reported online");
        }
        assert_eq!(t.ending, Ending::Exited(Some(0)));
    }
}

#[test]
fn ram_matches_qemu_memory() {
    for mem in [128u64, 512, 2048] {
        let t = boot_plain(&format!("mem{mem}"), "console=com1", 1, mem as u32);
        let total = number_after(&t, "RAM: total");
        // Firmware keeps the VGA hole, the BIOS area and the ACPI tables.
        assert!(total + 4 >= mem && total <= mem, "-m {mem}: total {total} MiB");
        let usable = number_after(&t, "usable");
        // The hypervisor keeps its image, heap (4 MiB), frame table and M2P
        // (about 1/64 of RAM together) and a few page tables.
        assert!(usable + 8 + total / 64 >= total && usable < total, "-m {mem}: usable {usable} of {total} MiB");
        assert_eq!(t.ending, Ending::Exited(Some(0)));
    }
}

#[test]
fn dom0_mem_is_parsed() {
    let t = boot_plain("dom0mem", "console=com1 dom0_mem=512M,max:1G", 1, 256);
    assert!(t.has("(XEN)   dom0_mem: 512 MiB, max 1024 MiB"), "{}", t.text);
    let t = boot_plain("dom0mem2", "console=com1 dom0_mem=min:64M,max:2G,-128M", 1, 256);
    assert!(t.has("(XEN)   dom0_mem: all but 128 MiB, min 64 MiB, max 2048 MiB"), "{}", t.text);
}

#[test]
fn malformed_options_warn_and_boot_continues() {
    let t = boot_plain("malformed", "console=com1 dom0_mem=12Q loglvl=loud frobnicate=3 noreboot", 1, 256);
    assert!(t.has("WARNING: malformed value '12Q' for option 'dom0_mem'"), "{}", t.text);
    assert!(t.has("WARNING: malformed value 'loud' for option 'loglvl'"));
    assert!(t.has("WARNING: unknown command line option 'frobnicate=3' ignored"));
    assert!(t.has("(XEN)   dom0_mem: default"), "default kept");
    assert!(t.has(POWER_OFF));
    assert_eq!(t.ending, Ending::Exited(Some(0)));
}

#[test]
fn loglvl_filters_messages() {
    let t = boot_plain("loglvl", "console=com1 loglvl=warning frobnicate", 1, 256);
    assert!(t.has("WARNING: unknown command line option 'frobnicate' ignored"));
    assert!(!t.has("APIC timer:"), "info messages are filtered at loglvl=warning");
    assert!(t.has("(XEN) Boot summary:"), "the summary is always printed");
}

#[test]
fn ring0_page_fault_prints_full_dump() {
    let mut b = Boot::new("pagefault", "console=com1 debug_fault=pagefault");
    b.stop_on = Some("halted.");
    let t = b.run().expect("boot runs");
    assert_eq!(t.ending, Ending::StopPattern, "the dump ends with the halt line:\n{}", t.text);
    assert!(t.has("----[ hypervisor fatal exception on CPU0 ]----"));
    assert!(t.has("vector 14 (#PF page fault), error code 0x0000"), "{}", t.text);
    assert!(t.has("CR2: ffff810000000000"));
    let rip = t.line_with("RIP: e008:[<").expect("RIP line (hypervisor CS 0xe008)");
    assert!(rip.contains("ffff82d0"), "faulting RIP is hypervisor text: {rip}");
    for reg in ["rax:", "rbx:", "rcx:", "rdx:", "rsi:", "rdi:", "rbp:", "rsp:", "r8:", "r15:", "cr3:"] {
        assert!(t.has(reg), "dump shows {reg}");
    }
    assert!(!t.has(POWER_OFF), "nothing runs after the fault");
}

#[test]
fn module_given_is_listed_and_a_non_elf_kernel_refused() {
    let dir = qemu_tests::fixture::scratch_dir();
    let file = dir.join("dummy-module.bin");
    std::fs::write(&file, vec![0x5au8; 12345]).unwrap();
    let mut b = Boot::new("module", "console=com1");
    b.modules.push(Module { file, name: "dom0".into(), args: "console=hvc0".into() });
    let t = b.run().expect("boot runs");
    assert!(t.has("(XEN)   modules: 1"));
    let line = t.line_with("(XEN)   module 0: 12345 bytes at 0x").expect("module listed");
    assert!(line.ends_with(", command line \"console=hvc0\""), "{line}");
    assert!(t.has("dom0 kernel refused: not an ELF file: bad magic. Powering off."), "{}", t.text);
    assert_eq!(t.ending, Ending::Exited(Some(0)));
}

#[test]
fn console_none_is_silent() {
    let t = boot_plain("console-none", "console=none", 1, 256);
    assert!(t.text.trim().is_empty(), "nothing on the serial port: {:?}", t.text);
    assert_eq!(t.ending, Ending::Exited(Some(0)), "still powers off");
}

/// Boot with `kernel` bytes as the dom0 module and return the transcript.
fn boot_with_dom0(name: &str, kernel: &[u8]) -> Transcript {
    let file = qemu_tests::fixture::scratch_dir().join(format!("{name}.elf"));
    std::fs::write(&file, kernel).unwrap();
    let mut b = Boot::new(name, "console=com1");
    b.modules.push(Module { file, name: "dom0".into(), args: String::new() });
    b.run().expect("boot runs")
}

#[test]
fn invalid_dom0_kernels_are_refused_with_the_reason() {
    // An x86-64 executable without Xen notes: the hypervisor image itself.
    let hv = std::fs::read(qemu_tests::fixture::hypervisor_elf()).unwrap();
    let t = boot_with_dom0("dom0-no-notes", &hv);
    assert!(t.has("dom0 kernel refused: not a Xen PV kernel: no Xen ELF notes. Powering off."), "{}", t.text);
    assert_eq!(t.ending, Ending::Exited(Some(0)));

    // A PV kernel turned into a 32-bit ELF.
    let mut hello = std::fs::read(qemu_tests::build::guest("hello").unwrap()).unwrap();
    hello[4] = 1;
    let t = boot_with_dom0("dom0-elf32", &hello);
    assert!(t.has("dom0 kernel refused: not a 64-bit ELF file"), "{}", t.text);
    assert_eq!(t.ending, Ending::Exited(Some(0)));
}

/// A bzImage around `payload`: 4 setup sectors after the boot sector, boot
/// protocol 2.15, the payload right at the protected-mode part.
fn fake_bzimage(payload: &[u8]) -> Vec<u8> {
    let pm = 5 * 512;
    let mut img = vec![0u8; pm];
    img[0x1f1] = 4;
    img[0x202..0x206].copy_from_slice(b"HdrS");
    img[0x206..0x208].copy_from_slice(&0x020fu16.to_le_bytes());
    img[0x24c..0x250].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    img.extend_from_slice(payload);
    img
}

/// `data` through the host's `cmd` (a compressor), with the decompressed
/// size appended as Linux's build appends it.
fn compressed(cmd: &[&str], data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new(cmd[0])
        .args(&cmd[1..])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    // Feed the input from another thread while the output is read: a
    // compressor's output can fill the pipe before it has read everything.
    let mut stdin = child.stdin.take().unwrap();
    let input = data.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success(), "{cmd:?} failed");
    let mut v = out.stdout;
    v.extend_from_slice(&(data.len() as u32).to_le_bytes());
    v
}

#[test]
fn bzimage_dom0_kernels_refused_with_the_reason() {
    let t = boot_with_dom0("dom0-bz-zstd", &fake_bzimage(&[0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4]));
    let why = "dom0 kernel refused: kernel payload is compressed with zstd, which is not supported (xz, gzip and lz4 are).";
    assert!(t.has(why), "{}", t.text);
    assert_eq!(t.ending, Ending::Exited(Some(0)));

    // A gzip payload cut short: the decoder's complaint, frames given back.
    let hello = std::fs::read(qemu_tests::build::guest("hello").unwrap()).unwrap();
    let gz = compressed(&["gzip", "-n", "-c"], &hello);
    let mut cut = gz[..gz.len() / 2].to_vec();
    cut.extend_from_slice(&gz[gz.len() - 4..]);
    let t = boot_with_dom0("dom0-bz-cut", &fake_bzimage(&cut));
    assert!(t.has("dom0 kernel refused: gzip kernel payload is truncated. Powering off."), "{}", t.text);
    assert_eq!(t.ending, Ending::Exited(Some(0)));
}

/// The `hello` test kernel packed as a bzImage with each supported payload
/// format boots as dom0 to the end of its transcript.
#[test]
fn bzimage_dom0_kernels_with_gzip_xz_and_lz4_payloads_boot() {
    let hello_path = qemu_tests::build::guest("hello").unwrap();
    let hello = std::fs::read(&hello_path).unwrap();
    let formats: [(&str, &[&str]); 3] = [
        ("gzip", &["gzip", "-n", "-9", "-c"]),
        ("xz", &["xz", "--check=crc32", "--x86", "--lzma2=preset=6", "-c"]),
        ("lz4", &["lz4", "-l", "-9", "-c"]),
    ];
    for (format, cmd) in formats {
        let file = qemu_tests::fixture::scratch_dir().join(format!("hello-bzimage-{format}"));
        std::fs::write(&file, fake_bzimage(&compressed(cmd, &hello))).unwrap();
        let t = qemu_tests::ours::boot_on_ours(&file, "packed", &Machine::default())
            .unwrap_or_else(|e| panic!("the {format} bzImage of hello boots: {e:#}"));
        assert_eq!(t.name, "hello");
        let serial = &t.boot.as_ref().unwrap().text;
        let line = serial.lines().find(|l| l.contains("Dom0 kernel: bzImage 2.15, ")).expect("the unpack line");
        let sizes = format!("{format} payload of {} bytes unpacked to a {}-byte ELF in ", std::fs::metadata(&file).unwrap().len() - 2560, hello.len());
        assert!(line.starts_with("(XEN) ") && line.contains(&sizes), "{line}");
        eprintln!("{line}");
    }
}

/// Debian's Linux 6.1 `vmlinuz` (an xz bzImage) is accepted as dom0: the
/// builder unpacks it and starts dom0. What Linux does next is not this
/// test's business: the boot stops at "Starting dom0".
#[test]
fn debian_vmlinuz_is_accepted_as_dom0() {
    let vmlinuz = match qemu_tests::linux_dom0::artefacts() {
        Ok(a) => a.vmlinuz,
        Err(e) if qemu_tests::debian::is_unavailable(&e) => {
            println!("SKIPPED: Debian's vmlinuz as dom0: {e:#}");
            return;
        }
        Err(e) => panic!("fetching Debian's kernel: {e:#}"),
    };
    let mut b = Boot::new("dom0-vmlinuz", "console=com1 dom0_mem=256M");
    b.modules.push(Module { file: vmlinuz, name: "vmlinuz".into(), args: "console=hvc0 earlyprintk=xen".into() });
    b.stop_on = Some("Starting dom0");
    b.timeout = std::time::Duration::from_secs(300);
    let t = b.run().expect("boot runs");
    assert_eq!(t.ending, Ending::StopPattern, "dom0 is started:\n{}", t.text);
    let line = t.line_with("Dom0 kernel: bzImage 2.15, xz payload of ").unwrap_or_else(|| panic!("{}", t.text));
    assert!(line.starts_with("(XEN) ") && line.contains("-byte ELF in ") && line.ends_with("(32768 KiB dictionary)"), "{line}");
    let dom0 = t.line_with("(XEN) dom0: 65536 pages (").expect("the dom0 line");
    assert!(dom0.contains("kernel 0xffffffff81000000-"), "{dom0}");
    assert!(!t.has("refused"), "{}", t.text);
}
