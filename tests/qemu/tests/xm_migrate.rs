//! Save, restore and live migration of a Linux PV domU on the reference
//! system (Xen 4.17, Debian's Linux as PV dom0, our toolstack), with the
//! dom0s on a network (the e1000 NIC, Debian's module).
//!
//! * `save_restore_on_xen` (one machine, QEMU user network): the guest
//!   writes 4 MiB of random data and checksums it; a save to `/dev/full`
//!   fails after the guest suspended, and the suspend is cancelled (the
//!   guest runs on); `xm save` parks it in a file (fetched to
//!   `target/qemu-tests/xm_migrate/guest.save` over HTTP); truncated and
//!   corrupted copies are refused with one line and create nothing; `xm
//!   restore` brings it back and the checksum holds;
//! * `live_migration_between_two_hosts` (two machines linked by a QEMU
//!   socket network on the loopback, `xm serve` on both): a counter in
//!   the guest goes on across `xm migrate -p 8002 -l` there and `xm
//!   migrate -l` back.
//!
//! The two tests take turns (one lock), so that at most two machines run.
//! Without access to Debian's archive they print `SKIPPED: ...` and pass.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use qemu_tests::linux_dom0::{
    artefacts, boot_migration_pair, build_migrate_iso, dom0_network_up, domu_line, machine, LinuxDom0, LINUX_DOMU_READY,
    XENCONSOLED_LOG,
};
use qemu_tests::qemu::Machine;
use qemu_tests::{debian, fixture::scratch_dir, workspace_root};

/// One test at a time: each runs QEMU machines of its own.
static TURN: Mutex<()> = Mutex::new(());

/// The log, printable and ending in a newline (the prompt has none, and
/// the driver's markers must start their lines).
const CAT_LOG: &str = "tr -d '\\033\\r' < /var/log/xen/console/guest-mig1.log; echo";

/// Build the image, or `None` (test skipped) without Debian's archive.
fn image(tag: &str) -> Option<PathBuf> {
    if let Err(e) = artefacts() {
        if debian::is_unavailable(&e) {
            println!("SKIPPED: Linux dom0 reference system: {e:#}");
            return None;
        }
        panic!("fetching the reference system: {e:#}");
    }
    let iso = scratch_dir().join(format!("xm-migrate-{tag}-{}.iso", std::process::id()));
    build_migrate_iso(&iso).unwrap_or_else(|e| panic!("building the image: {e:#}"));
    Some(iso)
}

fn boot(iso: &std::path::Path, extra: Vec<String>) -> LinuxDom0 {
    let m = Machine { smp: 1, extra_args: extra, ..machine() };
    let sys = LinuxDom0::boot_iso(iso, &m).unwrap_or_else(|e| panic!("booting Xen 4.17 + Linux dom0: {e:#}"));
    eprintln!("dom0 shell ready after {:.1?}", sys.boot_time);
    sys
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
    panic!("the guest never answered {line:?}; its console:\n{log}");
}

/// The guest's counter (started by [`start_counter`]).
fn counter(sys: &mut LinuxDom0) -> u64 {
    let v = in_guest(sys, "cat /tmp/count");
    v.parse().unwrap_or_else(|_| panic!("counter {v:?}"))
}

fn start_counter(sys: &mut LinuxDom0) {
    let v = guest_line(sys, "(i=0; while :; do i=$((i+1)); echo $i > /tmp/count; sleep 1; done) >/dev/null 2>&1 & echo R\"\"ES=started");
    assert_eq!(v, "started");
}

