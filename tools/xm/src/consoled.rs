//! The console backend (`xenconsoled`) and its client (`xm console`).
//!
//! The daemon, one process in dom0, every [`TICK`]:
//!
//! * finds the domUs the hypervisor has (`getdomaininfo`) and, for each new
//!   one with `console/ring-ref` and `console/port` in xenstore, maps its
//!   console page (privcmd foreign mapping of the MFN) and binds its
//!   console event channel through `/dev/xen/evtchn`;
//! * drains every `xencons_interface` out ring ([`drain`]) into
//!   `/var/log/xen/console/guest-<name>.log`, a tail kept for clients that
//!   attach later, and the attached clients; client input goes into the in
//!   ring ([`feed`]); the guest is notified over its event channel;
//! * carries out `on_poweroff` / `on_reboot` / `on_crash` for domains that
//!   shut down ([`crate::lifecycle::handle_stopped`]), once per domain.
//!
//! Clients connect to [`SOCKET`], send the domain id as one line, get
//! `OK` (or `ERR <reason>`) back, then the buffered tail and the live output;
//! what they send is the guest's console input. The daemon closes the
//! connection when the domain goes away.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dom0_abi::io::console::{XenconsInterface, XENCONS_IN_SIZE, XENCONS_OUT_SIZE};
use dom0_abi::DomId;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use xenstore::client::{Client, TxId};

use crate::domstore::dom_path;
use crate::hypervisor::evtchn::Evtchn;
use crate::hypervisor::privcmd::{ForeignMapping, Privcmd};
use crate::hypervisor::{ForeignPages, HvError};
use crate::lifecycle::{self, Handled};
use crate::ops;

/// The daemon's socket.
pub const SOCKET: &str = "/run/xenconsoled/socket";
/// Directory of the console logs.
pub const LOG_DIR: &str = "/var/log/xen/console";
/// How often domains are looked for and rings drained without an event.
pub const TICK: Duration = Duration::from_millis(100);
/// Output kept per domain for clients that attach later.
pub const TAIL: usize = 16 * 1024;
/// The byte that detaches `xm console` (`Ctrl-]`).
pub const DETACH: u8 = 0x1d;

/// The indexes and bytes of a console page, as the backend sees them.
pub trait ConsoleRing {
    /// `out_prod` (written by the guest).
    fn out_prod(&self) -> u32;
    /// `out_cons`.
    fn out_cons(&self) -> u32;
    /// Store `out_cons`.
    fn set_out_cons(&mut self, v: u32);
    /// `out[i]`.
    fn out_byte(&self, i: usize) -> u8;
    /// `in_cons` (written by the guest).
    fn in_cons(&self) -> u32;
    /// `in_prod`.
    fn in_prod(&self) -> u32;
    /// Store `in_prod`.
    fn set_in_prod(&mut self, v: u32);
    /// Store `in[i]`.
    fn set_in_byte(&mut self, i: usize, b: u8);
}

/// Move what the guest wrote into `out`; returns the number of bytes.
/// Indexes further apart than the ring (a confused guest) are resynchronised
/// by dropping the backlog, as Xen's xenconsoled does.
pub fn drain(ring: &mut dyn ConsoleRing, out: &mut Vec<u8>) -> usize {
    let prod = ring.out_prod();
    let cons = ring.out_cons();
    let len = prod.wrapping_sub(cons) as usize;
    if len > XENCONS_OUT_SIZE {
        ring.set_out_cons(prod);
        return 0;
    }
    out.extend((0..len).map(|i| ring.out_byte(cons.wrapping_add(i as u32) as usize % XENCONS_OUT_SIZE)));
    ring.set_out_cons(prod);
    len
}

/// Put as much of `bytes` as fits into the guest's in ring; returns how many.
pub fn feed(ring: &mut dyn ConsoleRing, bytes: &[u8]) -> usize {
    let prod = ring.in_prod();
    let used = (prod.wrapping_sub(ring.in_cons()) as usize).min(XENCONS_IN_SIZE);
    let n = (XENCONS_IN_SIZE - used).min(bytes.len());
    for (i, &b) in bytes[..n].iter().enumerate() {
        ring.set_in_byte(prod.wrapping_add(i as u32) as usize % XENCONS_IN_SIZE, b);
    }
    ring.set_in_prod(prod.wrapping_add(n as u32));
    n
}

