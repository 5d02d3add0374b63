//! The daemon's event loop: one thread polling the unix socket, its
//! clients and the event-channel device, moving bytes between them and the
//! [`Server`] core. Domain rings are serviced on their event channel and on
//! every loop turn, so a missed notification only delays, never loses, a
//! message.

use std::collections::HashMap;
use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use log::{info, warn};
use rustix::event::{poll, PollFd, PollFlags, Timespec};

use crate::quota::Quota;
use crate::ring;
use crate::server::{ConnId, Effect, Server};
use crate::store::perms::Caller;
use crate::xendev::{EventChannels, ForeignPage};

/// Daemon settings.
#[derive(Clone, Debug)]
pub struct Config {
    /// Path of the unix socket.
    pub socket: PathBuf,
    /// Serve domain rings (needs `/dev/xen/*`; skipped with a warning when absent).
    pub domains: bool,
    /// Quotas for guests.
    pub quota: Quota,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            socket: crate::DEFAULT_SOCKET.into(),
            domains: true,
            quota: Quota::default(),
        }
    }
}

/// Stop reading from a client whose replies pile up beyond this many messages.
const MAX_BACKLOG: usize = 4096;

/// A domain's ring connection.
struct DomainRing {
    conn: ConnId,
    page: ForeignPage,
    local_port: u32,
    broken: bool,
}

/// The running daemon.
pub struct Daemon {
    server: Server,
    listener: UnixListener,
    clients: HashMap<ConnId, UnixStream>,
    evtchn: Option<EventChannels>,
    rings: HashMap<u32, DomainRing>,
}

