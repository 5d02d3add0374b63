//! The PV console ring page (`io/console.h`): one input and one output byte
//! ring with free-running producer and consumer indexes.

/// `XENCONS_RING_IDX`: a free-running ring index (wraps at 2^32).
pub type XenconsRingIdx = u32;

/// Size of the input (towards the guest) ring.
pub const XENCONS_IN_SIZE: usize = 1024;
/// Size of the output (from the guest) ring.
pub const XENCONS_OUT_SIZE: usize = 2048;

/// `struct xencons_interface`: the console page shared between a guest and
/// its console backend.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenconsInterface {
    /// Bytes for the guest to read.
    pub r#in: [u8; XENCONS_IN_SIZE],
    /// Bytes the guest wrote.
    pub out: [u8; XENCONS_OUT_SIZE],
    /// Guest's read position in `in`.
    pub in_cons: XenconsRingIdx,
    /// Backend's write position in `in`.
    pub in_prod: XenconsRingIdx,
    /// Backend's read position in `out`.
    pub out_cons: XenconsRingIdx,
    /// Guest's write position in `out`.
    pub out_prod: XenconsRingIdx,
}
pod_zeroed_default!(XenconsInterface);

/// `MASK_XENCONS_IDX(idx, in)`: the byte offset of `idx` in the input ring.
pub const fn mask_in_idx(idx: XenconsRingIdx) -> usize {
    idx as usize & (XENCONS_IN_SIZE - 1)
}

/// `MASK_XENCONS_IDX(idx, out)`: the byte offset of `idx` in the output ring.
pub const fn mask_out_idx(idx: XenconsRingIdx) -> usize {
    idx as usize & (XENCONS_OUT_SIZE - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_wrap() {
        assert_eq!(mask_in_idx(1024 + 5), 5);
        assert_eq!(mask_out_idx(u32::MAX), 2047);
    }
}
