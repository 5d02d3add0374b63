//! `xm` under Debian's Linux as PV dom0 with our statically linked `xm` in
//! a busybox initramfs ([`qemu_tests::linux_dom0`]), on Xen 4.17 and on
//! ours: one test body, one boot per hypervisor, every check in turn (a
//! boot costs about 20 s under TCG). Only the build facts (`cc_compiler`)
//! and the banner `xm dmesg` shows differ by host.
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.

use qemu_tests::linux_dom0::{boot_host_or_skip, machine, xm_info_value, Host};

#[test]
fn xm_on_xen() {
    xm_on(Host::Xen);
}

#[test]
fn xm_on_ours() {
    xm_on(Host::Ours);
}

fn xm_on(host: Host) {
    let Some(mut sys) = boot_host_or_skip(host, &machine()) else { return };
    let o = sys.sh("ls /dev/xen");
    assert!(o.stdout.contains("privcmd"), "{o:?}");

    let o = sys.sh("xm info");
    assert_eq!(o.exit_code, 0, "{o:?}");
    assert_eq!(xm_info_value(&o.stdout, "xen_major"), "4");
    assert_eq!(xm_info_value(&o.stdout, "xen_minor"), "17");
    assert_eq!(xm_info_value(&o.stdout, "machine"), "x86_64");
    assert_eq!(xm_info_value(&o.stdout, "nr_cpus"), "1");
    assert_eq!(xm_info_value(&o.stdout, "xen_scheduler"), "credit");
    assert!(xm_info_value(&o.stdout, "xen_caps").contains("xen-3.0-x86_64"));
    assert!(xm_info_value(&o.stdout, "xen_commandline").contains("dom0_mem=512M,max:512M"));
    let compiler = if host == Host::Xen { "gcc" } else { "rustc" };
    assert!(xm_info_value(&o.stdout, "cc_compiler").contains(compiler), "{o:?}");
    let total: u64 = xm_info_value(&o.stdout, "total_memory").parse().unwrap();
    assert!((900..=1024).contains(&total), "total_memory {total}");

    let o = sys.sh("xm list");
    assert_eq!(o.exit_code, 0, "{o:?}");
    let mut lines = o.stdout.lines();
    assert_eq!(lines.next(), Some("Name                                        ID   Mem VCPUs      State   Time(s)"));
    let dom0: Vec<&str> = lines.next().expect("a dom0 line").split_whitespace().collect();
    assert_eq!(&dom0[..2], ["Domain-0", "0"], "{o:?}");
    let mem: u64 = dom0[2].parse().unwrap();
    assert!((500..=512).contains(&mem), "dom0 memory {mem}");
    assert_eq!(dom0[3], "1");
    assert!(dom0[4].starts_with('r') && dom0[4].len() == 6, "{o:?}");

    let o = sys.sh("xm list -l 0");
    assert!(o.stdout.contains("(domid 0)") && o.stdout.contains("(name Domain-0)"), "{o:?}");

    let o = sys.sh("xm dmesg | head -5");
    assert_eq!(o.exit_code, 0, "{o:?}");
    assert!(o.stdout.lines().count() == 5 && o.stdout.contains("Xen"), "{o:?}");
    let o = sys.sh("xm dmesg");
    let banner = if host == Host::Xen { "Xen version 4.17" } else { "(Xen 4.17 x86-64 PV ABI)" };
    assert!(o.stdout.contains(banner) && o.stdout.contains("dom0_mem=512M"), "{o:?}");

    let o = sys.sh("xm sched-credit -d 0");
    assert_eq!(o.exit_code, 0, "{o:?}");
    assert!(o.stdout.starts_with("Name                                ID Weight  Cap\n"), "{o:?}");
    assert_eq!(o.stdout.lines().nth(1).unwrap().split_whitespace().collect::<Vec<_>>(), ["Domain-0", "0", "256", "0"]);
    let o = sys.sh("xm sched-credit -d Domain-0 -w 512 -c 50 && xm sched-credit");
    assert_eq!(o.stdout.lines().nth(1).unwrap().split_whitespace().collect::<Vec<_>>(), ["Domain-0", "0", "512", "50"], "{o:?}");

    let o = sys.sh("xm domid Domain-0; xm domname 0");
    assert_eq!(o.stdout, "0\nDomain-0\n");
    let o = sys.sh("xm vcpu-list");
    assert_eq!(o.exit_code, 0, "{o:?}");
    assert!(o.stdout.lines().nth(1).unwrap().starts_with("Domain-0"), "{o:?}");
    let o = sys.sh("xm uptime");
    assert_eq!(o.exit_code, 0, "{o:?}");

    let o = sys.sh("xm pause 999");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.stderr, "xm: domain '999' does not exist\n");
    let o = sys.sh("xm destroy nosuch");
    assert_eq!(o.exit_code, 1, "{o:?}");
    let o = sys.sh("XM_PRIVCMD=/dev/xen/nonexistent xm list");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.stderr.contains("/dev/xen/nonexistent not present"), "{o:?}");
    let o = sys.sh("xm frobnicate");
    assert_eq!(o.exit_code, 2, "{o:?}");
    sys.shutdown().unwrap();
}
