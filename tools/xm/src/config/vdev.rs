//! Virtual block device names and Xen's virtual-device numbers.
//!
//! A guest disk is named in a configuration as `xvdX`, `hdX` or `sdX`
//! (optionally with a partition number: `hda1`), or directly by number.
//! The frontend sees only the number (`device/vbd/<number>`), computed as
//! Xen's `docs/misc/vbd-interface.txt` defines it:
//!
//! * `xvd`: disks `a`…`p` with partitions 0–15 use the Xen major
//!   (202): `(202 << 8) | (disk << 4) | partition`; any other disk or
//!   partition below 256 uses the extended form
//!   `(1 << 28) | (disk << 8) | partition`;
//! * `hd`: the IDE majors, two disks per major (3, 22, 33, 34, 56, 57, 88,
//!   89, 90, 91), `(major << 8) | ((disk % 2) << 6) | partition`,
//!   partitions 0–63;
//! * `sd`: the SCSI majors, sixteen disks per major (8, 65…71),
//!   `(major << 8) | ((disk % 16) << 4) | partition`, partitions 0–15.
//!
//! Disk letters count like spreadsheet columns: `a` is 0, `z` 25, `aa` 26.
//! A device-model prefix `ioemu:` (`ioemu:sda1`) is accepted and dropped: it
//! names the emulated device of an HVM guest, and a PV guest gets the plain
//! name.

use std::fmt;

/// The Xen (`xvd`) block major.
pub const XEN_MAJOR: u32 = 202;
/// The IDE majors, in disk order (two disks each).
pub const IDE_MAJORS: [u32; 10] = [3, 22, 33, 34, 56, 57, 88, 89, 90, 91];
/// The SCSI disk majors, in disk order (sixteen disks each).
pub const SCSI_MAJORS: [u32; 8] = [8, 65, 66, 67, 68, 69, 70, 71];
/// The flag of the extended `xvd` numbering.
pub const EXTENDED: u32 = 1 << 28;
/// Prefix naming a device model's emulated disk.
pub const IOEMU_PREFIX: &str = "ioemu:";

/// A guest block device: its name and number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct VirtualDevice(pub u32);

impl fmt::Display for VirtualDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The disk index of `letters` (`a` = 0, `z` = 25, `aa` = 26), if all
/// are lower-case ASCII letters.
fn disk_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || !letters.bytes().all(|b| b.is_ascii_lowercase()) {
        return None;
    }
    let mut n: u32 = 0;
    for b in letters.bytes() {
        n = n.checked_mul(26)?.checked_add(u32::from(b - b'a') + 1)?;
    }
    Some(n - 1)
}

/// `(disk, partition)` of `rest` = letters then optional digits.
fn split(rest: &str, max_letters: usize) -> Option<(u32, u32)> {
    let n_letters = rest.bytes().take_while(u8::is_ascii_lowercase).count();
    if n_letters == 0 || n_letters > max_letters {
        return None;
    }
    let disk = disk_index(&rest[..n_letters])?;
    let digits = &rest[n_letters..];
    let part = if digits.is_empty() {
        0
    } else {
        if !digits.bytes().all(|b| b.is_ascii_digit()) || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        digits.parse().ok()?
    };
    Some((disk, part))
}

impl VirtualDevice {
    /// The number of a device name (`xvda`, `hda1`, `sdb`, `ioemu:sda1`, or a
    /// decimal number), if valid.
    pub fn parse(name: &str) -> Option<VirtualDevice> {
        let name = name.strip_prefix(IOEMU_PREFIX).unwrap_or(name);
        if !name.is_empty() && name.bytes().all(|b| b.is_ascii_digit()) {
            return name.parse().ok().filter(|&n| n > 0).map(VirtualDevice);
        }
        let number = if let Some(rest) = name.strip_prefix("xvd") {
            let (disk, part) = split(rest, 3)?;
            if disk < 16 && part < 16 {
                (XEN_MAJOR << 8) | (disk << 4) | part
            } else if disk < (1 << 20) && part < 256 {
                EXTENDED | (disk << 8) | part
            } else {
                return None;
            }
        } else if let Some(rest) = name.strip_prefix("hd") {
            let (disk, part) = split(rest, 1)?;
            let major = *IDE_MAJORS.get(disk as usize / 2)?;
            if part >= 64 {
                return None;
            }
            (major << 8) | ((disk % 2) << 6) | part
        } else if let Some(rest) = name.strip_prefix("sd") {
            let (disk, part) = split(rest, 2)?;
            let major = *SCSI_MAJORS.get(disk as usize / 16)?;
            if part >= 16 {
                return None;
            }
            (major << 8) | ((disk % 16) << 4) | part
        } else {
            return None;
        };
        Some(VirtualDevice(number))
    }

    /// The name without a device-model prefix (`ioemu:sda1` → `sda1`).
    pub fn plain_name(name: &str) -> &str {
        name.strip_prefix(IOEMU_PREFIX).unwrap_or(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(s: &str) -> Option<u32> {
        VirtualDevice::parse(s).map(|v| v.0)
    }

    #[test]
    fn numbers_as_vbd_interface_txt() {
        // The examples of docs/misc/vbd-interface.txt.
        assert_eq!(n("xvda"), Some(51712));
        assert_eq!(n("xvdb"), Some(51728));
        assert_eq!(n("xvda1"), Some(51713));
        assert_eq!(n("xvdp15"), Some((202 << 8) | (15 << 4) | 15));
        // Beyond p or partition 15: extended.
        assert_eq!(n("xvdq"), Some((1 << 28) | (16 << 8)));
        assert_eq!(n("xvda16"), Some((1 << 28) | 16));
        assert_eq!(n("xvdaa"), Some((1 << 28) | (26 << 8)));
        assert_eq!(n("xvdzz"), Some((1 << 28) | (701 << 8)));
        assert_eq!(n("hda"), Some(3 << 8));
        assert_eq!(n("hda1"), Some((3 << 8) | 1));
        assert_eq!(n("hdb2"), Some((3 << 8) | 64 | 2));
        assert_eq!(n("hdc"), Some(22 << 8));
        assert_eq!(n("hdt63"), Some((91 << 8) | 64 | 63));
        assert_eq!(n("sda"), Some(8 << 8));
        assert_eq!(n("sda1"), Some(2049));
        assert_eq!(n("sdb"), Some((8 << 8) | 16));
        assert_eq!(n("sdq"), Some(65 << 8));
        assert_eq!(n("sddx15"), Some((71 << 8) | (15 << 4) | 15));
        assert_eq!(n("51713"), Some(51713));
        assert_eq!(n("ioemu:sda1"), Some(2049));
        assert_eq!(VirtualDevice::plain_name("ioemu:sda1"), "sda1");
    }

    #[test]
    fn bad_names() {
        for bad in [
            "", "xvd", "vda", "xvda1x", "hda1:cdrom", "hdu", "hda64", "sda16", "sddy", "xvdaaaa", "xvda256", "0",
            "hdaa", "xvdA", "xvda01", "ioemu:", "ioemu:vda",
        ] {
            assert_eq!(n(bad), None, "{bad}");
        }
    }
}
