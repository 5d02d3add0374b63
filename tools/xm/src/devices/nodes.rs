//! The xenstore side of virtual devices: where a vbd's and a vif's
//! frontend and backend live, the keys the toolstack writes there (as Xen's
//! toolstack lays them out, and as Linux's `xen-blkback`/`xen-netback` and
//! `xen-blkfront`/`xen-netfront` read them), and the sharing rule for
//! writable disks. Pure functions; [`super`] writes and removes them.
//!
//! * backend: `/local/domain/0/backend/<kind>/<domid>/<devid>`, owned by
//!   dom0 and readable by the guest (`n0 r<domid>`);
//! * frontend: `/local/domain/<domid>/device/<kind>/<devid>`, owned by the
//!   guest, which writes its ring references and event channel there
//!   (`n<domid> r0`).
//!
//! Both start in `state` 1 (Initialising). The kernel backend moves to
//! InitWait (2) when it probes, the frontend then publishes its rings and
//! both reach Connected (4). `xen-netback` waits for `hotplug-status =
//! connected` in its backend directory before it connects: the toolstack
//! writes it once the interface is on its bridge ([`super::hotplug`]).

use dom0_abi::DomId;

use crate::config::{Disk, DiskMode, MacAddr, Vif};
use crate::domstore::Node;

/// The two device classes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A virtual block device (`disk`).
    Vbd,
    /// A virtual network interface (`vif`).
    Vif,
}

impl Kind {
    /// The xenstore spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Vbd => "vbd",
            Kind::Vif => "vif",
        }
    }
}

/// `state` values of xenbus devices (`XenbusState`).
pub mod state {
    /// Setting up.
    pub const INITIALISING: u32 = 1;
    /// The backend waits for the frontend.
    pub const INIT_WAIT: u32 = 2;
    /// Connected.
    pub const CONNECTED: u32 = 4;
    /// Shutting down.
    pub const CLOSING: u32 = 5;
    /// Shut down.
    pub const CLOSED: u32 = 6;
}

/// The backend directory of a device (backends run in dom0).
pub fn backend_path(kind: Kind, domid: DomId, devid: u32) -> String {
    format!("{}/{devid}", backend_dir(kind, domid))
}

/// The directory holding all backends of `kind` for a domain.
pub fn backend_dir(kind: Kind, domid: DomId) -> String {
    format!("/local/domain/0/backend/{}/{}", kind.as_str(), domid.0)
}

/// The frontend directory of a device.
pub fn frontend_path(kind: Kind, domid: DomId, devid: u32) -> String {
    format!("{}/{devid}", frontend_dir(kind, domid))
}

/// The directory holding all frontends of `kind` of a domain.
pub fn frontend_dir(kind: Kind, domid: DomId) -> String {
    format!("/local/domain/{}/device/{}", domid.0, kind.as_str())
}

/// Name of the backend device in dom0's sysfs (`/sys/bus/xen-backend/devices/`).
pub fn sysfs_backend_name(kind: Kind, domid: DomId, devid: u32) -> String {
    format!("{}-{}-{devid}", kind.as_str(), domid.0)
}

/// The interface `xen-netback` creates for a vif: `vif<domid>.<devid>`.
pub fn vif_ifname(domid: DomId, devid: u32) -> String {
    format!("vif{}.{devid}", domid.0)
}

/// What the dom0 side of a disk resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DiskBacking {
    /// `params`: the image (canonical path) or device as configured.
    pub params: String,
    /// The block device blkback opens: major and minor.
    pub major: u32,
    /// Minor number.
    pub minor: u32,
    /// Its node (`/dev/loop3` for `file:`, the device for `phy:`).
    pub node: String,
}

/// Push the nodes of a directory `path` with `perms`, then its `keys`.
fn dir(nodes: &mut Vec<Node>, path: &str, perms: &[String], keys: &[(&str, String)]) {
    nodes.push(Node { path: path.to_string(), value: String::new(), perms: perms.to_vec() });
    for (k, v) in keys {
        nodes.push(Node { path: format!("{path}/{k}"), value: v.clone(), perms: perms.to_vec() });
    }
}

