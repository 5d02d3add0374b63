//! The daemon's core, free of I/O: connections (socket clients and domain
//! rings alike), request dispatch with Xen's semantics, transactions,
//! watches, introduced domains and quotas. Transports feed it bytes with
//! [`Server::receive`] and send what [`Server::pending_output`] holds; the
//! device work a request implies (mapping a newly introduced domain's ring)
//! comes back as [`Effect`]s.
//!
//! Nothing a client sends can panic it: every request is decoded once into
//! a typed [`Request`] and every failure becomes an `XS_ERROR` reply.

use std::collections::{BTreeMap, HashMap, VecDeque};

use dom0_abi::io::xenstore_ring::XENSTORE_PAYLOAD_MAX;
use dom0_abi::io::xs_wire::XsdSockmsg;
use log::{debug, info, warn};

use crate::error::{XsError, XsResult};
use crate::path::{self, domain_path};
use crate::protocol::{self, Frame, MessageReader, Request, Response};
use crate::quota::Quota;
use crate::store::ops::{self, Change};
use crate::store::perms::{Access, Caller, Perms, Rights};
use crate::store::{NodeView, Store};
use crate::transaction::Transaction;
use crate::watch::{Watch, WatchList};

/// Identifies a connection.
pub type ConnId = u64;

/// Special watch fired when a domain is introduced.
pub const INTRODUCE_DOMAIN: &str = "@introduceDomain";
/// Special watch fired when a domain is released.
pub const RELEASE_DOMAIN: &str = "@releaseDomain";

/// Device work requested by a message, for the transport layer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// Map `domid`'s ring page (`mfn`) and bind its event channel `port`,
    /// then attach it with [`Server::connect_domain`].
    Introduce {
        /// The domain.
        domid: u32,
        /// Frame of its xenstore page.
        mfn: u64,
        /// Its unbound event channel for xenstore.
        port: u32,
    },
    /// Tear down `domid`'s ring (its connection is already gone).
    Release {
        /// The domain.
        domid: u32,
    },
}

/// A domain introduced with `XS_INTRODUCE`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Domain {
    mfn: u64,
    port: u32,
    target: Option<u32>,
    conn: Option<ConnId>,
}

/// One client connection.
#[derive(Debug)]
struct Conn {
    caller: Caller,
    home: String,
    watches: WatchList,
    transactions: HashMap<u32, Transaction>,
    reader: MessageReader,
    outbox: VecDeque<Vec<u8>>,
    out_offset: usize,
    domain: Option<u32>,
}

impl Conn {
    fn new(caller: Caller, domain: Option<u32>) -> Self {
        Conn {
            caller,
            home: domain_path(caller.domid),
            watches: WatchList::default(),
            transactions: HashMap::new(),
            reader: MessageReader::new(),
            outbox: VecDeque::new(),
            out_offset: 0,
            domain,
        }
    }
}

/// The xenstore daemon's state.
#[derive(Debug)]
pub struct Server {
    store: Store,
    quota: Quota,
    conns: BTreeMap<ConnId, Conn>,
    next_conn: ConnId,
    next_tx: u32,
    domains: BTreeMap<u32, Domain>,
    effects: Vec<Effect>,
    /// Watch events raised by the request being handled: (connection, path, token).
    events: Vec<(ConnId, String, String)>,
}

impl Server {
    /// A server with dom0's initial nodes: `/tool/xenstored`,
    /// `/local/domain/0/name = Domain-0` and `/local/domain/0/domid = 0`.
    pub fn new(quota: Quota) -> Self {
        let mut s = Server {
            store: Store::new(),
            quota,
            conns: BTreeMap::new(),
            next_conn: 1,
            next_tx: 1,
            domains: BTreeMap::new(),
            effects: Vec::new(),
            events: Vec::new(),
        };
        let d0 = Caller::DOM0;
        for (p, v) in [
            ("/tool/xenstored", ""),
            ("/local/domain/0/name", "Domain-0"),
            ("/local/domain/0/domid", "0"),
        ] {
            if let Err(e) = ops::write(&mut s.store, &d0, &s.quota, p, v.as_bytes()) {
                warn!("cannot create {p}: {e}");
            }
        }
        s
    }

