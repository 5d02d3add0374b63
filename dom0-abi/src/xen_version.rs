//! `HYPERVISOR_xen_version` (`version.h`): the `XENVER_*` sub-commands and
//! the buffers each one fills.

/// Returns `(major << 16) | minor` directly (no argument).
pub const XENVER_version: u32 = 0;
/// Fills a `xen_extraversion_t`, e.g. `".7"`.
pub const XENVER_extraversion: u32 = 1;
/// Fills a `xen_compile_info`.
pub const XENVER_compile_info: u32 = 2;
/// Fills a `xen_capabilities_info_t`, e.g. `"xen-3.0-x86_64 ..."`.
pub const XENVER_capabilities: u32 = 3;
/// Fills a `xen_changeset_info_t` (source revision).
pub const XENVER_changeset: u32 = 4;
/// Fills a `xen_platform_parameters` (start of the hypervisor hole).
pub const XENVER_platform_parameters: u32 = 5;
/// Fills a `xen_feature_info` for one submap of `XENFEAT_*` bits.
pub const XENVER_get_features: u32 = 6;
/// Returns the page size directly.
pub const XENVER_pagesize: u32 = 7;
/// Fills the caller's `xen_domain_handle_t`.
pub const XENVER_guest_handle: u32 = 8;
/// Fills a `xen_commandline_t` (Xen's boot command line).
pub const XENVER_commandline: u32 = 9;
/// Fills a `xen_build_id` (length, then bytes).
pub const XENVER_build_id: u32 = 10;

xen_enum! {
    /// A `xen_version` sub-command (C: `XENVER_*`).
    pub enum XenVerCmd: u32 {
        /// `XENVER_version`.
        Version = XENVER_version,
        /// `XENVER_extraversion`.
        Extraversion = XENVER_extraversion,
        /// `XENVER_compile_info`.
        CompileInfo = XENVER_compile_info,
        /// `XENVER_capabilities`.
        Capabilities = XENVER_capabilities,
        /// `XENVER_changeset`.
        Changeset = XENVER_changeset,
        /// `XENVER_platform_parameters`.
        PlatformParameters = XENVER_platform_parameters,
        /// `XENVER_get_features`.
        GetFeatures = XENVER_get_features,
        /// `XENVER_pagesize`.
        Pagesize = XENVER_pagesize,
        /// `XENVER_guest_handle`.
        GuestHandle = XENVER_guest_handle,
        /// `XENVER_commandline`.
        Commandline = XENVER_commandline,
        /// `XENVER_build_id`.
        BuildId = XENVER_build_id,
    }
}

/// The value `XENVER_version` returns for a given release.
pub const fn xen_version_word(major: u32, minor: u32) -> u32 {
    (major << 16) | (minor & 0xffff)
}

/// `xen_extraversion_t`: NUL-terminated version suffix.
pub type XenExtraversion = [u8; 16];
/// Size of `xen_extraversion_t`.
pub const XEN_EXTRAVERSION_LEN: usize = 16;
/// `xen_capabilities_info_t`: space-separated ABI names.
pub type XenCapabilitiesInfo = [u8; 1024];
/// Size of `xen_capabilities_info_t`.
pub const XEN_CAPABILITIES_INFO_LEN: usize = 1024;
/// `xen_changeset_info_t`: source revision string.
pub type XenChangesetInfo = [u8; 64];
/// Size of `xen_changeset_info_t`.
pub const XEN_CHANGESET_INFO_LEN: usize = 64;
/// `xen_commandline_t`: Xen's command line.
pub type XenCommandline = [u8; 1024];

/// `struct xen_compile_info`: who built Xen, with what, and when.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct XenCompileInfo {
    /// Compiler version string.
    pub compiler: [u8; 64],
    /// User who built it.
    pub compile_by: [u8; 16],
    /// Domain of the build host.
    pub compile_domain: [u8; 32],
    /// Build date.
    pub compile_date: [u8; 32],
}
pod_zeroed_default!(XenCompileInfo);

/// `struct xen_platform_parameters`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenPlatformParameters {
    /// Lowest virtual address Xen reserves (`HYPERVISOR_VIRT_START` on x86-64).
    pub virt_start: u64,
}
impl_pod!(XenPlatformParameters);

/// `struct xen_feature_info`.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenFeatureInfo {
    /// Which 32-bit submap is asked for (only 0 is defined).
    pub submap_idx: u32,
    /// Output: the `XENFEAT_*` bits of that submap.
    pub submap: u32,
}
impl_pod!(XenFeatureInfo);

/// `struct xen_build_id` header; `len` bytes of id follow it in memory.
#[repr(C)]
#[derive(Clone, Copy, Default, Debug, PartialEq, Eq)]
pub struct XenBuildId {
    /// In: buffer size after this header; out: id length.
    pub len: u32,
}
impl_pod!(XenBuildId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(XenVerCmd::try_from(10u32), Ok(XenVerCmd::BuildId));
        assert!(XenVerCmd::try_from(11u32).is_err());
        assert_eq!(xen_version_word(4, 17), 0x0004_0011);
    }
}
