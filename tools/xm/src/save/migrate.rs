//! Live migration over TCP, with xend's relocation port (8002).
//!
//! The sender ([`send`]) writes exactly the stream `xm save` writes, the
//! pages in rounds: with `live`, log-dirty tracking is enabled
//! (`XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY`), round 1 sends every page and
//! each later round the pages dirtied meanwhile (`SHADOW_OP_CLEAN`),
//! until the dirty set stops shrinking (or [`MAX_ROUNDS`]); then the
//! guest is suspended and the last dirty pages, the deferred ones and the
//! guest's state follow (stop-and-copy). The receiver ([`serve`], `xm
//! serve`) restores as it reads and answers one line: `OK <domid>` once
//! the guest runs there, or `ERR <reason>`. Only after `OK` is the
//! source destroyed; on any failure the suspend is cancelled and the
//! guest goes on running on the source.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use dom0_abi::domctl::{
    DomctlCmd, XenDomctl, XEN_DOMCTL_SHADOW_OP_CLEAN, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY, XEN_DOMCTL_SHADOW_OP_OFF,
};
use dom0_abi::DomId;
use xenstore::client::Client;

use super::image::{self, ImageError};
use super::progress::{Progress, Summary};
use super::saver::{SaveError, Saver};
use super::stream::{self, Record, StreamError};
use super::suspend;
use crate::hypervisor::{HvError, Hypervisor};

/// xend's relocation port.
pub const DEFAULT_PORT: u16 = 8002;
/// Most pre-copy rounds before stop-and-copy.
pub const MAX_ROUNDS: u32 = 30;
/// A dirty set this small is sent with the guest stopped.
pub const SMALL_DIRTY: usize = 50;
/// How long the sender waits for the receiver's answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(300);

/// Why a migration failed (the guest runs on the source).
#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    /// No connection to the receiver.
    #[error("cannot connect to {addr}: {source} (is `xm serve` running there?)")]
    Connect {
        /// host:port.
        addr: String,
        /// Why.
        source: std::io::Error,
    },
    /// Saving or suspending failed.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// Log-dirty tracking failed.
    #[error("{step}: {source}")]
    Hypervisor {
        /// What was being done.
        step: &'static str,
        /// Why.
        source: HvError,
    },
    /// The receiver refused or failed.
    #[error("the destination failed: {0}")]
    Remote(String),
    /// The connection broke.
    #[error("the connection to the destination broke: {0}")]
    Io(std::io::Error),
    /// `xm serve` cannot listen.
    #[error("cannot listen on port {port}: {source}")]
    Listen {
        /// The port.
        port: u16,
        /// Why.
        source: std::io::Error,
    },
}

impl From<SaveError> for MigrateError {
    fn from(e: SaveError) -> Self {
        MigrateError::Image(ImageError::Save(e))
    }
}

impl From<StreamError> for MigrateError {
    fn from(e: StreamError) -> Self {
        MigrateError::Image(ImageError::Stream(e))
    }
}

/// What a live migration did, beyond the [`Summary`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rounds {
    /// Pages sent in each round (the last is stop-and-copy).
    pub pages: Vec<u64>,
}

/// `XEN_DOMCTL_shadow_op` without a bitmap.
fn shadow_op(hv: &dyn Hypervisor, dom: DomId, op: u32) -> Result<(), HvError> {
    let mut d = XenDomctl::new(DomctlCmd::ShadowOp, dom);
    d.u.shadow_op.op = op;
    hv.domctl(&mut d)
}

/// `SHADOW_OP_CLEAN`: the PFNs dirtied since the last call.
fn dirty_pfns(hv: &dyn Hypervisor, dom: DomId, nr_pfns: u64) -> Result<Vec<u64>, HvError> {
    let mut bitmap = vec![0u8; nr_pfns.div_ceil(64) as usize * 8];
    let mut d = XenDomctl::new(DomctlCmd::ShadowOp, dom);
    d.u.shadow_op.op = XEN_DOMCTL_SHADOW_OP_CLEAN;
    d.u.shadow_op.pages = nr_pfns;
    hv.domctl_with_data(&mut d, &mut bitmap)?;
    Ok(pfns_in_bitmap(&bitmap, nr_pfns))
}