    /// The committed store (for inspection and tests).
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The quotas in force.
    pub fn quota(&self) -> &Quota {
        &self.quota
    }

    /// Opens a connection for `caller` (the unix socket uses [`Caller::DOM0`]).
    pub fn connect(&mut self, caller: Caller) -> ConnId {
        self.add_conn(Conn::new(caller, None))
    }

    /// Attaches the ring connection of an introduced domain (dom0's own
    /// ring may attach without an `XS_INTRODUCE`).
    pub fn connect_domain(&mut self, domid: u32) -> ConnId {
        let target = self.domains.get(&domid).and_then(|d| d.target);
        let caller = Caller {
            domid,
            privileged: domid == 0,
            target,
        };
        let id = self.add_conn(Conn::new(caller, Some(domid)));
        let dom = self.domains.entry(domid).or_insert(Domain {
            mfn: 0,
            port: 0,
            target,
            conn: None,
        });
        if let Some(old) = dom.conn.replace(id) {
            self.conns.remove(&old);
        }
        id
    }

    fn add_conn(&mut self, conn: Conn) -> ConnId {
        let id = self.next_conn;
        self.next_conn += 1;
        debug!("connection {id} opened for domain {}", conn.caller.domid);
        self.conns.insert(id, conn);
        id
    }

    /// Closes a connection, dropping its watches and transactions.
    pub fn disconnect(&mut self, id: ConnId) {
        if let Some(conn) = self.conns.remove(&id) {
            debug!("connection {id} closed");
            if let Some(dom) = conn.domain.and_then(|d| self.domains.get_mut(&d)) {
                if dom.conn == Some(id) {
                    dom.conn = None;
                }
            }
        }
    }

    /// True while the connection exists.
    pub fn is_connected(&self, id: ConnId) -> bool {
        self.conns.contains_key(&id)
    }

