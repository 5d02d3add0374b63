//! Save, restore and migration of a Linux PV domU on the reference system
//! (Xen 4.17, Debian's Linux as PV dom0, our toolstack) and on ours, one
//! test body for each host, on two machines linked by a QEMU socket network on the loopback (e1000 NICs,
//! Debian's module; `xm serve` in both dom0s), the first also on a QEMU
//! user network through which the test fetches the saved image:
//!
//! * the guest runs a counter and writes 4 MiB of random data, checksummed;
//! * a save to `/dev/full` fails after the guest suspended: the suspend is
//!   cancelled and the guest runs on;
//! * `xm save` parks it in a file, fetched over HTTP to
//!   `target/qemu-tests/xm_migrate/guest.save`; corrupted and truncated
//!   images are refused with one line and create nothing; `xm restore`
//!   brings it back, checksum and counter intact;
//! * `xm migrate -p 8002 -l` moves it to the second host and `xm migrate
//!   --live` back, the counter going on; a migration the destination
//!   refuses after the guest suspended (a namesake runs there) and one to
//!   a port nobody serves fail, and the guest runs on.
//!
//! On Xen 4.17 (Debian's, built without shadow paging) a live migration
//! copies with the guest stopped: one round. On ours log-dirty mode works
//! (protection keys), so `-l`/`--live` run pre-copy rounds while the
//! guest counts on, then stop and copy: more than one round, and a
//! downtime reported.
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use qemu_tests::linux_dom0::{
    artefacts, boot_migration_pair, build_migrate_iso_for, domu_line, without_xen, Host, LinuxDom0, Output,
    LINUX_DOMU_READY, XENCONSOLED_LOG,
};

/// `o` without our hypervisor's console lines (`(XEN) ...`), which share
/// the serial console with dom0's shell on ours.
fn quiet(o: Output) -> Output {
    Output { stdout: without_xen(&o.stdout), stderr: without_xen(&o.stderr), ..o }
}
use qemu_tests::{debian, fixture::scratch_dir, workspace_root};

/// The log, printable and ending in a newline (the prompt has none, and
/// the driver's markers must start their lines).
const CAT_LOG: &str = "tr -d '\\033\\r' < /var/log/xen/console/guest-mig1.log; echo";