/// A domain's console page mapped through privcmd.
pub struct MappedRing {
    _map: ForeignMapping,
    page: *mut u8,
}

impl MappedRing {
    /// Map console frame `mfn` of `domid`.
    pub fn map(hv: &Privcmd, domid: DomId, mfn: u64) -> Result<Self, HvError> {
        let mut map = hv.map_foreign_batch(domid, &[mfn])?;
        let page = match map.page_mut(0) {
            Some(p) => p.as_mut_ptr(),
            None => {
                return Err(HvError::Io {
                    what: format!("mapping console page {mfn:#x} of domain {}", domid.0),
                    source: std::io::Error::from_raw_os_error(-map.error(0)),
                })
            }
        };
        Ok(MappedRing { _map: map, page })
    }

    fn u32_at(&self, off: usize) -> u32 {
        // SAFETY: `off` is a field offset inside the mapped page, 4-aligned;
        // the guest writes concurrently, hence volatile.
        let v = unsafe { self.page.add(off).cast::<u32>().read_volatile() };
        std::sync::atomic::fence(std::sync::atomic::Ordering::Acquire);
        v
    }

    fn set_u32_at(&mut self, off: usize, v: u32) {
        std::sync::atomic::fence(std::sync::atomic::Ordering::Release);
        // SAFETY: as in `u32_at`.
        unsafe { self.page.add(off).cast::<u32>().write_volatile(v) };
    }
}

impl ConsoleRing for MappedRing {
    fn out_prod(&self) -> u32 {
        self.u32_at(std::mem::offset_of!(XenconsInterface, out_prod))
    }
    fn out_cons(&self) -> u32 {
        self.u32_at(std::mem::offset_of!(XenconsInterface, out_cons))
    }
    fn set_out_cons(&mut self, v: u32) {
        self.set_u32_at(std::mem::offset_of!(XenconsInterface, out_cons), v)
    }
    fn out_byte(&self, i: usize) -> u8 {
        // SAFETY: `i < XENCONS_OUT_SIZE`, inside `out` of the mapped page.
        unsafe { self.page.add(std::mem::offset_of!(XenconsInterface, out) + i).read_volatile() }
    }
    fn in_cons(&self) -> u32 {
        self.u32_at(std::mem::offset_of!(XenconsInterface, in_cons))
    }
    fn in_prod(&self) -> u32 {
        self.u32_at(std::mem::offset_of!(XenconsInterface, in_prod))
    }
    fn set_in_prod(&mut self, v: u32) {
        self.set_u32_at(std::mem::offset_of!(XenconsInterface, in_prod), v)
    }
    fn set_in_byte(&mut self, i: usize, b: u8) {
        // SAFETY: `i < XENCONS_IN_SIZE`, inside `in` of the mapped page.
        unsafe { self.page.add(std::mem::offset_of!(XenconsInterface, r#in) + i).write_volatile(b) }
    }
}

/// Keep the last [`TAIL`] bytes of `buf` after appending `data`.
pub fn push_tail(buf: &mut Vec<u8>, data: &[u8]) {
    buf.extend_from_slice(data);
    if buf.len() > TAIL {
        buf.drain(..buf.len() - TAIL);
    }
}

/// The log file of a domain named `name`.
pub fn log_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("guest-{name}.log"))
}

/// One domain's console.
struct Console {
    ring: MappedRing,
    local_port: u32,
    log: Option<File>,
    tail: Vec<u8>,
    clients: Vec<UnixStream>,
    pending_input: Vec<u8>,
}

/// A client that has not named its domain yet.
struct NewClient {
    stream: UnixStream,
    line: Vec<u8>,
}

/// The console daemon.
pub struct Daemon {
    hv: Privcmd,
    evtchn: Evtchn,
    xs: Option<Client>,
    listener: UnixListener,
    consoles: BTreeMap<u16, Console>,
    new_clients: Vec<NewClient>,
    /// Domains whose stop has been handled (preserved ones stay here).
    handled: HashSet<u16>,
    /// Domains without console nodes yet, and when we last looked.
    unready: HashMap<u16, Instant>,
    log_dir: PathBuf,
}

impl Daemon {
    /// Open the devices, connect to xenstored and bind the socket.
    pub fn new(privcmd: &Path, socket: &Path, log_dir: &Path) -> anyhow::Result<Self> {
        let hv = Privcmd::open(privcmd)?;
        let evtchn = Evtchn::open(Path::new(crate::hypervisor::evtchn::EVTCHN_PATH))?;
        let xs = Client::connect_timeout(crate::xs::socket_path(), Duration::from_secs(5)).ok();
        if xs.is_none() {
            eprintln!("xenconsoled: no xenstored; consoles are found once it runs");
        }
        if let Some(d) = socket.parent() {
            std::fs::create_dir_all(d)?;
        }
        let _ = std::fs::remove_file(socket);
        let listener = UnixListener::bind(socket)?;
        listener.set_nonblocking(true)?;
        std::fs::create_dir_all(log_dir)?;
        Ok(Daemon {
            hv,
            evtchn,
            xs,
            listener,
            consoles: BTreeMap::new(),
            new_clients: Vec::new(),
            handled: HashSet::new(),
            unready: HashMap::new(),
            log_dir: log_dir.to_path_buf(),
        })
    }

