//! Save, restore and migration of PV domains (`xm save`, `xm restore`,
//! `xm migrate`, `xm serve`).
//!
//! * [`stream`]: Xen's migration stream v2 as `xl save` frames it (pure
//!   encoding and decoding);
//! * [`pagetable`]: page tables canonicalised (MFN → PFN) and localised;
//! * [`suspend`]: `control/shutdown = suspend`, waiting for
//!   `SHUTDOWN_suspend`, and suspend cancel;
//! * [`saver`]: a domain to a stream; [`restore`]: a stream to a domain;
//! * [`image`]: whole images (save to, validate and restore from a file);
//! * [`migrate`]: live migration over TCP and the relocation server;
//! * [`commands`]: `xm save`, `restore`, `migrate`, `serve`;
//! * [`progress`]: the progress bar.

pub mod commands;
pub mod image;
pub mod migrate;
pub mod pagetable;
pub mod progress;
pub mod restore;
pub mod saver;
pub mod stream;
pub mod suspend;