/// Build the image for `host`, or `None` (test skipped) without Debian's
/// archive.
fn image(host: Host) -> Option<PathBuf> {
    if let Err(e) = artefacts() {
        if debian::is_unavailable(&e) {
            println!("SKIPPED: Linux dom0 reference system: {e:#}");
            return None;
        }
        panic!("fetching the reference system: {e:#}");
    }
    // One per host: the two tests run at once in one process.
    let tag = if host == Host::Xen { "xen" } else { "ours" };
    let iso = scratch_dir().join(format!("xm-migrate-{tag}-{}.iso", std::process::id()));
    build_migrate_iso_for(host, &iso).unwrap_or_else(|e| panic!("building the image: {e:#}"));
    Some(iso)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Poll `cmd` until its output contains `want`.
fn wait_for(sys: &mut LinuxDom0, cmd: &str, want: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::new();
    while Instant::now() < deadline {
        last = sys.sh_guest(cmd).stdout;
        if last.contains(want) {
            return last;
        }
        sys.settle(Duration::from_secs(2));
    }
    let logs = sys.sh_guest(&format!("xm list; ({CAT_LOG}) | tail -20; cat {XENCONSOLED_LOG}")).stdout;
    panic!("{cmd} never showed {want:?}; last output:\n{last}\nlogs:\n{logs}");
}

/// Create the guest and wait for its shell.
fn create_guest(sys: &mut LinuxDom0) {
    let o = sys.sh_ok("xm create /etc/xen/mig.cfg");
    assert!(o.starts_with("Started domain mig1 (id="), "{o}");
    wait_for(sys, CAT_LOG, LINUX_DOMU_READY, 300);
}

/// Run `cmd` in the guest's shell through `xm console` and return what
/// it prints.
fn in_guest(sys: &mut LinuxDom0, cmd: &str) -> String {
    guest_line(sys, &format!("echo R\"\"ES=$({cmd})"))
}

/// Type `line` at the guest's shell and return the value after the
/// `RES=` it prints (a few tries: the console may drop the first keys).
fn guest_line(sys: &mut LinuxDom0, line: &str) -> String {
    for _ in 0..3 {
        let v = domu_line(sys, "mig1", line).unwrap_or_else(|e| panic!("{e:#}\nserial log:\n{}", sys.log()));
        if let Some(v) = v {
            return v;
        }
    }
    let log = sys.sh_guest(&format!("({CAT_LOG}) | tail -30")).stdout;
    let hv: Vec<&str> = sys.log().lines().filter(|l| l.contains("(XEN)")).collect();
    let hv = hv[hv.len().saturating_sub(40)..].join("\n");
    let list = sys.sh_guest("xm list").stdout;
    panic!("the guest never answered {line:?}; its console:\n{log}\nxm list:\n{list}\nthe hypervisor's log:\n{hv}");
}

/// The guest's counter (started by [`start_counter`]).
fn counter(sys: &mut LinuxDom0) -> u64 {
    // The counter rewrites its file (`echo $n > /tmp/count`): a read can
    // fall between the truncation and the write and see it empty.
    let mut v = String::new();
    for _ in 0..5 {
        v = in_guest(sys, "cat /tmp/count");
        if let Ok(n) = v.parse() {
            return n;
        }
        sys.settle(Duration::from_millis(300));
    }
    panic!("counter {v:?}")
}

fn start_counter(sys: &mut LinuxDom0) {
    // Idempotent: a retry must not start a second counter.
    let v = guest_line(sys, "[ -e /tmp/count ] || (i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done) >/dev/null 2>&1 & echo R\"\"ES=started");
    assert_eq!(v, "started");
}

/// Start a loop in the guest that rewrites 1 MiB of random data and then
/// its checksum until `/tmp/stop` exists (then it says `/tmp/stopped`).
fn start_writer(sys: &mut LinuxDom0) {
    let v = guest_line(
        sys,
        "rm -f /tmp/stop /tmp/stopped; (while [ ! -e /tmp/stop ]; do dd if=/dev/urandom of=/tmp/w bs=4096 count=256 2>/dev/null; md5sum < /tmp/w > /tmp/w.sum; done; touch /tmp/stopped) >/dev/null 2>&1 & echo R\"\"ES=writing",
    );
    assert_eq!(v, "writing");
}

/// Stop the writer of [`start_writer`]; its data must match its checksum.
fn check_writer(sys: &mut LinuxDom0) {
    let v = guest_line(
        sys,
        "touch /tmp/stop; while [ ! -e /tmp/stopped ]; do sleep 1; done; [ \"$(md5sum < /tmp/w)\" = \"$(cat /tmp/w.sum)\" ] && echo R\"\"ES=same || echo R\"\"ES=differ",
    );
    assert_eq!(v, "same", "the data the guest wrote during the migration and its checksum differ");
}

/// Offset of the first PAGE_DATA record (type 1, a batch of 1024 pages)
/// of a saved image.
fn first_page_data(image: &[u8]) -> usize {
    image
        .windows(16)
        .position(|w| w[..4] == [1, 0, 0, 0] && w[7] == 0 && w[8..16] == [0, 4, 0, 0, 0, 0, 0, 0])
        .expect("a PAGE_DATA record of 1024 pages")
}

/// Run a long xm command (save, restore, migrate) that must succeed;
/// its output.
fn timed(sys: &mut LinuxDom0, cmd: &str) -> String {
    let start = Instant::now();
    let o = quiet(sys.run_for(cmd, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e:#}")));
    eprintln!("{cmd} took {:.1?}: {}{}", start.elapsed(), o.stdout, o.stderr);
    assert_eq!(o.exit_code, 0, "{cmd}: {o:?}");
    o.stdout
}

/// `GET /path` from the HTTP server at `port` on the loopback: the body.
fn http_get(port: u16, path: &str) -> Vec<u8> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes()).unwrap();
    let mut all = Vec::new();
    s.read_to_end(&mut all).unwrap();
    let at = all.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP header");
    let head = String::from_utf8_lossy(&all[..at]).to_string();
    assert!(head.starts_with("HTTP/1.") && head.contains(" 200 "), "{head}");
    all[at + 4..].to_vec()
}

/// The number of rounds `xm migrate` reports ("... in N round(s): ...").
fn rounds(out: &str) -> u32 {
    let at = out.find(" round(s)").unwrap_or_else(|| panic!("no round count in {out:?}"));
    out[..at].rsplit(' ').next().and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("no round count in {out:?}"))
}

/// A live migration's rounds: one on Xen 4.17 (no log-dirty mode for PV
/// guests, the copy is made with the guest stopped), pre-copy rounds and
/// stop-and-copy on ours.
fn check_live_rounds(host: Host, out: &str) {
    let n = rounds(out);
    match host {
        Host::Xen => assert_eq!(n, 1, "{out}"),
        Host::Ours => assert!(n >= 2, "live migration on ours ran {n} round(s): {out}"),
    }
    assert!(out.contains(" downtime "), "{out}");
}