/// The set bits of a log-dirty bitmap, below `nr_pfns`.
pub fn pfns_in_bitmap(bitmap: &[u8], nr_pfns: u64) -> Vec<u64> {
    let mut out = Vec::new();
    for (i, &b) in bitmap.iter().enumerate() {
        for bit in 0..8 {
            let pfn = (i * 8 + bit) as u64;
            if b & (1 << bit) != 0 && pfn < nr_pfns {
                out.push(pfn);
            }
        }
    }
    out
}

/// Whether pre-copy should stop after a round that left `dirty` pages,
/// the round before having left `previous` (`None` after round 1).
pub fn precopy_done(round: u32, dirty: usize, previous: Option<usize>) -> bool {
    dirty <= SMALL_DIRTY || round >= MAX_ROUNDS || previous.is_some_and(|p| dirty >= p)
}

/// What [`precopy`] returns: pages sent per round, the last dirty set
/// (not sent yet), the deferred pages.
pub type Precopied = (Vec<u64>, Vec<u64>, Vec<u64>);

/// One side of pre-copy: sending pages while the guest runs, and reading
/// what it dirtied.
pub trait PrecopyIo {
    /// Send `pfns`; returns the pages that could not be sent now.
    fn send(&mut self, pfns: &[u64]) -> Result<Vec<u64>, MigrateError>;
    /// The PFNs dirtied since the last call.
    fn dirty(&mut self) -> Result<Vec<u64>, MigrateError>;
}

/// The pre-copy rounds over a guest of `nr` PFNs: every page first, then
/// the pages dirtied during the previous round, until [`precopy_done`].
/// Returns the pages sent in each round, the last dirty set (not sent)
/// and the deferred pages.
pub fn precopy(nr: u64, io: &mut dyn PrecopyIo) -> Result<Precopied, MigrateError> {
    let mut to_send: Vec<u64> = (0..nr).collect();
    let mut previous = None;
    let mut sent = Vec::new();
    let mut deferred = Vec::new();
    for round in 1.. {
        deferred.extend(io.send(&to_send)?);
        sent.push(to_send.len() as u64);
        to_send = io.dirty()?;
        if precopy_done(round, to_send.len(), previous) {
            break;
        }
        previous = Some(to_send.len());
    }
    Ok((sent, to_send, deferred))
}

/// [`PrecopyIo`] over a domain in log-dirty mode and the stream.
struct LiveIo<'a, 'b> {
    saver: &'a Saver<'b>,
    w: &'a mut dyn Write,
    hv: &'a dyn Hypervisor,
    dom: DomId,
    nr: u64,
    progress: &'a Progress,
    total: u64,
    round: u32,
}

impl PrecopyIo for LiveIo<'_, '_> {
    fn send(&mut self, pfns: &[u64]) -> Result<Vec<u64>, MigrateError> {
        self.round += 1;
        self.total += pfns.len() as u64;
        self.progress.message(format!("round {}", self.round));
        self.progress.grow(self.total);
        Ok(self.saver.write_pages(self.w, pfns, true, self.progress)?)
    }

    fn dirty(&mut self) -> Result<Vec<u64>, MigrateError> {
        dirty_pfns(self.hv, self.dom, self.nr)
            .map_err(|source| MigrateError::Hypervisor { step: "reading the dirty bitmap", source })
    }
}

/// Connect to the relocation server of `host` on `port`.
pub fn connect(host: &str, port: u16) -> Result<TcpStream, MigrateError> {
    let addr = format!("{host}:{port}");
    let err = |source| MigrateError::Connect { addr: addr.clone(), source };
    let addrs: Vec<_> = addr.to_socket_addrs().map_err(err)?.collect();
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "no address");
    for a in addrs {
        match TcpStream::connect_timeout(&a, Duration::from_secs(10)) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(err(last))
}