fn perms(domid: DomId) -> (Vec<String>, Vec<String>) {
    let be = vec!["n0".to_string(), format!("r{}", domid.0)];
    let fe = vec![format!("n{}", domid.0), "r0".to_string()];
    (be, fe)
}

/// The nodes of a vbd: frontend then backend (Linux's backend bus checks
/// that the frontend exists when it sees the backend, so one transaction
/// writes both).
pub fn vbd_nodes(domid: DomId, disk: &Disk, backing: &DiskBacking) -> Vec<Node> {
    let devid = disk.devid.0;
    let (be_perms, fe_perms) = perms(domid);
    let fe = frontend_path(Kind::Vbd, domid, devid);
    let be = backend_path(Kind::Vbd, domid, devid);
    let mut nodes = Vec::new();
    dir(&mut nodes, &frontend_dir(Kind::Vbd, domid), &fe_perms, &[]);
    dir(
        &mut nodes,
        &fe,
        &fe_perms,
        &[
            ("backend", be.clone()),
            ("backend-id", "0".into()),
            ("state", state::INITIALISING.to_string()),
            ("virtual-device", devid.to_string()),
            ("device-type", "disk".into()),
        ],
    );
    dir(&mut nodes, &backend_dir(Kind::Vbd, domid), &be_perms, &[]);
    let ty = match disk.backend {
        crate::config::DiskBackend::Phy => "phy",
        crate::config::DiskBackend::File => "file",
        crate::config::DiskBackend::Tap(_) => "tap",
    };
    dir(
        &mut nodes,
        &be,
        &be_perms,
        &[
            ("frontend", fe),
            ("frontend-id", domid.0.to_string()),
            ("online", "1".into()),
            ("state", state::INITIALISING.to_string()),
            ("removable", "0".into()),
            ("bootable", "1".into()),
            ("dev", disk.vdev.clone()),
            ("type", ty.into()),
            ("mode", disk.mode.as_str().into()),
            ("device-type", "disk".into()),
            ("params", backing.params.clone()),
            ("node", backing.node.clone()),
            // What Xen's block script writes: blkback opens this device.
            ("physical-device", format!("{:x}:{:x}", backing.major, backing.minor)),
            ("physical-device-path", backing.node.clone()),
            ("hotplug-status", "connected".into()),
        ],
    );
    nodes
}

/// A vif as it is set up: its number, MAC and bridge resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VifPlan {
    /// Device number (`handle`).
    pub devid: u32,
    /// MAC address.
    pub mac: MacAddr,
    /// Bridge the backend interface joins.
    pub bridge: String,
    /// The hotplug script (`vif-bridge` unless configured).
    pub script: String,
    /// `ip=`, passed on as Xen's toolstack does.
    pub ip: Option<String>,
    /// `vifname=`: the backend interface's name, if not `vif<domid>.<devid>`.
    pub vifname: Option<String>,
}

impl VifPlan {
    /// The backend interface's name in dom0.
    pub fn ifname(&self, domid: DomId) -> String {
        self.vifname.clone().unwrap_or_else(|| vif_ifname(domid, self.devid))
    }

    /// The plan for configured `vif` number `devid`; `mac` is used when
    /// the entry has none, `bridge` when it names none.
    pub fn new(vif: &Vif, devid: u32, mac: MacAddr, bridge: &str) -> VifPlan {
        VifPlan {
            devid,
            mac: vif.mac.unwrap_or(mac),
            bridge: vif.bridge.clone().unwrap_or_else(|| bridge.to_string()),
            script: vif.script.clone().unwrap_or_else(|| DEFAULT_VIF_SCRIPT.to_string()),
            ip: vif.ip.clone(),
            vifname: vif.vifname.clone(),
        }
    }
}

/// The hotplug script of a vif when the configuration names none.
pub const DEFAULT_VIF_SCRIPT: &str = "vif-bridge";

