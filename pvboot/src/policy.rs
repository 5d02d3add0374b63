//! Which kernels each of Xen's PV builders refuses for their features.
//!
//! libelf only parses the FEATURES and SUPPORTED_FEATURES notes (refusing a
//! required name it does not know, see [`crate::notes`]); the builders then
//! decide:
//!
//! * Xen 4.17's dom0 builder (`dom0_construct_pv`) refuses a kernel whose
//!   SUPPORTED_FEATURES note (when it has one) lacks `dom0`, and one that
//!   requires `supervisor_mode_kernel`. Every other required feature is
//!   accepted: `writable_page_tables`, which Linux requires, is what a PV
//!   guest gets anyway.
//! * libxenguest (`xc_dom_parse_elf_kernel`, `xc_dom_parse_image`) refuses,
//!   for a domU, a kernel that requires `dom0`; its own check that the
//!   required features are among the kernel's supported ones always holds,
//!   since libelf marks every required feature supported too.

use core::fmt;

use crate::notes::XenNotes;

/// `XENFEAT_supervisor_mode_kernel`.
pub const XENFEAT_SUPERVISOR_MODE_KERNEL: u32 = 3;
/// `XENFEAT_dom0`.
pub const XENFEAT_DOM0: u32 = 11;

/// Why a builder refuses a kernel for its features.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureRefusal {
    /// dom0: the kernel requires running in ring 0.
    SupervisorModeKernel,
    /// dom0: the kernel's SUPPORTED_FEATURES lack `dom0`.
    NotDom0Capable,
    /// domU: the kernel requires `dom0`.
    Dom0Only,
}

impl fmt::Display for FeatureRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::SupervisorModeKernel => {
                "kernel requires feature 'supervisor_mode_kernel' (supervisor-mode execution), which no PV dom0 gets"
            }
            Self::NotDom0Capable => "kernel does not support dom0 operation (SUPPORTED_FEATURES note lacks 'dom0')",
            Self::Dom0Only => "kernel does not support unprivileged (domU) operation (it requires feature 'dom0')",
        })
    }
}

impl core::error::Error for FeatureRefusal {}

fn has(bits: u32, bit: u32) -> bool {
    bits & (1 << bit) != 0
}

/// Xen 4.17's dom0 builder's feature checks.
pub fn check_dom0(n: &XenNotes<'_>) -> Result<(), FeatureRefusal> {
    if n.has_supported_features_note && !has(n.supported_features, XENFEAT_DOM0) {
        return Err(FeatureRefusal::NotDom0Capable);
    }
    if has(n.required_features, XENFEAT_SUPERVISOR_MODE_KERNEL) {
        return Err(FeatureRefusal::SupervisorModeKernel);
    }
    Ok(())
}

/// libxenguest's feature checks for a domU.
pub fn check_domu(n: &XenNotes<'_>) -> Result<(), FeatureRefusal> {
    if has(n.required_features, XENFEAT_DOM0) {
        return Err(FeatureRefusal::Dom0Only);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elf::ElfImage;
    use crate::testimg::{Img, Note};

    fn check(features: Option<&str>, supported: Option<u32>) -> (Result<(), FeatureRefusal>, Result<(), FeatureRefusal>) {
        let mut img = Img::standard();
        if let Some(f) = features {
            img = img.with(Note::raw(10, f.as_bytes()));
        }
        if let Some(s) = supported {
            img = img.with(Note::raw(17, &s.to_le_bytes()));
        }
        let bytes = img.build();
        let elf = ElfImage::parse(&bytes).unwrap();
        let n = XenNotes::parse(&elf).unwrap();
        (check_dom0(&n), check_domu(&n))
    }

    #[test]
    fn linux_6_1_is_accepted_as_dom0_and_domu() {
        // Debian's 6.1 kernel: FEATURES "!writable_page_tables|pae_pgdir_above_4gb",
        // SUPPORTED_FEATURES 0x8801 (writable_page_tables, dom0, linux_rsdp_unrestricted).
        let r = check(Some("!writable_page_tables|pae_pgdir_above_4gb"), Some(0x8801));
        assert_eq!(r, (Ok(()), Ok(())));
    }

    #[test]
    fn dom0_refusals() {
        let (dom0, domu) = check(Some("!supervisor_mode_kernel"), None);
        assert_eq!(dom0, Err(FeatureRefusal::SupervisorModeKernel));
        assert_eq!(domu, Ok(()), "libxenguest does not refuse it");
        let (dom0, _) = check(None, Some(1));
        assert_eq!(dom0, Err(FeatureRefusal::NotDom0Capable));
        assert_eq!(check(Some("dom0"), Some(1)).0, Ok(()), "FEATURES' dom0 counts as supported");
        assert_eq!(check(None, None).0, Ok(()), "without SUPPORTED_FEATURES, dom0 is not asked for");
        // Every other required feature is accepted.
        let all = "!writable_page_tables|!writable_descriptor_tables|!auto_translated_physmap|!pae_pgdir_above_4gb|!hvm_callback_vector";
        assert_eq!(check(Some(all), None).0, Ok(()));
    }

    #[test]
    fn domu_refuses_a_dom0_only_kernel() {
        let (dom0, domu) = check(Some("!dom0"), None);
        assert_eq!(dom0, Ok(()));
        assert_eq!(domu, Err(FeatureRefusal::Dom0Only));
    }
}
