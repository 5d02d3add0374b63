//! The dom0 side of virtual devices: what Xen's `block` and `vif-bridge`
//! hotplug scripts do, in Rust.
//!
//! * `file:` images get a loop device (`/dev/loop-control`
//!   `LOOP_CTL_GET_FREE`, then `LOOP_SET_FD`; read-only for mode `r`) and
//!   lose it on teardown (`LOOP_CLR_FD`, which the kernel defers to the
//!   last close while blkback still holds the device);
//! * `phy:` devices are checked to be block devices and give their
//!   `major:minor`;
//! * a vif's backend interface (created by `xen-netback`) may be renamed
//!   (`vifname=`), joins its bridge (`SIOCBRADDIF`) and goes up; another
//!   `script=` than `vif-bridge` is run as Xen runs hotplug scripts:
//!   `script online|offline` with `XENBUS_PATH`, `vif`, `bridge`, `mac`
//!   and `ip` in its environment.

use std::ffi::CString;
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// `/dev/loop-control`.
pub const LOOP_CONTROL: &str = "/dev/loop-control";
/// Where network interfaces show in sysfs.
pub const SYS_NET: &str = "/sys/class/net";

const LOOP_SET_FD: libc::c_ulong = 0x4C00;
const LOOP_CLR_FD: libc::c_ulong = 0x4C01;
const LOOP_SET_STATUS64: libc::c_ulong = 0x4C04;
const LOOP_CTL_GET_FREE: libc::c_ulong = 0x4C82;

/// `struct loop_info64` (`linux/loop.h`): what `LOOP_SET_STATUS64` sets;
/// only the file name is used (so that `losetup -a` names the image).
#[repr(C)]
struct LoopInfo64 {
    lo_device: u64,
    lo_inode: u64,
    lo_rdevice: u64,
    lo_offset: u64,
    lo_sizelimit: u64,
    lo_number: u32,
    lo_encrypt_type: u32,
    lo_encrypt_key_size: u32,
    lo_flags: u32,
    lo_file_name: [u8; 64],
    lo_crypt_name: [u8; 64],
    lo_encrypt_key: [u8; 32],
    lo_init: [u64; 2],
}

const _: () = assert!(std::mem::size_of::<LoopInfo64>() == 232);
const SIOCBRADDIF: libc::c_ulong = 0x89a2;
const SIOCBRDELIF: libc::c_ulong = 0x89a3;

/// `major:minor` of a device number.
pub fn split_dev(rdev: u64) -> (u32, u32) {
    (libc::major(rdev), libc::minor(rdev))
}

/// The `major:minor` of the block device at `path`.
pub fn block_device(path: &Path) -> io::Result<(u32, u32)> {
    let md = std::fs::metadata(path)?;
    if !md.file_type().is_block_device() {
        return Err(io::Error::other("not a block device"));
    }
    Ok(split_dev(md.rdev()))
}

/// Whether dom0 has block device `major:minor`.
pub fn block_device_exists(major: u32, minor: u32) -> bool {
    Path::new(&format!("/sys/dev/block/{major}:{minor}")).exists()
}

fn check(ret: libc::c_int) -> io::Result<libc::c_int> {
    if ret < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(ret)
    }
}

