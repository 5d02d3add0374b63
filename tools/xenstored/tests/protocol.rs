//! Protocol tests against the daemon core: requests in, wire replies out.

use dom0_abi::io::xs_wire::*;
use xenstore::protocol::encode;
use xenstore::quota::Quota;
use xenstore::server::{ConnId, Effect, Server};
use xenstore::store::perms::Caller;

/// A test connection: sends requests, decodes replies.
struct Conn {
    id: ConnId,
    next: u32,
}

#[derive(Debug, PartialEq)]
enum Msg {
    Reply(u32, Vec<u8>),
    Error(String),
    Event(String, String),
}

fn decode(m: &[u8]) -> Msg {
    let h = XsdSockmsg::from_bytes(m).unwrap();
    let body = m[16..].to_vec();
    assert_eq!(h.len as usize, body.len());
    match h.r#type {
        XS_ERROR => Msg::Error(String::from_utf8(body[..body.len() - 1].to_vec()).unwrap()),
        XS_WATCH_EVENT => {
            let parts: Vec<String> = body
                .split(|&b| b == 0)
                .map(|p| String::from_utf8(p.to_vec()).unwrap())
                .collect();
            Msg::Event(parts[0].clone(), parts[1].clone())
        }
        t => Msg::Reply(t, body),
    }
}

impl Conn {
    fn new(s: &mut Server, caller: Caller) -> Self {
        Conn {
            id: s.connect(caller),
            next: 1,
        }
    }

    /// Sends one request; returns every message queued in answer.
    fn send(&mut self, s: &mut Server, ty: u32, tx: u32, payload: &[u8]) -> Vec<Msg> {
        self.next += 1;
        s.receive(self.id, &encode(ty, self.next, tx, payload));
        self.take(s)
    }

    fn take(&self, s: &mut Server) -> Vec<Msg> {
        s.drain_output(self.id).iter().map(|m| decode(m)).collect()
    }

    /// Sends a request expecting a plain reply; returns its payload.
    fn ok(&mut self, s: &mut Server, ty: u32, tx: u32, payload: &[u8]) -> Vec<u8> {
        match self.send(s, ty, tx, payload).remove(0) {
            Msg::Reply(t, body) if t == ty => body,
            other => panic!("type {ty} {payload:?}: {other:?}"),
        }
    }

    fn err(&mut self, s: &mut Server, ty: u32, tx: u32, payload: &[u8]) -> String {
        match self.send(s, ty, tx, payload).remove(0) {
            Msg::Error(e) => e,
            other => panic!("type {ty} {payload:?}: expected an error, got {other:?}"),
        }
    }
}

fn server() -> Server {
    Server::new(Quota::default())
}

#[test]
fn initial_nodes() {
    let mut s = server();
    let mut c = Conn::new(&mut s, Caller::DOM0);
    assert_eq!(
        c.ok(&mut s, XS_READ, 0, b"/local/domain/0/name\0"),
        b"Domain-0"
    );
    assert_eq!(c.ok(&mut s, XS_READ, 0, b"/local/domain/0/domid\0"), b"0");
    assert_eq!(c.ok(&mut s, XS_READ, 0, b"name\0"), b"Domain-0");
    assert_eq!(c.ok(&mut s, XS_DIRECTORY, 0, b"/tool\0"), b"xenstored\0");
    assert_eq!(
        c.ok(&mut s, XS_GET_DOMAIN_PATH, 0, b"7\0"),
        b"/local/domain/7\0"
    );
}

#[test]
fn read_write_directory_rm() {
    let mut s = server();
    let mut c = Conn::new(&mut s, Caller::DOM0);
    assert_eq!(c.ok(&mut s, XS_WRITE, 0, b"/a/b\0hello"), b"OK\0");
    assert_eq!(c.ok(&mut s, XS_READ, 0, b"/a/b\0"), b"hello");
    assert_eq!(c.ok(&mut s, XS_MKDIR, 0, b"/a/c\0"), b"OK\0");
    assert_eq!(c.ok(&mut s, XS_MKDIR, 0, b"/a/c\0"), b"OK\0");
    assert_eq!(c.ok(&mut s, XS_DIRECTORY, 0, b"/a\0"), b"b\0c\0");
    let part = c.ok(&mut s, XS_DIRECTORY_PART, 0, b"/a\x000\0");
    assert!(part.ends_with(b"\0b\0c\0\0"), "{part:?}");
    assert_eq!(c.err(&mut s, XS_DIRECTORY_PART, 0, b"/a\x001\0"), "EINVAL");
    assert_eq!(c.ok(&mut s, XS_GET_PERMS, 0, b"/a/b\0"), b"n0\0");
    assert_eq!(c.ok(&mut s, XS_RM, 0, b"/a\0"), b"OK\0");
    assert_eq!(c.err(&mut s, XS_READ, 0, b"/a/b\0"), "ENOENT");
    assert_eq!(c.err(&mut s, XS_RM, 0, b"/\0"), "EINVAL");
    assert_eq!(c.err(&mut s, XS_READ, 0, b"/bad//path\0"), "EINVAL");
}