    /// Serve forever.
    pub fn run(&mut self) -> anyhow::Result<()> {
        let mut last_scan = Instant::now() - TICK;
        loop {
            self.wait();
            if last_scan.elapsed() >= TICK {
                last_scan = Instant::now();
                self.scan();
            }
            self.accept();
            self.read_new_clients();
            self.pump();
        }
    }

    fn xs(&mut self) -> Option<&mut Client> {
        if self.xs.is_none() {
            self.xs = Client::connect_timeout(crate::xs::socket_path(), Duration::from_secs(5)).ok();
        }
        self.xs.as_mut()
    }

    /// Sleep until an event, a client or the next tick.
    fn wait(&mut self) {
        let ts = Timespec { tv_sec: 0, tv_nsec: TICK.as_nanos() as _ };
        let mut fds = vec![PollFd::new(self.evtchn.file(), PollFlags::IN), PollFd::new(&self.listener, PollFlags::IN)];
        for c in self.consoles.values() {
            for s in &c.clients {
                fds.push(PollFd::new(s, PollFlags::IN));
            }
        }
        for c in &self.new_clients {
            fds.push(PollFd::new(&c.stream, PollFlags::IN));
        }
        let _ = poll(&mut fds, Some(&ts));
        let evtchn_ready = !fds[0].revents().is_empty();
        drop(fds);
        if evtchn_ready {
            if let Ok(port) = self.evtchn.wait() {
                let _ = self.evtchn.unmask(port);
            }
        }
    }

    /// Look for new, stopped and vanished domains.
    fn scan(&mut self) {
        let Ok(domains) = ops::domains(&self.hv) else { return };
        let live: HashSet<u16> = domains.iter().map(|d| d.domain.0).collect();
        let gone: Vec<u16> = self.consoles.keys().copied().filter(|d| !live.contains(d)).collect();
        for d in gone {
            self.release(d);
        }
        self.handled.retain(|d| live.contains(d));
        self.unready.retain(|d, _| live.contains(d));
        for info in &domains {
            let id = info.domain.0;
            if id == 0 {
                continue;
            }
            if lifecycle::state_of(info) == lifecycle::DomainState::Dying {
                // Our mapping of its console page keeps a dying domain
                // (and its memory) alive: let it go.
                self.release(id);
                continue;
            }
            if !self.consoles.contains_key(&id) {
                self.connect(info.domain);
            }
            // A domain suspended for save or migration is the toolstack's
            // business (and may resume after a suspend cancel).
            let suspended = lifecycle::state_of(info) == lifecycle::DomainState::Shutdown(dom0_abi::sched::SHUTDOWN_suspend);
            if matches!(lifecycle::state_of(info), lifecycle::DomainState::Shutdown(_)) && !suspended && !self.handled.contains(&id) {
                self.pump_one(id);
                self.handled.insert(id);
                let Some(xs) = self.xs.as_mut() else { continue };
                let handled = lifecycle::handle_stopped(&self.hv, xs, info);
                if matches!(handled, Ok(Handled::Destroyed | Handled::Restarted(_))) {
                    self.release(id);
                }
                match handled {
                    Ok(Handled::Restarted(new)) => {
                        eprintln!("xenconsoled: domain {id} stopped; restarted as domain {}", new.0)
                    }
                    Ok(Handled::RestartRefused) => eprintln!(
                        "xenconsoled: domain {id} stopped less than {} s after its restart; destroyed, not restarted again",
                        lifecycle::MIN_RESTART_SECS
                    ),
                    Ok(h) => eprintln!("xenconsoled: domain {id} stopped: {h:?}"),
                    Err(e) => eprintln!("xenconsoled: domain {id}: {e}"),
                }
            }
        }
    }

