//! What the commands share: the `--bootstrap-server` flag, `KEY=VALUE` argument parsing and
//! the one-line error report. A leaf: it uses no other module of the crate.

use clap::Args;

/// `--bootstrap-server`, shared by the client tools.
#[derive(Debug, Clone, Args)]
pub struct Bootstrap {
    /// The broker to connect to, `host:port` (the first of a comma-separated list is used).
    #[arg(long = "bootstrap-server", value_name = "HOST:PORT")]
    pub bootstrap_server: String,
}

impl Bootstrap {
    pub(crate) fn addr(&self) -> &str {
        self.bootstrap_server.split(',').next().unwrap_or("").trim()
    }

    /// The first address, checked to be `HOST:PORT` (Kafka's message otherwise).
    pub(crate) fn checked_addr(&self) -> anyhow::Result<&str> {
        let addr = self.addr();
        match addr.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(addr),
            _ => anyhow::bail!(
                "Invalid url in bootstrap.servers: {addr} (expected HOST:PORT, e.g. 127.0.0.1:9092)"
            ),
        }
    }
}

/// Parses the `KEY=VALUE` arguments of `flag`, trimming both sides (config files and
/// `--config`, as Kafka trims topic configs).
pub(crate) fn parse_kv(flag: &str, items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut kv = parse_props(flag, items)?;
    for (k, v) in &mut kv {
        *k = k.trim().to_owned();
        *v = v.trim().to_owned();
    }
    Ok(kv)
}

/// Parses `--property`-style `KEY=VALUE` arguments of `flag` as Kafka's tools do: split at the
/// first `=`, nothing trimmed (`key.separator= | ` keeps its spaces).
pub(crate) fn parse_props(flag: &str, items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    items
        .iter()
        .map(|s| {
            s.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .ok_or_else(|| anyhow::anyhow!("invalid {flag} {s:?}: expected KEY=VALUE"))
        })
        .collect()
}

/// An error and its causes on one line, as `brook` prints it: each cause once (errors whose
/// message already includes their source would otherwise repeat it).
#[must_use]
pub fn report(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || out.contains(&text) {
            continue;
        }
        if !out.is_empty() {
            out.push_str(": ");
        }
        out.push_str(&text);
    }
    out
}
