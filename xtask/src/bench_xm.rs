//! `xm create`, `xm destroy` and `xm list` timings for `cargo xtask bench`:
//! the `domu` test kernel as a PV domU under the Linux dom0 test system, on
//! Xen 4.17 and on ours in turn (same QEMU machine), measured from dom0's
//! shell (each step's wall time less an empty command's), and on the same
//! boot a Linux domU's virtual disk and network throughput. The toolstack is
//! ours on both; xl is not run beside it: Debian's `xl` needs the C
//! toolstack libraries and its own xenstored, which the busybox dom0 does
//! not carry.

use anyhow::Result;
use qemu_tests::debian;
use qemu_tests::linux_dom0::{
    machine, measure_device_throughput, measure_domu_times, measure_xm_list, DeviceThroughput, Host, LinuxDom0,
};

/// Domains running while `xm list` is timed.
const LISTED: u32 = 10;

/// What one host gave: the toolstack timings (create, destroy, list, in
/// ms) and the Linux domU's device throughput (or why it was not
/// measured), from one boot.
struct HostNumbers {
    toolstack: (f64, f64, f64),
    devices: Result<DeviceThroughput>,
}

/// Boot `host`, time the toolstack, then measure the device domU's disk
/// and network on the same dom0.
fn measure(host: Host) -> Result<HostNumbers> {
    let mut sys = LinuxDom0::boot_host(host, &machine())?;
    let t = measure_domu_times(&mut sys)?;
    let list = measure_xm_list(&mut sys, LISTED)?;
    let devices = measure_device_throughput(&mut sys);
    let _ = sys.shutdown();
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
    Ok(HostNumbers { toolstack: (ms(t.create_to_first_line), ms(t.destroy), ms(list)), devices })
}

/// The formatted lines, or why they could not be measured.
pub fn run() -> Result<String> {
    let xen = match measure(Host::Xen) {
        Ok(n) => n,
        Err(e) if debian::is_unavailable(&e) => return Ok(format!("skipped: {e:#}")),
        Err(e) => return Err(e),
    };
    let ours = measure(Host::Ours)?;
    let (x, o) = (xen.toolstack, ours.toolstack);
    let row = |what: &str, x: f64, o: f64| format!("| {what:<42} | {x:>9.0} | {o:>9.0} | {:>7.2}x |\n", o / x);
    let mut out = String::from("| xm, `domu` kernel, Linux dom0 (ms)         |  Xen 4.17 |      ours | ours/Xen |\n|---|---|---|---|\n");
    out.push_str(&row("xm create to the guest's first console line", x.0, o.0));
    out.push_str(&row("xm destroy", x.1, o.1));
    out.push_str(&row(&format!("xm list with {LISTED} domUs running"), x.2, o.2));
    out.push_str("(our toolstack on both; QEMU TCG, 1 CPU)");
    out.push_str(&devices_report(&xen.devices, &ours.devices));
    Ok(out)
}

/// The virtual device lines, both hosts side by side: a Linux domU's disk
/// (a `file:` image through loop and blkback) and TCP to dom0 (netback
/// and the bridge), as throughput, so a ratio above 1 means ours is
/// faster. A host whose measurement failed shows `n/a` and why.
fn devices_report(xen: &Result<DeviceThroughput>, ours: &Result<DeviceThroughput>) -> String {
    let value = |d: &Result<DeviceThroughput>, f: fn(&DeviceThroughput) -> f64| d.as_ref().ok().map(f);
    let cell = |v: Option<f64>| v.map_or_else(|| "n/a".to_string(), |v| format!("{v:.1}"));
    let rows: [(&str, fn(&DeviceThroughput) -> f64); 3] = [
        ("disk sequential write (file:, conv=fsync)", |d| d.disk_write),
        ("disk sequential read (caches dropped)", |d| d.disk_read),
        ("TCP domU -> dom0 (httpd -> wget)", |d| d.tcp),
    ];
    let mut out = String::from(
        "\n\n| Linux domU virtual devices, 64 MiB (MB/s)  |  Xen 4.17 |      ours | ours/Xen |\n|---|---|---|---|\n",
    );
    for (what, f) in rows {
        let (x, o) = (value(xen, f), value(ours, f));
        let ratio = match (x, o) {
            (Some(x), Some(o)) if x > 0.0 => format!("{:.2}x", o / x),
            _ => "n/a".to_string(),
        };
        out.push_str(&format!("| {what:<42} | {:>9} | {:>9} | {ratio:>8} |\n", cell(x), cell(o)));
    }
    out.push_str("(throughput: ours/Xen above 1 is ours faster; disk timed by the guest, TCP by dom0; QEMU TCG, 1 CPU)");
    for (host, d) in [("Xen 4.17", xen), ("ours", ours)] {
        if let Err(e) = d {
            out.push_str(&format!("\n{host}: devices not measured: {e:#}"));
        }
    }
    out
}

