//! Virtual disks (vbd) and network interfaces (vif) of domUs: set up at
//! `xm create` and by `xm block-attach`/`network-attach`, torn down at
//! destroy, shutdown and `block-detach`/`network-detach`.
//!
//! **Where the hotplug work runs.** Xen's toolstack writes the xenstore
//! nodes and lets udev run its `block` and `vif-bridge` scripts on the
//! backend's uevents. This toolstack has no udev and no daemon for it: the
//! process that writes the nodes does the scripts' work synchronously
//! ([`hotplug`]): `xm` for create, attach and detach, `xenconsoled` when it
//! carries out `on_poweroff`/`on_reboot`/`on_crash` (it calls the same
//! [`crate::lifecycle`] functions). A disk's loop device exists before its
//! nodes are written (blkback opens `physical-device` when it probes); a
//! vif's interface is created by `xen-netback` when it probes, so the
//! writer waits for it ([`IFACE_WAIT`]), puts it on its bridge, sets it up
//! and then writes `hotplug-status = connected`, which netback waits for.
//!
//! **Teardown.** A running guest's device is detached politely: the backend
//! is marked offline and `Closing`, the frontend closes ([`DETACH_WAIT`]),
//! then the nodes go. A dead domain's devices are removed at once. Either
//! way the writer then waits for the kernel backend to go away
//! ([`BACKEND_WAIT`]) and undoes the dom0 side (the loop device, the
//! bridge port or the vif script's `offline`).
//!
//! Every failure is a [`DeviceError`] (one line) and leaves nothing of the
//! device behind.

pub mod hotplug;
pub mod nodes;
pub mod stderr_log;

use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

use dom0_abi::DomId;
use xenstore::client::{Client, ClientError, TxId};

use crate::config::{Disk, DiskBackend, DomainConfig, PhyDevice, Vif};
use crate::domstore;
use nodes::{backend_dir, backend_path, frontend_dir, frontend_path, state, DiskBacking, Kind, VbdUse, VifPlan};

/// How long the writer waits for `xen-netback` to create a vif's interface.
pub const IFACE_WAIT: Duration = Duration::from_secs(10);
/// How long a detach waits for the guest's frontend to close.
pub const DETACH_WAIT: Duration = Duration::from_secs(20);
/// How long a teardown waits for the kernel backend device to go.
pub const BACKEND_WAIT: Duration = Duration::from_secs(10);
/// Poll interval of the waits.
const POLL: Duration = Duration::from_millis(20);
/// Default bridge when the configuration names none and dom0 has no bridge.
pub const DEFAULT_BRIDGE: &str = "xenbr0";

/// Why a device could not be set up or removed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    /// The image or device of a disk is missing or unusable.
    #[error("disk {uname}: {source}")]
    Backing {
        /// The disk's `uname`.
        uname: String,
        /// Why.
        source: std::io::Error,
    },
    /// The disk is writable in another domain (or this one wants it writable).
    #[error("disk {uname}: already used by domain {domid} in mode '{mode}' (use mode w! to share it writable)")]
    Shared {
        /// The disk's `uname`.
        uname: String,
        /// The other domain.
        domid: u16,
        /// Its mode.
        mode: String,
    },
    /// `tap:` disks need blktap, which Linux dom0 kernels do not have.
    #[error("disk {0}: tap: disks need blktap, which this dom0 kernel does not have (use file: or phy:)")]
    Tap(String),
    /// The guest already has a device with this number.
    #[error("domain {domid} already has {kind} {devid}")]
    Exists {
        /// The domain.
        domid: u16,
        /// `vbd` or `vif`.
        kind: &'static str,
        /// The device (name or number).
        devid: String,
    },
    /// The bridge of a vif does not exist.
    #[error("vif {devid}: bridge '{bridge}' does not exist in dom0")]
    NoBridge {
        /// The vif.
        devid: u32,
        /// The bridge.
        bridge: String,
    },
    /// Setting up a vif's interface failed.
    #[error("vif {ifname}: {step}: {source}")]
    Net {
        /// The interface.
        ifname: String,
        /// What was being done.
        step: &'static str,
        /// Why.
        source: std::io::Error,
    },
    /// `xen-netback` did not create the interface.
    #[error("vif {devid}: the backend did not create {ifname} within {secs} s (is xen-netback loaded in dom0?)")]
    NoInterface {
        /// The vif.
        devid: u32,
        /// The interface expected.
        ifname: String,
        /// How long we waited.
        secs: u64,
    },
    /// No such device on the domain.
    #[error("domain {domid} has no {kind} '{dev}'")]
    NoSuchDevice {
        /// The domain.
        domid: u16,
        /// `vbd` or `vif`.
        kind: &'static str,
        /// The device as given.
        dev: String,
    },
    /// The frontend did not close on detach.
    #[error("{kind} {devid} of domain {domid}: the guest did not close it within {secs} s (in use? --force removes it anyway)")]
    DetachTimeout {
        /// `vbd` or `vif`.
        kind: &'static str,
        /// The device.
        devid: u32,
        /// The domain.
        domid: u16,
        /// How long we waited.
        secs: u64,
    },
    /// A xenstore operation failed.
    #[error("{step}: {source}")]
    Xenstore {
        /// What was being done.
        step: String,
        /// Why.
        source: ClientError,
    },
}

