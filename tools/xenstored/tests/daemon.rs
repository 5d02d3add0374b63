//! Integration: the real `xenstored` binary on a temporary socket, driven
//! by the client library.

mod common;

use std::time::Duration;

use common::Daemon;
use xenstore::client::{ClientError, TxId};
use xenstore::XsError;

const N: TxId = TxId::NONE;

#[test]
fn client_drives_daemon() {
    let d = Daemon::start("basic");
    let mut c = d.client();
    assert_eq!(
        c.read_string(N, "/local/domain/0/name").unwrap(),
        "Domain-0"
    );
    assert_eq!(c.read_string(N, "/local/domain/0/domid").unwrap(), "0");
    c.read(N, "/tool/xenstored").unwrap();
    c.write(N, "/vm/1/name", b"guest").unwrap();
    c.mkdir(N, "/vm/1/device").unwrap();
    assert_eq!(c.directory(N, "/vm/1").unwrap(), ["name", "device"]);
    c.set_perms(N, "/vm/1", &["n1", "r0"]).unwrap();
    assert_eq!(c.get_perms(N, "/vm/1").unwrap(), ["n1", "r0"]);
    c.rm(N, "/vm").unwrap();
    assert!(matches!(
        c.read(N, "/vm/1/name"),
        Err(ClientError::Xs(XsError::NoEnt))
    ));
    assert_eq!(c.get_domain_path(3).unwrap(), "/local/domain/3");
    assert!(!c.is_domain_introduced(3).unwrap());
    assert_eq!(c.control(&["check"]).unwrap(), "OK");
}

#[test]
fn watches_across_clients() {
    let d = Daemon::start("watch");
    let mut w = d.client();
    let mut c = d.client();
    w.watch("/local/domain/5", "dom5").unwrap();
    let first = w.next_event().unwrap();
    assert_eq!(
        (first.path.as_str(), first.token.as_str()),
        ("/local/domain/5", "dom5")
    );
    c.write(N, "/local/domain/5/state", b"4").unwrap();
    let ev = w.events().next().unwrap();
    assert_eq!(ev.path, "/local/domain/5/state");
    // Watch events interleaved with replies are kept for later.
    c.write(N, "/local/domain/5/state", b"5").unwrap();
    assert_eq!(w.read_string(N, "/local/domain/5/state").unwrap(), "5");
    assert_eq!(w.next_event().unwrap().path, "/local/domain/5/state");
    w.unwatch("/local/domain/5", "dom5").unwrap();
}

#[test]
fn transaction_retry_helper() {
    let d = Daemon::start("tx");
    let mut a = d.client();
    let mut b = d.client();
    a.write(N, "/counter", b"0").unwrap();
    let mut attempts = 0;
    let v = a
        .transaction(5, |c, tx| {
            attempts += 1;
            let n: u32 = c.read_string(tx, "/counter")?.parse().unwrap();
            if attempts == 1 {
                // Someone else changes it meanwhile: the first commit fails.
                b.write(N, "/counter", b"10").unwrap();
            }
            c.write(tx, "/counter", (n + 1).to_string().as_bytes())?;
            Ok(n + 1)
        })
        .unwrap();
    assert_eq!((attempts, v), (2, 11));
    assert_eq!(a.read_string(N, "/counter").unwrap(), "11");
}

#[test]
fn daemon_survives_garbage() {
    use std::io::{Read, Write};
    let d = Daemon::start("garbage");
    for seed in 0..20u8 {
        let mut s = std::os::unix::net::UnixStream::connect(&d.socket).unwrap();
        let junk: Vec<u8> = (0..200u32)
            .map(|i| (i as u8).wrapping_mul(seed).wrapping_add(seed))
            .collect();
        let _ = s.write_all(&junk);
        s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let _ = s.read(&mut [0u8; 64]);
    }
    let mut c = d.client();
    assert_eq!(
        c.read_string(N, "/local/domain/0/name").unwrap(),
        "Domain-0"
    );
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn bench() {
    let d = Daemon::start("bench");
    let r = xenstore::bench::run(&d.socket).unwrap();
    println!(
        "xenstored bench: {:.0} reads/s, {:.0} writes/s, watch latency {:.1} us",
        r.reads_per_sec, r.writes_per_sec, r.watch_latency_us
    );
}
