//! The xenstore wire protocol: framing of `xsd_sockmsg` messages out of a
//! byte stream, decoding request payloads into typed [`Request`]s and
//! encoding replies, errors and watch events.
//!
//! Strings on the wire are NUL-terminated; `XS_WRITE`'s value is the rest
//! of the payload after the path's NUL. Anything malformed decodes to
//! `EINVAL`; a payload longer than `XENSTORE_PAYLOAD_MAX` is `E2BIG` and
//! skipped so the stream stays in step.

use dom0_abi::io::xenstore_ring::XENSTORE_PAYLOAD_MAX;
use dom0_abi::io::xs_wire::{XsdSockmsg, XsdSockmsgType, XS_ERROR, XS_WATCH_EVENT};

use crate::error::{XsError, XsResult};

/// A typed request. Paths are still raw: they are canonicalised against
/// the connection's home by the server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `XS_CONTROL`: a command and its arguments.
    Control(Vec<Vec<u8>>),
    /// `XS_DIRECTORY`.
    Directory(Vec<u8>),
    /// `XS_DIRECTORY_PART`: path and byte offset into the child list.
    DirectoryPart(Vec<u8>, usize),
    /// `XS_READ`.
    Read(Vec<u8>),
    /// `XS_GET_PERMS`.
    GetPerms(Vec<u8>),
    /// `XS_WATCH`: path and token.
    Watch(Vec<u8>, Vec<u8>),
    /// `XS_UNWATCH`: path and token.
    Unwatch(Vec<u8>, Vec<u8>),
    /// `XS_TRANSACTION_START`.
    TransactionStart,
    /// `XS_TRANSACTION_END`: commit (`T`) or abort (`F`).
    TransactionEnd(bool),
    /// `XS_INTRODUCE`: domain, ring frame, event channel.
    Introduce(u32, u64, u32),
    /// `XS_RELEASE`.
    Release(u32),
    /// `XS_GET_DOMAIN_PATH`.
    GetDomainPath(u32),
    /// `XS_WRITE`: path and value.
    Write(Vec<u8>, Vec<u8>),
    /// `XS_MKDIR`.
    Mkdir(Vec<u8>),
    /// `XS_RM`.
    Rm(Vec<u8>),
    /// `XS_SET_PERMS`: path and permission strings.
    SetPerms(Vec<u8>, Vec<Vec<u8>>),
    /// `XS_IS_DOMAIN_INTRODUCED`.
    IsDomainIntroduced(u32),
    /// `XS_RESUME`.
    Resume(u32),
    /// `XS_SET_TARGET`: domain and its target.
    SetTarget(u32, u32),
    /// `XS_RESET_WATCHES`.
    ResetWatches,
}

/// Splits a payload into NUL-terminated strings; bytes after the last NUL
/// are `EINVAL`.
pub fn split_strings(payload: &[u8]) -> XsResult<Vec<&[u8]>> {
    if payload.is_empty() {
        return Ok(Vec::new());
    }
    if payload.last() != Some(&0) {
        return Err(XsError::Inval);
    }
    Ok(payload[..payload.len() - 1].split(|&b| b == 0).collect())
}

fn exactly<const N: usize>(payload: &[u8]) -> XsResult<[Vec<u8>; N]> {
    let parts = split_strings(payload)?;
    if parts.len() != N {
        return Err(XsError::Inval);
    }
    Ok(std::array::from_fn(|i| parts[i].to_vec()))
}

fn one(payload: &[u8]) -> XsResult<Vec<u8>> {
    let [a] = exactly::<1>(payload)?;
    Ok(a)
}

/// Parses a decimal number the way xenstored accepts them.
pub fn number<T: std::str::FromStr>(s: &[u8]) -> XsResult<T> {
    if s.is_empty() || !s.iter().all(u8::is_ascii_digit) {
        return Err(XsError::Inval);
    }
    std::str::from_utf8(s)
        .map_err(|_| XsError::Inval)?
        .parse()
        .map_err(|_| XsError::Inval)
}

fn domid(s: &[u8]) -> XsResult<u32> {
    let d: u32 = number(s)?;
    if d > u32::from(u16::MAX) {
        return Err(XsError::Inval);
    }
    Ok(d)
}