#[test]
fn transactions_conflict_and_retry() {
    let mut s = server();
    let mut a = Conn::new(&mut s, Caller::DOM0);
    let mut b = Conn::new(&mut s, Caller::DOM0);
    a.ok(&mut s, XS_WRITE, 0, b"/counter\x000");
    let ta: u32 = String::from_utf8(a.ok(&mut s, XS_TRANSACTION_START, 0, b"\0"))
        .unwrap()
        .trim_end_matches('\0')
        .parse()
        .unwrap();
    let tb: u32 = String::from_utf8(b.ok(&mut s, XS_TRANSACTION_START, 0, b"\0"))
        .unwrap()
        .trim_end_matches('\0')
        .parse()
        .unwrap();
    assert_ne!(ta, tb);
    assert_eq!(a.err(&mut s, XS_TRANSACTION_START, ta, b"\0"), "EBUSY");
    // Both read and increment the counter.
    assert_eq!(a.ok(&mut s, XS_READ, ta, b"/counter\0"), b"0");
    assert_eq!(b.ok(&mut s, XS_READ, tb, b"/counter\0"), b"0");
    a.ok(&mut s, XS_WRITE, ta, b"/counter\x001");
    b.ok(&mut s, XS_WRITE, tb, b"/counter\x001");
    // Uncommitted writes are invisible outside.
    assert_eq!(b.ok(&mut s, XS_READ, 0, b"/counter\0"), b"0");
    assert_eq!(a.ok(&mut s, XS_TRANSACTION_END, ta, b"T\0"), b"OK\0");
    assert_eq!(b.err(&mut s, XS_TRANSACTION_END, tb, b"T\0"), "EAGAIN");
    // The transaction is gone either way; retrying succeeds.
    assert_eq!(b.err(&mut s, XS_READ, tb, b"/counter\0"), "ENOENT");
    let tb: u32 = String::from_utf8(b.ok(&mut s, XS_TRANSACTION_START, 0, b"\0"))
        .unwrap()
        .trim_end_matches('\0')
        .parse()
        .unwrap();
    assert_eq!(b.ok(&mut s, XS_READ, tb, b"/counter\0"), b"1");
    b.ok(&mut s, XS_WRITE, tb, b"/counter\x002");
    assert_eq!(b.ok(&mut s, XS_TRANSACTION_END, tb, b"T\0"), b"OK\0");
    assert_eq!(a.ok(&mut s, XS_READ, 0, b"/counter\0"), b"2");
    // Abort discards.
    let t: u32 = String::from_utf8(a.ok(&mut s, XS_TRANSACTION_START, 0, b"\0"))
        .unwrap()
        .trim_end_matches('\0')
        .parse()
        .unwrap();
    a.ok(&mut s, XS_WRITE, t, b"/counter\x0099");
    a.ok(&mut s, XS_TRANSACTION_END, t, b"F\0");
    assert_eq!(a.ok(&mut s, XS_READ, 0, b"/counter\0"), b"2");
}

#[test]
fn watches_fire_once_per_change() {
    let mut s = server();
    let mut w = Conn::new(&mut s, Caller::DOM0);
    let mut c = Conn::new(&mut s, Caller::DOM0);
    let msgs = w.send(&mut s, XS_WATCH, 0, b"/dev\0tok\0");
    assert_eq!(
        msgs,
        [
            Msg::Reply(XS_WATCH, b"OK\0".to_vec()),
            Msg::Event("/dev".into(), "tok".into())
        ]
    );
    assert_eq!(w.err(&mut s, XS_WATCH, 0, b"/dev\0tok\0"), "EEXIST");
    c.ok(&mut s, XS_WRITE, 0, b"/dev/a/b\0x");
    assert_eq!(
        w.take(&mut s),
        [Msg::Event("/dev/a/b".into(), "tok".into())]
    );
    c.ok(&mut s, XS_WRITE, 0, b"/other\0x");
    assert!(w.take(&mut s).is_empty());
    c.ok(&mut s, XS_RM, 0, b"/dev\0");
    assert_eq!(w.take(&mut s), [Msg::Event("/dev".into(), "tok".into())]);
    // In a transaction: nothing until commit, then once.
    let t = String::from_utf8(c.ok(&mut s, XS_TRANSACTION_START, 0, b"\0")).unwrap();
    let t: u32 = t.trim_end_matches('\0').parse().unwrap();
    c.ok(&mut s, XS_WRITE, t, b"/dev/q\0x");
    assert!(w.take(&mut s).is_empty());
    c.ok(&mut s, XS_TRANSACTION_END, t, b"T\0");
    assert_eq!(w.take(&mut s), [Msg::Event("/dev/q".into(), "tok".into())]);
    // Unwatch stops it.
    w.ok(&mut s, XS_UNWATCH, 0, b"/dev\0tok\0");
    assert_eq!(w.err(&mut s, XS_UNWATCH, 0, b"/dev\0tok\0"), "ENOENT");
    c.ok(&mut s, XS_WRITE, 0, b"/dev/q\0y");
    assert!(w.take(&mut s).is_empty());
}

