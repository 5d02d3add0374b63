//! The CPUID a PV guest sees, as Xen 4.17's PV policy builds it: the
//! hardware's leaves filtered by the features Xen marks available to all
//! guests ('A' in Xen's `cpufeatureset.h`), with Xen's PV adjustments:
//! APIC IDs cleared from leaf 1, the hypervisor bit set, MTRR and EIST
//! leaked to the hardware domain's kernel, no thermal/power, PMU or MWAIT
//! leaves, and Xen's signature leaves at 0x40000000.
//!
//! XSAVE and what needs it (AVX, AVX-512) are offered when the hypervisor
//! turned XSAVE on, with the XSAVE leaf limited to the components guests
//! may enable ([`crate::xstate_policy`]); OSXSAVE follows the guest's CR4,
//! and, as Xen leaks it, the hypervisor's to a guest kernel. FSGSBASE is
//! offered (a guest kernel turns it on in its CR4).

/// CPUID register values (eax, ebx, ecx, edx).
pub type Regs = (u32, u32, u32, u32);

/// Leaf 1 EDX ('A' bits).
const L1_EDX: u32 = 0x1fc9_cbf5;
/// Leaf 1 ECX ('A' bits).
const L1_ECX: u32 = 0xf6d8_3203;
/// Leaf 0x80000001 EDX.
const E1_EDX: u32 = 0xea50_0800;
/// Leaf 0x80000001 ECX.
const E1_ECX: u32 = 0x0421_09e3;
/// Leaf 0xd.1 EAX.
const XSTATE1_EAX: u32 = 0x7;
/// Leaf 7.0 EBX.
const L7_EBX: u32 = 0xfdaf_0b29;
/// Leaf 7.0 ECX.
const L7_ECX: u32 = 0x0240_5f43;
/// Leaf 0x80000008 EBX.
const E8_EBX: u32 = 0x6400_1005;
/// Leaf 7.0 EDX.
const L7_EDX: u32 = 0xac00_441c;
/// Leaf 7.1 EAX.
const L7_1_EAX: u32 = 0x1c30;
/// Leaf 0x80000021 EAX.
const E21_EAX: u32 = 0x7800_0064;

/// Features that need XSAVE-managed state, hidden without it: leaf 1 ECX
/// FMA, XSAVE, OSXSAVE, AVX, F16C.
const L1_ECX_XSAVE: u32 = (1 << 12) | (1 << 26) | (1 << 27) | (1 << 28) | (1 << 29);
/// Leaf 7.0 EBX: AVX2 and the AVX-512 family.
const L7_EBX_XSAVE: u32 = (1 << 5) | (1 << 16) | (1 << 17) | (1 << 21) | (1 << 26) | (1 << 27) | (1 << 28) | (1 << 30) | (1 << 31);
/// Leaf 7.0 ECX: AVX-512 VBMI/VBMI2/VNNI/BITALG/VPOPCNTDQ, VAES, VPCLMULQDQ.
const L7_ECX_XSAVE: u32 = (1 << 1) | (1 << 6) | (1 << 9) | (1 << 10) | (1 << 11) | (1 << 12) | (1 << 14);
/// Leaf 7.0 EDX: AVX-512 4VNNIW/4FMAPS/VP2INTERSECT/FP16 and AMX.
const L7_EDX_XSAVE: u32 = (1 << 2) | (1 << 3) | (1 << 8) | (1 << 22) | (1 << 23) | (1 << 24) | (1 << 25);
/// Leaf 7.1 EAX: AVX-VNNI, AVX512-BF16.
const L7_1_EAX_XSAVE: u32 = (1 << 4) | (1 << 5);
/// Leaf 0x80000001 ECX: XOP, FMA4.
const E1_ECX_XSAVE: u32 = (1 << 11) | (1 << 16);

/// Leaf 1 EDX MTRR.
const MTRR: u32 = 1 << 12;
/// Leaf 1 ECX OSXSAVE.
const OSXSAVE: u32 = 1 << 27;
/// Leaf 1 ECX EIST.
const EIST: u32 = 1 << 7;
/// Leaf 1 ECX hypervisor present.
const HYPERVISOR: u32 = 1 << 31;

