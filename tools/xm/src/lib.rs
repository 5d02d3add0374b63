//! `xm`: the toolstack users touch. Runs in dom0 and drives the hypervisor
//! through `/dev/xen/privcmd`.
//!
//! Layers, bottom up: [`hypervisor`] (the [`hypervisor::Hypervisor`] trait
//! over `/dev/xen/privcmd`, hypercall buffers, foreign mappings, event
//! channels, and a fake for host tests), [`ops`] (typed sysctl/domctl/
//! xen_version queries), [`commands`] (the commands and their output
//! formats), [`build`] (the PV domain builder of `xm create`), [`cli`]
//! (clap definitions and dispatch), [`domstore`] and [`lifecycle`] (a
//! domain's xenstore nodes; create, destroy and the `on_*` actions),
//! [`consoled`] (the console daemon and `xm console`), [`devices`] (vbd
//! and vif: xenstore nodes and the dom0 hotplug side). Besides, the
//! configuration-file reader ([`config`]), the SXP printer ([`sxp`]) and
//! domain names from xenstore ([`xs`]).

// Configuration errors carry their location and the offending text by value;
// they are built once, on the failure path, so their size does not matter.
#![allow(clippy::result_large_err)]
#![warn(missing_docs)]

pub mod build;
pub mod cli;
pub mod commands;
pub mod config;
pub mod consoled;
pub mod devices;
pub mod domstore;
pub mod hypervisor;
pub mod lifecycle;
pub mod ops;
pub mod sxp;
pub mod xs;
pub mod save;
#[cfg(test)]
mod test_xenstored;