/// Offset of the first PAGE_DATA record (type 1, a batch of 1024 pages)
/// of a saved image.
fn first_page_data(image: &[u8]) -> usize {
    image
        .windows(16)
        .position(|w| w[..4] == [1, 0, 0, 0] && w[7] == 0 && w[8..16] == [0, 4, 0, 0, 0, 0, 0, 0])
        .expect("a PAGE_DATA record of 1024 pages")
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

#[test]
fn save_restore_on_xen() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let Some(iso) = image("save") else { return };
    let http = free_port();
    let net = vec![
        "-netdev".into(),
        format!("user,id=u0,hostfwd=tcp:127.0.0.1:{http}-:8080"),
        "-device".into(),
        "e1000,netdev=u0".into(),
    ];
    let mut sys = boot(&iso, net);
    let _ = std::fs::remove_file(&iso);
    dom0_network_up(&mut sys, "10.0.2.15/24").unwrap();
    let free0 = sys.xm_free_mib();
    create_guest(&mut sys);

    // Memory written before the save, and its checksum.
    let sum = in_guest(&mut sys, "dd if=/dev/urandom of=/tmp/blob bs=4096 count=1024 2>/dev/null; md5sum < /tmp/blob");
    assert!(sum.len() >= 32 && sum[..32].bytes().all(|b| b.is_ascii_hexdigit()), "{sum}");

    // A save that fails after the guest suspended: the suspend is
    // cancelled and the guest runs on where it was.
    let o = sys.sh_guest("xm save mig1 /dev/full");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
    assert!(o.stderr.contains("No space left on device"), "{o:?}");
    let list = sys.sh_ok("xm list mig1");
    assert!(!list.contains("---s-"), "{list}");
    assert_eq!(in_guest(&mut sys, "md5sum < /tmp/blob"), sum);

    // Save: the domain goes, the image stays.
    let start = Instant::now();
    let o = sys.run_for("xm save mig1 /tmp/guest.save", Duration::from_secs(600)).unwrap().stdout;
    eprintln!("xm save took {:.1?}: {o}", start.elapsed());
    assert!(o.starts_with("Saved domain mig1 to /tmp/guest.save: ") && o.contains(" pages sent, downtime "), "{o}");
    assert_eq!(sys.xm_names(), ["Domain-0"]);
    let size: u64 = sys.sh_ok("stat -c %s /tmp/guest.save").trim().parse().unwrap();

    // Fetch the image to the host.
    sys.sh_ok("mkdir -p /tmp/www && ln /tmp/guest.save /tmp/www/guest.save && httpd -p 8080 -h /tmp/www");
    let bytes = http_get(http, "/guest.save");
    assert_eq!(bytes.len() as u64, size);
    assert_eq!(&bytes[..32], b"Xen saved domain, xl format\n \0 \r");
    let dir = workspace_root().join("target/qemu-tests/xm_migrate");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("guest.save"), &bytes).unwrap();
    sys.sh_ok("rm -r /tmp/www");

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
        sys.sh_ok(&poke(at, byte));
        let o = sys.sh_guest("xm restore /tmp/guest.save");
        sys.sh_ok(&poke(at, bytes[at]));
        assert_eq!(o.exit_code, 1, "{o:?}");
        assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
        assert!(o.stderr.starts_with(want), "{o:?}");
        assert_eq!(sys.xm_names(), ["Domain-0"]);
    }
    sys.sh_ok("head -c 2000000 /tmp/guest.save > /tmp/bad.save");
    let o = sys.sh_guest("xm restore /tmp/bad.save");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert_eq!(o.stderr.lines().count(), 1, "{o:?}");
    assert!(o.stderr.starts_with("xm: truncated image: "), "{o:?}");
    assert_eq!(sys.xm_names(), ["Domain-0"]);
    sys.sh_ok("rm /tmp/bad.save");

    // Restore: the guest goes on with its memory intact.
    let start = Instant::now();
    let o = sys.run_for("xm restore /tmp/guest.save", Duration::from_secs(600)).unwrap().stdout;
    eprintln!("xm restore took {:.1?}: {o}", start.elapsed());
    assert!(o.starts_with("Restored domain from /tmp/guest.save as domain "), "{o}");
    assert_eq!(sys.xm_names(), ["Domain-0", "mig1"]);
    assert_eq!(in_guest(&mut sys, "md5sum < /tmp/blob"), sum);

    sys.sh_ok("xm destroy mig1");
    assert_eq!(sys.xm_free_mib(), free0);
    sys.shutdown().unwrap();
}

/// `xm migrate` in dom0 of `from`; returns its closing line.
fn migrate(from: &mut LinuxDom0, cmd: &str) -> String {
    let start = Instant::now();
    let o = from.run_for(cmd, Duration::from_secs(600)).unwrap_or_else(|e| panic!("{e:#}"));
    eprintln!("{cmd} took {:.1?}: {}{}", start.elapsed(), o.stdout, o.stderr);
    assert_eq!(o.exit_code, 0, "{o:?}");
    assert!(o.stdout.starts_with("Migrated domain mig1 to ") && o.stdout.contains(" pages sent, downtime "), "{o:?}");
    o.stdout
}

#[test]
fn live_migration_between_two_hosts() {
    let _turn = TURN.lock().unwrap_or_else(|e| e.into_inner());
    let Some(iso) = image("live") else { return };
    let (mut a, mut b) = boot_migration_pair(&iso).unwrap_or_else(|e| panic!("booting two hosts: {e:#}"));
    let _ = std::fs::remove_file(&iso);

    create_guest(&mut a);
    start_counter(&mut a);
    let sum = in_guest(&mut a, "dd if=/dev/urandom of=/tmp/blob bs=4096 count=1024 2>/dev/null; md5sum < /tmp/blob");
    let c0 = counter(&mut a);

    // There, as cluster managers call it.
    migrate(&mut a, "xm migrate -p 8002 -l mig1 10.0.0.2");
    assert_eq!(a.xm_names(), ["Domain-0"]);
    assert_eq!(b.xm_names(), ["Domain-0", "mig1"]);
    let log = b.sh_ok("cat /tmp/serve.log");
    assert!(log.contains("runs as domain"), "{log}");
    let c1 = counter(&mut b);
    let c2 = counter(&mut b);
    assert!(c0 < c1 && c1 < c2, "counter {c0} -> {c1} -> {c2}");
    assert_eq!(in_guest(&mut b, "md5sum < /tmp/blob"), sum);

    // And back, on the default port.
    migrate(&mut b, "xm migrate --live mig1 10.0.0.1");
    assert_eq!(b.xm_names(), ["Domain-0"]);
    assert_eq!(a.xm_names(), ["Domain-0", "mig1"]);
    let c3 = counter(&mut a);
    let c4 = counter(&mut a);
    assert!(c2 < c3 && c3 < c4, "counter {c2} -> {c3} -> {c4}");

    // A destination that does not answer: nothing moves, the guest runs on.
    let o = a.sh_guest("xm migrate -p 8003 -l mig1 10.0.0.2");
    assert_eq!(o.exit_code, 1, "{o:?}");
    assert!(o.stderr.starts_with("xm: cannot connect to 10.0.0.2:8003"), "{o:?}");
    let c5 = counter(&mut a);
    assert!(c4 < c5, "counter {c4} -> {c5}");

    a.sh_ok("xm destroy mig1");
    a.shutdown().unwrap();
    b.shutdown().unwrap();
}
