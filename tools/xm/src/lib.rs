//! `xm`: the toolstack users touch. Runs in dom0 and drives the hypervisor
//! through `/dev/xen/privcmd`.
//!
//! This crate currently provides the command-line interface ([`cli`]), the
//! configuration-file reader ([`config`]) and the SXP printer used by
//! `xm create --dryrun` ([`sxp`]). Commands that need the hypervisor report
//! that clearly and fail until the privcmd layer exists.

// Configuration errors carry their location and the offending text by value;
// they are built once, on the failure path, so their size does not matter.
#![allow(clippy::result_large_err)]
#![warn(missing_docs)]

pub mod cli;
pub mod config;
pub mod sxp;
