//! A small benchmark of a running daemon over its unix socket: read and
//! write throughput of one client, and the latency from a write by one
//! client to the watch event at another.

use std::path::Path;
use std::time::Instant;

use crate::client::{Client, ClientResult, TxId};

/// What [`run`] measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Report {
    /// `XS_READ` round trips per second.
    pub reads_per_sec: f64,
    /// `XS_WRITE` round trips per second.
    pub writes_per_sec: f64,
    /// Mean microseconds from sending a write to the watcher receiving its event.
    pub watch_latency_us: f64,
}

const OPS: usize = 2000;
const WATCH_ROUNDS: usize = 200;

/// Benchmarks the daemon listening on `socket` (writes under `/bench`, removed afterwards).
pub fn run(socket: &Path) -> ClientResult<Report> {
    let mut c = Client::connect(socket)?;
    let t = Instant::now();
    for i in 0..OPS {
        c.write(
            TxId::NONE,
            &format!("/bench/k{}", i % 100),
            i.to_string().as_bytes(),
        )?;
    }
    let writes_per_sec = OPS as f64 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    for i in 0..OPS {
        c.read(TxId::NONE, &format!("/bench/k{}", i % 100))?;
    }
    let reads_per_sec = OPS as f64 / t.elapsed().as_secs_f64();

    let mut w = Client::connect(socket)?;
    w.watch("/bench/w", "bench")?;
    w.next_event()?; // the initial firing
    let mut total = 0.0;
    for i in 0..WATCH_ROUNDS {
        let t = Instant::now();
        c.write(TxId::NONE, "/bench/w", i.to_string().as_bytes())?;
        w.next_event()?;
        total += t.elapsed().as_secs_f64() * 1e6;
    }
    c.rm(TxId::NONE, "/bench")?;
    Ok(Report {
        reads_per_sec,
        writes_per_sec,
        watch_latency_us: total / WATCH_ROUNDS as f64,
    })
}
