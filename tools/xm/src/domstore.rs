//! A domain's life in xenstore: the nodes `xm create` writes for a new
//! domain (as xl/xm lay them out), its introduction to xenstored, the name
//! registry backed by `/local/domain/*/name`, and the cleanup when the
//! domain goes.
//!
//! Layout ([`domain_nodes`]), permissions in xenstore's spelling (first
//! entry the owner and the default for others):
//!
//! * `/local/domain/<id>` and its read-only facts (`name`, `domid`, `vm`,
//!   `memory/*`, `console/*`, `store/*`, `cpu/*`,
//!   `control/platform-feature-*`): owned by dom0, readable by the domain
//!   (`n0 r<id>`);
//! * the nodes the domain writes (`control/shutdown`,
//!   `control/feature-{poweroff,reboot,suspend}`, `control/sysrq`,
//!   `device`, `data`, `drivers`, `feature`, `attr`, `error`): owned by the
//!   domain (`n<id>`), as libxl makes them for a PV guest;
//! * `/vm/<uuid>/…`: the configuration the toolstack keeps (actions, image,
//!   memory, and under `xm/` what `xm` needs to rebuild the domain on
//!   restart), `n0 r<id>`.
//!
//! Dom0 is privileged in xenstored and keeps full access to all of it.

use dom0_abi::DomId;
use xenstore::client::{Client, ClientError, TxId};

use crate::build::{BuiltDomain, NameRegistry};
use crate::config::DomainConfig;
use crate::hypervisor::Hypervisor;
use crate::ops;

/// `console/limit`: bytes of console output buffered for a domain (libxl's default).
pub const CONSOLE_LIMIT: u64 = 1_048_576;

/// One node to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    /// Absolute path.
    pub path: String,
    /// Value.
    pub value: String,
    /// Permissions (`["n0", "r5"]`).
    pub perms: Vec<String>,
}

/// Where `xm` found a domain's configuration, kept for restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConfigSource {
    /// The configuration file.
    pub path: String,
    /// `KEY=VALUE` overrides given after it.
    pub overrides: Vec<String>,
    /// The configuration as an image carries it (the file's text as it
    /// was when the domain was built, or the text a restored or migrated
    /// domain arrived with), kept in xenstore so that a later save or
    /// migration needs no file on this host, as xl keeps a domain's
    /// configuration under `/var/lib/xen`.
    pub text: Option<String>,
}

/// Bytes of [`ConfigSource::text`] per xenstore node (a value must fit
/// a 4 KiB xenstore message with its path).
const CONFIG_CHUNK: usize = 2048;

/// The domain's home: `/local/domain/<id>`.
pub fn dom_path(domid: DomId) -> String {
    format!("/local/domain/{}", domid.0)
}

/// A UUID in its usual text form.
pub fn uuid_string(h: &[u8; 16]) -> String {
    let x: String = h.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &x[0..8], &x[8..12], &x[12..16], &x[16..20], &x[20..32])
}

