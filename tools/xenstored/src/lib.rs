//! xenstore protocol, store and client (in progress).
