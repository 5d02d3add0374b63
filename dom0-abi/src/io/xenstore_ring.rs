//! The xenstore ring page (`io/xs_wire.h`, second half): request and
//! response byte rings between a domain and xenstored, plus the
//! reconnection and error fields.

/// `XENSTORE_RING_IDX`: a free-running ring index.
pub type XenstoreRingIdx = u32;

/// Size of each xenstore ring.
pub const XENSTORE_RING_SIZE: usize = 1024;
/// Largest payload of one message.
pub const XENSTORE_PAYLOAD_MAX: usize = 4096;
/// Longest absolute path.
pub const XENSTORE_ABS_PATH_MAX: usize = 3072;
/// Longest relative path.
pub const XENSTORE_REL_PATH_MAX: usize = 2048;

/// Server feature: the ring can be reconnected.
pub const XENSTORE_SERVER_FEATURE_RECONNECTION: u32 = 1;
/// Server feature: the `error` field is present.
pub const XENSTORE_SERVER_FEATURE_ERROR: u32 = 2;
/// `connection`: steady state.
pub const XENSTORE_CONNECTED: u32 = 0;
/// `connection`: a reconnect is in progress.
pub const XENSTORE_RECONNECT: u32 = 1;
/// `error`: none.
pub const XENSTORE_ERROR_NONE: u32 = 0;
/// `error`: communication problem.
pub const XENSTORE_ERROR_COMM: u32 = 1;
/// `error`: invalid ring index.
pub const XENSTORE_ERROR_RINGIDX: u32 = 2;
/// `error`: protocol violation (payload too long).
pub const XENSTORE_ERROR_PROTO: u32 = 3;

/// `struct xenstore_domain_interface`: the xenstore page shared between a
/// domain and xenstored.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenstoreDomainInterface {
    /// Requests to xenstored.
    pub req: [u8; XENSTORE_RING_SIZE],
    /// Replies and watch events from xenstored.
    pub rsp: [u8; XENSTORE_RING_SIZE],
    /// xenstored's read position in `req`.
    pub req_cons: XenstoreRingIdx,
    /// Domain's write position in `req`.
    pub req_prod: XenstoreRingIdx,
    /// Domain's read position in `rsp`.
    pub rsp_cons: XenstoreRingIdx,
    /// xenstored's write position in `rsp`.
    pub rsp_prod: XenstoreRingIdx,
    /// `XENSTORE_SERVER_FEATURE_*` bits.
    pub server_features: u32,
    /// `XENSTORE_CONNECTED` or `XENSTORE_RECONNECT`.
    pub connection: u32,
    /// `XENSTORE_ERROR_*`.
    pub error: u32,
}
pod_zeroed_default!(XenstoreDomainInterface);

/// `MASK_XENSTORE_IDX(idx)`: the byte offset of `idx` in a ring.
pub const fn mask_xenstore_idx(idx: XenstoreRingIdx) -> usize {
    idx as usize & (XENSTORE_RING_SIZE - 1)
}

/// Bytes waiting between a consumer and a producer index, or `None` if the
/// indexes are inconsistent (more than a ring apart).
pub const fn ring_used(cons: XenstoreRingIdx, prod: XenstoreRingIdx) -> Option<usize> {
    let used = prod.wrapping_sub(cons) as usize;
    if used > XENSTORE_RING_SIZE {
        None
    } else {
        Some(used)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ring_accounting() {
        assert_eq!(mask_xenstore_idx(1025), 1);
        assert_eq!(ring_used(u32::MAX, 3), Some(4));
        assert_eq!(ring_used(0, 1025), None);
    }
}