/// Migrate `dom` over `sock`; on success the source domain is destroyed
/// and the destination's domain id returned.
pub fn send(
    hv: &dyn Hypervisor,
    xs: &mut Client,
    dom: DomId,
    sock: TcpStream,
    live: bool,
    progress: &Progress,
) -> Result<(u16, Summary, Rounds), MigrateError> {
    let start = Instant::now();
    let _ = sock.set_nodelay(true);
    let mut reader = BufReader::new(sock.try_clone().map_err(MigrateError::Io)?);
    let peer = sock.try_clone().map_err(MigrateError::Io)?;
    let mut w = Watched { w: BufWriter::with_capacity(1 << 20, sock), peer, since: 0 };
    let config = image::config_text(xs, dom)?;
    let version = hv.xen_version(dom0_abi::xen_version::XENVER_version, &mut []).unwrap_or(0);
    let mut rounds = Rounds::default();

    let mut logdirty = false;
    let mut suspended = None;
    let result = (|| -> Result<u16, MigrateError> {
        stream::write_prologue(&mut w, &config, (version >> 16) as u32 & 0xffff, version as u32 & 0xffff)?;
        let mut deferred = Vec::new();
        let live = live && {
            match shadow_op(hv, dom, XEN_DOMCTL_SHADOW_OP_ENABLE_LOGDIRTY) {
                Ok(()) => true,
                // Xen built without shadow paging (Debian's 4.17) has no
                // log-dirty mode for PV guests: xl cannot migrate them
                // live either. Copy with the guest stopped instead.
                Err(e) if e.errno().is_some_and(|n| n.is(dom0_abi::Errno::EOPNOTSUPP)) => {
                    eprintln!(
                        "xm: this hypervisor has no log-dirty mode for PV guests (Xen built without shadow paging): migrating with the guest stopped"
                    );
                    false
                }
                Err(source) => return Err(MigrateError::Hypervisor { step: "enabling log-dirty mode", source }),
            }
        };
        let saver = if live {
            logdirty = true;
            let mut saver = Saver::new(hv, dom)?;
            // Our hypervisor's log-dirty mode keeps its keys in bits 59-62
            // of the guest's L1 entries: not part of the stream.
            saver.keys = super::pagetable::Keys::Strip;
            saver.write_start(&mut w)?;
            let nr = saver.max_pfn() + 1;
            let mut io = LiveIo { saver: &saver, w: &mut w, hv, dom, nr, progress, total: 0, round: 0 };
            let (sent, to_send, more_deferred) = precopy(nr, &mut io)?;
            rounds.pages = sent;
            deferred.extend(more_deferred);
            let asked = Instant::now();
            suspend::suspend(hv, xs, dom, suspend::SUSPEND_TIMEOUT).map_err(ImageError::from)?;
            suspended = Some(Instant::now());
            log::debug!(
                "pre-copy: {} ms; the guest suspended in {} ms",
                asked.duration_since(start).as_millis(),
                asked.elapsed().as_millis()
            );
            let mut last = dirty_pfns(hv, dom, nr)
                .map_err(|source| MigrateError::Hypervisor { step: "reading the dirty bitmap", source })?;
            log::debug!(
                "stop-and-copy: {} pages dirty since the last round, bitmap read {} ms after the guest suspended",
                last.len(),
                suspended.map_or(0, |s| s.elapsed().as_millis())
            );
            last.extend(to_send);
            last.append(&mut deferred);
            last.sort_unstable();
            last.dedup();
            progress.message("stop-and-copy".into());
            progress.grow(rounds.pages.iter().sum::<u64>() + last.len() as u64);
            saver.write_pages(&mut w, &last, false, progress)?;
            rounds.pages.push(last.len() as u64);
            log::debug!(
                "stop-and-copy: {} pages written after {} ms of downtime",
                last.len(),
                suspended.map_or(0, |s| s.elapsed().as_millis())
            );
            saver
        } else {
            suspend::suspend(hv, xs, dom, suspend::SUSPEND_TIMEOUT).map_err(ImageError::from)?;
            suspended = Some(Instant::now());
            let saver = Saver::new(hv, dom)?;
            progress.grow(saver.max_pfn() + 1);
            saver.write_start(&mut w)?;
            let all: Vec<u64> = (0..=saver.max_pfn()).collect();
            saver.write_pages(&mut w, &all, false, progress)?;
            rounds.pages.push(all.len() as u64);
            saver
        };
        saver.write_end(&mut w)?;
        stream::write_epilogue(&mut w)?;
        w.flush().map_err(MigrateError::Io)?;
        log::debug!("stream sent after {} ms of downtime", suspended.map_or(0, |s| s.elapsed().as_millis()));
        let _ = reader.get_ref().set_read_timeout(Some(ANSWER_TIMEOUT));
        let mut answer = String::new();
        reader.read_line(&mut answer).map_err(MigrateError::Io)?;
        match answer.trim_end().split_once(' ') {
            Some(("OK", id)) => id.parse().map_err(|_| MigrateError::Remote(format!("bad answer {answer:?}"))),
            Some(("ERR", why)) => Err(MigrateError::Remote(why.to_string())),
            _ if answer.is_empty() => Err(MigrateError::Remote("it closed the connection without an answer".into())),
            _ => Err(MigrateError::Remote(format!("bad answer {answer:?}"))),
        }
    })();
    if logdirty {
        let _ = shadow_op(hv, dom, XEN_DOMCTL_SHADOW_OP_OFF);
    }
    match result {
        Ok(remote) => {
            let downtime = suspended.map_or(Duration::ZERO, |s| s.elapsed());
            crate::lifecycle::destroy(hv, Some(xs), dom).map_err(|e| MigrateError::Remote(format!(
                "the guest runs there as domain {remote}, but destroying it here failed: {e}"
            )))?;
            let pages = rounds.pages.iter().sum();
            Ok((remote, Summary { pages, downtime, total: start.elapsed() }, rounds))
        }
        Err(e) => {
            if suspended.is_some() {
                if let Err(c) = suspend::cancel(hv, dom) {
                    eprintln!("xm: resuming domain {} after the failed migration: {c}", dom.0);
                }
            }
            // A destination that gave up says why before it hangs up.
            Err(match e {
                MigrateError::Remote(_) => e,
                other => early_refusal(&mut reader).map_or(other, MigrateError::Remote),
            })
        }
    }
}

