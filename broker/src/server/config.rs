//! The wire-protocol server's settings, from Kafka's `server.properties` keys.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use crate::error::{Error, Result};

/// Settings of the Kafka listener.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// `listeners`: where to listen. Default: `127.0.0.1:9092`.
    pub listen: SocketAddr,
    /// `advertised.listeners`: the host and port clients are told to connect to.
    /// Default: the listen address.
    pub advertised: Option<(String, u16)>,
    /// `socket.request.max.bytes`: the largest request frame accepted. Default: 104857600.
    pub socket_request_max_bytes: usize,
    /// `queued.max.request.bytes`: the bytes all request bodies being read or handled may hold
    /// together; reads pause beyond it. -1 is unbounded (Kafka's default). Default: 104857600.
    pub queued_max_request_bytes: usize,
    /// `sasl.server.max.receive.size`: the largest frame a connection may send before it has
    /// authenticated (SASL on). Default: 524288, Kafka's.
    pub sasl_server_max_receive_size: usize,
    /// `connections.max.idle.ms`: idle connections are closed after this. Default: 10 minutes.
    pub connections_max_idle: Duration,
    /// `sasl.plain.users` (`alice:secret,bob:pw`): SASL/PLAIN users; empty turns SASL off.
    /// Default: empty.
    pub sasl_users: BTreeMap<String, String>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 9092)),
            advertised: None,
            socket_request_max_bytes: 104_857_600,
            queued_max_request_bytes: 104_857_600,
            sasl_server_max_receive_size: 524_288,
            connections_max_idle: Duration::from_millis(600_000),
            sasl_users: BTreeMap::new(),
        }
    }
}

/// The keys [`ServerConfig::set`] understands.
pub const SERVER_CONFIG_KEYS: &[&str] = &[
    "listeners",
    "advertised.listeners",
    "socket.request.max.bytes",
    "queued.max.request.bytes",
    "sasl.server.max.receive.size",
    "connections.max.idle.ms",
    "sasl.plain.users",
];

/// `PLAINTEXT://host:port` or `host:port` -> (host, port).
fn parse_listener(key: &str, v: &str) -> Result<(String, u16)> {
    let first = v.split(',').next().unwrap_or(v).trim();
    let addr = first.split_once("://").map_or(first, |(_, a)| a);
    let (host, port) = addr
        .rsplit_once(':')
        .ok_or_else(|| Error::InvalidConfig(format!("{key}: expected host:port, got {v:?}")))?;
    let port = port
        .parse()
        .map_err(|_| Error::InvalidConfig(format!("{key}: invalid port in {v:?}")))?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Ok((host.to_owned(), port))
}

impl ServerConfig {
    /// Applies one key; `Ok(false)` when the key is not a server key (so the caller can try the
    /// broker's keys).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] for a bad value.
    pub fn set(&mut self, key: &str, value: &str) -> Result<bool> {
        let bad = |what: &str| Error::InvalidConfig(format!("invalid value {value:?} for {key}: {what}"));
        match key {
            "listeners" => {
                let (host, port) = parse_listener(key, value)?;
                let host = if host.is_empty() { "0.0.0.0".to_owned() } else { host };
                self.listen = format!("{host}:{port}")
                    .parse()
                    .or_else(|_| format!("[{host}]:{port}").parse())
                    .map_err(|_| bad("expected an IP address and port"))?;
            }
            "advertised.listeners" => self.advertised = Some(parse_listener(key, value)?),
            "socket.request.max.bytes" => {
                self.socket_request_max_bytes = value.trim().parse().map_err(|_| bad("a byte count"))?
            }
            "queued.max.request.bytes" => {
                let n: i64 = value.trim().parse().map_err(|_| bad("a byte count, or -1"))?;
                self.queued_max_request_bytes = match n {
                    -1 => usize::MAX,
                    n => usize::try_from(n).ok().filter(|n| *n > 0).ok_or_else(|| bad("a positive byte count, or -1"))?,
                }
            }
            "sasl.server.max.receive.size" => {
                self.sasl_server_max_receive_size = value.trim().parse().map_err(|_| bad("a byte count"))?
            }
            "connections.max.idle.ms" => {
                let ms: u64 = value.trim().parse().map_err(|_| bad("milliseconds"))?;
                self.connections_max_idle = Duration::from_millis(ms)
            }
            "sasl.plain.users" => {
                self.sasl_users.clear();
                for pair in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let (u, p) = pair.split_once(':').ok_or_else(|| bad("expected user:password pairs"))?;
                    self.sasl_users.insert(u.to_owned(), p.to_owned());
                }
            }
            _ => return Ok(false),
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse() {
        let mut c = ServerConfig::default();
        assert!(c.set("listeners", "PLAINTEXT://127.0.0.1:19092").unwrap());
        assert_eq!(c.listen.port(), 19092);
        assert!(c.set("advertised.listeners", "PLAINTEXT://kafka.local:9093").unwrap());
        assert_eq!(c.advertised, Some(("kafka.local".to_owned(), 9093)));
        assert!(c.set("sasl.plain.users", "alice:secret, bob:pw").unwrap());
        assert_eq!(c.sasl_users.get("bob").map(String::as_str), Some("pw"));
        assert!(!c.set("num.partitions", "3").unwrap());
        assert!(matches!(c.set("socket.request.max.bytes", "x"), Err(Error::InvalidConfig(_))));
        assert!(c.set("queued.max.request.bytes", "-1").unwrap());
        assert_eq!(c.queued_max_request_bytes, usize::MAX);
        assert!(matches!(c.set("queued.max.request.bytes", "0"), Err(Error::InvalidConfig(_))));
    }
}
