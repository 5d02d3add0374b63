//! Xenbus device states (`io/xenbus.h`), published by frontends and
//! backends in their xenstore `state` nodes.

xen_enum! {
    /// `enum xenbus_state`.
    pub enum XenbusState: u32 {
        /// Unknown (no state node).
        Unknown = 0,
        /// Setting up.
        Initialising = 1,
        /// Waiting for information from the peer (backend only).
        InitWait = 2,
        /// Set up; waiting for the peer to connect.
        Initialised = 3,
        /// Connected and running.
        Connected = 4,
        /// Shutting down.
        Closing = 5,
        /// Shut down.
        Closed = 6,
        /// Reconfiguring.
        Reconfiguring = 7,
        /// Reconfigured.
        Reconfigured = 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse() {
        assert_eq!(XenbusState::try_from(4u32), Ok(XenbusState::Connected));
        assert!(XenbusState::try_from(9u32).is_err());
    }
}
