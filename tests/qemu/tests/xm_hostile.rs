//! A hostile domU cannot hurt dom0 or its neighbours: under Debian's Linux
//! as PV dom0 with our `xm`, `xenstored` and `xenconsoled`, on Xen 4.17 and
//! on our hypervisor, one test body and one boot per hypervisor.
//!
//! * a healthy domU (the `domu` test kernel, `/etc/xen/domu.cfg`) starts
//!   and reports ready;
//! * the `hostile` and `mm_hostile` test kernels run as domUs beside it
//!   (`xm create /etc/xen/NAME.cfg extra=neighbour=...`: the neighbour's
//!   domain id, console and xenstore frames and ports, read from xenstore).
//!   Besides their usual attacks (bad pointers, huge counts, foreign and
//!   hypervisor frames, page-table type confusion) they go after the
//!   neighbour's and dom0's frames, event channels, grants, memory and
//!   the toolstack's domctl/sysctl/remote shutdown. They print their
//!   transcript to their console ring (xenconsoled's
//!   `/var/log/xen/console/guest-NAME.log`), then power themselves off: the
//!   domain is gone from `xm list` and the host's free memory is back;
//! * the transcripts on ours must equal Xen's line for line (values of
//!   `~ ` lines excepted: frame numbers and domain ids);
//! * the hypercall fuzzer runs as an unprivileged domU beside the
//!   neighbour (`fuzz` kernel, [`FUZZ_SEEDS`] seeds of [`FUZZ_CALLS`]
//!   random calls; one the hypervisor crashes is destroyed and the next
//!   seed goes on: the first is made to crash midway), each gone with its
//!   memory given back afterwards; then
//!   seed [`DIFF_SEED`] in `diff=1` mode, whose transcript on ours must
//!   match Xen's call by call but for the differences
//!   `qemu_tests::fuzz::KNOWN_DIFFERENCES` explains;
//! * the neighbour still runs (its console echoes input), dom0 still works,
//!   and once the neighbour is destroyed `xm list` shows only Domain-0 and
//!   `xm info` the free memory of the start.
//!
//! Without access to Debian's archive the test prints `SKIPPED: ...` and
//! passes.

use std::time::{Duration, Instant};

use qemu_tests::fuzz::compare_transcripts;
use qemu_tests::fuzz_domu::{diff_transcript, run_seeds, DomuOutcome};
use qemu_tests::linux_dom0::{boot_host_or_skip, machine, Host, LinuxDom0, HOSTILE_KERNELS, XENCONSOLED_LOG, XENSTORED_LOG};
use qemu_tests::transcript::{compare, Transcript};

/// Poll `cmd` until its output contains `want` (at most `secs` seconds).
fn wait_for(sys: &mut LinuxDom0, cmd: &str, want: &str, secs: u64) -> String {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut last = String::new();
    while Instant::now() < deadline {
        last = sys.sh_guest(cmd).stdout;
        if last.contains(want) {
            return last;
        }
        sys.settle(Duration::from_secs(1));
    }
    let logs = sys.sh_guest(&format!("xm list; tail -n 40 /var/log/xen/console/*.log {XENCONSOLED_LOG}")).stdout;
    panic!("{cmd} never showed {want:?}; last output:\n{last}\nlogs:\n{logs}\nserial:\n{}", sys.log());
}

/// Random fuzzer domUs on each host: seeds 1 to this; the hypervisor
/// crashes the first midway (`crash_at=`), the next seed goes on.
const FUZZ_SEEDS: u64 = 3;
/// Calls of each random fuzzer domU.
const FUZZ_CALLS: u64 = 10_000;
/// The seed of the `diff=1` fuzzer domU.
const DIFF_SEED: u64 = 1;
/// Its calls.
const DIFF_CALLS: u64 = 1500;

/// What one host gives: the transcripts of the hostile kernels, in
/// [`HOSTILE_KERNELS`] order, and the `diff=1` fuzzer domU's.
type Transcripts = (Vec<Transcript>, Transcript);

#[test]
fn hostile_domus_on_xen_and_ours() {
    let xen = hostile_domus(Host::Xen);
    let Some(ours) = hostile_domus(Host::Ours) else { return };
    let Some(xen) = xen else { return };
    for (ours, xen) in ours.0.iter().zip(&xen.0) {
        if let Err(d) = compare(ours, xen) {
            panic!("'{}' as a domU differs between ours and Xen 4.17: {d}\n---- ours\n{ours}\n---- Xen 4.17\n{xen}", ours.name);
        }
    }
    let c = compare_transcripts(&ours.1, &xen.1);
    eprintln!("fuzzer domU seed {DIFF_SEED}: {} calls compared, {} differ\n{}", c.calls, c.differing, c.report.join("\n"));
    assert_eq!(c.unexplained, 0, "the diff=1 fuzzer domU differs between ours and Xen 4.17:\n{}", c.report.join("\n"));
}