/// The reason in an `ERR` line the destination already sent, if any.
fn early_refusal(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let _ = reader.get_ref().set_read_timeout(Some(Duration::from_secs(2)));
    let mut answer = String::new();
    reader.read_line(&mut answer).ok()?;
    answer.trim_end().strip_prefix("ERR ").map(str::to_string)
}

/// Bytes written between two looks for an early answer.
const CHECK_EVERY: usize = 4 << 20;

/// The stream to the destination, which notices when the destination
/// answers before the end (it only does so to refuse): every
/// [`CHECK_EVERY`] bytes it peeks at the answer side without blocking, so
/// that a refused migration stops at once and the guest resumes.
struct Watched {
    w: BufWriter<TcpStream>,
    peer: TcpStream,
    since: usize,
}

impl Watched {
    fn answered(&self) -> std::io::Result<bool> {
        self.peer.set_nonblocking(true)?;
        let mut b = [0u8; 1];
        let r = self.peer.peek(&mut b);
        self.peer.set_nonblocking(false)?;
        match r {
            Ok(n) => Ok(n > 0),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
            Err(e) => Err(e),
        }
    }
}

impl Write for Watched {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.since += buf.len();
        if self.since >= CHECK_EVERY {
            self.since = 0;
            if self.answered()? {
                return Err(std::io::Error::other("the destination answered before the end of the stream"));
            }
        }
        self.w.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.w.flush()
    }
}

/// Receive one migration from `sock`: restore, answer, and return what
/// happened (the domain id, or the error already sent back).
pub fn receive(hv: &dyn Hypervisor, xs: &mut Client, sock: TcpStream) -> Result<(u16, Summary), ImageError> {
    let _ = sock.set_nodelay(true);
    let mut answer = sock.try_clone();
    let mut r = BufReader::with_capacity(1 << 20, sock);
    let result = image::restore_domain(hv, xs, &mut r, &Progress::hidden()).and_then(|(built, summary)| {
        // The libxl END record closes the stream.
        let end = Record::read(&mut r)?;
        if end.rtype != stream::LIBXL_REC_END {
            return Err(StreamError::Corrupt(format!("libxl record {:#x} after the libxc stream", end.rtype)).into());
        }
        Ok((built, summary))
    });
    let line = match &result {
        Ok((built, _)) => format!("OK {}\n", built.domid.0),
        Err(e) => format!("ERR {}\n", e.to_string().replace('\n', " ")),
    };
    if let Ok(a) = answer.as_mut() {
        let _ = a.write_all(line.as_bytes());
    }
    if result.is_err() {
        // Let the sender finish writing so that it reads the answer.
        let _ = r.get_ref().set_read_timeout(Some(Duration::from_secs(10)));
        drain(&mut r);
    }
    result.map(|(b, s)| (b.domid.0, s))
}