/// Live migration of an idle 256 MiB Linux domU between two Xen 4.17
/// hosts (two QEMU machines linked by a socket network, `xm serve` on
/// each): the downtime `xm migrate` reports, the longest gap the guest
/// itself saw in a 20 ms ticker of its boot time, and the total time.
pub fn run_migration() -> Result<String> {
    use qemu_tests::linux_dom0::{boot_migration_pair, build_migrate_iso, domu_line};
    let iso = qemu_tests::fixture::scratch_dir().join(format!("bench-migrate-{}.iso", std::process::id()));
    match build_migrate_iso(&iso) {
        Ok(()) => {}
        Err(e) if debian::is_unavailable(&e) => return Ok(format!("skipped: {e:#}")),
        Err(e) => return Err(e),
    }
    let pair = boot_migration_pair(&iso, Vec::new());
    let _ = std::fs::remove_file(&iso);
    let (mut a, mut b) = pair?;
    let ok = |sys: &mut LinuxDom0, cmd: &str| -> Result<String> {
        let o = sys.run_for(cmd, std::time::Duration::from_secs(900))?;
        if o.exit_code != 0 {
            anyhow::bail!("{cmd}: exit {}: {}{}", o.exit_code, o.stdout, o.stderr);
        }
        Ok(format!("{}{}", o.stdout, o.stderr))
    };
    let cfg = "name = \"bench1\"\\nkernel = \"/boot/vmlinuz\"\\nramdisk = \"/boot/domu-initrd.cpio\"\\nmemory = 256\\nvcpus = 1\\nextra = \"console=hvc0\"\\n";
    ok(&mut a, &format!("printf '{cfg}' > /etc/xen/bench.cfg && xm create /etc/xen/bench.cfg"))?;
    let log = "/var/log/xen/console/guest-bench1.log";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(400);
    while !ok(&mut a, &format!("grep -c LINUX-DOMU-READY {log} || true"))?.starts_with('1') {
        if std::time::Instant::now() > deadline {
            anyhow::bail!("the 256 MiB domU did not boot");
        }
        a.settle(std::time::Duration::from_secs(3));
    }
    // `/proc/uptime` counts boot time, which the guest's resume advances
    // by the time it was stopped (the persistent clock's jump).
    let ticker = "(while :; do cat /proc/uptime; usleep 20000; done) > /tmp/ticks 2>/dev/null & echo R\"\"ES=ticking";
    if domu_line(&mut a, "bench1", ticker)?.as_deref() != Some("ticking") {
        anyhow::bail!("starting the ticker in the guest failed");
    }
    a.settle(std::time::Duration::from_secs(5));
    let start = std::time::Instant::now();
    let out = ok(&mut a, "xm migrate -l bench1 10.9.0.2")?;
    let wall = start.elapsed();
    b.settle(std::time::Duration::from_secs(3));
    let gap = "echo R\"\"ES=$(awk \"NR>1 && \\$1-p>m {m=\\$1-p} {p=\\$1} END {print m*1000}\" /tmp/ticks)";
    let seen = domu_line(&mut b, "bench1", gap)?.unwrap_or_else(|| "?".into());
    let _ = a.shutdown();
    let _ = b.shutdown();
    Ok(format!(
        "xm migrate -l (idle 256 MiB Linux domU): {}\nlongest gap seen by the guest (20 ms /proc/uptime ticker): {seen} ms\nwall time of the command from the host: {:.1} s\n(QEMU TCG, two Xen 4.17 hosts on a socket network; ours alone until our hypervisor runs a Linux dom0)",
        out.trim(),
        wall.as_secs_f64()
    ))
}
