//! `xen_version`: the version, build information, capabilities, platform
//! parameters and feature bits a guest may ask about.

use dom0_abi::xen_version::*;
use dom0_abi::Errno;

use super::{err, HcResult};
use crate::arch::x86_64::uaccess::{copy_from_guest, copy_to_guest, write_guest};
use crate::domain::Vcpu;

/// The Xen version we implement the ABI of.
pub const XEN_MAJOR: u32 = 4;
/// See [`XEN_MAJOR`].
pub const XEN_MINOR: u32 = 17;
/// `XENVER_extraversion`: names this hypervisor.
pub const EXTRAVERSION: &str = "-rustpv";
/// `XENVER_capabilities`: 64-bit PV guests only.
pub const CAPABILITIES: &str = "xen-3.0-x86_64";

/// What Xen's default XSM policy shows a denied guest (NUL included).
const DENIED: &[u8] = b"<denied>\0";

/// XENFEAT bits of submap 0 for `v`'s domain, as Xen 4.17 reports them to
/// a PV guest: vNUMA queries, the PV MMU's preserve-A/D updates, highmem
/// assist (a 32-bit notion, reported as Xen does), grant mappings keeping
/// the PTE's available bits, machine frames (direct-mapped), `dom0` for the
/// hardware domain and `pae_pgdir_above_4gb` while the domain has the
/// `pae_extended_cr3` assist (a PAE_MODE note of "yes" or "bimodal" sets it).
pub fn features(v: &Vcpu) -> u32 {
    use dom0_abi::features::*;
    use dom0_abi::vm_assist::VMASST_TYPE_pae_extended_cr3;
    let mut f = (1 << XENFEAT_memory_op_vnode_supported)
        | (1 << XENFEAT_mmu_pt_update_preserve_ad)
        | (1 << XENFEAT_highmem_assist)
        | (1 << XENFEAT_gnttab_map_avail_bits)
        | (1 << XENFEAT_direct_mapped);
    if v.domain.state.lock().vm_assist & (1 << VMASST_TYPE_pae_extended_cr3) != 0 {
        f |= 1 << XENFEAT_pae_pgdir_above_4gb;
    }
    if v.domain.is_privileged {
        f |= 1 << XENFEAT_dom0;
    }
    f
}

fn put_str<const N: usize>(dst: u64, s: &str) -> HcResult {
    let mut buf = [0u8; N];
    let n = s.len().min(N - 1);
    buf[..n].copy_from_slice(&s.as_bytes()[..n]);
    copy_to_guest(dst, &buf).map_err(|_| Errno::EFAULT)?;
    Ok(0)
}

/// `xen_version(cmd, arg)`.
pub fn xen_version(v: &mut Vcpu, cmd: u32, arg: u64) -> HcResult {
    match cmd {
        XENVER_version => Ok(i64::from(xen_version_word(XEN_MAJOR, XEN_MINOR))),
        XENVER_extraversion => put_str::<XEN_EXTRAVERSION_LEN>(arg, EXTRAVERSION),
        XENVER_compile_info => {
            let mut ci: XenCompileInfo = dom0_abi::Pod::zeroed();
            let fill = |dst: &mut [u8], s: &str| {
                let n = s.len().min(dst.len() - 1);
                dst[..n].copy_from_slice(&s.as_bytes()[..n]);
            };
            fill(&mut ci.compiler, "rustc 1.95.0");
            fill(&mut ci.compile_by, "rustpv");
            fill(&mut ci.compile_domain, "localdomain");
            fill(&mut ci.compile_date, "unknown");
            write_guest(arg, &ci).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        XENVER_capabilities => put_str::<XEN_CAPABILITIES_INFO_LEN>(arg, CAPABILITIES),
        XENVER_changeset => put_str::<XEN_CHANGESET_INFO_LEN>(arg, crate::version::VERSION),
        XENVER_platform_parameters => {
            let p = XenPlatformParameters { virt_start: dom0_abi::arch_x86::HYPERVISOR_VIRT_START };
            write_guest(arg, &p).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        XENVER_get_features => {
            let mut fi: XenFeatureInfo = crate::arch::x86_64::uaccess::read_guest(arg).map_err(|_| Errno::EFAULT)?;
            if fi.submap_idx != 0 {
                return err(Errno::EINVAL);
            }
            fi.submap = features(v);
            write_guest(arg, &fi).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        // Xen answers the size only to a null handle.
        XENVER_pagesize if arg != 0 => err(Errno::EINVAL),
        XENVER_pagesize => Ok(4096),
        XENVER_guest_handle => {
            let handle = *v.domain.handle.lock();
            copy_to_guest(arg, &handle).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        // Xen's default XSM policy denies the command line to unprivileged
        // domains by handing them the "<denied>" string, not an error.
        XENVER_commandline if !v.domain.is_privileged => {
            copy_to_guest(arg, DENIED).map_err(|_| Errno::EFAULT)?;
            Ok(0)
        }
        XENVER_commandline => put_str::<1024>(arg, crate::setup::command_line()),
        XENVER_build_id => {
            if !v.domain.is_privileged {
                return err(Errno::EPERM);
            }
            // Xen checks the guest's xen_build_id (its `len` word) before
            // looking for its own build ID; ours has none.
            if arg != 0 {
                let mut len = [0u8; 4];
                copy_from_guest(&mut len, arg).map_err(|_| Errno::EFAULT)?;
                if len == [0; 4] {
                    return err(Errno::EINVAL);
                }
            }
            err(Errno::ENODATA)
        }
        _ => err(Errno::ENOSYS),
    }
}
