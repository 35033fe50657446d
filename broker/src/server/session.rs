//! What the server knows about one connection besides its socket ([`ConnState`]): the peer and
//! where its SASL authentication stands. The connection loop (`conn`) owns it; request handlers
//! (`api`) read and update it.

use std::net::SocketAddr;

/// Per-connection state.
#[derive(Debug)]
pub(crate) struct ConnState {
    pub(crate) peer: SocketAddr,
    /// True once SASL succeeded, or from the start when SASL is off.
    pub(crate) authenticated: bool,
    /// The mechanism chosen by SaslHandshake.
    pub(crate) sasl_mechanism: Option<String>,
    /// After a SaslHandshake v0 the next frame is a raw SASL token, not a Kafka request.
    pub(crate) raw_sasl_next: bool,
}

impl ConnState {
    pub(crate) fn new(peer: SocketAddr, sasl: bool) -> ConnState {
        ConnState {
            peer,
            authenticated: !sasl,
            sasl_mechanism: None,
            raw_sasl_next: false,
        }
    }
}
