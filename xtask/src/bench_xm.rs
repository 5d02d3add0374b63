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

/// What one live migration gave.
struct Migration {
    /// `xm migrate`'s closing line.
    line: String,
    /// The longest gap the guest saw in its 20 ms ticker, in ms.
    seen: String,
    /// Wall time of the command, seen from the host.
    wall: std::time::Duration,
    /// The phases both sides logged (`XM_LOG=debug`).
    phases: Vec<String>,
}

/// Live migration of a 256 MiB Linux domU between two hosts of `host`
/// (two QEMU machines linked by a socket network, `xm serve` on each):
/// once idle (but for a 20 ms ticker of its boot time) from the first
/// machine to the second, once while it rewrites 1 MiB of random data
/// in a loop, back. For each: what `xm migrate` reports (rounds, pages,
/// downtime from the source's view), the longest gap the guest itself
/// saw in its ticker, and the wall time.
fn migrations(host: Host) -> Result<Vec<Migration>> {
    use qemu_tests::linux_dom0::{boot_migration_pair, build_migrate_iso_for, domu_line};
    let iso = qemu_tests::fixture::scratch_dir().join(format!(
        "bench-migrate-{}-{}.iso",
        if host == Host::Xen { "xen" } else { "ours" },
        std::process::id()
    ));
    build_migrate_iso_for(host, &iso)?;
    let pair = boot_migration_pair(&iso, Vec::new());
    let _ = std::fs::remove_file(&iso);
    let _ = std::fs::remove_file(iso.with_extension("cpio"));
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
    let guest = |sys: &mut LinuxDom0, line: &str, want: &str| -> Result<()> {
        for _ in 0..3 {
            if let Some(v) = domu_line(sys, "bench1", line)? {
                anyhow::ensure!(v == want, "{line}: the guest said {v:?}");
                return Ok(());
            }
        }
        anyhow::bail!("the guest never answered {line:?}")
    };
    // `/proc/uptime` counts boot time, which the guest's resume advances
    // by the time it was stopped (the persistent clock's jump). One
    // ticker file per migration.
    let ticker = |n: u32| {
        format!("(while [ ! -e /tmp/stop{n} ]; do cat /proc/uptime; usleep 20000; done) > /tmp/ticks{n} 2>/dev/null & echo R\"\"ES=ticking")
    };
    let gap = |n: u32| {
        format!("touch /tmp/stop{n}; echo R\"\"ES=$(awk \"NR>1 && \\$1-p>m {{m=\\$1-p}} {{p=\\$1}} END {{print m*1000}}\" /tmp/ticks{n})")
    };
    let mut out = Vec::new();
    let mut measure = |from: &mut LinuxDom0, to: &mut LinuxDom0, n: u32, dest: &str| -> Result<()> {
        guest(from, &ticker(n), "ticking")?;
        from.settle(std::time::Duration::from_secs(5));
        let served = ok(to, "wc -l < /tmp/serve.log")?.trim().parse::<usize>().unwrap_or(0);
        let start = std::time::Instant::now();
        let said = ok(from, &format!("XM_LOG=debug xm migrate -l bench1 {dest}"))?;
        let wall = start.elapsed();
        to.settle(std::time::Duration::from_secs(3));
        let seen = domu_line(to, "bench1", &gap(n))?.unwrap_or_else(|| "?".into());
        let there = ok(to, &format!("tail -n +{} /tmp/serve.log", served + 1))?;
        let line = said.lines().find(|l| l.starts_with("Migrated domain")).unwrap_or(said.trim()).to_string();
        let phases = said
            .lines()
            .map(|l| format!("source: {l}"))
            .chain(there.lines().map(|l| format!("destination: {l}")))
            .filter(|l| l.contains("debug:"))
            .collect();
        out.push(Migration { line, seen, wall, phases });
        Ok(())
    };
    measure(&mut a, &mut b, 1, "10.9.0.2")?;
    // The same guest rewrites 1 MiB (dd from urandom) over and over.
    guest(
        &mut b,
        "(while :; do dd if=/dev/urandom of=/tmp/w bs=4096 count=256 2>/dev/null; done) >/dev/null 2>&1 & echo R\"\"ES=writing",
        "writing",
    )?;
    measure(&mut b, &mut a, 2, "10.9.0.1")?;
    let _ = a.shutdown();
    let _ = b.shutdown();
    Ok(out)
}

/// `xm migrate -l` of a 256 MiB Linux domU on Xen 4.17 and on ours, idle
/// and busy (see [`migrations`]), as a table.
pub fn run_migration() -> Result<String> {
    let mut out = String::from(
        "| host | guest | xm migrate says | longest gap in the guest | wall time |\n|---|---|---|---|---|\n",
    );
    let mut phases = Vec::new();
    for host in Host::BOTH {
        match migrations(host) {
            Ok(ms) => {
                for (m, case) in ms.iter().zip(["idle", "rewriting 1 MiB"]) {
                    out.push_str(&format!(
                        "| {} | {case} | {} | {} ms | {:.1} s |\n",
                        host.name(),
                        m.line,
                        m.seen,
                        m.wall.as_secs_f64()
                    ));
                    phases.extend(m.phases.iter().map(|p| format!("{} {case}: {p}", host.name())));
                }
            }
            Err(e) if debian::is_unavailable(&e) => return Ok(format!("skipped: {e:#}")),
            Err(e) => out.push_str(&format!("| {} | - | not measured: {e:#} | | |\n", host.name())),
        }
    }
    for p in phases {
        out.push_str(&format!("{p}\n"));
    }
    out.push_str(
        "(QEMU TCG, two 1-CPU machines per host on a socket network. Debian's Xen 4.17 has no log-dirty mode for PV guests and copies with the guest stopped; ours pre-copies with protection-key log-dirty tracking. The guest's gap counts its own suspend and resume too.)",
    );
    Ok(out)
}