/// Every node of a new domain, parents before children.
pub fn domain_nodes(cfg: &DomainConfig, built: &BuiltDomain, uuid: &str, src: &ConfigSource) -> Vec<Node> {
    let id = built.domid.0;
    let ro = vec!["n0".to_string(), format!("r{id}")];
    let rw = vec![format!("n{id}")];
    let dom = dom_path(built.domid);
    let vm = format!("/vm/{uuid}");
    let maxmem_kib = cfg.maxmem_mib.max(cfg.memory_mib) * 1024;
    let mut nodes = Vec::new();
    let mut add = |path: String, value: String, perms: &Vec<String>| {
        nodes.push(Node { path, value, perms: perms.clone() });
    };
    add(dom.clone(), String::new(), &ro);
    add(format!("{dom}/vm"), vm.clone(), &ro);
    add(format!("{dom}/name"), cfg.name.clone(), &ro);
    add(format!("{dom}/domid"), id.to_string(), &ro);
    add(format!("{dom}/memory"), String::new(), &ro);
    add(format!("{dom}/memory/static-max"), maxmem_kib.to_string(), &ro);
    add(format!("{dom}/memory/target"), (cfg.memory_mib * 1024).to_string(), &ro);
    add(format!("{dom}/console"), String::new(), &ro);
    add(format!("{dom}/console/ring-ref"), built.console_mfn.to_string(), &ro);
    add(format!("{dom}/console/port"), built.console_evtchn.to_string(), &ro);
    add(format!("{dom}/console/type"), "xenconsoled".into(), &ro);
    add(format!("{dom}/console/limit"), CONSOLE_LIMIT.to_string(), &ro);
    add(format!("{dom}/store"), String::new(), &ro);
    add(format!("{dom}/store/ring-ref"), built.store_mfn.to_string(), &ro);
    add(format!("{dom}/store/port"), built.store_evtchn.to_string(), &ro);
    add(format!("{dom}/cpu"), String::new(), &ro);
    for v in 0..cfg.vcpus {
        add(format!("{dom}/cpu/{v}"), String::new(), &ro);
        add(format!("{dom}/cpu/{v}/availability"), "online".into(), &ro);
    }
    add(format!("{dom}/control"), String::new(), &ro);
    // The guest announces what it handles here (Linux's
    // `setup_shutdown_watcher` writes `feature-poweroff` etc.).
    for c in ["shutdown", "feature-poweroff", "feature-reboot", "feature-suspend", "sysrq"] {
        add(format!("{dom}/control/{c}"), String::new(), &rw);
    }
    add(format!("{dom}/control/platform-feature-multiprocessor-suspend"), "1".into(), &ro);
    add(format!("{dom}/control/platform-feature-xs_reset_watches"), "1".into(), &ro);
    for d in ["device", "data", "drivers", "feature", "attr", "error"] {
        add(format!("{dom}/{d}"), String::new(), &rw);
    }
    add(vm.clone(), String::new(), &ro);
    add(format!("{vm}/uuid"), uuid.into(), &ro);
    add(format!("{vm}/name"), cfg.name.clone(), &ro);
    add(format!("{vm}/memory"), cfg.memory_mib.to_string(), &ro);
    add(format!("{vm}/maxmem"), cfg.maxmem_mib.max(cfg.memory_mib).to_string(), &ro);
    add(format!("{vm}/vcpus"), cfg.vcpus.to_string(), &ro);
    add(format!("{vm}/on_poweroff"), cfg.on_poweroff.as_str().into(), &ro);
    add(format!("{vm}/on_reboot"), cfg.on_reboot.as_str().into(), &ro);
    add(format!("{vm}/on_crash"), cfg.on_crash.as_str().into(), &ro);
    add(format!("{vm}/image"), String::new(), &ro);
    add(format!("{vm}/image/ostype"), "linux".into(), &ro);
    add(format!("{vm}/image/kernel"), cfg.kernel.clone(), &ro);
    add(format!("{vm}/image/ramdisk"), cfg.ramdisk.clone().unwrap_or_default(), &ro);
    let cmdline = crate::build::startinfo::cmdline(cfg.root.as_deref(), cfg.extra.as_deref());
    add(format!("{vm}/image/cmdline"), cmdline, &ro);
    add(format!("{vm}/xm"), String::new(), &ro);
    add(format!("{vm}/xm/config"), src.path.clone(), &ro);
    add(format!("{vm}/xm/overrides"), src.overrides.join("\n"), &ro);
    if let Some(text) = &src.text {
        add(format!("{vm}/xm/config-text"), String::new(), &ro);
        for (i, chunk) in chunks(text, CONFIG_CHUNK).into_iter().enumerate() {
            add(format!("{vm}/xm/config-text/{i}"), chunk.to_string(), &ro);
        }
    }
    nodes
}

/// Write `nodes` in one transaction (retried on conflicts).
pub fn write_nodes(xs: &mut Client, nodes: &[Node]) -> Result<(), ClientError> {
    xs.transaction(5, |c, tx| {
        for n in nodes {
            c.write(tx, &n.path, n.value.as_bytes())?;
            let perms: Vec<&str> = n.perms.iter().map(String::as_str).collect();
            c.set_perms(tx, &n.path, &perms)?;
        }
        Ok(())
    })
}

/// Write a new domain's nodes and introduce it to xenstored.
pub fn introduce(
    xs: &mut Client,
    cfg: &DomainConfig,
    built: &BuiltDomain,
    uuid: &str,
    src: &ConfigSource,
) -> Result<(), ClientError> {
    write_nodes(xs, &domain_nodes(cfg, built, uuid, src))?;
    xs.introduce(u32::from(built.domid.0), built.store_mfn, built.store_evtchn)
}