fn read(xs: &mut Client, path: &str) -> Option<String> {
    xs.read_string(TxId::NONE, path).ok()
}

fn list_dir(xs: &mut Client, path: &str) -> Vec<u32> {
    let mut ids: Vec<u32> = xs.directory(TxId::NONE, path).unwrap_or_default().iter().filter_map(|s| s.parse().ok()).collect();
    ids.sort_unstable();
    ids
}

fn xs_err(step: impl Into<String>) -> impl FnOnce(ClientError) -> DeviceError {
    let step = step.into();
    move |source| DeviceError::Xenstore { step, source }
}

/// Every vbd backend dom0 serves, for the sharing check.
fn vbd_uses(xs: &mut Client) -> Vec<VbdUse> {
    let mut uses = Vec::new();
    for dom in list_dir(xs, "/local/domain/0/backend/vbd") {
        let Ok(domid) = u16::try_from(dom) else { continue };
        for devid in list_dir(xs, &backend_dir(Kind::Vbd, DomId(domid))) {
            let be = backend_path(Kind::Vbd, DomId(domid), devid);
            uses.push(VbdUse {
                domid: DomId(domid),
                params: read(xs, &format!("{be}/params")).unwrap_or_default(),
                physical_device: read(xs, &format!("{be}/physical-device")),
                mode: read(xs, &format!("{be}/mode")).unwrap_or_default(),
            });
        }
    }
    uses
}

/// Set up every disk and vif of `cfg` for the new domain `domid` (paused,
/// its nodes written). On failure whatever was set up is removed.
pub fn setup_all(xs: &mut Client, domid: DomId, cfg: &DomainConfig) -> Result<(), DeviceError> {
    let result = (|| {
        for d in &cfg.disks {
            attach_disk(xs, domid, d)?;
        }
        for (i, v) in cfg.vifs.iter().enumerate() {
            attach_vif(xs, domid, v, i as u32)?;
        }
        Ok(())
    })();
    if result.is_err() {
        teardown_all(xs, domid);
    }
    result
}

