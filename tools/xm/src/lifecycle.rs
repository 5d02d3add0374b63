//! A domU's life cycle around the builder: create (build, write its
//! xenstore nodes, introduce it, set up its disks and vifs, unpause),
//! destroy (tear its devices down and forget it in xenstore), and what to do when it stops by itself ([`decide`], carried
//! out by [`handle_stopped`]: `on_poweroff`, `on_reboot`, `on_crash`).
//!
//! Nothing is left behind on failure: a domain that could not be
//! introduced or started is destroyed and its nodes removed.

use std::path::Path;

use dom0_abi::domctl::{XenDomctlGetdomaininfo, XEN_DOMINF_dying, XEN_DOMINF_shutdown};
use dom0_abi::DomId;
use xenstore::client::{Client, ClientError};

use crate::build::{self, BuildError, BuiltDomain, Images, NoNames};
use crate::config::{self, ConfigError, DomainConfig};
use crate::devices;
use crate::domstore::{self, ConfigSource, XsNames};
use crate::hypervisor::{HvError, Hypervisor};

/// Why a life-cycle step failed.
#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    /// The builder failed (nothing of the domain is left).
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Xenstore refused a step (the domain was destroyed).
    #[error("{step}: {source}")]
    Xenstore {
        /// What was being done.
        step: &'static str,
        /// The failure.
        source: ClientError,
    },
    /// The saved configuration could not be read again (restart).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A disk or network interface could not be set up (the domain was
    /// destroyed).
    #[error(transparent)]
    Device(#[from] crate::devices::DeviceError),
    /// A hypervisor operation failed.
    #[error("{step}: {source}")]
    Hypervisor {
        /// What was being done.
        step: &'static str,
        /// The failure.
        source: HvError,
    },
}

/// Build, introduce and start the domain `cfg` describes. With `xs`, the
/// name is checked against xenstore, the nodes are written and the domain
/// introduced before it runs; without, it runs with no xenstore.
pub fn create(
    hv: &dyn Hypervisor,
    xs: Option<&mut Client>,
    cfg: &DomainConfig,
    images: &Images,
    src: &ConfigSource,
) -> Result<BuiltDomain, LifecycleError> {
    let Some(xs) = xs else {
        let built = build::build(hv, cfg, images, &NoNames)?;
        build::start(hv, &built)?;
        return Ok(built);
    };
    let built = {
        let names = XsNames { xs: std::cell::RefCell::new(&mut *xs), hv };
        build::build(hv, cfg, images, &names)?
    };
    let uuid = hv
        .getdomaininfo(built.domid)
        .map(|i| domstore::uuid_string(&i.handle))
        .unwrap_or_else(|_| format!("00000000-0000-4000-8000-{:012x}", built.domid.0));
    if let Err(source) = domstore::introduce(xs, cfg, &built, &uuid, src) {
        let _ = hv.destroydomain(built.domid);
        domstore::forget(xs, built.domid);
        return Err(LifecycleError::Xenstore { step: "introducing the domain to xenstore", source });
    }
    if let Err(e) = devices::setup_all(xs, built.domid, cfg) {
        let _ = hv.destroydomain(built.domid);
        domstore::forget(xs, built.domid);
        return Err(e.into());
    }
    if let Err(e) = build::start(hv, &built) {
        devices::teardown_all(xs, built.domid);
        domstore::forget(xs, built.domid);
        return Err(e.into());
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64());
    domstore::set_start_time(xs, built.domid, now);
    Ok(built)
}

/// Destroy a domain and forget it in xenstore.
pub fn destroy(hv: &dyn Hypervisor, xs: Option<&mut Client>, domid: DomId) -> Result<(), LifecycleError> {
    hv.destroydomain(domid).map_err(|source| LifecycleError::Hypervisor { step: "destroying the domain", source })?;
    if let Some(xs) = xs {
        devices::teardown_all(xs, domid);
        domstore::forget(xs, domid);
    }
    Ok(())
}

/// Where a domain is in its life, as the watcher sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DomainState {
    /// Running, blocked or paused: nothing to do.
    Alive,
    /// Shut down with a `SHUTDOWN_*` reason, not yet handled.
    Shutdown(u32),
    /// Being torn down by the hypervisor.
    Dying,
}

/// The state of a domain from its `getdomaininfo`.
pub fn state_of(info: &XenDomctlGetdomaininfo) -> DomainState {
    if info.flags & XEN_DOMINF_dying != 0 {
        DomainState::Dying
    } else if info.flags & XEN_DOMINF_shutdown != 0 {
        DomainState::Shutdown(info.shutdown_reason())
    } else {
        DomainState::Alive
    }
}

/// What to do with a stopped domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing (alive, dying, or already preserved).
    Nothing,
    /// Destroy it.
    Destroy,
    /// Destroy it and build it again from its configuration.
    Restart,
    /// Leave it as it is.
    Preserve,
}