    /// Drain a domain's console one last time and unmap it.
    fn release(&mut self, id: u16) {
        if self.consoles.contains_key(&id) {
            self.pump_one(id);
            if let Some(c) = self.consoles.remove(&id) {
                let _ = self.evtchn.unbind(c.local_port);
            }
            eprintln!("xenconsoled: domain {id}: console released");
        }
    }

    /// Attach a domain's console once xenstore describes it.
    fn connect(&mut self, domid: DomId) {
        let id = domid.0;
        if self.unready.get(&id).is_some_and(|t| t.elapsed() < TICK * 5) {
            return;
        }
        let Some(xs) = self.xs() else { return };
        let dom = dom_path(domid);
        let read = |xs: &mut Client, p: &str| xs.read_string(TxId::NONE, &format!("{dom}/{p}")).ok();
        let (Some(mfn), Some(port)) = (
            read(xs, "console/ring-ref").and_then(|v| v.parse::<u64>().ok()),
            read(xs, "console/port").and_then(|v| v.parse::<u32>().ok()),
        ) else {
            self.unready.insert(id, Instant::now());
            return;
        };
        let name = read(xs, "name").unwrap_or_else(|| format!("Domain-{id}"));
        let ring = match MappedRing::map(&self.hv, domid, mfn) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("xenconsoled: domain {id}: {e}");
                self.unready.insert(id, Instant::now());
                return;
            }
        };
        let local_port = match self.evtchn.bind_interdomain(id, port) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("xenconsoled: domain {id}: binding console port {port}: {e}");
                self.unready.insert(id, Instant::now());
                return;
            }
        };
        let log = std::fs::OpenOptions::new().create(true).append(true).open(log_path(&self.log_dir, &name));
        if let Err(e) = &log {
            eprintln!("xenconsoled: domain {id}: log: {e}");
        }
        eprintln!("xenconsoled: domain {id} ({name}): console attached (port {port} -> {local_port})");
        self.unready.remove(&id);
        let c = Console { ring, local_port, log: log.ok(), tail: Vec::new(), clients: Vec::new(), pending_input: Vec::new() };
        self.consoles.insert(id, c);
    }

    fn accept(&mut self) {
        while let Ok((stream, _)) = self.listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                self.new_clients.push(NewClient { stream, line: Vec::new() });
            }
        }
    }

    /// Read the domain id line of new clients and attach them.
    fn read_new_clients(&mut self) {
        let mut still = Vec::new();
        for mut c in std::mem::take(&mut self.new_clients) {
            let mut b = [0u8; 64];
            match c.stream.read(&mut b) {
                Ok(0) => continue,
                Ok(n) => c.line.extend_from_slice(&b[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                Err(_) => continue,
            }
            let Some(nl) = c.line.iter().position(|&b| b == b'\n') else {
                if c.line.len() < 64 {
                    still.push(c);
                }
                continue;
            };
            let rest = c.line.split_off(nl + 1);
            let id = std::str::from_utf8(&c.line).ok().and_then(|s| s.trim().parse::<u16>().ok());
            match id.and_then(|id| self.consoles.get_mut(&id)) {
                Some(con) => {
                    let _ = c.stream.set_nonblocking(false);
                    let _ = c.stream.write_all(b"OK\n");
                    let _ = c.stream.write_all(&con.tail);
                    let _ = c.stream.set_nonblocking(true);
                    con.pending_input.extend_from_slice(&rest);
                    con.clients.push(c.stream);
                }
                None => {
                    let _ = c.stream.write_all(b"ERR no console for that domain\n");
                }
            }
        }
        self.new_clients = still;
    }

    fn pump(&mut self) {
        let ids: Vec<u16> = self.consoles.keys().copied().collect();
        for id in ids {
            self.pump_one(id);
        }
    }

    /// Move output and input of one console.
    fn pump_one(&mut self, id: u16) {
        let Some(c) = self.consoles.get_mut(&id) else { return };
        let mut out = Vec::new();
        let mut notify = drain(&mut c.ring, &mut out) > 0;
        if !out.is_empty() {
            if let Some(log) = &mut c.log {
                let _ = log.write_all(&out);
            }
            push_tail(&mut c.tail, &out);
            c.clients.retain_mut(|s| {
                let _ = s.set_nonblocking(false);
                let ok = s.write_all(&out).is_ok();
                let _ = s.set_nonblocking(true);
                ok
            });
        }
        let mut input = std::mem::take(&mut c.pending_input);
        c.clients.retain_mut(|s| {
            let mut b = [0u8; 1024];
            loop {
                match s.read(&mut b) {
                    Ok(0) => return false,
                    Ok(n) => input.extend_from_slice(&b[..n]),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
                    Err(_) => return false,
                }
            }
        });
        if !input.is_empty() {
            let n = feed(&mut c.ring, &input);
            notify |= n > 0;
            c.pending_input = input.split_off(n);
        }
        if notify {
            let _ = self.evtchn.notify(c.local_port);
        }
    }
}

/// Why `xm console` could not attach.
#[derive(Debug, thiserror::Error)]
pub enum AttachError {
    /// The daemon is not running.
    #[error("cannot reach the console daemon at {path}: {source} (is xenconsoled running?)")]
    Connect {
        /// Its socket.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The daemon has no console for the domain.
    #[error("domain {domid}: {reason}")]
    Refused {
        /// The domain.
        domid: u16,
        /// The daemon's answer.
        reason: String,
    },
    /// The connection failed.
    #[error("console connection: {0}")]
    Io(#[from] std::io::Error),
}

/// Puts the terminal into raw mode while alive (when stdin is a terminal).
struct RawMode {
    saved: Option<rustix::termios::Termios>,
}

impl RawMode {
    fn enter() -> Self {
        let stdin = std::io::stdin();
        let Ok(saved) = rustix::termios::tcgetattr(&stdin) else { return RawMode { saved: None } };
        let mut raw = saved.clone();
        raw.make_raw();
        let _ = rustix::termios::tcsetattr(&stdin, rustix::termios::OptionalActions::Now, &raw);
        RawMode { saved: Some(saved) }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            let _ = rustix::termios::tcsetattr(std::io::stdin(), rustix::termios::OptionalActions::Now, t);
        }
    }
}

/// `xm console`: attach to `domid`'s console through the daemon at
/// `socket` until `Ctrl-]`, or the domain goes away. At the end of a piped
/// standard input, output keeps flowing until the domain goes away.
pub fn attach(socket: &Path, domid: u16, out: &mut dyn Write) -> Result<(), AttachError> {
    let mut s = UnixStream::connect(socket)
        .map_err(|source| AttachError::Connect { path: socket.display().to_string(), source })?;
    s.write_all(format!("{domid}\n").as_bytes())?;
    let mut answer = Vec::new();
    let mut b = [0u8; 1];
    while s.read(&mut b)? == 1 && b[0] != b'\n' {
        answer.push(b[0]);
    }
    let answer = String::from_utf8_lossy(&answer).into_owned();
    if answer != "OK" {
        let reason = answer.strip_prefix("ERR ").unwrap_or(&answer).to_string();
        return Err(AttachError::Refused { domid, reason });
    }
    let _raw = RawMode::enter();
    let stdin = std::io::stdin();
    let mut stdin_open = true;
    let mut buf = [0u8; 4096];
    loop {
        let (sock_ready, in_ready) = {
            let mut fds = vec![PollFd::new(&s, PollFlags::IN)];
            if stdin_open {
                fds.push(PollFd::new(&stdin, PollFlags::IN));
            }
            poll(&mut fds, None).map_err(std::io::Error::from)?;
            (!fds[0].revents().is_empty(), fds.get(1).is_some_and(|f| !f.revents().is_empty()))
        };
        if sock_ready {
            let n = s.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            out.write_all(&buf[..n])?;
            out.flush()?;
        }
        if in_ready {
            let n = stdin.lock().read(&mut buf)?;
            if n == 0 {
                stdin_open = false;
                continue;
            }
            if let Some(at) = buf[..n].iter().position(|&b| b == DETACH) {
                s.write_all(&buf[..at])?;
                return Ok(());
            }
            s.write_all(&buf[..n])?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A console page in memory.
    struct FakeRing(Box<XenconsInterface>);

    impl ConsoleRing for FakeRing {
        fn out_prod(&self) -> u32 {
            self.0.out_prod
        }
        fn out_cons(&self) -> u32 {
            self.0.out_cons
        }
        fn set_out_cons(&mut self, v: u32) {
            self.0.out_cons = v
        }
        fn out_byte(&self, i: usize) -> u8 {
            self.0.out[i]
        }
        fn in_cons(&self) -> u32 {
            self.0.in_cons
        }
        fn in_prod(&self) -> u32 {
            self.0.in_prod
        }
        fn set_in_prod(&mut self, v: u32) {
            self.0.in_prod = v
        }
        fn set_in_byte(&mut self, i: usize, b: u8) {
            self.0.r#in[i] = b
        }
    }

    fn guest_write(r: &mut FakeRing, bytes: &[u8]) {
        for &b in bytes {
            let p = r.0.out_prod;
            r.0.out[p as usize % XENCONS_OUT_SIZE] = b;
            r.0.out_prod = p.wrapping_add(1);
        }
    }

    #[test]
    fn drains_including_wraparound() {
        let mut r = FakeRing(Box::default());
        r.0.out_prod = u32::MAX - 2;
        r.0.out_cons = u32::MAX - 2;
        guest_write(&mut r, b"hello\n");
        let mut out = Vec::new();
        assert_eq!(drain(&mut r, &mut out), 6);
        assert_eq!(out, b"hello\n");
        assert_eq!(drain(&mut r, &mut out), 0);
        // A full ring at a wrapping offset.
        let big: Vec<u8> = (0..XENCONS_OUT_SIZE).map(|i| (i % 251) as u8).collect();
        guest_write(&mut r, &big);
        let mut out = Vec::new();
        assert_eq!(drain(&mut r, &mut out), XENCONS_OUT_SIZE);
        assert_eq!(out, big);
    }

    #[test]
    fn bogus_indexes_are_resynchronised() {
        let mut r = FakeRing(Box::default());
        r.0.out_prod = 5000;
        let mut out = Vec::new();
        assert_eq!(drain(&mut r, &mut out), 0);
        assert_eq!(r.0.out_cons, 5000);
    }

    #[test]
    fn input_fills_up_to_free_space() {
        let mut r = FakeRing(Box::default());
        assert_eq!(feed(&mut r, b"ls\n"), 3);
        assert_eq!(&r.0.r#in[..3], b"ls\n");
        let big = vec![b'x'; 2000];
        assert_eq!(feed(&mut r, &big), XENCONS_IN_SIZE - 3);
        assert_eq!(feed(&mut r, b"y"), 0);
        r.0.in_cons = 10;
        assert_eq!(feed(&mut r, b"abc"), 3);
        assert_eq!(r.0.r#in[3 % XENCONS_IN_SIZE], b'x');
    }

    #[test]
    fn tail_keeps_the_end() {
        let mut t = Vec::new();
        push_tail(&mut t, &vec![1u8; TAIL - 1]);
        push_tail(&mut t, &[2, 3]);
        assert_eq!(t.len(), TAIL);
        assert_eq!(&t[TAIL - 2..], &[2, 3]);
        assert_eq!(log_path(Path::new("/l"), "g"), PathBuf::from("/l/guest-g.log"));
    }
}