/// Resolve the dom0 side of `disk` for `domid`: check sharing, attach a
/// loop device for an image.
fn prepare_disk(xs: &mut Client, domid: DomId, disk: &Disk) -> Result<DiskBacking, DeviceError> {
    let uname = disk.uname();
    let backing = |source| DeviceError::Backing { uname: uname.clone(), source };
    let shared = |u: VbdUse| DeviceError::Shared { uname: uname.clone(), domid: u.domid.0, mode: u.mode };
    let uses = vbd_uses(xs);
    match &disk.backend {
        DiskBackend::Tap(_) => Err(DeviceError::Tap(uname.clone())),
        DiskBackend::File => {
            let path = std::fs::canonicalize(&disk.path).map_err(backing)?;
            if !path.is_file() {
                return Err(backing(std::io::Error::other("not a regular file")));
            }
            let params = path.display().to_string();
            if let Some(u) = nodes::sharing_conflict(&uses, domid, disk.mode, &params, None) {
                return Err(shared(u));
            }
            let writable = disk.mode != crate::config::DiskMode::ReadOnly;
            let node = hotplug::loop_attach(&path, writable).map_err(backing)?;
            match hotplug::block_device(Path::new(&node)) {
                Ok((major, minor)) => Ok(DiskBacking { params, major, minor, node }),
                Err(e) => {
                    let _ = hotplug::loop_detach(&node);
                    Err(backing(e))
                }
            }
        }
        DiskBackend::Phy => {
            let (major, minor, node) = match disk.phy_device().expect("phy disk") {
                PhyDevice::Path(p) => {
                    let (ma, mi) = hotplug::block_device(Path::new(&p)).map_err(backing)?;
                    (ma, mi, p)
                }
                PhyDevice::Number(ma, mi) => {
                    if !hotplug::block_device_exists(ma, mi) {
                        return Err(backing(std::io::Error::other(format!("dom0 has no block device {ma}:{mi}"))));
                    }
                    (ma, mi, format!("/sys/dev/block/{ma}:{mi}"))
                }
            };
            let pd = format!("{major:x}:{minor:x}");
            if let Some(u) = nodes::sharing_conflict(&uses, domid, disk.mode, &disk.path, Some(&pd)) {
                return Err(shared(u));
            }
            Ok(DiskBacking { params: disk.path.clone(), major, minor, node })
        }
    }
}

/// Give `domid` the disk `disk`: its dom0 side, then its nodes.
pub fn attach_disk(xs: &mut Client, domid: DomId, disk: &Disk) -> Result<(), DeviceError> {
    let devid = disk.devid.0;
    if read(xs, &backend_path(Kind::Vbd, domid, devid)).is_some() || read(xs, &frontend_path(Kind::Vbd, domid, devid)).is_some() {
        return Err(DeviceError::Exists { domid: domid.0, kind: "vbd", devid: disk.vdev.clone() });
    }
    let backing = prepare_disk(xs, domid, disk)?;
    let nodes = nodes::vbd_nodes(domid, disk, &backing);
    if let Err(e) = domstore::write_nodes(xs, &nodes) {
        let _ = xs.rm(TxId::NONE, &frontend_path(Kind::Vbd, domid, devid));
        let _ = xs.rm(TxId::NONE, &backend_path(Kind::Vbd, domid, devid));
        if disk.backend == DiskBackend::File {
            let _ = hotplug::loop_detach(&backing.node);
        }
        return Err(xs_err(format!("writing the nodes of disk {}", disk.vdev))(e));
    }
    log::info!("domain {}: vbd {devid} ({}) on {}", domid.0, disk.vdev, backing.node);
    Ok(())
}