#[test]
fn relative_watch_and_special_watches() {
    let mut s = server();
    let mut d0 = Conn::new(&mut s, Caller::DOM0);
    d0.ok(&mut s, XS_MKDIR, 0, b"/local/domain/4\0");
    d0.ok(&mut s, XS_SET_PERMS, 0, b"/local/domain/4\0n4\0");
    // Nodes dom0 creates below inherit guest 4's ownership.
    d0.ok(&mut s, XS_WRITE, 0, b"/local/domain/4/x\0");
    let mut g = Conn::new(&mut s, Caller::guest(4));
    assert_eq!(
        g.send(&mut s, XS_WATCH, 0, b"x\0t\0")[1],
        Msg::Event("x".into(), "t".into())
    );
    d0.ok(&mut s, XS_WRITE, 0, b"/local/domain/4/x/y\0");
    assert_eq!(g.take(&mut s), [Msg::Event("x/y".into(), "t".into())]);
    // Special watches: guests never hear of other domains.
    d0.send(&mut s, XS_WATCH, 0, b"@introduceDomain\0i\0");
    d0.send(&mut s, XS_WATCH, 0, b"@releaseDomain\0r\0");
    g.send(&mut s, XS_WATCH, 0, b"@introduceDomain\0gi\0");
    assert_eq!(
        d0.send(&mut s, XS_INTRODUCE, 0, b"4\x00123\x005\0"),
        [
            Msg::Reply(XS_INTRODUCE, b"OK\0".to_vec()),
            Msg::Event("@introduceDomain".into(), "i".into())
        ]
    );
    assert!(g.take(&mut s).is_empty());
    assert_eq!(
        s.take_effects(),
        [Effect::Introduce {
            domid: 4,
            mfn: 123,
            port: 5
        }]
    );
    assert_eq!(d0.ok(&mut s, XS_IS_DOMAIN_INTRODUCED, 0, b"4\0"), b"T\0");
    assert_eq!(g.err(&mut s, XS_INTRODUCE, 0, b"5\x001\x001\0"), "EACCES");
    assert_eq!(
        d0.send(&mut s, XS_RELEASE, 0, b"4\0"),
        [
            Msg::Reply(XS_RELEASE, b"OK\0".to_vec()),
            Msg::Event("@releaseDomain".into(), "r".into())
        ]
    );
    assert_eq!(d0.ok(&mut s, XS_IS_DOMAIN_INTRODUCED, 0, b"4\0"), b"F\0");
    assert_eq!(d0.err(&mut s, XS_RELEASE, 0, b"4\0"), "ENOENT");
}

