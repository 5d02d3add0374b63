#![allow(non_upper_case_globals)] // Xen's SHUTDOWN_* names in patterns

//! PV suspend as Xen's toolstack does it: `control/shutdown = suspend` in
//! xenstore, the guest's xenbus watch freezes it and it calls
//! `SCHEDOP_shutdown(SHUTDOWN_suspend)`; the toolstack waits until
//! `getdomaininfo` shows that shutdown reason. A suspend that must be
//! undone is cancelled as libxc's `xc_domain_resume` does: vcpu 0's
//! `rax` (the hypercall's return value) becomes 1, then
//! `XEN_DOMCTL_resumedomain`; the guest resumes where it was, seeing its
//! suspend cancelled.

use std::time::{Duration, Instant};

use dom0_abi::sched::SHUTDOWN_suspend;
use dom0_abi::DomId;
use xenstore::client::{Client, TxId};

use crate::domstore;
use crate::hypervisor::{HvError, Hypervisor};
use crate::lifecycle::{state_of, DomainState};

/// How long a guest may take to suspend (libxl waits 60 s too).
pub const SUSPEND_TIMEOUT: Duration = Duration::from_secs(60);

/// Why a domain could not be suspended (it is left running).
#[derive(Debug, thiserror::Error)]
pub enum SuspendError {
    /// The request could not be written.
    #[error("asking domain {0} to suspend: {1}")]
    Xenstore(u16, xenstore::client::ClientError),
    /// The guest did not suspend in time.
    #[error("domain {domid} did not suspend within {secs} s (does its kernel handle control/shutdown = suspend?)")]
    Timeout {
        /// The domain.
        domid: u16,
        /// How long we waited.
        secs: u64,
    },
    /// The guest stopped for another reason.
    #[error("domain {domid} shut down (reason {reason}) instead of suspending")]
    OtherShutdown {
        /// The domain.
        domid: u16,
        /// `SHUTDOWN_*`.
        reason: u32,
    },
    /// The domain went away.
    #[error("domain {0} went away while suspending")]
    Gone(u16),
    /// A hypervisor call failed.
    #[error("{step}: {source}")]
    Hypervisor {
        /// What was being done.
        step: &'static str,
        /// The failure.
        source: HvError,
    },
}

/// Whether `dom` is shut down for suspend.
pub fn is_suspended(hv: &dyn Hypervisor, dom: DomId) -> Result<bool, HvError> {
    Ok(state_of(&hv.getdomaininfo(dom)?) == DomainState::Shutdown(SHUTDOWN_suspend))
}

/// Ask `dom` to suspend and wait until it has (polling every
/// millisecond: the wait is part of a migration's downtime).
pub fn suspend(hv: &dyn Hypervisor, xs: &mut Client, dom: DomId, timeout: Duration) -> Result<(), SuspendError> {
    let node = format!("{}/control/shutdown", domstore::dom_path(dom));
    xs.write(TxId::NONE, &node, b"suspend").map_err(|e| SuspendError::Xenstore(dom.0, e))?;
    let deadline = Instant::now() + timeout;
    loop {
        let info = match hv.getdomaininfo(dom) {
            Ok(i) => i,
            Err(_) => return Err(SuspendError::Gone(dom.0)),
        };
        match state_of(&info) {
            DomainState::Shutdown(SHUTDOWN_suspend) => return Ok(()),
            DomainState::Shutdown(reason) => return Err(SuspendError::OtherShutdown { domid: dom.0, reason }),
            DomainState::Dying => return Err(SuspendError::Gone(dom.0)),
            DomainState::Alive => {}
        }
        if Instant::now() > deadline {
            // Withdraw the request the guest never took up.
            if xs.read_string(TxId::NONE, &node).is_ok_and(|v| v == "suspend") {
                let _ = xs.write(TxId::NONE, &node, b"");
            }
            return Err(SuspendError::Timeout { domid: dom.0, secs: timeout.as_secs() });
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Cancel the suspend of a domain shut down for suspend: it resumes with
/// `SCHEDOP_shutdown` returning 1.
pub fn cancel(hv: &dyn Hypervisor, dom: DomId) -> Result<(), SuspendError> {
    let failed = |step| move |source| SuspendError::Hypervisor { step, source };
    let mut ctx = hv.get_vcpu_context(dom, 0).map_err(failed("reading vcpu 0's context"))?;
    ctx.user_regs.rax = 1;
    hv.set_vcpu_context(dom, 0, &ctx).map_err(failed("setting the suspend return value"))?;
    hv.resumedomain(dom).map_err(failed("resuming the domain"))
}