impl Daemon {
    /// Binds the socket (replacing a stale one) and opens the Xen devices.
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        if let Some(dir) = config.socket.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let _ = std::fs::remove_file(&config.socket);
        let listener = UnixListener::bind(&config.socket)?;
        listener.set_nonblocking(true)?;
        info!("listening on {}", config.socket.display());
        let mut d = Daemon {
            server: Server::new(config.quota),
            listener,
            clients: HashMap::new(),
            evtchn: None,
            rings: HashMap::new(),
        };
        if config.domains {
            d.open_xen();
        }
        Ok(d)
    }

    fn open_xen(&mut self) {
        match EventChannels::open() {
            Ok(e) => self.evtchn = Some(e),
            Err(e) => {
                warn!("no domain rings: {e}");
                return;
            }
        }
        match ForeignPage::map_dom0() {
            Ok((page, port)) => self.attach(0, page, port),
            Err(e) => warn!("dom0 ring unavailable: {e}"),
        }
    }

    fn attach(&mut self, domid: u32, page: ForeignPage, remote_port: u32) {
        let Some(ev) = &self.evtchn else { return };
        match ev.bind_interdomain(domid, remote_port) {
            Ok(local_port) => {
                let conn = self.server.connect_domain(domid);
                info!("domain {domid}: ring attached (local port {local_port})");
                // The first event tells the guest the daemon is up (Linux
                // dom0 starts probing xenbus on it).
                ev.notify(local_port);
                self.rings.insert(
                    domid,
                    DomainRing {
                        conn,
                        page,
                        local_port,
                        broken: false,
                    },
                );
            }
            Err(e) => warn!("domain {domid}: {e}"),
        }
    }

    fn detach(&mut self, domid: u32) {
        if let Some(r) = self.rings.remove(&domid) {
            if let Some(ev) = &self.evtchn {
                ev.unbind(r.local_port);
            }
            self.server.disconnect(r.conn);
        }
    }

    /// Runs until `stop` is set (checked at least every half second).
    pub fn run(&mut self, stop: &AtomicBool) -> anyhow::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            self.turn(Duration::from_millis(500))?;
        }
        Ok(())
    }

    /// One loop turn: wait for activity (at most `timeout`), then serve it.
    pub fn turn(&mut self, timeout: Duration) -> anyhow::Result<()> {
        let ids: Vec<ConnId> = self.clients.keys().copied().collect();
        let (listener_ready, evtchn_ready, ready) = {
            let mut fds = vec![PollFd::new(&self.listener, PollFlags::IN)];
            for id in &ids {
                let mut flags = PollFlags::IN;
                if self.server.pending_output(*id).is_some() {
                    flags |= PollFlags::OUT;
                }
                fds.push(PollFd::new(&self.clients[id], flags));
            }
            if let Some(ev) = &self.evtchn {
                fds.push(PollFd::new(ev.file(), PollFlags::IN));
            }
            let ts = Timespec {
                tv_sec: timeout.as_secs() as _,
                tv_nsec: timeout.subsec_nanos() as _,
            };
            match poll(&mut fds, Some(&ts)) {
                Ok(_) | Err(rustix::io::Errno::INTR) => {}
                Err(e) => return Err(e.into()),
            }
            let ready: Vec<bool> = fds[1..=ids.len()]
                .iter()
                .map(|f| !f.revents().is_empty())
                .collect();
            let ev = self.evtchn.is_some() && fds.last().is_some_and(|f| !f.revents().is_empty());
            (!fds[0].revents().is_empty(), ev, ready)
        };
        if listener_ready {
            self.accept();
        }
        for (id, r) in ids.iter().zip(ready) {
            if r {
                self.read_client(*id);
            }
        }
        if evtchn_ready {
            if let Some(ev) = &mut self.evtchn {
                for port in ev.pending() {
                    ev.unmask(port);
                }
            }
        }
        self.service_rings();
        self.handle_effects();
        self.flush_clients();
        self.service_rings();
        Ok(())
    }

    fn accept(&mut self) {
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => {
                    if stream.set_nonblocking(true).is_err() {
                        continue;
                    }
                    let id = self.server.connect(Caller::DOM0);
                    self.clients.insert(id, stream);
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) => {
                    warn!("accept: {e}");
                    return;
                }
            }
        }
    }

    fn read_client(&mut self, id: ConnId) {
        let mut buf = [0u8; 16384];
        for _ in 0..16 {
            if self.server.backlog(id) > MAX_BACKLOG {
                return;
            }
            let Some(stream) = self.clients.get_mut(&id) else {
                return;
            };
            match stream.read(&mut buf) {
                Ok(0) => return self.drop_client(id),
                Ok(n) => self.server.receive(id, &buf[..n]),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => return self.drop_client(id),
            }
        }
    }

    fn drop_client(&mut self, id: ConnId) {
        self.clients.remove(&id);
        self.server.disconnect(id);
    }

    fn flush_clients(&mut self) {
        let ids: Vec<ConnId> = self.clients.keys().copied().collect();
        for id in ids {
            while let Some(data) = self.server.pending_output(id) {
                let Some(stream) = self.clients.get_mut(&id) else {
                    break;
                };
                match stream.write(data) {
                    Ok(n) => self.server.consume_output(id, n),
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(_) => {
                        self.drop_client(id);
                        break;
                    }
                }
            }
        }
    }

    fn service_rings(&mut self) {
        let domids: Vec<u32> = self.rings.keys().copied().collect();
        for domid in domids {
            let Some(r) = self.rings.get_mut(&domid) else {
                continue;
            };
            if r.broken || !self.server.is_connected(r.conn) {
                continue;
            }
            let mut input = Vec::new();
            let mut moved = false;
            match ring::read_requests(&mut r.page, &mut input) {
                Ok(n) => moved |= n > 0,
                Err(e) => {
                    warn!("domain {domid}: {e}");
                    r.page.set_ring_index_error();
                    r.broken = true;
                    continue;
                }
            }
            if !input.is_empty() {
                self.server.receive(r.conn, &input);
            }
            while let Some(data) = self.server.pending_output(r.conn) {
                match ring::write_responses(&mut r.page, data) {
                    Ok(0) => break,
                    Ok(n) => {
                        moved = true;
                        self.server.consume_output(r.conn, n);
                    }
                    Err(e) => {
                        warn!("domain {domid}: {e}");
                        r.page.set_ring_index_error();
                        r.broken = true;
                        break;
                    }
                }
            }
            if moved {
                if let Some(ev) = &self.evtchn {
                    ev.notify(r.local_port);
                }
            }
        }
    }

    fn handle_effects(&mut self) {
        for effect in self.server.take_effects() {
            match effect {
                Effect::Introduce { domid, mfn, port } => {
                    if self.evtchn.is_none() {
                        continue;
                    }
                    self.detach(domid);
                    match ForeignPage::map(domid, mfn) {
                        Ok(page) => self.attach(domid, page, port),
                        Err(e) => warn!("domain {domid}: cannot map its xenstore page: {e}"),
                    }
                }
                Effect::Release { domid } => self.detach(domid),
            }
        }
    }
}
