//! A blocking xenstore client over the daemon's unix socket or
//! `/dev/xen/xenbus`: reads, writes, directories, permissions, watches
//! (with an event iterator) and transactions (with a retry helper).

use std::collections::VecDeque;
use std::fs::OpenOptions;
use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

use dom0_abi::io::xs_wire::*;

use crate::error::XsError;
use crate::protocol::{encode, split_strings};
use crate::watch::WatchEvent;

/// A client failure.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection failed.
    #[error("xenstore I/O: {0}")]
    Io(#[from] io::Error),
    /// The daemon answered with an error.
    #[error("xenstore: {0}")]
    Xs(#[from] XsError),
    /// The daemon's reply made no sense.
    #[error("xenstore protocol: {0}")]
    Protocol(String),
}

/// Result of a client call.
pub type ClientResult<T> = Result<T, ClientError>;

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

/// A transaction id (`0`: none).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TxId(pub u32);

impl TxId {
    /// Outside any transaction.
    pub const NONE: TxId = TxId(0);
}

/// A connection to xenstored.
pub struct Client {
    stream: Box<dyn Stream>,
    next_req: u32,
    events: VecDeque<WatchEvent>,
}

impl Client {
    /// Connects to the daemon's unix socket.
    pub fn connect(path: impl AsRef<Path>) -> ClientResult<Self> {
        Ok(Self::from_stream(UnixStream::connect(path)?))
    }

    /// Connects to the daemon's unix socket; every later read or write
    /// fails with `TimedOut`/`WouldBlock` instead of waiting longer than
    /// `timeout` (for callers that must not hang on a stuck daemon).
    pub fn connect_timeout(path: impl AsRef<Path>, timeout: Duration) -> ClientResult<Self> {
        let s = UnixStream::connect(path)?;
        s.set_read_timeout(Some(timeout))?;
        s.set_write_timeout(Some(timeout))?;
        Ok(Self::from_stream(s))
    }

    /// Opens `/dev/xen/xenbus` (the kernel's xenstore device).
    pub fn open_xenbus() -> ClientResult<Self> {
        Self::open_device("/dev/xen/xenbus")
    }

    /// Opens a xenstore device (`/dev/xen/xenbus`, `/proc/xen/xenbus`):
    /// the kernel relays the requests over its own ring.
    pub fn open_device(path: impl AsRef<Path>) -> ClientResult<Self> {
        let f = OpenOptions::new().read(true).write(true).open(path)?;
        Ok(Self::from_stream(f))
    }

    /// `$XENSTORED_PATH` (a socket, or a device such as
    /// `/dev/xen/xenbus`), else the default socket, else `/dev/xen/xenbus`.
    pub fn open() -> ClientResult<Self> {
        if let Ok(p) = std::env::var("XENSTORED_PATH") {
            use std::os::unix::fs::FileTypeExt;
            let is_socket = std::fs::metadata(&p).is_ok_and(|m| m.file_type().is_socket());
            return if is_socket { Self::connect(p) } else { Self::open_device(p) };
        }
        Self::connect(crate::DEFAULT_SOCKET).or_else(|_| Self::open_xenbus())
    }

    fn from_stream(s: impl Read + Write + Send + 'static) -> Self {
        Client {
            stream: Box::new(s),
            next_req: 1,
            events: VecDeque::new(),
        }
    }

    fn read_message(&mut self) -> ClientResult<(XsdSockmsg, Vec<u8>)> {
        let mut h = [0u8; XsdSockmsg::SIZE];
        self.stream.read_exact(&mut h)?;
        let hdr = XsdSockmsg::from_bytes(&h)
            .ok_or_else(|| ClientError::Protocol("short header".into()))?;
        if hdr.len as usize > dom0_abi::io::xenstore_ring::XENSTORE_PAYLOAD_MAX {
            return Err(ClientError::Protocol(format!("{}-byte reply", hdr.len)));
        }
        let mut body = vec![0u8; hdr.len as usize];
        self.stream.read_exact(&mut body)?;
        Ok((hdr, body))
    }

    fn queue_event(&mut self, body: &[u8]) -> ClientResult<()> {
        let parts =
            split_strings(body).map_err(|_| ClientError::Protocol("bad watch event".into()))?;
        if parts.len() < 2 {
            return Err(ClientError::Protocol("bad watch event".into()));
        }
        let s = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        self.events.push_back(WatchEvent {
            path: s(parts[0]),
            token: s(parts[1]),
        });
        Ok(())
    }

    /// Sends a raw request and returns the reply payload.
    pub fn request(&mut self, ty: u32, tx: TxId, payload: &[u8]) -> ClientResult<Vec<u8>> {
        let req_id = self.next_req;
        self.next_req = self.next_req.wrapping_add(1);
        self.stream.write_all(&encode(ty, req_id, tx.0, payload))?;
        loop {
            let (hdr, body) = self.read_message()?;
            match hdr.r#type {
                XS_WATCH_EVENT => self.queue_event(&body)?,
                XS_ERROR => {
                    return Err(XsError::from_name(&body).unwrap_or(XsError::Inval).into());
                }
                t if t == ty && hdr.req_id == req_id => return Ok(body),
                t => return Err(ClientError::Protocol(format!("unexpected reply type {t}"))),
            }
        }
    }

    fn ok(&mut self, ty: u32, tx: TxId, payload: &[u8]) -> ClientResult<()> {
        self.request(ty, tx, payload).map(drop)
    }

    /// Reads a value.
    pub fn read(&mut self, tx: TxId, path: &str) -> ClientResult<Vec<u8>> {
        self.request(XS_READ, tx, &cstr(&[path]))
    }

    /// Reads a value as text.
    pub fn read_string(&mut self, tx: TxId, path: &str) -> ClientResult<String> {
        Ok(String::from_utf8_lossy(&self.read(tx, path)?).into_owned())
    }

    /// Writes a value, creating the node.
    pub fn write(&mut self, tx: TxId, path: &str, value: &[u8]) -> ClientResult<()> {
        let mut p = cstr(&[path]);
        p.extend_from_slice(value);
        self.ok(XS_WRITE, tx, &p)
    }

    /// Creates an empty node (no error if it exists).
    pub fn mkdir(&mut self, tx: TxId, path: &str) -> ClientResult<()> {
        self.ok(XS_MKDIR, tx, &cstr(&[path]))
    }

    /// Removes a node and its children.
    pub fn rm(&mut self, tx: TxId, path: &str) -> ClientResult<()> {
        self.ok(XS_RM, tx, &cstr(&[path]))
    }

    /// Lists a node's children.
    pub fn directory(&mut self, tx: TxId, path: &str) -> ClientResult<Vec<String>> {
        strings(&self.request(XS_DIRECTORY, tx, &cstr(&[path]))?)
    }

    /// A node's permissions, as strings (`"n0"`, `"r5"`).
    pub fn get_perms(&mut self, tx: TxId, path: &str) -> ClientResult<Vec<String>> {
        strings(&self.request(XS_GET_PERMS, tx, &cstr(&[path]))?)
    }

    /// Sets a node's permissions (`["n5", "r0"]`: owner 5, dom0 may read).
    pub fn set_perms(&mut self, tx: TxId, path: &str, perms: &[&str]) -> ClientResult<()> {
        let mut items = vec![path];
        items.extend_from_slice(perms);
        self.ok(XS_SET_PERMS, tx, &cstr(&items))
    }

    /// Watches a path (or `@introduceDomain`, `@releaseDomain`); the
    /// daemon fires it once at once.
    pub fn watch(&mut self, path: &str, token: &str) -> ClientResult<()> {
        self.ok(XS_WATCH, TxId::NONE, &cstr(&[path, token]))
    }

    /// Removes a watch.
    pub fn unwatch(&mut self, path: &str, token: &str) -> ClientResult<()> {
        self.ok(XS_UNWATCH, TxId::NONE, &cstr(&[path, token]))
    }

    /// The next watch event, waiting for it.
    pub fn next_event(&mut self) -> ClientResult<WatchEvent> {
        loop {
            if let Some(ev) = self.events.pop_front() {
                return Ok(ev);
            }
            let (hdr, body) = self.read_message()?;
            if hdr.r#type == XS_WATCH_EVENT {
                self.queue_event(&body)?;
            } else {
                return Err(ClientError::Protocol(format!(
                    "unsolicited message type {}",
                    hdr.r#type
                )));
            }
        }
    }

    /// An endless iterator over watch events (ends at the first error).
    pub fn events(&mut self) -> Events<'_> {
        Events { client: self }
    }

    /// Starts a transaction.
    pub fn transaction_start(&mut self) -> ClientResult<TxId> {
        let body = self.request(XS_TRANSACTION_START, TxId::NONE, b"\0")?;
        let s = strings(&body)?;
        s.first()
            .and_then(|s| s.parse().ok())
            .map(TxId)
            .ok_or_else(|| ClientError::Protocol("bad transaction id".into()))
    }

    /// Commits (`true`) or aborts a transaction; a conflicting commit is `EAGAIN`.
    pub fn transaction_end(&mut self, tx: TxId, commit: bool) -> ClientResult<()> {
        self.ok(XS_TRANSACTION_END, tx, if commit { b"T\0" } else { b"F\0" })
    }

    /// Runs `f` in a transaction and commits, retrying the whole
    /// transaction on `EAGAIN` (up to `attempts` times). An error from `f`
    /// aborts the transaction.
    pub fn transaction<T>(
        &mut self,
        attempts: usize,
        mut f: impl FnMut(&mut Client, TxId) -> ClientResult<T>,
    ) -> ClientResult<T> {
        let mut last = ClientError::Xs(XsError::Again);
        for _ in 0..attempts.max(1) {
            let tx = self.transaction_start()?;
            let value = match f(self, tx) {
                Ok(v) => v,
                Err(e) => {
                    let _ = self.transaction_end(tx, false);
                    if matches!(e, ClientError::Xs(XsError::Again)) {
                        last = e;
                        continue;
                    }
                    return Err(e);
                }
            };
            match self.transaction_end(tx, true) {
                Ok(()) => return Ok(value),
                Err(ClientError::Xs(XsError::Again)) => last = ClientError::Xs(XsError::Again),
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Introduces a domain's ring (dom0 only).
    pub fn introduce(&mut self, domid: u32, mfn: u64, port: u32) -> ClientResult<()> {
        self.ok(
            XS_INTRODUCE,
            TxId::NONE,
            &cstr(&[&domid.to_string(), &mfn.to_string(), &port.to_string()]),
        )
    }

    /// Forgets a domain (dom0 only).
    pub fn release(&mut self, domid: u32) -> ClientResult<()> {
        self.ok(XS_RELEASE, TxId::NONE, &cstr(&[&domid.to_string()]))
    }

    /// A domain's home path.
    pub fn get_domain_path(&mut self, domid: u32) -> ClientResult<String> {
        let s = strings(&self.request(
            XS_GET_DOMAIN_PATH,
            TxId::NONE,
            &cstr(&[&domid.to_string()]),
        )?)?;
        s.into_iter()
            .next()
            .ok_or_else(|| ClientError::Protocol("empty reply".into()))
    }

    /// Was the domain introduced?
    pub fn is_domain_introduced(&mut self, domid: u32) -> ClientResult<bool> {
        let body = self.request(
            XS_IS_DOMAIN_INTRODUCED,
            TxId::NONE,
            &cstr(&[&domid.to_string()]),
        )?;
        Ok(body.first() == Some(&b'T'))
    }

    /// Sends an `XS_CONTROL` command; returns the reply text.
    pub fn control(&mut self, args: &[&str]) -> ClientResult<String> {
        let body = self.request(XS_CONTROL, TxId::NONE, &cstr(args))?;
        Ok(String::from_utf8_lossy(body.strip_suffix(b"\0").unwrap_or(&body)).into_owned())
    }
}

/// Iterator over watch events.
pub struct Events<'a> {
    client: &'a mut Client,
}

impl Iterator for Events<'_> {
    type Item = WatchEvent;

    fn next(&mut self) -> Option<WatchEvent> {
        self.client.next_event().ok()
    }
}

fn cstr(items: &[&str]) -> Vec<u8> {
    let mut v = Vec::new();
    for s in items {
        v.extend_from_slice(s.as_bytes());
        v.push(0);
    }
    v
}

fn strings(body: &[u8]) -> ClientResult<Vec<String>> {
    let parts = split_strings(body)
        .map_err(|_| ClientError::Protocol("unterminated string list".into()))?;
    Ok(parts
        .into_iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}