/// The `/vm/<uuid>` path of a domain, if xenstore has it.
pub fn vm_path(xs: &mut Client, domid: DomId) -> Option<String> {
    xs.read_string(TxId::NONE, &format!("{}/vm", dom_path(domid))).ok().filter(|p| p.starts_with("/vm/"))
}

/// Forget a domain in xenstore: release it and remove its nodes
/// (best effort: missing pieces are fine).
pub fn forget(xs: &mut Client, domid: DomId) {
    let vm = vm_path(xs, domid);
    let _ = xs.release(u32::from(domid.0));
    let _ = xs.rm(TxId::NONE, &dom_path(domid));
    if let Some(vm) = vm {
        let _ = xs.rm(TxId::NONE, &vm);
    }
}

/// Domain names from `/local/domain/*/name`, for domains the hypervisor
/// still has (stale nodes of vanished domains do not hold a name).
pub struct XsNames<'a> {
    /// The store.
    pub xs: std::cell::RefCell<&'a mut Client>,
    /// The hypervisor, to check the domain exists.
    pub hv: &'a dyn Hypervisor,
}

impl NameRegistry for XsNames<'_> {
    fn lookup(&self, name: &str) -> Result<Option<DomId>, String> {
        let live = ops::domains(self.hv).map_err(|e| e.to_string())?;
        let mut xs = self.xs.borrow_mut();
        for d in live {
            let n = xs.read_string(TxId::NONE, &format!("{}/name", dom_path(d.domain)));
            if n.as_deref().ok() == Some(name) || (d.domain.0 == 0 && n.is_err() && name == "Domain-0") {
                return Ok(Some(d.domain));
            }
        }
        Ok(None)
    }
}

/// Record when the domain started running (`/vm/<uuid>/start_time`,
/// seconds since the epoch, as xend kept it); best effort: without it `xm
/// uptime` shows `-`.
pub fn set_start_time(xs: &mut Client, domid: DomId, secs: f64) {
    if let Some(vm) = vm_path(xs, domid) {
        let _ = xs.write(TxId::NONE, &format!("{vm}/start_time"), format!("{secs:.2}").as_bytes());
    }
}

/// When the toolstack last restarted the domain (`/vm/<uuid>/xm/restart_time`,
/// seconds since the epoch), if it did.
pub fn restart_time(xs: &mut Client, domid: DomId) -> Option<u64> {
    let vm = vm_path(xs, domid)?;
    xs.read_string(TxId::NONE, &format!("{vm}/xm/restart_time")).ok()?.trim().parse().ok()
}

/// Record that the domain was just restarted (best effort: without the
/// record the next restart is simply not rate-limited).
pub fn set_restart_time(xs: &mut Client, domid: DomId, secs: u64) {
    if let Some(vm) = vm_path(xs, domid) {
        let _ = xs.write(TxId::NONE, &format!("{vm}/xm/restart_time"), secs.to_string().as_bytes());
    }
}

/// The configuration source recorded for a domain, if any.
pub fn config_source(xs: &mut Client, domid: DomId) -> Option<ConfigSource> {
    let vm = vm_path(xs, domid)?;
    let path = xs.read_string(TxId::NONE, &format!("{vm}/xm/config")).ok()?;
    let overrides = xs.read_string(TxId::NONE, &format!("{vm}/xm/overrides")).unwrap_or_default();
    let mut text: Option<String> = None;
    for i in 0.. {
        let Ok(chunk) = xs.read_string(TxId::NONE, &format!("{vm}/xm/config-text/{i}")) else { break };
        text.get_or_insert_with(String::new).push_str(&chunk);
    }
    Some(ConfigSource { path, overrides: overrides.lines().filter(|l| !l.is_empty()).map(String::from).collect(), text })
}

/// `text` cut into pieces of at most `max` bytes, on character boundaries
/// (at least one piece, so that an empty text is kept too).
fn chunks(text: &str, max: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    loop {
        let mut end = rest.len().min(max);
        while !rest.is_char_boundary(end) {
            end -= 1;
        }
        out.push(&rest[..end]);
        rest = &rest[end..];
        if rest.is_empty() {
            return out;
        }
    }
}