/// The nodes of a vif: frontend then backend. `hotplug-status` is not
/// among them: it is written once the interface is up on its bridge.
pub fn vif_nodes(domid: DomId, plan: &VifPlan) -> Vec<Node> {
    let devid = plan.devid;
    let (be_perms, fe_perms) = perms(domid);
    let fe = frontend_path(Kind::Vif, domid, devid);
    let be = backend_path(Kind::Vif, domid, devid);
    let mut nodes = Vec::new();
    dir(&mut nodes, &frontend_dir(Kind::Vif, domid), &fe_perms, &[]);
    dir(
        &mut nodes,
        &fe,
        &fe_perms,
        &[
            ("backend", be.clone()),
            ("backend-id", "0".into()),
            ("state", state::INITIALISING.to_string()),
            ("handle", devid.to_string()),
            ("mac", plan.mac.to_string()),
        ],
    );
    dir(&mut nodes, &backend_dir(Kind::Vif, domid), &be_perms, &[]);
    let mut keys = vec![
        ("frontend", fe),
        ("frontend-id", domid.0.to_string()),
        ("online", "1".into()),
        ("state", state::INITIALISING.to_string()),
        ("script", plan.script.clone()),
        ("mac", plan.mac.to_string()),
        ("bridge", plan.bridge.clone()),
        ("handle", devid.to_string()),
        ("type", "vif".into()),
    ];
    if let Some(ip) = &plan.ip {
        keys.push(("ip", ip.clone()));
    }
    if let Some(name) = &plan.vifname {
        keys.push(("vifname", name.clone()));
    }
    dir(&mut nodes, &be, &be_perms, &keys);
    nodes
}

/// One existing vbd backend, as the sharing check sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VbdUse {
    /// The domain using it.
    pub domid: DomId,
    /// Its `params`.
    pub params: String,
    /// Its `physical-device` (`major:minor` in hex), if written.
    pub physical_device: Option<String>,
    /// Its `mode`.
    pub mode: String,
}