/// `xm serve`: accept migrations on `port` forever, one at a time,
/// logging one line per migration to `log`.
pub fn serve(hv: &dyn Hypervisor, port: u16, log: &mut dyn Write) -> Result<(), MigrateError> {
    let listener = TcpListener::bind(("0.0.0.0", port)).map_err(|source| MigrateError::Listen { port, source })?;
    serve_on(hv, listener, log).map_err(MigrateError::Io)
}

fn serve_on(hv: &dyn Hypervisor, listener: TcpListener, log: &mut dyn Write) -> std::io::Result<()> {
    let port = listener.local_addr()?.port();
    writeln!(log, "xm serve: listening on port {port}")?;
    log.flush()?;
    for conn in listener.incoming() {
        let Ok(sock) = conn else { continue };
        let peer = sock.peer_addr().map_or_else(|_| "?".into(), |a| a.to_string());
        let Ok(mut xs) = Client::connect_timeout(crate::xs::socket_path(), crate::cli::CREATE_XS_TIMEOUT) else {
            let mut s = sock;
            let _ = s.write_all(b"ERR no xenstored on the destination\n");
            continue;
        };
        match receive(hv, &mut xs, sock) {
            Ok((id, s)) => writeln!(log, "xm serve: domain from {peer} runs as domain {id}: {}", s.line())?,
            Err(e) => writeln!(log, "xm serve: migration from {peer} failed: {e}")?,
        }
        log.flush()?;
    }
    Ok(())
}

/// Drain what a failed peer still sends (unused bytes would otherwise
/// reset the connection before our answer arrives).
pub fn drain(r: &mut dyn Read) {
    let mut buf = [0u8; 65536];
    while matches!(r.read(&mut buf), Ok(n) if n > 0) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitmap_bits() {
        assert_eq!(pfns_in_bitmap(&[0b1000_0001, 0, 0b10], 100), [0, 7, 17]);
        assert_eq!(pfns_in_bitmap(&[0xff], 3), [0, 1, 2]);
    }

    /// A guest whose writes dirty `working_set` pages per round, shrinking
    /// by `shrink` each round down to `floor`.
    struct Sim {
        working_set: usize,
        shrink: usize,
        floor: usize,
        sends: Vec<Vec<u64>>,
        defer_once: Option<u64>,
    }

    impl PrecopyIo for Sim {
        fn send(&mut self, pfns: &[u64]) -> Result<Vec<u64>, MigrateError> {
            self.sends.push(pfns.to_vec());
            Ok(self.defer_once.take().into_iter().collect())
        }
        fn dirty(&mut self) -> Result<Vec<u64>, MigrateError> {
            let d = (0..self.working_set as u64).map(|p| p * 3).collect();
            self.working_set = self.working_set.saturating_sub(self.shrink).max(self.floor);
            Ok(d)
        }
    }

    #[test]
    fn precopy_rounds() {
        let mut sim = Sim { working_set: 1000, shrink: 300, floor: 200, sends: Vec::new(), defer_once: Some(7) };
        let (sent, last, deferred) = precopy(5000, &mut sim).unwrap();
        // 5000, then 1000, 700, 400, 200 dirtied; 200 again stops it.
        assert_eq!(sent, [5000, 1000, 700, 400, 200]);
        assert_eq!(last.len(), 200);
        assert_eq!(deferred, [7]);
        assert_eq!(sim.sends[0], (0..5000).collect::<Vec<_>>());
        assert_eq!(sim.sends[1][1], 3);
        // A quiet guest: one round, then stop-and-copy of what little was dirtied.
        let mut quiet = Sim { working_set: 10, shrink: 0, floor: 10, sends: Vec::new(), defer_once: None };
        let (sent, last, _) = precopy(100, &mut quiet).unwrap();
        assert_eq!((sent, last.len()), (vec![100], 10));
    }

    #[test]
    fn precopy_stops_when_the_dirty_set_stops_shrinking() {
        assert!(!precopy_done(1, 5000, None));
        assert!(!precopy_done(2, 3000, Some(5000)));
        assert!(precopy_done(3, 3000, Some(3000)));
        assert!(precopy_done(3, 3500, Some(3000)));
        assert!(precopy_done(2, SMALL_DIRTY, Some(5000)));
        assert!(precopy_done(MAX_ROUNDS, 4000, Some(5000)));
    }
}