/// A domain's configured action for a shutdown `reason` (`SHUTDOWN_*`),
/// from `/vm/<uuid>/on_*`; `None` when xenstore does not say.
pub fn action_for(xs: &mut Client, domid: DomId, reason: u32) -> Option<String> {
    let key = match reason {
        dom0_abi::sched::SHUTDOWN_poweroff => "on_poweroff",
        dom0_abi::sched::SHUTDOWN_reboot => "on_reboot",
        dom0_abi::sched::SHUTDOWN_crash | dom0_abi::sched::SHUTDOWN_watchdog => "on_crash",
        _ => return None,
    };
    let vm = vm_path(xs, domid)?;
    xs.read_string(TxId::NONE, &format!("{vm}/{key}")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> DomainConfig {
        let (c, _) = crate::config::parse_str(
            "name = 'g1'\nkernel = '/k'\nmemory = 32\nvcpus = 2\nextra = 'crash'\non_crash = 'restart'\n",
            "t.cfg",
            &[],
        )
        .unwrap();
        c
    }

    #[test]
    fn layout_and_permissions() {
        let built =
            BuiltDomain { domid: DomId(7), store_mfn: 0x1234, store_evtchn: 1, console_mfn: 0x1235, console_evtchn: 2 };
        let src = ConfigSource {
            path: "/etc/g1.cfg".into(),
            overrides: vec!["memory=32".into(), "name=g1".into()],
            text: Some(format!("{}é", "x".repeat(CONFIG_CHUNK - 1))),
        };
        let nodes = domain_nodes(&cfg(), &built, "u-u-i-d", &src);
        let get = |p: &str| nodes.iter().find(|n| n.path == p).unwrap_or_else(|| panic!("no {p}"));
        assert_eq!(get("/local/domain/7/name").value, "g1");
        assert_eq!(get("/local/domain/7/domid").value, "7");
        assert_eq!(get("/local/domain/7/vm").value, "/vm/u-u-i-d");
        assert_eq!(get("/local/domain/7/memory/target").value, "32768");
        assert_eq!(get("/local/domain/7/console/ring-ref").value, "4661");
        assert_eq!(get("/local/domain/7/console/port").value, "2");
        assert_eq!(get("/local/domain/7/console/type").value, "xenconsoled");
        assert_eq!(get("/local/domain/7/cpu/1/availability").value, "online");
        assert_eq!(get("/local/domain/7/name").perms, ["n0", "r7"]);
        assert_eq!(get("/local/domain/7/control/shutdown").perms, ["n7"]);
        assert_eq!(get("/local/domain/7/control/feature-poweroff").perms, ["n7"]);
        assert_eq!(get("/local/domain/7/control/sysrq").perms, ["n7"]);
        assert_eq!(get("/local/domain/7/device").perms, ["n7"]);
        assert_eq!(get("/vm/u-u-i-d/on_crash").value, "restart");
        assert_eq!(get("/vm/u-u-i-d/image/cmdline").value, "crash");
        assert_eq!(get("/vm/u-u-i-d/xm/overrides").value, "memory=32\nname=g1");
        // The text in pieces that fit a xenstore message, cut between
        // characters ('é' is two bytes and would straddle the first cut).
        assert_eq!(get("/vm/u-u-i-d/xm/config-text/0").value, "x".repeat(CONFIG_CHUNK - 1));
        assert_eq!(get("/vm/u-u-i-d/xm/config-text/1").value, "é");
        assert!(!nodes.iter().any(|n| n.path == "/vm/u-u-i-d/xm/config-text/2"));
        // Parents come before their children.
        for (i, n) in nodes.iter().enumerate() {
            if let Some((parent, _)) = n.path.rsplit_once('/') {
                if let Some(j) = nodes.iter().position(|m| m.path == parent) {
                    assert!(j < i, "{} before its parent", n.path);
                }
            }
        }
    }

    #[test]
    fn uuid_text() {
        let h: [u8; 16] = core::array::from_fn(|i| i as u8 * 17);
        assert_eq!(uuid_string(&h), "00112233-4455-6677-8899-aabbccddeeff");
    }
}
