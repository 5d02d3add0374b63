//! Shared-memory device protocols of `xen/include/public/io/`: the PV
//! console ring, the xenstore ring and wire format, and xenbus states.

pub mod console;
pub mod xenbus;
pub mod xenstore_ring;
pub mod xs_wire;