/// Who is asking.
#[derive(Clone, Copy, Debug, Default)]
pub struct Context {
    /// The hardware domain's kernel (Xen leaks MTRR and EIST to it).
    pub hwdom_kernel: bool,
    /// The hypervisor turned XSAVE on (CR4.OSXSAVE).
    pub xsave: bool,
    /// Report OSXSAVE: the guest's CR4 has it, or (Xen's leak) a guest
    /// kernel asks while the hypervisor has it on.
    pub osxsave: bool,
    /// The XCR0 components the CPU supports.
    pub host_xcr0: u64,
}

/// Xen's hypervisor leaves: signature, version, hypercall pages and MSR.
fn xen_leaf(leaf: u32, major: u32, minor: u32) -> Regs {
    match leaf {
        0x4000_0000 => (0x4000_0005, 0x566e_6558, 0x6558_4d4d, 0x4d4d_566e), // "XenVMMXenVMM"
        0x4000_0001 => ((major << 16) | minor, 0, 0, 0),
        0x4000_0002 => (1, 0x4000_0000, 0, 0),
        _ => (0, 0, 0, 0),
    }
}

/// CPUID(`leaf`, `subleaf`) for a PV guest, from the hardware's `raw`.
pub fn pv_cpuid(leaf: u32, subleaf: u32, ctx: Context, raw: impl Fn(u32, u32) -> Regs) -> Regs {
    let max_basic = raw(0, 0).0;
    let max_ext = raw(0x8000_0000, 0).0;
    match leaf {
        0x4000_0000..=0x4000_00ff => xen_leaf(leaf, 4, 17),
        0x4000_0100..=0x4fff_ffff => (0, 0, 0, 0),
        l if l < 0x4000_0000 && l > max_basic => (0, 0, 0, 0),
        l if l >= 0x8000_0000 && l > max_ext => (0, 0, 0, 0),
        0x1 => {
            let (a, b, c, d) = raw(1, 0);
            let mut c = c & L1_ECX;
            let mut d = d & L1_EDX;
            if !ctx.xsave {
                c &= !L1_ECX_XSAVE;
            }
            if ctx.hwdom_kernel {
                d |= raw(1, 0).3 & MTRR;
                c |= raw(1, 0).2 & EIST;
            }
            if ctx.xsave && ctx.osxsave {
                c |= OSXSAVE;
            }
            (a, b & 0x00ff_ffff, c | HYPERVISOR, d)
        }
        // MWAIT, thermal/power and PMU leaves are not for PV guests.
        0x5 | 0x6 | 0xa => (0, 0, 0, 0),
        0x7 => {
            let (a, b, c, d) = raw(7, subleaf);
            let x = !ctx.xsave;
            match subleaf {
                0 => (
                    a,
                    b & L7_EBX & if x { !L7_EBX_XSAVE } else { !0 },
                    c & L7_ECX & if x { !L7_ECX_XSAVE } else { !0 },
                    d & L7_EDX & if x { !L7_EDX_XSAVE } else { !0 },
                ),
                1 => (a & L7_1_EAX & if x { !L7_1_EAX_XSAVE } else { !0 }, 0, 0, 0),
                _ => (0, 0, 0, 0),
            }
        }
        0xd if !ctx.xsave => (0, 0, 0, 0),
        0xd => xstate_leaf(subleaf, ctx.host_xcr0 & crate::xstate_policy::GUEST_ALLOWED, &raw),
        0x8000_0001 => {
            let (a, b, c, d) = raw(leaf, 0);
            let c = c & E1_ECX & if ctx.xsave { !0 } else { !E1_ECX_XSAVE };
            (a, b, c, d & E1_EDX)
        }
        0x8000_0007 => {
            // Only the invariant TSC is of use to a guest.
            let (_, _, _, d) = raw(leaf, 0);
            (0, 0, 0, d & (1 << 8))
        }
        0x8000_0008 => {
            let (a, b, c, d) = raw(leaf, 0);
            (a, b & E8_EBX, c, d)
        }
        0x8000_0021 => {
            let (a, b, c, d) = raw(leaf, 0);
            (a & E21_EAX, b, c, d)
        }
        _ => raw(leaf, subleaf),
    }
}