/// The domain already using a disk in a way that forbids a new use by
/// `domid` in `mode` (Xen's `block` script rule: a writable use excludes
/// any other, unless the new one is `w!`), if any. A disk is the same when
/// its `params` or its `physical-device` is.
pub fn sharing_conflict(
    uses: &[VbdUse],
    domid: DomId,
    mode: DiskMode,
    params: &str,
    physical_device: Option<&str>,
) -> Option<VbdUse> {
    if mode == DiskMode::ForceReadWrite {
        return None;
    }
    let writable = mode == DiskMode::ReadWrite;
    uses.iter()
        .filter(|u| u.domid != domid)
        .filter(|u| u.params == params || (physical_device.is_some() && u.physical_device.as_deref() == physical_device))
        .find(|u| writable || u.mode.starts_with('w'))
        .cloned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(nodes: &'a [Node], p: &str) -> &'a Node {
        nodes.iter().find(|n| n.path == p).unwrap_or_else(|| panic!("no {p} in {nodes:#?}"))
    }

    #[test]
    fn vbd_layout() {
        let disk = Disk::parse("file:/img/root.ext4,xvda,w").unwrap();
        let backing = DiskBacking { params: "/img/root.ext4".into(), major: 7, minor: 3, node: "/dev/loop3".into() };
        let nodes = vbd_nodes(DomId(5), &disk, &backing);
        let fe = "/local/domain/5/device/vbd/51712";
        let be = "/local/domain/0/backend/vbd/5/51712";
        assert_eq!(get(&nodes, &format!("{fe}/backend")).value, be);
        assert_eq!(get(&nodes, &format!("{fe}/virtual-device")).value, "51712");
        assert_eq!(get(&nodes, &format!("{fe}/state")).value, "1");
        assert_eq!(get(&nodes, &format!("{fe}/state")).perms, ["n5", "r0"]);
        assert_eq!(get(&nodes, &format!("{be}/frontend")).value, fe);
        assert_eq!(get(&nodes, &format!("{be}/frontend-id")).value, "5");
        assert_eq!(get(&nodes, &format!("{be}/physical-device")).value, "7:3");
        assert_eq!(get(&nodes, &format!("{be}/mode")).value, "w");
        assert_eq!(get(&nodes, &format!("{be}/type")).value, "file");
        assert_eq!(get(&nodes, &format!("{be}/dev")).value, "xvda");
        assert_eq!(get(&nodes, be).perms, ["n0", "r5"]);
        // The frontend is written before the backend.
        let pos = |p: &str| nodes.iter().position(|n| n.path == p).unwrap();
        assert!(pos(&format!("{fe}/state")) < pos(be));
        // A major:minor above 15 in hex, as blkback scans it ("%x:%x").
        let backing = DiskBacking { major: 253, minor: 16, ..backing };
        assert_eq!(get(&vbd_nodes(DomId(5), &disk, &backing), &format!("{be}/physical-device")).value, "fd:10");
    }

    #[test]
    fn vif_layout() {
        let (vif, _) = Vif::parse("mac=00:16:3e:00:00:13, bridge=xenbr1, ip=10.0.0.2").unwrap();
        let plan = VifPlan::new(&vif, 1, "00:16:3e:aa:bb:cc".parse().unwrap(), "xenbr0");
        assert_eq!(plan.bridge, "xenbr1");
        assert_eq!(plan.mac.to_string(), "00:16:3e:00:00:13");
        assert_eq!(plan.ifname(DomId(4)), "vif4.1");
        let nodes = vif_nodes(DomId(4), &plan);
        let fe = "/local/domain/4/device/vif/1";
        let be = "/local/domain/0/backend/vif/4/1";
        assert_eq!(get(&nodes, &format!("{fe}/mac")).value, "00:16:3e:00:00:13");
        assert_eq!(get(&nodes, &format!("{fe}/handle")).value, "1");
        assert_eq!(get(&nodes, &format!("{be}/bridge")).value, "xenbr1");
        assert_eq!(get(&nodes, &format!("{be}/script")).value, "vif-bridge");
        assert_eq!(get(&nodes, &format!("{be}/ip")).value, "10.0.0.2");
        assert_eq!(get(&nodes, &format!("{be}/state")).value, "1");
        assert!(!nodes.iter().any(|n| n.path.ends_with("hotplug-status")));
        // Defaults fill what the entry leaves out.
        let plan = VifPlan::new(&Vif::default(), 0, "00:16:3e:aa:bb:cc".parse().unwrap(), "xenbr0");
        assert_eq!((plan.bridge.as_str(), plan.mac.to_string()), ("xenbr0", "00:16:3e:aa:bb:cc".to_string()));
    }

    #[test]
    fn writable_disks_are_not_shared() {
        let uses = [VbdUse { domid: DomId(3), params: "/img/a".into(), physical_device: Some("7:0".into()), mode: "w".into() }];
        let c = |domid, mode, params: &str, pd: Option<&str>| sharing_conflict(&uses, DomId(domid), mode, params, pd).map(|u| u.domid.0);
        assert_eq!(c(4, DiskMode::ReadWrite, "/img/a", None), Some(3));
        assert_eq!(c(4, DiskMode::ReadOnly, "/img/a", None), Some(3));
        assert_eq!(c(4, DiskMode::ForceReadWrite, "/img/a", None), None);
        assert_eq!(c(4, DiskMode::ReadWrite, "/dev/x", Some("7:0")), Some(3));
        assert_eq!(c(4, DiskMode::ReadWrite, "/img/b", Some("7:1")), None);
        // Its own disks do not count.
        assert_eq!(c(3, DiskMode::ReadWrite, "/img/a", None), None);
        // Read-only uses share with read-only ones only.
        let ro = [VbdUse { mode: "r".into(), ..uses[0].clone() }];
        assert_eq!(sharing_conflict(&ro, DomId(4), DiskMode::ReadOnly, "/img/a", None), None);
        assert_eq!(sharing_conflict(&ro, DomId(4), DiskMode::ReadWrite, "/img/a", None).map(|u| u.domid), Some(DomId(3)));
    }
}
