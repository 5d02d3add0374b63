//! xenstore in Rust, speaking Xen 4.17's protocol (`docs/misc/xenstore.txt`,
//! `io/xs_wire.h`): the daemon's pure core (store, transactions, watches,
//! quotas, protocol), its transports (unix socket, domain rings through
//! Linux's Xen devices), a client library for the toolstack, and a
//! benchmark.
//!
//! Layout: [`store`] (the node tree and the operations on it),
//! [`transaction`], [`watch`], [`quota`], [`protocol`] (framing and typed
//! messages), [`server`] (connections and dispatch, no I/O), [`ring`] (the
//! shared-page byte rings, pure), [`xendev`] (device glue), [`daemon`] (the
//! event loop), [`client`], the command-line client [`cli`] and [`bench`].

pub mod bench;
pub mod cli;
pub mod client;
pub mod daemon;
pub mod error;
pub mod path;
pub mod protocol;
pub mod quota;
pub mod ring;
pub mod server;
pub mod store;
pub mod transaction;
pub mod watch;
pub mod xendev;

pub use error::{XsError, XsResult};
pub use server::Server;

/// Default path of xenstored's unix socket.
pub const DEFAULT_SOCKET: &str = "/run/xenstored/socket";