#[test]
fn permission_checks() {
    let mut s = server();
    let mut d0 = Conn::new(&mut s, Caller::DOM0);
    d0.ok(&mut s, XS_WRITE, 0, b"/local/domain/3/secret\0s");
    d0.ok(&mut s, XS_SET_PERMS, 0, b"/local/domain/3\0n3\0");
    let mut g3 = Conn::new(&mut s, Caller::guest(3));
    let mut g4 = Conn::new(&mut s, Caller::guest(4));
    assert_eq!(
        g4.err(&mut s, XS_READ, 0, b"/local/domain/3/secret\0"),
        "EACCES"
    );
    assert_eq!(
        g4.err(&mut s, XS_WRITE, 0, b"/local/domain/3/new\0v"),
        "EACCES"
    );
    assert_eq!(
        g4.err(&mut s, XS_READ, 0, b"/local/domain/0/name\0"),
        "EACCES"
    );
    assert_eq!(g4.err(&mut s, XS_CONTROL, 0, b"check\0"), "EACCES");
    g3.ok(&mut s, XS_WRITE, 0, b"data/v\x001");
    assert_eq!(g3.ok(&mut s, XS_GET_PERMS, 0, b"data/v\0"), b"n3\0");
    // The secret node stays dom0's: guest 3 may not read it even at home.
    assert_eq!(g3.err(&mut s, XS_READ, 0, b"secret\0"), "EACCES");
    g3.ok(&mut s, XS_SET_PERMS, 0, b"data/v\0n3\0r4\0");
    assert_eq!(g4.ok(&mut s, XS_READ, 0, b"/local/domain/3/data/v\0"), b"1");
    assert_eq!(
        g4.err(&mut s, XS_WRITE, 0, b"/local/domain/3/data/v\x002"),
        "EACCES"
    );
    assert_eq!(g3.err(&mut s, XS_SET_PERMS, 0, b"data/v\0n4\0"), "EPERM");
    assert_eq!(g3.err(&mut s, XS_SET_PERMS, 0, b"data/v\0q4\0"), "EINVAL");
    // Watches only report what the watcher may read.
    g4.send(&mut s, XS_WATCH, 0, b"/local/domain/3\0w\0");
    d0.ok(&mut s, XS_WRITE, 0, b"/local/domain/3/secret\0t");
    assert!(g4.take(&mut s).is_empty());
    g3.ok(&mut s, XS_WRITE, 0, b"data/v\x002");
    assert_eq!(
        g4.take(&mut s),
        [Msg::Event("/local/domain/3/data/v".into(), "w".into())]
    );
}

#[test]
fn quotas() {
    let q = Quota {
        max_nodes: 5,
        max_watches: 2,
        max_transactions: 1,
        max_entry_size: 8,
        ..Quota::default()
    };
    let mut s = Server::new(q);
    let mut d0 = Conn::new(&mut s, Caller::DOM0);
    d0.ok(&mut s, XS_MKDIR, 0, b"/local/domain/9\0");
    d0.ok(&mut s, XS_SET_PERMS, 0, b"/local/domain/9\0n9\0");
    let mut g = Conn::new(&mut s, Caller::guest(9));
    for i in 0..4 {
        g.ok(&mut s, XS_WRITE, 0, format!("n{i}\0").as_bytes());
    }
    assert_eq!(g.err(&mut s, XS_WRITE, 0, b"n4\0"), "ENOSPC");
    assert_eq!(g.err(&mut s, XS_WRITE, 0, b"n0\x00123456789"), "ENOSPC");
    // Dom0 is not limited.
    d0.ok(&mut s, XS_WRITE, 0, b"/local/domain/9/n5\x00123456789");
    g.send(&mut s, XS_WATCH, 0, b"/a\x001\0");
    g.send(&mut s, XS_WATCH, 0, b"/a\x002\0");
    assert_eq!(g.err(&mut s, XS_WATCH, 0, b"/a\x003\0"), "E2BIG");
    g.ok(&mut s, XS_TRANSACTION_START, 0, b"\0");
    assert_eq!(g.err(&mut s, XS_TRANSACTION_START, 0, b"\0"), "ENOSPC");
    // Reset drops watches and transactions.
    g.ok(&mut s, XS_RESET_WATCHES, 0, b"");
    g.send(&mut s, XS_WATCH, 0, b"/a\x003\0");
    g.ok(&mut s, XS_TRANSACTION_START, 0, b"\0");
}

#[test]
fn malformed_messages_get_errors() {
    let mut s = server();
    let mut c = Conn::new(&mut s, Caller::DOM0);
    assert_eq!(c.err(&mut s, 20, 0, b""), "EINVAL");
    assert_eq!(c.err(&mut s, 12345, 0, b""), "EINVAL");
    assert_eq!(c.err(&mut s, XS_READ, 0, b"/a"), "EINVAL");
    assert_eq!(c.err(&mut s, XS_READ, 77, b"/a\0"), "ENOENT");
    assert_eq!(c.err(&mut s, XS_WATCH_EVENT, 0, b"/a\0t\0"), "EINVAL");
    assert_eq!(c.err(&mut s, XS_CONTROL, 0, b"nonsense\0"), "EINVAL");
    // Oversized: E2BIG, and the stream stays usable.
    let big = encode(XS_WRITE, 5, 0, &vec![b'a'; 5000]);
    s.receive(c.id, &big);
    assert_eq!(c.take(&mut s), [Msg::Error("E2BIG".into())]);
    assert_eq!(c.ok(&mut s, XS_READ, 0, b"/local/domain/0/domid\0"), b"0");
}