/// The test body on `host`; `None` when the reference system is not
/// available.
fn hostile_domus(host: Host) -> Option<Transcripts> {
    let started = Instant::now();
    let mut sys = boot_host_or_skip(host, &machine())?;
    let free0 = sys.xm_free_mib();
    let names0 = sys.xm_names();
    assert_eq!(names0, ["Domain-0"]);

    // The healthy neighbour.
    let o = sys.sh_ok("xm create /etc/xen/domu.cfg");
    assert!(o.starts_with("Started domain domu1 (id="), "{o}");
    wait_for(&mut sys, "cat /var/log/xen/console/guest-domu1.log", "domu: ready", 60);
    let free1 = sys.xm_free_mib();
    let neighbour = sys
        .sh_ok(
            "d=$(xm domid domu1); p=/local/domain/$d; \
             echo $d,$(xenstore-read $p/console/ring-ref),$(xenstore-read $p/console/port),$(xenstore-read $p/store/ring-ref),$(xenstore-read $p/store/port)",
        )
        .trim()
        .to_string();
    assert!(neighbour.split(',').count() == 5 && neighbour.split(',').all(|v| v.parse::<u64>().is_ok()), "{neighbour}");

    // The hostile ones, one after the other.
    let mut transcripts = Vec::new();
    for name in HOSTILE_KERNELS {
        let t0 = Instant::now();
        let log = format!("/var/log/xen/console/guest-{name}.log");
        let o = sys.sh_ok(&format!("xm create /etc/xen/{name}.cfg extra=neighbour={neighbour}"));
        assert!(o.starts_with(&format!("Started domain {name} (id=")), "{o}");
        let text = wait_for(&mut sys, &format!("tr -d '\\r' < {log}"), "TRANSCRIPT END", 120);
        // It powers itself off: gone from the list, its memory back.
        let mut names = Vec::new();
        for _ in 0..30 {
            names = sys.xm_names();
            if !names.iter().any(|n| n == name) {
                break;
            }
            sys.settle(Duration::from_secs(1));
        }
        assert_eq!(names, ["Domain-0", "domu1"], "{name} did not go away after its transcript");
        assert_eq!(sys.xm_free_mib(), free1, "{name}'s memory did not come back");
        let t = Transcript::extract(&text).unwrap_or_else(|e| panic!("{name} on {}: {e:#}\n{text}", host.name()));
        assert_eq!(t.name, *name);
        assert!(t.get("PANIC").is_none(), "{name} panicked on {}:\n{t}", host.name());
        assert!(t.get("neighbour domain").is_some(), "{name} did not see its neighbour on {}:\n{t}", host.name());
        eprintln!("---- {name} as a domU on {} ({:.1?})\n{t}", host.name(), t0.elapsed());
        transcripts.push(t);
    }

    // The hypercall fuzzer as a domU, beside the neighbour.
    let before_fuzz = sys.log().len();
    let runs = run_seeds(&mut sys, 1, FUZZ_SEEDS, FUZZ_CALLS, free1, true)
        .unwrap_or_else(|e| panic!("fuzzer domUs on {}: {e:#}\nserial log:\n{}", host.name(), sys.log()));
    assert_eq!(runs[0].outcome, DomuOutcome::Crashed, "seed 1 was to be crashed by the hypervisor on {}", host.name());
    assert!(
        runs[1..].iter().any(|r| matches!(r.outcome, DomuOutcome::Done { .. })),
        "no fuzzer domU after the crashed one finished on {}: {runs:?}",
        host.name()
    );
    for r in &runs {
        eprintln!("fuzzer domU seed {} on {}: {:?} in {:.1?}", r.seed, host.name(), r.outcome, r.elapsed);
        if let DomuOutcome::Done { calls, distinct, pages } = r.outcome {
            assert_eq!(calls, FUZZ_CALLS);
            assert_eq!(pages.0, pages.1, "seed {}: the fuzzer's reservation changed on {}", r.seed, host.name());
            assert!(distinct > 100, "seed {}: too few distinct answers ({distinct})", r.seed);
        }
    }
    let fuzz_diff = diff_transcript(&mut sys, DIFF_SEED, DIFF_CALLS, free1)
        .unwrap_or_else(|e| panic!("diff=1 fuzzer domU on {}: {e:#}", host.name()));
    assert_eq!(fuzz_diff.facts.len() as u64, DIFF_CALLS, "diff=1 transcript on {}:\n{fuzz_diff}", host.name());

    // The neighbour still runs and echoes its console input.
    let con = sys.sh_ok("(sleep 2; echo typed; sleep 2) | timeout 6 xm console domu1; true");
    assert!(con.contains("domu: input typed"), "the neighbour no longer answers on {}:\n{con}", host.name());
    let list = sys.sh_ok("xm list domu1");
    let state = list.lines().nth(1).and_then(|l| l.split_whitespace().nth(4)).unwrap_or("");
    assert!(!state.contains('c') && !state.contains('s'), "{list}");
    let log = sys.sh_ok("cat /var/log/xen/console/guest-domu1.log");
    assert!(!log.contains("shutdown request"), "{log}");

    // Dom0 still works, and everything is given back.
    assert_eq!(sys.sh_ok("echo dom0 $((6*7))"), "dom0 42\n");
    sys.sh_ok("xm destroy domu1");
    for _ in 0..20 {
        if sys.xm_names() == names0 {
            break;
        }
        sys.settle(Duration::from_millis(500));
    }
    assert_eq!(sys.xm_names(), names0);
    assert_eq!(sys.xm_free_mib(), free0);
    let log = sys.sh_ok(&format!("cat {XENSTORED_LOG}"));
    assert!(!log.contains("WARN"), "xenstored warned:\n{log}");
    if host == Host::Ours {
        // Before the fuzzer, no domain crash at all; after it, a crashed
        // fuzzer domU is fine, the hypervisor's own crash is not.
        if let Some(line) = qemu_tests::ours::crash_line(&sys.log()[..before_fuzz]) {
            panic!("our hypervisor reported a crash: {line}\nserial log:\n{}", sys.log());
        }
    }
    if let Some(line) = qemu_tests::fuzz::host_crash_line(sys.log()) {
        panic!("{} crashed: {line}\nserial log:\n{}", host.name(), sys.log());
    }
    eprintln!("hostile domUs on {} took {:.1?}", host.name(), started.elapsed());
    sys.shutdown().unwrap();
    Some((transcripts, fuzz_diff))
}