impl Request {
    /// Decodes the payload of a message of type `ty` (a raw `XS_*` number).
    pub fn parse(ty: u32, payload: &[u8]) -> XsResult<Request> {
        use XsdSockmsgType as T;
        let ty = T::try_from(ty).map_err(|_| XsError::Inval)?;
        Ok(match ty {
            T::Control => Request::Control(
                split_strings(payload)?
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect(),
            ),
            T::Directory => Request::Directory(one(payload)?),
            T::DirectoryPart => {
                let [p, off] = exactly::<2>(payload)?;
                Request::DirectoryPart(p, number(&off)?)
            }
            T::Read => Request::Read(one(payload)?),
            T::GetPerms => Request::GetPerms(one(payload)?),
            T::Watch | T::Unwatch => {
                let parts = split_strings(payload)?;
                // Old clients may append an empty string; accept 2 or 3.
                if !(2..=3).contains(&parts.len()) {
                    return Err(XsError::Inval);
                }
                let (p, t) = (parts[0].to_vec(), parts[1].to_vec());
                if ty == T::Watch {
                    Request::Watch(p, t)
                } else {
                    Request::Unwatch(p, t)
                }
            }
            T::TransactionStart => Request::TransactionStart,
            T::TransactionEnd => match one(payload)?.as_slice() {
                b"T" => Request::TransactionEnd(true),
                b"F" => Request::TransactionEnd(false),
                _ => return Err(XsError::Inval),
            },
            T::Introduce => {
                let parts = split_strings(payload)?;
                if parts.len() < 3 {
                    return Err(XsError::Inval);
                }
                Request::Introduce(domid(parts[0])?, number(parts[1])?, number(parts[2])?)
            }
            T::Release => Request::Release(domid(&one(payload)?)?),
            T::GetDomainPath => Request::GetDomainPath(domid(&one(payload)?)?),
            T::Write => {
                let nul = payload.iter().position(|&b| b == 0).ok_or(XsError::Inval)?;
                Request::Write(payload[..nul].to_vec(), payload[nul + 1..].to_vec())
            }
            T::Mkdir => Request::Mkdir(one(payload)?),
            T::Rm => Request::Rm(one(payload)?),
            T::SetPerms => {
                let parts = split_strings(payload)?;
                if parts.len() < 2 {
                    return Err(XsError::Inval);
                }
                Request::SetPerms(
                    parts[0].to_vec(),
                    parts[1..].iter().map(|p| p.to_vec()).collect(),
                )
            }
            T::IsDomainIntroduced => Request::IsDomainIntroduced(domid(&one(payload)?)?),
            T::Resume => Request::Resume(domid(&one(payload)?)?),
            T::SetTarget => {
                let [a, b] = exactly::<2>(payload)?;
                Request::SetTarget(domid(&a)?, domid(&b)?)
            }
            T::ResetWatches => Request::ResetWatches,
            T::WatchEvent | T::Error => return Err(XsError::Inval),
        })
    }
}

/// A reply payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Response {
    /// `OK\0`.
    Ok,
    /// Raw bytes (a value), no terminator.
    Raw(Vec<u8>),
    /// One NUL-terminated string.
    Str(String),
    /// A list of NUL-terminated strings (children, permissions).
    List(Vec<String>),
    /// Raw bytes built by the caller (directory parts).
    Bytes(Vec<u8>),
}

impl Response {
    /// The payload bytes.
    pub fn payload(&self) -> Vec<u8> {
        match self {
            Response::Ok => b"OK\0".to_vec(),
            Response::Raw(v) | Response::Bytes(v) => v.clone(),
            Response::Str(s) => {
                let mut v = s.as_bytes().to_vec();
                v.push(0);
                v
            }
            Response::List(items) => {
                let mut v = Vec::new();
                for s in items {
                    v.extend_from_slice(s.as_bytes());
                    v.push(0);
                }
                v
            }
        }
    }
}

/// A whole message: header then payload.
pub fn encode(ty: u32, req_id: u32, tx_id: u32, payload: &[u8]) -> Vec<u8> {
    let hdr = XsdSockmsg {
        r#type: ty,
        req_id,
        tx_id,
        len: payload.len() as u32,
    };
    let mut out = Vec::with_capacity(XsdSockmsg::SIZE + payload.len());
    out.extend_from_slice(&hdr.to_bytes());
    out.extend_from_slice(payload);
    out
}

/// An `XS_ERROR` reply to the request `req`.
pub fn encode_error(req: &XsdSockmsg, err: XsError) -> Vec<u8> {
    let mut payload = err.name().as_bytes().to_vec();
    payload.push(0);
    encode(XS_ERROR, req.req_id, req.tx_id, &payload)
}

/// An `XS_WATCH_EVENT` message.
pub fn encode_watch_event(path: &str, token: &str) -> Vec<u8> {
    let ev = crate::watch::WatchEvent {
        path: path.to_string(),
        token: token.to_string(),
    };
    encode(XS_WATCH_EVENT, 0, 0, &ev.payload())
}

/// What the framer found next in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frame {
    /// A complete message.
    Message(XsdSockmsg, Vec<u8>),
    /// A header announcing more than `XENSTORE_PAYLOAD_MAX` bytes; its
    /// payload is being skipped.
    Oversized(XsdSockmsg),
}

/// Reassembles messages from a byte stream (socket or ring).
#[derive(Debug, Default)]
pub struct MessageReader {
    buf: Vec<u8>,
    skip: u64,
}

impl MessageReader {
    /// An empty reader.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends received bytes.
    pub fn push(&mut self, mut bytes: &[u8]) {
        if self.skip > 0 {
            let n = (self.skip.min(bytes.len() as u64)) as usize;
            self.skip -= n as u64;
            bytes = &bytes[n..];
        }
        self.buf.extend_from_slice(bytes);
    }