/// Wait until `done()` or `timeout`; returns whether `done()` held.
fn wait_until(timeout: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if done() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Give `domid` the network interface `vif` as device `devid`.
pub fn attach_vif(xs: &mut Client, domid: DomId, vif: &Vif, devid: u32) -> Result<(), DeviceError> {
    if read(xs, &backend_path(Kind::Vif, domid, devid)).is_some() || read(xs, &frontend_path(Kind::Vif, domid, devid)).is_some() {
        return Err(DeviceError::Exists { domid: domid.0, kind: "vif", devid: devid.to_string() });
    }
    let default_bridge = hotplug::first_bridge().unwrap_or_else(|| DEFAULT_BRIDGE.to_string());
    let mac = match vif.mac {
        Some(m) => m,
        None => hotplug::random_mac().map_err(|source| DeviceError::Net { ifname: format!("vif {devid}"), step: "choosing a MAC address", source })?,
    };
    let plan = VifPlan::new(vif, devid, mac, &default_bridge);
    let builtin = is_vif_bridge(&plan.script);
    if builtin && !hotplug::is_bridge(&plan.bridge) {
        return Err(DeviceError::NoBridge { devid, bridge: plan.bridge.clone() });
    }
    domstore::write_nodes(xs, &nodes::vif_nodes(domid, &plan)).map_err(xs_err(format!("writing the nodes of vif {devid}")))?;
    if let Err(e) = vif_online(xs, domid, &plan, builtin) {
        remove_device(xs, Kind::Vif, domid, devid);
        return Err(e);
    }
    log::info!("domain {}: vif {devid} ({}) on {}", domid.0, plan.mac, plan.bridge);
    Ok(())
}

/// Whether `script` is Xen's `vif-bridge` (done in Rust here).
fn is_vif_bridge(script: &str) -> bool {
    script.rsplit('/').next() == Some(nodes::DEFAULT_VIF_SCRIPT)
}

/// What `vif-bridge online` does, once netback made the interface.
fn vif_online(xs: &mut Client, domid: DomId, plan: &VifPlan, builtin: bool) -> Result<(), DeviceError> {
    let devid = plan.devid;
    let created = nodes::vif_ifname(domid, devid);
    if !wait_until(IFACE_WAIT, || hotplug::interface_exists(&created)) {
        return Err(DeviceError::NoInterface { devid, ifname: created, secs: IFACE_WAIT.as_secs() });
    }
    let ifname = plan.ifname(domid);
    let net = |step, ifname: &str| {
        let ifname = ifname.to_string();
        move |source| DeviceError::Net { ifname, step, source }
    };
    if ifname != created {
        hotplug::rename(&created, &ifname).map_err(net("renaming it (vifname=)", &created))?;
    }
    let be = backend_path(Kind::Vif, domid, devid);
    if builtin {
        hotplug::bridge_add(&plan.bridge, &ifname).map_err(net("joining its bridge", &ifname))?;
        hotplug::set_up(&ifname, true).map_err(net("setting it up", &ifname))?;
    } else {
        hotplug::run_script(&plan.script, "online", &be, &ifname, &plan.bridge, &plan.mac.to_string(), plan.ip.as_deref())
            .map_err(net("hotplug script", &ifname))?;
    }
    xs.write(TxId::NONE, &format!("{be}/hotplug-status"), b"connected").map_err(xs_err(format!("writing {be}/hotplug-status")))
}

/// Remove device `devid` of `kind` from `domid` at once (no handshake with
/// the guest): its nodes, then its dom0 side once the kernel backend is
/// gone. Best effort: what is already gone is fine.
pub fn remove_device(xs: &mut Client, kind: Kind, domid: DomId, devid: u32) {
    let be = backend_path(kind, domid, devid);
    let get = |xs: &mut Client, k: &str| read(xs, &format!("{be}/{k}"));
    let ty = get(xs, "type");
    let node = get(xs, "node");
    let script = get(xs, "script");
    let bridge = get(xs, "bridge").unwrap_or_default();
    let mac = get(xs, "mac").unwrap_or_default();
    let ip = get(xs, "ip");
    let ifname = get(xs, "vifname").unwrap_or_else(|| nodes::vif_ifname(domid, devid));
    let _ = xs.rm(TxId::NONE, &frontend_path(kind, domid, devid));
    let _ = xs.rm(TxId::NONE, &be);
    let sysfs = Path::new("/sys/bus/xen-backend/devices").join(nodes::sysfs_backend_name(kind, domid, devid));
    if !wait_until(BACKEND_WAIT, || !sysfs.exists()) {
        log::warn!("{} still exists {} s after its nodes went", sysfs.display(), BACKEND_WAIT.as_secs());
    }
    match kind {
        Kind::Vbd => {
            if let (Some("file"), Some(node)) = (ty.as_deref(), node) {
                if hotplug::loop_backing_file(&node).is_some() {
                    if let Err(e) = hotplug::loop_detach(&node) {
                        log::warn!("detaching {node}: {e}");
                    }
                }
            }
        }
        Kind::Vif => match script {
            Some(s) if !is_vif_bridge(&s) => {
                if let Err(e) = hotplug::run_script(&s, "offline", &be, &ifname, &bridge, &mac, ip.as_deref()) {
                    log::warn!("{e}");
                }
            }
            _ => {
                // netback unregisters the interface, which takes it off its
                // bridge; an interface still there is taken off by hand.
                if let Some(br) = hotplug::bridge_of(&ifname) {
                    let _ = hotplug::set_up(&ifname, false);
                    let _ = hotplug::bridge_del(&br, &ifname);
                }
            }
        },
    }
}

/// Remove every device of a domain (destroyed or never started).
pub fn teardown_all(xs: &mut Client, domid: DomId) {
    for kind in [Kind::Vif, Kind::Vbd] {
        for devid in list_dir(xs, &backend_dir(kind, domid)) {
            remove_device(xs, kind, domid, devid);
        }
        let _ = xs.rm(TxId::NONE, &backend_dir(kind, domid));
        let _ = xs.rm(TxId::NONE, &frontend_dir(kind, domid));
    }
}

/// Detach device `devid` from the running `domid`: ask the guest to close
/// it (backend offline and `Closing`), wait for its frontend to be
/// `Closed` (or gone), then remove it. With `force`, a guest that does not
/// close in [`DETACH_WAIT`] loses the device anyway.
pub fn detach(xs: &mut Client, kind: Kind, domid: DomId, devid: u32, force: bool) -> Result<(), DeviceError> {
    let be = backend_path(kind, domid, devid);
    let fe = frontend_path(kind, domid, devid);
    xs.write(TxId::NONE, &format!("{be}/online"), b"0").map_err(xs_err(format!("writing {be}/online")))?;
    xs.write(TxId::NONE, &format!("{be}/state"), state::CLOSING.to_string().as_bytes())
        .map_err(xs_err(format!("writing {be}/state")))?;
    let closed = wait_until(DETACH_WAIT, || match read(xs, &format!("{fe}/state")) {
        None => true,
        Some(s) => s.trim().parse::<u32>().is_ok_and(|s| s == state::CLOSED),
    });
    if !closed && !force {
        return Err(DeviceError::DetachTimeout { kind: kind.as_str(), devid, domid: domid.0, secs: DETACH_WAIT.as_secs() });
    }
    remove_device(xs, kind, domid, devid);
    Ok(())
}

/// The device number of `dev` (a vbd's name or number; a vif's number or
/// MAC) among `domid`'s devices of `kind`.
pub fn find_device(xs: &mut Client, kind: Kind, domid: DomId, dev: &str) -> Result<u32, DeviceError> {
    let ids = list_dir(xs, &backend_dir(kind, domid));
    let wanted = match kind {
        Kind::Vbd => crate::config::VirtualDevice::parse(dev).map(|v| v.0),
        Kind::Vif => dev.parse::<u32>().ok(),
    };
    let found = ids.iter().copied().find(|&id| {
        Some(id) == wanted
            || (kind == Kind::Vif
                && read(xs, &format!("{}/mac", backend_path(kind, domid, id))).is_some_and(|m| m.eq_ignore_ascii_case(dev)))
    });
    found.ok_or_else(|| DeviceError::NoSuchDevice { domid: domid.0, kind: kind.as_str(), dev: dev.to_string() })
}

/// The next free vif number of a domain.
pub fn next_vif_devid(xs: &mut Client, domid: DomId) -> u32 {
    let mut ids = list_dir(xs, &backend_dir(Kind::Vif, domid));
    ids.extend(list_dir(xs, &frontend_dir(Kind::Vif, domid)));
    ids.into_iter().max().map_or(0, |m| m + 1)
}

/// `xm block-list` / `network-list`: one line per device of the domain,
/// with its frontend's state, event channel and ring(s) as the guest
/// published them, under Xen's headings.
pub fn list(xs: &mut Client, kind: Kind, domid: DomId) -> String {
    let mut out = String::new();
    let num = |xs: &mut Client, p: String| read(xs, &p).map_or_else(|| "-1".to_string(), |s| s.trim().to_string());
    match kind {
        Kind::Vbd => {
            let _ = writeln!(out, "Vdev  BE handle state evt-ch ring-ref BE-path");
        }
        Kind::Vif => {
            let _ = writeln!(out, "Idx BE     Mac Addr.     handle state evt-ch tx-/rx-ring-ref BE-path");
        }
    }
    for devid in list_dir(xs, &frontend_dir(kind, domid)) {
        let fe = frontend_path(kind, domid, devid);
        let be = read(xs, &format!("{fe}/backend")).unwrap_or_default();
        let st = num(xs, format!("{fe}/state"));
        // netfront with split event channels publishes a tx and an rx one.
        let evt = match read(xs, &format!("{fe}/event-channel")) {
            Some(e) => e.trim().to_string(),
            None => num(xs, format!("{fe}/event-channel-tx")),
        };
        match kind {
            Kind::Vbd => {
                let ring = num(xs, format!("{fe}/ring-ref"));
                let _ = writeln!(out, "{devid:<5} {:<2} {:<6} {st:<5} {evt:<6} {ring:<8} {be}", 0, 0);
            }
            Kind::Vif => {
                let mac = read(xs, &format!("{fe}/mac")).unwrap_or_default();
                let tx = num(xs, format!("{fe}/tx-ring-ref"));
                let rx = num(xs, format!("{fe}/rx-ring-ref"));
                let _ = writeln!(out, "{devid:<3} {:<6} {mac:<17} {devid:<6} {st:<5} {evt:<6} {:<15} {be}", 0, format!("{tx}/{rx}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    //! The xenstore side against a xenstored in this process (the dom0 side
    //! needs root and Xen's backends: the QEMU test `xm_devices` covers it).
    use super::*;
    use crate::config::DiskMode;

    use crate::test_xenstored::TestXenstored as Daemon;

    fn vif(spec: &str) -> VifPlan {
        let (v, _) = Vif::parse(spec).unwrap();
        VifPlan::new(&v, 0, "00:16:3e:00:00:01".parse().unwrap(), "xenbr0")
    }

    #[test]
    fn find_list_and_teardown() {
        let d = Daemon::start("find");
        let mut xs = d.client();
        let dom = DomId(5);
        let disk = Disk::parse("phy:/dev/sdz,xvdb,r").unwrap();
        let backing = DiskBacking { params: "/dev/sdz".into(), major: 8, minor: 16, node: "/dev/sdz".into() };
        domstore::write_nodes(&mut xs, &nodes::vbd_nodes(dom, &disk, &backing)).unwrap();
        let mut plan = vif("mac=00:16:3e:00:00:22");
        plan.devid = 1;
        domstore::write_nodes(&mut xs, &nodes::vif_nodes(dom, &plan)).unwrap();

        assert_eq!(find_device(&mut xs, Kind::Vbd, dom, "xvdb").unwrap(), 51728);
        assert_eq!(find_device(&mut xs, Kind::Vbd, dom, "51728").unwrap(), 51728);
        assert_eq!(find_device(&mut xs, Kind::Vif, dom, "1").unwrap(), 1);
        assert_eq!(find_device(&mut xs, Kind::Vif, dom, "00:16:3E:00:00:22").unwrap(), 1);
        assert_eq!(
            find_device(&mut xs, Kind::Vbd, dom, "xvdc").unwrap_err().to_string(),
            "domain 5 has no vbd 'xvdc'"
        );
        assert_eq!(next_vif_devid(&mut xs, dom), 2);
        assert_eq!(next_vif_devid(&mut xs, DomId(6)), 0);

        // The guest's frontend publishes its ring and connects.
        let fe = frontend_path(Kind::Vbd, dom, 51728);
        xs.write(TxId::NONE, &format!("{fe}/ring-ref"), b"8").unwrap();
        xs.write(TxId::NONE, &format!("{fe}/event-channel"), b"9").unwrap();
        xs.write(TxId::NONE, &format!("{fe}/state"), b"4").unwrap();
        assert_eq!(
            list(&mut xs, Kind::Vbd, dom),
            "Vdev  BE handle state evt-ch ring-ref BE-path\n51728 0  0      4     9      8        /local/domain/0/backend/vbd/5/51728\n"
        );
        let l = list(&mut xs, Kind::Vif, dom);
        assert!(l.lines().nth(1).is_some_and(|l| l.starts_with("1   0      00:16:3e:00:00:22 1      1     -1 ")), "{l}");

        // Attaching on a taken number is refused before anything is done.
        let e = attach_disk(&mut xs, dom, &disk).unwrap_err();
        assert_eq!(e.to_string(), "domain 5 already has vbd xvdb");

        // A closed frontend: detach removes the device without waiting.
        xs.write(TxId::NONE, &format!("{fe}/state"), b"6").unwrap();
        detach(&mut xs, Kind::Vbd, dom, 51728, false).unwrap();
        assert!(read(&mut xs, &backend_path(Kind::Vbd, dom, 51728)).is_none());
        assert!(read(&mut xs, &fe).is_none());

        // Teardown removes what is left, directories included.
        teardown_all(&mut xs, dom);
        for p in [backend_dir(Kind::Vif, dom), frontend_dir(Kind::Vif, dom), backend_dir(Kind::Vbd, dom)] {
            assert!(read(&mut xs, &p).is_none(), "{p} left");
        }
    }

    #[test]
    fn shared_writable_image_is_refused_before_any_loop_device() {
        let d = Daemon::start("share");
        let mut xs = d.client();
        let img = std::env::temp_dir().join(format!("xm-dev-{}.img", std::process::id()));
        std::fs::write(&img, [0u8; 512]).unwrap();
        let canon = std::fs::canonicalize(&img).unwrap().display().to_string();
        // Domain 3 has it writable.
        let theirs = Disk::parse(&format!("file:{canon},xvda,w")).unwrap();
        let backing = DiskBacking { params: canon.clone(), major: 7, minor: 0, node: "/dev/loop0".into() };
        domstore::write_nodes(&mut xs, &nodes::vbd_nodes(DomId(3), &theirs, &backing)).unwrap();
        for mode in ["w", "r"] {
            let mine = Disk::parse(&format!("file:{},xvda,{mode}", img.display())).unwrap();
            assert!(mine.mode != DiskMode::ForceReadWrite);
            let e = attach_disk(&mut xs, DomId(4), &mine).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("disk file:{}: already used by domain 3 in mode 'w' (use mode w! to share it writable)", img.display())
            );
        }
        assert!(read(&mut xs, &backend_dir(Kind::Vbd, DomId(4))).is_none(), "nothing written for domain 4");
        // Missing images and tap: disks are refused with the uname.
        let e = attach_disk(&mut xs, DomId(4), &Disk::parse("file:/nonexistent/x.img,xvda,w").unwrap()).unwrap_err();
        assert_eq!(e.to_string(), "disk file:/nonexistent/x.img: No such file or directory (os error 2)");
        let e = attach_disk(&mut xs, DomId(4), &Disk::parse("tap:aio:/x.img,xvda,w").unwrap()).unwrap_err();
        assert!(e.to_string().starts_with("disk tap:aio:/x.img: tap: disks need blktap"), "{e}");
        let _ = std::fs::remove_file(&img);
    }

    #[test]
    fn vif_on_a_missing_bridge_is_refused_before_its_nodes() {
        let d = Daemon::start("bridge");
        let mut xs = d.client();
        let (v, _) = Vif::parse("bridge=nosuchbr0").unwrap();
        let e = attach_vif(&mut xs, DomId(4), &v, 0).unwrap_err();
        assert_eq!(e.to_string(), "vif 0: bridge 'nosuchbr0' does not exist in dom0");
        assert!(read(&mut xs, &backend_dir(Kind::Vif, DomId(4))).is_none());
    }
}