/// The decision for a domain in `state` whose configured action for the
/// reason is `action` (`on_*` spelling; `None`: not configured, where
/// `xm`'s defaults apply: destroy on poweroff, restart on reboot, destroy
/// on crash).
pub fn decide(state: DomainState, action: Option<&str>) -> Decision {
    let DomainState::Shutdown(reason) = state else { return Decision::Nothing };
    let default = match reason {
        dom0_abi::sched::SHUTDOWN_reboot => "restart",
        dom0_abi::sched::SHUTDOWN_suspend => return Decision::Nothing,
        _ => "destroy",
    };
    match action.unwrap_or(default) {
        "restart" | "rename-restart" | "coredump-restart" => Decision::Restart,
        "preserve" => Decision::Preserve,
        _ => Decision::Destroy,
    }
}

/// A domain restarted that crashes within this many seconds of its restart
/// is destroyed instead of restarted once more (`on_crash = 'restart'`), as
/// xend's `MINIMUM_RESTART_TIME`: a guest crashing at boot does not loop.
/// Reboots the guest asks for are not limited.
pub const MIN_RESTART_SECS: u64 = 60;

/// Whether a domain last restarted at `last_restart` (seconds since the
/// epoch; `None`: never restarted) may be restarted at `now`.
pub fn restart_allowed(last_restart: Option<u64>, now: u64) -> bool {
    last_restart.is_none_or(|t| now.saturating_sub(t) >= MIN_RESTART_SECS)
}

/// Seconds since the epoch.
fn now_secs() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// What [`handle_stopped`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Handled {
    /// Nothing to do.
    Nothing,
    /// The domain was destroyed.
    Destroyed,
    /// The domain was destroyed and built again under a new id.
    Restarted(DomId),
    /// The domain is left shut down.
    Preserved,
    /// The domain was to be restarted but had been restarted less than
    /// [`MIN_RESTART_SECS`] before: it was destroyed instead.
    RestartRefused,
}

/// Carry out the configured action for a domain that shut down.
pub fn handle_stopped(
    hv: &dyn Hypervisor,
    xs: &mut Client,
    info: &XenDomctlGetdomaininfo,
) -> Result<Handled, LifecycleError> {
    let state = state_of(info);
    let domid = info.domain;
    let action = match state {
        DomainState::Shutdown(reason) => domstore::action_for(xs, domid, reason),
        _ => None,
    };
    match decide(state, action.as_deref()) {
        Decision::Nothing => Ok(Handled::Nothing),
        Decision::Preserve => Ok(Handled::Preserved),
        Decision::Destroy => destroy(hv, Some(xs), domid).map(|()| Handled::Destroyed),
        Decision::Restart => {
            let src = domstore::config_source(xs, domid);
            let last = domstore::restart_time(xs, domid);
            destroy(hv, Some(xs), domid)?;
            let crashed = matches!(state, DomainState::Shutdown(r) if r == dom0_abi::sched::SHUTDOWN_crash || r == dom0_abi::sched::SHUTDOWN_watchdog);
            if crashed && !restart_allowed(last, now_secs()) {
                return Ok(Handled::RestartRefused);
            }
            let Some(src) = src else { return Ok(Handled::Destroyed) };
            let (cfg, _) = config::load(Path::new(&src.path), &src.overrides)?;
            let images = Images::load(&cfg)?;
            let built = create(hv, Some(xs), &cfg, &images, &src)?;
            domstore::set_restart_time(xs, built.domid, now_secs());
            Ok(Handled::Restarted(built.domid))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dom0_abi::sched::{SHUTDOWN_crash, SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_suspend};

    #[test]
    fn states_from_flags() {
        let mut i = XenDomctlGetdomaininfo::default();
        assert_eq!(state_of(&i), DomainState::Alive);
        i.flags = XenDomctlGetdomaininfo::with_shutdown_reason(XEN_DOMINF_shutdown, SHUTDOWN_crash);
        assert_eq!(state_of(&i), DomainState::Shutdown(SHUTDOWN_crash));
        i.flags |= XEN_DOMINF_dying;
        assert_eq!(state_of(&i), DomainState::Dying);
    }

    #[test]
    fn restart_rate_limit() {
        assert!(restart_allowed(None, 1000));
        assert!(!restart_allowed(Some(1000), 1000 + MIN_RESTART_SECS - 1));
        assert!(restart_allowed(Some(1000), 1000 + MIN_RESTART_SECS));
        // A clock that went backwards counts as "just now".
        assert!(!restart_allowed(Some(1000), 10));
    }

    #[test]
    fn actions() {
        use Decision::*;
        let s = DomainState::Shutdown;
        assert_eq!(decide(DomainState::Alive, Some("restart")), Nothing);
        assert_eq!(decide(DomainState::Dying, None), Nothing);
        assert_eq!(decide(s(SHUTDOWN_poweroff), None), Destroy);
        assert_eq!(decide(s(SHUTDOWN_reboot), None), Restart);
        assert_eq!(decide(s(SHUTDOWN_crash), None), Destroy);
        assert_eq!(decide(s(SHUTDOWN_crash), Some("restart")), Restart);
        assert_eq!(decide(s(SHUTDOWN_crash), Some("preserve")), Preserve);
        assert_eq!(decide(s(SHUTDOWN_reboot), Some("destroy")), Destroy);
        assert_eq!(decide(s(SHUTDOWN_poweroff), Some("coredump-destroy")), Destroy);
        assert_eq!(decide(s(SHUTDOWN_suspend), None), Nothing);
    }
}