    /// Bytes buffered but not yet part of a complete message.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }

    /// The next complete frame, if any.
    pub fn next_frame(&mut self) -> Option<Frame> {
        let hdr = XsdSockmsg::from_bytes(&self.buf)?;
        let len = hdr.len as usize;
        if len > XENSTORE_PAYLOAD_MAX {
            let have = self.buf.len() - XsdSockmsg::SIZE;
            let drop = have.min(len);
            self.skip = (len - drop) as u64;
            self.buf.drain(..XsdSockmsg::SIZE + drop);
            return Some(Frame::Oversized(hdr));
        }
        if self.buf.len() < XsdSockmsg::SIZE + len {
            return None;
        }
        let payload = self.buf[XsdSockmsg::SIZE..XsdSockmsg::SIZE + len].to_vec();
        self.buf.drain(..XsdSockmsg::SIZE + len);
        Some(Frame::Message(hdr, payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dom0_abi::io::xs_wire::*;

    #[test]
    fn parse_requests() {
        assert_eq!(
            Request::parse(XS_READ, b"/a\0"),
            Ok(Request::Read(b"/a".to_vec()))
        );
        assert_eq!(Request::parse(XS_READ, b"/a"), Err(XsError::Inval));
        assert_eq!(Request::parse(XS_READ, b"/a\0b\0"), Err(XsError::Inval));
        assert_eq!(
            Request::parse(XS_WRITE, b"/a\0v\0w"),
            Ok(Request::Write(b"/a".to_vec(), b"v\0w".to_vec()))
        );
        assert_eq!(Request::parse(XS_WRITE, b"/a"), Err(XsError::Inval));
        assert_eq!(
            Request::parse(XS_WATCH, b"/a\0tok\0"),
            Ok(Request::Watch(b"/a".to_vec(), b"tok".to_vec()))
        );
        assert_eq!(
            Request::parse(XS_TRANSACTION_END, b"T\0"),
            Ok(Request::TransactionEnd(true))
        );
        assert_eq!(
            Request::parse(XS_TRANSACTION_END, b"X\0"),
            Err(XsError::Inval)
        );
        assert_eq!(
            Request::parse(XS_INTRODUCE, b"3\x00123\x004\0"),
            Ok(Request::Introduce(3, 123, 4))
        );
        assert_eq!(
            Request::parse(XS_INTRODUCE, b"3\0x\x004\0"),
            Err(XsError::Inval)
        );
        assert_eq!(
            Request::parse(XS_GET_DOMAIN_PATH, b"70000\0"),
            Err(XsError::Inval)
        );
        assert_eq!(
            Request::parse(XS_DIRECTORY_PART, b"/\x000\0"),
            Ok(Request::DirectoryPart(b"/".to_vec(), 0))
        );
        assert_eq!(Request::parse(XS_SET_PERMS, b"/a\0"), Err(XsError::Inval));
        assert_eq!(Request::parse(XS_ERROR, b""), Err(XsError::Inval));
        assert_eq!(Request::parse(20, b""), Err(XsError::Inval));
        assert_eq!(Request::parse(9999, b""), Err(XsError::Inval));
    }

    #[test]
    fn responses() {
        assert_eq!(Response::Ok.payload(), b"OK\0");
        assert_eq!(
            Response::List(vec!["a".into(), "b".into()]).payload(),
            b"a\0b\0"
        );
        assert_eq!(Response::List(vec![]).payload(), b"");
        let hdr = XsdSockmsg {
            r#type: XS_READ,
            req_id: 9,
            tx_id: 2,
            len: 0,
        };
        let e = encode_error(&hdr, XsError::NoEnt);
        assert_eq!(
            XsdSockmsg::from_bytes(&e).unwrap(),
            XsdSockmsg {
                r#type: XS_ERROR,
                req_id: 9,
                tx_id: 2,
                len: 7
            }
        );
        assert_eq!(&e[16..], b"ENOENT\0");
    }

    #[test]
    fn framing() {
        let mut r = MessageReader::new();
        let m = encode(XS_READ, 1, 0, b"/a\0");
        r.push(&m[..10]);
        assert_eq!(r.next_frame(), None);
        r.push(&m[10..]);
        assert!(
            matches!(r.next_frame(), Some(Frame::Message(h, p)) if h.req_id == 1 && p == b"/a\0")
        );
        // Oversized: header announces 5000 bytes, which are skipped.
        let big = XsdSockmsg {
            r#type: XS_WRITE,
            req_id: 2,
            tx_id: 0,
            len: 5000,
        };
        r.push(&big.to_bytes());
        r.push(&[7u8; 100]);
        assert!(matches!(r.next_frame(), Some(Frame::Oversized(h)) if h.req_id == 2));
        r.push(&[7u8; 4900]);
        r.push(&m);
        assert!(matches!(r.next_frame(), Some(Frame::Message(h, _)) if h.req_id == 1));
        assert_eq!(r.pending(), 0);
    }
}
