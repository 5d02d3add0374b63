//! The `start_info` page of a PV domU (libxenguest's `start_info_x86_64`)
//! and its kernel command line.

use dom0_abi::xen::{StartInfo, StartInfoConsoleDomU, SIF_MOD_START_PFN};
use dom0_abi::Pod;

use super::layout::{DomULayout, PAGE};

/// Everything `start_info` records that is not in the layout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StartInfoParams<'a> {
    /// Machine address of the shared-info page.
    pub shared_info_maddr: u64,
    /// MFN of the xenstore ring page.
    pub store_mfn: u64,
    /// Guest port of the xenstore event channel.
    pub store_evtchn: u32,
    /// MFN of the console ring page.
    pub console_mfn: u64,
    /// Guest port of the console event channel.
    pub console_evtchn: u32,
    /// Frames of the p2m segment with INIT_P2M (list and its tables).
    pub nr_p2m_frames: u64,
    /// Bytes of initrd (0 for none).
    pub initrd_len: u64,
    /// Kernel command line.
    pub cmdline: &'a str,
}

/// The kernel command line from the configuration's `root` and `extra`,
/// as xm spells it: `root=<root> <extra>` (a `root` already starting with
/// `root=` is taken as it is).
pub fn cmdline(root: Option<&str>, extra: Option<&str>) -> String {
    let root = root.map(str::trim).filter(|r| !r.is_empty()).map(|r| {
        if r.starts_with("root=") {
            r.to_string()
        } else {
            format!("root={r}")
        }
    });
    let extra = extra.map(str::trim).filter(|e| !e.is_empty()).map(str::to_string);
    root.into_iter().chain(extra).collect::<Vec<_>>().join(" ")
}

/// `start_info` for a domU: magic `xen-3.0-x86_64`, no privilege flags,
/// the machine address of the shared-info page, the xenstore and console
/// rings by MFN with their event channels, the page tables and the p2m
/// list by virtual address, the initrd (by virtual address, or by PFN with
/// `SIF_MOD_START_PFN`) and the command line (truncated to fit).
pub fn start_info(l: &DomULayout, p: &StartInfoParams<'_>) -> StartInfo {
    let mut si = StartInfo::zeroed();
    si.set_magic();
    si.nr_pages = l.nr_pages;
    si.shared_info = p.shared_info_maddr;
    si.flags = if l.initrd_pfn.is_some() { SIF_MOD_START_PFN } else { 0 };
    si.store_mfn = p.store_mfn;
    si.store_evtchn = p.store_evtchn;
    si.console.domU = StartInfoConsoleDomU { mfn: p.console_mfn, evtchn: p.console_evtchn };
    si.pt_base = l.vpt_start;
    si.nr_pt_frames = l.nr_pt_pages;
    match l.init_p2m {
        Some(base) => {
            si.mfn_list = base;
            si.nr_p2m_frames = p.nr_p2m_frames;
        }
        None => {
            si.mfn_list = l.vphysmap_start;
            si.nr_p2m_frames = l.p2m_pages;
        }
    }
    si.first_p2m_pfn = l.p2m_pfn;
    if p.initrd_len > 0 {
        si.mod_start = l.initrd_pfn.unwrap_or(l.vinitrd_start);
        si.mod_len = p.initrd_len;
    }
    si.set_cmd_line(p.cmdline.as_bytes());
    si
}

/// `start_info` as the bytes of its page.
pub fn to_page(si: &StartInfo) -> Vec<u8> {
    let size = std::mem::size_of::<StartInfo>();
    let mut page = vec![0u8; PAGE as usize];
    // SAFETY: `StartInfo` is plain old data (`Pod`), so every byte of it,
    // the union included, may be read; the slice borrows `si`.
    let bytes = unsafe { std::slice::from_raw_parts((si as *const StartInfo).cast::<u8>(), size) };
    page[..size].copy_from_slice(bytes);
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_from_root_and_extra() {
        assert_eq!(cmdline(Some("/dev/xvda1 ro"), Some("console=hvc0")), "root=/dev/xvda1 ro console=hvc0");
        assert_eq!(cmdline(Some("root=/dev/xvda1"), None), "root=/dev/xvda1");
        assert_eq!(cmdline(None, Some(" quiet ")), "quiet");
        assert_eq!(cmdline(Some(""), None), "");
    }
}