/// Attach `image` to a free loop device (read-only unless `writable`);
/// returns the device's path.
pub fn loop_attach(image: &Path, writable: bool) -> io::Result<String> {
    let backing = OpenOptions::new().read(true).write(writable).open(image)?;
    let control = File::open(LOOP_CONTROL)?;
    // Another process may take the free device between the two calls:
    // then LOOP_SET_FD fails with EBUSY and we ask again.
    for _ in 0..8 {
        // SAFETY: LOOP_CTL_GET_FREE takes no argument and returns a number.
        let n = check(unsafe { libc::ioctl(control.as_raw_fd(), LOOP_CTL_GET_FREE) })?;
        let dev = format!("/dev/loop{n}");
        let lo = OpenOptions::new().read(true).write(writable).open(&dev)?;
        // SAFETY: LOOP_SET_FD takes the backing file's descriptor by value;
        // both descriptors are open for the duration of the call.
        match check(unsafe { libc::ioctl(lo.as_raw_fd(), LOOP_SET_FD, backing.as_raw_fd() as libc::c_ulong) }) {
            Ok(_) => {
                let mut info = LoopInfo64 {
                    lo_device: 0,
                    lo_inode: 0,
                    lo_rdevice: 0,
                    lo_offset: 0,
                    lo_sizelimit: 0,
                    lo_number: 0,
                    lo_encrypt_type: 0,
                    lo_encrypt_key_size: 0,
                    lo_flags: 0,
                    lo_file_name: [0; 64],
                    lo_crypt_name: [0; 64],
                    lo_encrypt_key: [0; 32],
                    lo_init: [0; 2],
                };
                let name = image.as_os_str().as_encoded_bytes();
                let n = name.len().min(info.lo_file_name.len() - 1);
                info.lo_file_name[..n].copy_from_slice(&name[..n]);
                // SAFETY: LOOP_SET_STATUS64 reads a loop_info64, which
                // `info` is (size checked above), alive across the call.
                if let Err(e) = check(unsafe { libc::ioctl(lo.as_raw_fd(), LOOP_SET_STATUS64, &info) }) {
                    let _ = loop_detach(&dev);
                    return Err(e);
                }
                return Ok(dev);
            }
            Err(e) if e.raw_os_error() == Some(libc::EBUSY) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free loop device"))
}

/// Detach the loop device `dev` from its image (deferred by the kernel
/// until its last user closes it).
pub fn loop_detach(dev: &str) -> io::Result<()> {
    let lo = File::open(dev)?;
    // SAFETY: LOOP_CLR_FD takes no argument.
    check(unsafe { libc::ioctl(lo.as_raw_fd(), LOOP_CLR_FD) }).map(|_| ())
}

/// The image a loop device is attached to, if it is.
pub fn loop_backing_file(dev: &str) -> Option<String> {
    let name = dev.rsplit('/').next()?;
    std::fs::read_to_string(format!("/sys/block/{name}/loop/backing_file")).ok().map(|s| s.trim().to_string())
}

/// Whether interface `name` exists.
pub fn interface_exists(name: &str) -> bool {
    Path::new(SYS_NET).join(name).exists()
}

/// Whether `name` is a bridge.
pub fn is_bridge(name: &str) -> bool {
    !name.contains('/') && Path::new(SYS_NET).join(name).join("bridge").is_dir()
}

/// The first bridge dom0 has (Xen's `vif-bridge` default), if any.
pub fn first_bridge() -> Option<String> {
    let mut names: Vec<String> = std::fs::read_dir(SYS_NET)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_bridge(n))
        .collect();
    names.sort();
    names.into_iter().next()
}

/// The bridge an interface is a port of, if any.
pub fn bridge_of(ifname: &str) -> Option<String> {
    let link = std::fs::read_link(Path::new(SYS_NET).join(ifname).join("brport/bridge")).ok()?;
    link.file_name().map(|n| n.to_string_lossy().into_owned())
}

/// An `AF_INET` datagram socket for interface ioctls.
fn ioctl_socket() -> io::Result<OwnedFd> {
    // SAFETY: plain socket(2); the result is checked before use.
    let fd = check(unsafe { libc::socket(libc::AF_INET, libc::SOCK_DGRAM | libc::SOCK_CLOEXEC, 0) })?;
    // SAFETY: `fd` is a fresh descriptor owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// An `ifreq` naming `name`.
fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ {
        return Err(io::Error::other(format!("bad interface name '{name}'")));
    }
    // SAFETY: ifreq is plain data; all zeroes is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

fn ifindex(name: &str) -> io::Result<libc::c_int> {
    let c = CString::new(name).map_err(|_| io::Error::other("NUL in interface name"))?;
    // SAFETY: `c` is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(idx as libc::c_int)
}

fn bridge_ioctl(bridge: &str, port: &str, op: libc::c_ulong) -> io::Result<()> {
    let sock = ioctl_socket()?;
    let mut req = ifreq(bridge)?;
    req.ifr_ifru.ifru_ifindex = ifindex(port)?;
    // SAFETY: SIOCBRADDIF/SIOCBRDELIF read an ifreq with the bridge's name
    // and the port's index; `req` lives across the call.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), op, &mut req) }).map(|_| ())
}

/// Make `port` a port of `bridge` (`brctl addif`).
pub fn bridge_add(bridge: &str, port: &str) -> io::Result<()> {
    bridge_ioctl(bridge, port, SIOCBRADDIF)
}

/// Take `port` off `bridge` (`brctl delif`).
pub fn bridge_del(bridge: &str, port: &str) -> io::Result<()> {
    bridge_ioctl(bridge, port, SIOCBRDELIF)
}

/// Set interface `name` up or down (`ip link set up/down`).
pub fn set_up(name: &str, up: bool) -> io::Result<()> {
    let sock = ioctl_socket()?;
    let mut req = ifreq(name)?;
    // SAFETY: SIOCGIFFLAGS fills the flags of the ifreq naming `name`.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCGIFFLAGS, &mut req) })?;
    // SAFETY: the union holds the flags just read.
    let flags = unsafe { req.ifr_ifru.ifru_flags };
    let up_flag = libc::IFF_UP as libc::c_short;
    req.ifr_ifru.ifru_flags = if up { flags | up_flag } else { flags & !up_flag };
    // SAFETY: SIOCSIFFLAGS reads the ifreq.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFFLAGS, &mut req) }).map(|_| ())
}

/// Rename interface `from` to `to` (it must be down).
pub fn rename(from: &str, to: &str) -> io::Result<()> {
    let sock = ioctl_socket()?;
    let mut req = ifreq(from)?;
    let new = ifreq(to)?;
    req.ifr_ifru.ifru_newname = new.ifr_name;
    // SAFETY: SIOCSIFNAME reads the old and the new name from the ifreq.
    check(unsafe { libc::ioctl(sock.as_raw_fd(), libc::SIOCSIFNAME, &mut req) }).map(|_| ())
}

/// Run a vif hotplug script as Xen does: `script online|offline` with the
/// device in its environment. A script not given by path is looked for in
/// `/etc/xen/scripts`.
pub fn run_script(
    script: &str,
    action: &str,
    backend: &str,
    ifname: &str,
    bridge: &str,
    mac: &str,
    ip: Option<&str>,
) -> io::Result<()> {
    let path = if script.contains('/') { script.to_string() } else { format!("/etc/xen/scripts/{script}") };
    let out = std::process::Command::new(&path)
        .arg(action)
        .env("XENBUS_PATH", backend)
        .env("XENBUS_TYPE", "vif")
        .env("vif", ifname)
        .env("bridge", bridge)
        .env("mac", mac)
        .env("ip", ip.unwrap_or(""))
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("running {path}: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().last().unwrap_or("").trim();
        Err(io::Error::other(format!("{path} {action} failed ({}){}", out.status, if last.is_empty() { String::new() } else { format!(": {last}") })))
    }
}

/// Six random bytes' worth of a MAC in Xen's range: `00:16:3e:xx:xx:xx`.
pub fn random_mac() -> io::Result<crate::config::MacAddr> {
    let mut b = [0u8; 3];
    io::Read::read_exact(&mut File::open("/dev/urandom")?, &mut b)?;
    Ok(crate::config::MacAddr([0x00, 0x16, 0x3e, b[0] & 0x7f, b[1], b[2]]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_numbers() {
        assert_eq!(split_dev(libc::makedev(7, 3)), (7, 3));
        assert_eq!(split_dev(libc::makedev(259, 70000)), (259, 70000));
        assert!(block_device(Path::new("/dev/null")).is_err());
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(ifreq("").is_err());
        assert!(ifreq("a-very-long-interface-name").is_err());
        assert!(ifreq("vif3.0").is_ok());
        assert!(!is_bridge("../lo"));
        assert!(!is_bridge("lo"));
    }

    #[test]
    fn random_macs_are_xen_unicast() {
        let m = random_mac().unwrap();
        assert_eq!(&m.0[..3], &[0x00, 0x16, 0x3e]);
        assert_eq!(m.0[3] & 0x80, 0);
    }
}
