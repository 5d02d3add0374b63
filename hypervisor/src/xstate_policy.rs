//! Which XCR0 values a PV guest may load (`XSETBV`), as Xen checks them
//! (`handle_xsetbv` / `valid_xcr0`): only components the CPU supports and
//! the guest policy allows (x87, SSE, AVX, the AVX-512 trio), x87 always
//! set, AVX only with SSE, the AVX-512 components all together and only
//! with AVX.

/// x87 state.
pub const X87: u64 = 1 << 0;
/// SSE state.
pub const SSE: u64 = 1 << 1;
/// AVX (upper YMM halves).
pub const YMM: u64 = 1 << 2;
/// AVX-512 opmask, upper ZMM halves of 0-15, ZMM 16-31.
pub const AVX512: u64 = (1 << 5) | (1 << 6) | (1 << 7);
/// What PV guests may enable here.
pub const GUEST_ALLOWED: u64 = X87 | SSE | YMM | AVX512;

/// Whether `xcr0` may be loaded on a CPU supporting `host`.
pub fn valid_xcr0(xcr0: u64, host: u64) -> bool {
    if xcr0 & !(host & GUEST_ALLOWED) != 0 || xcr0 & X87 == 0 {
        return false;
    }
    if xcr0 & YMM != 0 && xcr0 & SSE == 0 {
        return false;
    }
    let z = xcr0 & AVX512;
    if z != 0 && (z != AVX512 || xcr0 & YMM == 0) {
        return false;
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xen_rules() {
        let host = X87 | SSE | YMM | AVX512 | (1 << 9);
        assert!(valid_xcr0(X87 | SSE, host));
        assert!(valid_xcr0(X87 | SSE | YMM, host));
        assert!(valid_xcr0(X87 | SSE | YMM | AVX512, host));
        assert!(!valid_xcr0(SSE, host), "x87 is mandatory");
        assert!(!valid_xcr0(X87 | YMM, host), "AVX needs SSE");
        assert!(!valid_xcr0(X87 | SSE | YMM | (1 << 5), host), "AVX-512 all together");
        assert!(!valid_xcr0(X87 | SSE | (1 << 9), host), "PKRU not offered");
        assert!(!valid_xcr0(X87 | SSE | YMM, X87 | SSE), "not supported by the CPU");
    }
}