    /// Device work requested since the last call.
    pub fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// Feeds bytes received on a connection and handles every complete message.
    pub fn receive(&mut self, id: ConnId, bytes: &[u8]) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        conn.reader.push(bytes);
        loop {
            let Some(conn) = self.conns.get_mut(&id) else {
                return;
            };
            match conn.reader.next_frame() {
                None => return,
                Some(Frame::Oversized(hdr)) => {
                    warn!("connection {id}: {}-byte message rejected", hdr.len);
                    conn.outbox
                        .push_back(protocol::encode_error(&hdr, XsError::TooBig));
                }
                Some(Frame::Message(hdr, payload)) => self.handle_message(id, &hdr, &payload),
            }
        }
    }

    /// Handles one message and queues its reply (and any watch events).
    pub fn handle_message(&mut self, id: ConnId, hdr: &XsdSockmsg, payload: &[u8]) {
        let result = self.dispatch(id, hdr, payload);
        let msg = match result {
            Ok(resp) => {
                let body = resp.payload();
                if body.len() > XENSTORE_PAYLOAD_MAX {
                    protocol::encode_error(hdr, XsError::TooBig)
                } else {
                    protocol::encode(hdr.r#type, hdr.req_id, hdr.tx_id, &body)
                }
            }
            Err(e) => {
                debug!("connection {id}: type {} failed: {}", hdr.r#type, e.name());
                protocol::encode_error(hdr, e)
            }
        };
        if let Some(conn) = self.conns.get_mut(&id) {
            conn.outbox.push_back(msg);
        }
        // Events caused by the request follow its reply.
        self.deliver_events();
    }

    fn deliver_events(&mut self) {
        let limit = self.quota.max_queued_events;
        for (id, path, token) in std::mem::take(&mut self.events) {
            let Some(conn) = self.conns.get_mut(&id) else {
                continue;
            };
            if !conn.caller.privileged && conn.outbox.len() >= limit {
                warn!("connection {id}: watch event for {path} dropped (queue full)");
                continue;
            }
            conn.outbox
                .push_back(protocol::encode_watch_event(&path, &token));
        }
    }

    /// The unsent bytes of the first queued message of a connection.
    pub fn pending_output(&self, id: ConnId) -> Option<&[u8]> {
        let conn = self.conns.get(&id)?;
        conn.outbox.front().map(|m| &m[conn.out_offset..])
    }

    /// Marks `n` bytes of [`Self::pending_output`] as sent.
    pub fn consume_output(&mut self, id: ConnId, n: usize) {
        let Some(conn) = self.conns.get_mut(&id) else {
            return;
        };
        let Some(front) = conn.outbox.front() else {
            return;
        };
        conn.out_offset += n;
        if conn.out_offset >= front.len() {
            conn.outbox.pop_front();
            conn.out_offset = 0;
        }
    }

    /// Messages queued for a connection.
    pub fn backlog(&self, id: ConnId) -> usize {
        self.conns.get(&id).map_or(0, |c| c.outbox.len())
    }

    /// Every queued message of a connection, whole (tests and simple transports).
    pub fn drain_output(&mut self, id: ConnId) -> Vec<Vec<u8>> {
        let Some(conn) = self.conns.get_mut(&id) else {
            return Vec::new();
        };
        conn.out_offset = 0;
        conn.outbox.drain(..).collect()
    }

    fn dispatch(&mut self, id: ConnId, hdr: &XsdSockmsg, payload: &[u8]) -> XsResult<Response> {
        let conn = self.conns.get(&id).ok_or(XsError::Inval)?;
        let caller = conn.caller;
        let home = conn.home.clone();
        let req = Request::parse(hdr.r#type, payload)?;
        let tx = hdr.tx_id;
        if tx != 0 && !conn.transactions.contains_key(&tx) {
            return Err(XsError::NoEnt);
        }
        let canon = |p: &[u8]| path::canonicalize(p, &home, false);
        match req {
            Request::Read(p) => {
                let p = canon(&p)?;
                self.with_view(id, tx, |v| ops::read(v, &caller, &p))
                    .map(Response::Raw)
            }
            Request::Directory(p) => {
                let p = canon(&p)?;
                let node = self.with_view(id, tx, |v| ops::directory(v, &caller, &p))?;
                Ok(Response::List(node.children))
            }
            Request::DirectoryPart(p, offset) => {
                let p = canon(&p)?;
                let node = self.with_view(id, tx, |v| ops::directory(v, &caller, &p))?;
                directory_part(&node.children, node.generation, offset).map(Response::Bytes)
            }
            Request::GetPerms(p) => {
                let p = canon(&p)?;
                let perms = self.with_view(id, tx, |v| ops::get_perms(v, &caller, &p))?;
                Ok(Response::List(perms.to_strings()))
            }
            Request::Write(p, value) => {
                let p = canon(&p)?;
                let quota = self.quota;
                let ch = self.with_view(id, tx, |v| ops::write(v, &caller, &quota, &p, &value))?;
                self.changed(id, tx, vec![ch]);
                Ok(Response::Ok)
            }
            Request::Mkdir(p) => {
                let p = canon(&p)?;
                let quota = self.quota;
                let ch = self.with_view(id, tx, |v| ops::mkdir(v, &caller, &quota, &p))?;
                self.changed(id, tx, ch.into_iter().collect());
                Ok(Response::Ok)
            }
            Request::Rm(p) => {
                let p = canon(&p)?;
                let ch = self.with_view(id, tx, |v| ops::rm(v, &caller, &p))?;
                self.changed(id, tx, ch);
                Ok(Response::Ok)
            }
            Request::SetPerms(p, perms) => {
                let p = canon(&p)?;
                let perms = Perms::parse(perms.iter().map(Vec::as_slice))?;
                let quota = self.quota;
                let ch =
                    self.with_view(id, tx, |v| ops::set_perms(v, &caller, &quota, &p, perms))?;
                self.changed(id, tx, vec![ch]);
                Ok(Response::Ok)
            }
            Request::Watch(p, token) => self.watch(id, &p, &token),
            Request::Unwatch(p, token) => {
                let p = path::canonicalize(&p, &home, true)?;
                let token = String::from_utf8(token).map_err(|_| XsError::Inval)?;
                self.conn_mut(id)?.watches.remove(&p, &token)?;
                Ok(Response::Ok)
            }
            Request::TransactionStart => self.transaction_start(id, tx),
            Request::TransactionEnd(commit) => self.transaction_end(id, tx, commit),
            Request::Introduce(domid, mfn, port) => self.introduce(&caller, domid, mfn, port),
            Request::Release(domid) => self.release(&caller, domid),
            Request::GetDomainPath(domid) => Ok(Response::Str(domain_path(domid))),
            Request::IsDomainIntroduced(domid) => {
                let yes = domid == 0 || self.domains.contains_key(&domid);
                Ok(Response::Str(if yes { "T" } else { "F" }.into()))
            }
            Request::Resume(domid) => {
                require_privileged(&caller)?;
                self.domains
                    .get(&domid)
                    .map(|_| Response::Ok)
                    .ok_or(XsError::NoEnt)
            }
            Request::SetTarget(domid, target) => self.set_target(&caller, domid, target),
            Request::ResetWatches => {
                let conn = self.conn_mut(id)?;
                conn.watches.clear();
                conn.transactions.clear();
                Ok(Response::Ok)
            }
            Request::Control(args) => self.control(&caller, &args),
        }
    }

    fn conn_mut(&mut self, id: ConnId) -> XsResult<&mut Conn> {
        self.conns.get_mut(&id).ok_or(XsError::Inval)
    }

    /// Runs `f` on the store, or on transaction `tx` of connection `id`.
    fn with_view<T>(
        &mut self,
        id: ConnId,
        tx: u32,
        f: impl FnOnce(&mut dyn NodeView) -> XsResult<T>,
    ) -> XsResult<T> {
        if tx == 0 {
            return f(&mut self.store);
        }
        let t = self
            .conns
            .get_mut(&id)
            .and_then(|c| c.transactions.get_mut(&tx))
            .ok_or(XsError::NoEnt)?;
        f(&mut t.view(&self.store))
    }

    /// Announces changes now, or at commit of transaction `tx`.
    fn changed(&mut self, id: ConnId, tx: u32, changes: Vec<Change>) {
        if tx == 0 {
            self.fire(&changes);
        } else if let Some(t) = self
            .conns
            .get_mut(&id)
            .and_then(|c| c.transactions.get_mut(&tx))
        {
            t.record_changes(changes);
        }
    }

    /// Queues watch events for every connection a change concerns.
    fn fire(&mut self, changes: &[Change]) {
        for (id, conn) in self.conns.iter() {
            for ch in changes {
                if !ch.perms.rights_for(&conn.caller).covers(Rights::READ) {
                    continue;
                }
                for ev in conn.watches.fired(&ch.path, ch.exact, &conn.home) {
                    self.events.push((*id, ev.path, ev.token));
                }
            }
        }
    }

    fn watch(&mut self, id: ConnId, raw_path: &[u8], token: &[u8]) -> XsResult<Response> {
        let quota = self.quota;
        let conn = self.conn_mut(id)?;
        let p = path::canonicalize(raw_path, &conn.home, true)?;
        let token = String::from_utf8(token.to_vec()).map_err(|_| XsError::Inval)?;
        quota.check_watches(&conn.caller, conn.watches.len())?;
        let relative = !raw_path.starts_with(b"/") && !path::is_special(&p);
        conn.watches.add(Watch {
            path: p.clone(),
            token: token.clone(),
            relative,
        })?;
        // A new watch fires once at once, with the path as the client gave it.
        let shown = path::relative_to(&p, &conn.home, relative).to_string();
        self.events.push((id, shown, token));
        Ok(Response::Ok)
    }

    fn transaction_start(&mut self, id: ConnId, tx: u32) -> XsResult<Response> {
        if tx != 0 {
            return Err(XsError::Busy);
        }
        let quota = self.quota;
        let mut tid = self.next_tx;
        let conn = self.conns.get_mut(&id).ok_or(XsError::Inval)?;
        quota.check_transactions(&conn.caller, conn.transactions.len())?;
        while tid == 0 || conn.transactions.contains_key(&tid) {
            tid = tid.wrapping_add(1);
        }
        conn.transactions.insert(tid, Transaction::new());
        self.next_tx = tid.wrapping_add(1);
        Ok(Response::Str(tid.to_string()))
    }

    fn transaction_end(&mut self, id: ConnId, tx: u32, commit: bool) -> XsResult<Response> {
        let t = self
            .conn_mut(id)?
            .transactions
            .remove(&tx)
            .ok_or(XsError::NoEnt)?;
        if commit {
            let changes = t.commit(&mut self.store)?;
            self.fire(&changes);
        }
        Ok(Response::Ok)
    }

    fn introduce(
        &mut self,
        caller: &Caller,
        domid: u32,
        mfn: u64,
        port: u32,
    ) -> XsResult<Response> {
        require_privileged(caller)?;
        let fresh = !self.domains.contains_key(&domid);
        let dom = self.domains.entry(domid).or_insert(Domain {
            mfn,
            port,
            target: None,
            conn: None,
        });
        dom.mfn = mfn;
        dom.port = port;
        info!("domain {domid} introduced (ring frame {mfn:#x}, event channel {port})");
        self.effects.push(Effect::Introduce { domid, mfn, port });
        if fresh {
            self.fire(&[special_change(INTRODUCE_DOMAIN)]);
        }
        Ok(Response::Ok)
    }

    fn release(&mut self, caller: &Caller, domid: u32) -> XsResult<Response> {
        require_privileged(caller)?;
        if domid == 0 {
            return Err(XsError::Inval);
        }
        let dom = self.domains.remove(&domid).ok_or(XsError::NoEnt)?;
        if let Some(c) = dom.conn {
            self.conns.remove(&c);
        }
        info!("domain {domid} released");
        self.effects.push(Effect::Release { domid });
        self.fire(&[special_change(RELEASE_DOMAIN)]);
        Ok(Response::Ok)
    }

    fn set_target(&mut self, caller: &Caller, domid: u32, target: u32) -> XsResult<Response> {
        require_privileged(caller)?;
        let dom = self.domains.get_mut(&domid).ok_or(XsError::NoEnt)?;
        dom.target = Some(target);
        if let Some(conn) = dom.conn.and_then(|c| self.conns.get_mut(&c)) {
            conn.caller.target = Some(target);
        }
        Ok(Response::Ok)
    }

    fn control(&mut self, caller: &Caller, args: &[Vec<u8>]) -> XsResult<Response> {
        require_privileged(caller)?;
        let cmd = args.first().ok_or(XsError::Inval)?;
        match cmd.as_slice() {
            b"check" | b"log" => Ok(Response::Str("OK".into())),
            b"print" => {
                let text = args.get(1).ok_or(XsError::Inval)?;
                info!("control: {}", String::from_utf8_lossy(text));
                Ok(Response::Str("OK".into()))
            }
            b"quota" => Ok(Response::Str(self.quota.describe())),
            b"memreport" => Ok(Response::Str(format!(
                "nodes: {}\nconnections: {}\ndomains: {}\n",
                self.store.len(),
                self.conns.len(),
                self.domains.len()
            ))),
            b"help" => Ok(Response::Str(
                "Supported commands:\ncheck\nhelp\nlog\nmemreport\nprint <string>\nquota\n".into(),
            )),
            _ => Err(XsError::Inval),
        }
    }
}

fn require_privileged(caller: &Caller) -> XsResult<()> {
    if caller.privileged {
        Ok(())
    } else {
        Err(XsError::Acces)
    }
}

/// A special watch event, visible only to privileged watchers.
fn special_change(name: &str) -> Change {
    Change {
        path: name.to_string(),
        perms: Perms::new(0, Access::None),
        exact: false,
    }
}

/// `XS_DIRECTORY_PART` reply: the generation, then as many children from
/// byte `offset` of the NUL-separated list as fit, then an empty string
/// when the list is complete.
fn directory_part(children: &[String], generation: u64, offset: usize) -> XsResult<Vec<u8>> {
    let mut all = Vec::new();
    for c in children {
        all.extend_from_slice(c.as_bytes());
        all.push(0);
    }
    if offset > all.len() || (offset > 0 && all[offset - 1] != 0) {
        return Err(XsError::Inval);
    }
    let mut out = generation.to_string().into_bytes();
    out.push(0);
    let mut pos = offset;
    while pos < all.len() {
        let end = pos + all[pos..].iter().position(|&b| b == 0).unwrap_or(0) + 1;
        if out.len() + (end - pos) + 1 > XENSTORE_PAYLOAD_MAX {
            return Ok(out);
        }
        out.extend_from_slice(&all[pos..end]);
        pos = end;
    }
    out.push(0);
    Ok(out)
}
