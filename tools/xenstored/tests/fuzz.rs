//! Fuzz-style robustness: random, truncated and mutated messages (seeded
//! PRNG, reproducible) must never panic the core, and every complete
//! message must get exactly one reply (or error) back.

use dom0_abi::io::xs_wire::*;
use xenstore::protocol::encode;
use xenstore::quota::Quota;
use xenstore::server::Server;
use xenstore::store::perms::Caller;

/// xorshift64*: small, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        const ALPHABET: &[u8] = b"/abc0129-_@\0TFnrwb ";
        (0..n)
            .map(|_| {
                if self.below(4) == 0 {
                    self.next() as u8
                } else {
                    ALPHABET[self.below(ALPHABET.len() as u64) as usize]
                }
            })
            .collect()
    }
}

fn replies(s: &mut Server, id: u64) -> Vec<XsdSockmsg> {
    s.drain_output(id)
        .iter()
        .map(|m| XsdSockmsg::from_bytes(m).unwrap())
        .collect()
}

#[test]
fn random_messages_never_panic_and_always_answer() {
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut s = Server::new(Quota {
        max_nodes: 50,
        ..Quota::default()
    });
    let conns = [
        s.connect(Caller::DOM0),
        s.connect(Caller::guest(1)),
        s.connect(Caller::guest(2)),
    ];
    for i in 0..20_000u32 {
        let id = conns[rng.below(3) as usize];
        let ty = if rng.below(10) == 0 {
            rng.next() as u32
        } else {
            rng.below(XS_TYPE_COUNT as u64 + 1) as u32
        };
        let tx = if rng.below(8) == 0 {
            rng.below(5) as u32
        } else {
            0
        };
        let len = rng.below(64) as usize;
        let payload = rng.bytes(len);
        s.receive(id, &encode(ty, i, tx, &payload));
        let got = replies(&mut s, id);
        let own: Vec<_> = got.iter().filter(|h| h.r#type != XS_WATCH_EVENT).collect();
        assert_eq!(own.len(), 1, "message {i} type {ty}: {got:?}");
        assert_eq!(own[0].req_id, i);
        assert!(own[0].r#type == ty || own[0].r#type == XS_ERROR);
        for c in conns {
            s.drain_output(c);
        }
    }
}

#[test]
fn truncated_and_split_streams() {
    let mut rng = Rng(42);
    let mut s = Server::new(Quota::default());
    for round in 0..500u32 {
        let id = s.connect(Caller::guest(7));
        // A valid message, chopped into random pieces, arrives whole.
        let msg = encode(XS_WRITE, round, 0, b"/local/domain/7/x\0v");
        let mut pos = 0;
        while pos < msg.len() {
            let n = (rng.below(7) as usize + 1).min(msg.len() - pos);
            s.receive(id, &msg[pos..pos + n]);
            pos += n;
        }
        assert_eq!(replies(&mut s, id).len(), 1);
        // A truncated message gets nothing until the rest arrives; the
        // connection then closes without harm.
        let cut = rng.below(msg.len() as u64) as usize;
        s.receive(id, &msg[..cut]);
        assert!(replies(&mut s, id).is_empty());
        // Garbage headers with huge lengths are refused, not buffered.
        let mut junk = rng.bytes(16);
        junk[12..16].copy_from_slice(&u32::MAX.to_le_bytes());
        let fresh = s.connect(Caller::DOM0);
        s.receive(fresh, &junk);
        let r = replies(&mut s, fresh);
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].r#type, XS_ERROR);
        s.disconnect(id);
        s.disconnect(fresh);
    }
}

#[test]
fn mutated_valid_messages() {
    let mut rng = Rng(7);
    let mut s = Server::new(Quota::default());
    let id = s.connect(Caller::DOM0);
    let seeds: [(u32, &[u8]); 6] = [
        (XS_WRITE, b"/a/b\0value"),
        (XS_SET_PERMS, b"/a/b\0n1\0r2\0"),
        (XS_WATCH, b"/a\0tok\0"),
        (XS_INTRODUCE, b"3\x00100\x004\0"),
        (XS_DIRECTORY_PART, b"/a\x000\0"),
        (XS_TRANSACTION_END, b"T\0"),
    ];
    for i in 0..10_000u32 {
        let (ty, base) = seeds[rng.below(seeds.len() as u64) as usize];
        let mut p = base.to_vec();
        for _ in 0..rng.below(4) {
            if p.is_empty() {
                break;
            }
            let at = rng.below(p.len() as u64) as usize;
            match rng.below(3) {
                0 => p[at] = rng.next() as u8,
                1 => p.truncate(at),
                _ => p.insert(at, rng.next() as u8),
            }
        }
        s.receive(id, &encode(ty, i, 0, &p));
        let own = replies(&mut s, id)
            .into_iter()
            .filter(|h| h.r#type != XS_WATCH_EVENT)
            .count();
        assert_eq!(own, 1);
    }
}