/// Leaf 0xd limited to the components a guest may enable (`allowed`):
/// their bits and the largest area they need in subleaf 0, XSAVEOPT,
/// XSAVEC and XGETBV1 (no supervisor states) in subleaf 1, and only the
/// allowed components' own subleaves.
fn xstate_leaf(subleaf: u32, allowed: u64, raw: &impl Fn(u32, u32) -> Regs) -> Regs {
    match subleaf {
        0 => {
            let (_, b, _, _) = raw(0xd, 0);
            let max = (2..64)
                .filter(|i| allowed & (1 << i) != 0)
                .map(|i| {
                    let (size, offset, _, _) = raw(0xd, i);
                    offset.saturating_add(size)
                })
                .fold(512 + 64, u32::max);
            (allowed as u32, b, max, (allowed >> 32) as u32)
        }
        1 => {
            let (a, b, _, _) = raw(0xd, 1);
            (a & XSTATE1_EAX, b, 0, 0)
        }
        i if i < 64 && allowed & (1 << i) != 0 => raw(0xd, i),
        _ => (0, 0, 0, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_ones(leaf: u32, _sub: u32) -> Regs {
        match leaf {
            0 => (0xd, 0, 0, 0),
            0x8000_0000 => (0x8000_0008, 0, 0, 0),
            _ => (!0, !0, !0, !0),
        }
    }

    #[test]
    fn paging_features_hidden() {
        let (_, b, c, d) = pv_cpuid(1, 0, Context::default(), all_ones);
        // PSE, PGE, PSE36, MTRR, VME hidden; FPU, TSC, MSR, PAE, CX8 kept.
        for bit in [1, 3, 12, 13, 17] {
            assert_eq!(d & (1 << bit), 0, "edx bit {bit}");
        }
        for bit in [0, 4, 5, 6, 8] {
            assert_ne!(d & (1 << bit), 0, "edx bit {bit}");
        }
        assert_eq!(b >> 24, 0, "no APIC ID");
        assert_ne!(c & HYPERVISOR, 0);
        assert_eq!(c & (1 << 26), 0, "XSAVE hidden without XSAVE switching");
        let (_, _, _, d) = pv_cpuid(0x8000_0001, 0, Context::default(), all_ones);
        assert_eq!(d & (1 << 26), 0, "no 1 GiB pages");
        assert_ne!(d & (1 << 29), 0, "long mode");
    }

    #[test]
    fn hardware_domain_leaks() {
        let ctx = Context { hwdom_kernel: true, ..Context::default() };
        let (_, _, c, d) = pv_cpuid(1, 0, ctx, all_ones);
        assert_ne!(d & MTRR, 0);
        assert_ne!(c & EIST, 0);
    }

    #[test]
    fn ranges_and_xen_leaves() {
        assert_eq!(pv_cpuid(0xe, 0, Context::default(), all_ones), (0, 0, 0, 0));
        assert_eq!(pv_cpuid(0x8000_0009, 0, Context::default(), all_ones), (0, 0, 0, 0));
        assert_eq!(pv_cpuid(0x4000_0001, 0, Context::default(), all_ones).0, (4 << 16) | 17);
        assert_eq!(pv_cpuid(0xd, 0, Context::default(), all_ones), (0, 0, 0, 0));
    }

    #[test]
    fn xsave_offered_with_the_allowed_components() {
        let ctx = Context { xsave: true, osxsave: true, host_xcr0: 0x2e7, ..Context::default() };
        let (_, _, c, _) = pv_cpuid(1, 0, ctx, all_ones);
        assert_ne!(c & (1 << 26), 0, "XSAVE");
        assert_ne!(c & OSXSAVE, 0);
        assert_ne!(c & (1 << 28), 0, "AVX");
        let (a, _, _, d) = pv_cpuid(0xd, 0, ctx, all_ones);
        assert_eq!((a, d), (0xe7, 0), "PKRU (bit 9) is not offered");
        assert_eq!(pv_cpuid(0xd, 9, ctx, all_ones), (0, 0, 0, 0));
        let no_os = Context { osxsave: false, ..ctx };
        assert_eq!(pv_cpuid(1, 0, no_os, all_ones).2 & OSXSAVE, 0);
    }
}