#[test]
fn save_restore_and_migration_on_xen() {
    run(Host::Xen);
}

#[test]
fn save_restore_and_live_migration_on_ours() {
    run(Host::Ours);
}

fn run(host: Host) {
    let Some(iso) = image(host) else { return };
    // The first host also has a user-mode NIC, through which the test
    // fetches the saved image over HTTP.
    let http = free_port();
    let user_nic = vec![
        "-netdev".into(),
        format!("user,id=u0,hostfwd=tcp:127.0.0.1:{http}-:8080"),
        "-device".into(),
        "e1000,netdev=u0,mac=52:54:00:00:01:0a".into(),
    ];
    let (mut a, mut b) = boot_migration_pair(&iso, user_nic).unwrap_or_else(|e| panic!("booting two hosts: {e:#}"));
    let _ = std::fs::remove_file(&iso);
    eprintln!("two dom0 shells ready after {:.1?} and {:.1?}", a.boot_time, b.boot_time);
    a.sh_ok("ip link set eth1 up && ip addr add 10.0.2.15/24 dev eth1");
    let free0 = a.xm_free_mib();
    create_guest(&mut a);
    start_counter(&mut a);

    // Memory written before the save, and its checksum.
    let sum = in_guest(&mut a, "dd if=/dev/urandom of=/tmp/blob bs=4096 count=1024 2>/dev/null; md5sum < /tmp/blob");
    assert!(sum.len() >= 32 && sum[..32].bytes().all(|b| b.is_ascii_hexdigit()), "{sum}");
    let c0 = counter(&mut a);

    // A save that fails after the guest suspended: the suspend is
    // cancelled and the guest runs on where it was.
    let o = a.sh_guest("xm save mig1 /dev/full");
    let o = quiet(o);
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
    assert!(o.stderr.contains("No space left on device"), "{o:?}");
    let list = a.sh_ok("xm list mig1");
    assert!(!list.contains("---s-"), "{list}");
    let c1 = counter(&mut a);
    assert!(c0 < c1, "counter {c0} -> {c1}");

    // Save: the domain goes, the image stays.
    let o = timed(&mut a, "xm save mig1 /tmp/guest.save");
    assert!(o.starts_with("Saved domain mig1 to /tmp/guest.save: ") && o.contains(" pages sent, downtime "), "{o}");
    assert_eq!(a.xm_names(), ["Domain-0"]);
    let size: u64 = without_xen(&a.sh_ok("stat -c %s /tmp/guest.save")).trim().parse().unwrap();

    // Fetch the image to the host.
    a.sh_ok("mkdir -p /tmp/www && ln /tmp/guest.save /tmp/www/guest.save && httpd -p 8080 -h /tmp/www");
    let bytes = http_get(http, "/guest.save");
    assert_eq!(bytes.len() as u64, size);
    assert_eq!(&bytes[..32], b"Xen saved domain, xl format\n \0 \r");
    let dir = workspace_root().join("target/qemu-tests/xm_migrate");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("guest.save"), &bytes).unwrap();
    a.sh_ok("rm -r /tmp/www");

    // Bad images: one line each, nothing created. The corruptions are
    // made in place (dom0's memory holds one image, not two) and undone.
    let page_data = first_page_data(&bytes);
    let poke = |at: usize, byte: u8| {
        format!("printf '\\{byte:03o}' | dd of=/tmp/guest.save bs=1 seek={at} count=1 conv=notrunc 2>/dev/null")
    };
    let cases = [
        (0, b'Y', "xm: corrupted image: not a Xen saved domain"),
        (page_data + 16 + 7, 0x70, "xm: corrupted image: PAGE_DATA: pfn 0x0 has unknown type 0x7"),
        (page_data, 0x42, "xm: corrupted image: unsupported record type 0x42"),
    ];
    for (at, byte, want) in cases {
        a.sh_ok(&poke(at, byte));
        let o = a.sh_guest("xm restore /tmp/guest.save");
        let o = quiet(o);
        a.sh_ok(&poke(at, bytes[at]));
        assert_eq!(o.exit_code, 1, "{o:?}");
        assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
        assert!(o.stderr.starts_with(want), "{o:?}");
        assert_eq!(a.xm_names(), ["Domain-0"]);
    }
    a.sh_ok("head -c 2000000 /tmp/guest.save > /tmp/bad.save");
    let o = a.sh_guest("xm restore /tmp/bad.save");
    let o = quiet(o);
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
    assert!(o.stderr.starts_with("xm: truncated image: "), "{o:?}");
    assert_eq!(a.xm_names(), ["Domain-0"]);
    a.sh_ok("rm /tmp/bad.save");

    // Restore: the guest goes on, its memory intact, its counter counting.
    let o = timed(&mut a, "xm restore /tmp/guest.save");
    assert!(o.starts_with("Restored domain from /tmp/guest.save as domain "), "{o}");
    assert_eq!(a.xm_names(), ["Domain-0", "mig1"]);
    a.sh_ok("rm /tmp/guest.save");
    assert_eq!(in_guest(&mut a, "md5sum < /tmp/blob"), sum);
    let c2 = counter(&mut a);
    assert!(c1 < c2, "counter {c1} -> {c2}");

    // Migration there, as cluster managers call it, while the guest keeps
    // rewriting 1 MiB and its checksum: a write log-dirty mode missed
    // would leave the two apart on the destination.
    start_writer(&mut a);
    let o = timed(&mut a, "XM_LOG=debug xm migrate -p 8002 -l mig1 10.9.0.2");
    assert!(o.starts_with("Migrated domain mig1 to 10.9.0.2 ") && o.contains(" pages sent, downtime "), "{o}");
    check_live_rounds(host, &o);
    assert_eq!(a.xm_names(), ["Domain-0"]);
    assert_eq!(b.xm_names(), ["Domain-0", "mig1"]);
    let log = b.sh_ok("cat /tmp/serve.log");
    eprintln!("xm serve there:\n{log}");
    assert!(log.contains("runs as domain"), "{log}");
    assert_eq!(in_guest(&mut b, "md5sum < /tmp/blob"), sum);
    let c4 = counter(&mut b);
    assert!(c2 < c4, "counter {c2} -> {c4}");
    check_writer(&mut b);
    start_writer(&mut b);

    // And back, on the default port, from a host without the guest's
    // configuration file: the image carries the configuration the guest
    // arrived with (kept in xenstore), as xl does.
    b.sh_ok("mv /etc/xen/mig.cfg /etc/xen/mig.cfg.away");
    let o = timed(&mut b, "XM_LOG=debug xm migrate --live mig1 10.9.0.1");
    b.sh_ok("mv /etc/xen/mig.cfg.away /etc/xen/mig.cfg");
    assert!(o.starts_with("Migrated domain mig1 to 10.9.0.1 "), "{o}");
    check_live_rounds(host, &o);
    assert_eq!(b.xm_names(), ["Domain-0"]);
    assert_eq!(a.xm_names(), ["Domain-0", "mig1"]);
    eprintln!("xm serve here:\n{}", a.sh_ok("cat /tmp/serve.log"));
    let c5 = counter(&mut a);
    assert!(c4 < c5, "counter {c4} -> {c5}");
    check_writer(&mut a);

    // A destination that refuses (a namesake runs there) after the guest
    // was suspended for the copy: the guest resumes on the source.
    b.sh_ok("xm create /etc/xen/mig.cfg");
    let o = a.run_for("xm migrate mig1 10.9.0.2", Duration::from_secs(300)).unwrap();
    let o = quiet(o);
    eprintln!("refused migration: {o:?}");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.stderr, "xm: the destination failed: domain name 'mig1' is already in use\n", "{o:?}");
    b.sh_ok("xm destroy mig1");
    assert_eq!(a.xm_names(), ["Domain-0", "mig1"]);
    let c6 = counter(&mut a);
    assert!(c5 < c6, "counter {c5} -> {c6}");

    // A destination that does not answer: nothing moves, the guest runs on.
    let o = a.sh_guest("xm migrate -p 8003 -l mig1 10.9.0.2");
    let o = quiet(o);
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.stderr.starts_with("xm: cannot connect to 10.9.0.2:8003"), "{o:?}");
    let c7 = counter(&mut a);
    assert!(c6 < c7, "counter {c6} -> {c7}");

    a.sh_ok("xm destroy mig1");
    assert_eq!(a.xm_free_mib(), free0);
    if host == Host::Ours {
        for sys in [&a, &b] {
            for l in sys.log().lines().filter(|l| l.contains("log-dirty")) {
                eprintln!("hypervisor: {l}");
            }
        }
    }
    a.shutdown().unwrap();
    b.shutdown().unwrap();
}
