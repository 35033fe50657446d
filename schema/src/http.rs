//! The REST client for a Confluent-compatible Schema Registry (Brook's own or Confluent's).

use std::time::Duration;

use base64::Engine as _;
use serde::Deserialize;

use crate::client::{RegisteredSchema, Schema, SchemaRegistryClient};
use crate::error::{Error, Result};

const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// Settings of [`HttpClient`], with Confluent's client keys.
#[derive(Debug, Clone)]
pub struct HttpClientConfig {
    /// `schema.registry.url`: one or more base URLs, tried in order until one answers.
    pub urls: Vec<String>,
    /// `basic.auth.user.info` (`user:password`) with `basic.auth.credentials.source=USER_INFO`.
    pub basic_auth: Option<(String, String)>,
    /// Connect and read timeout of one request. Default: 30 s.
    pub timeout: Duration,
    /// `max.retries`: how many times a request is sent again while the registry is
    /// unreachable (or answers that its store timed out). Default: 3, as Confluent's clients.
    pub max_retries: u32,
    /// `retries.wait.ms`: the wait before the first retry, doubled for each next one.
    /// Default: 1 s.
    pub retries_wait: Duration,
    /// `retries.max.wait.ms`: the longest wait between two tries. Default: 20 s.
    pub retries_max_wait: Duration,
}

impl HttpClientConfig {
    /// A config for `url` (comma-separated URLs allowed) without credentials.
    #[must_use]
    pub fn new(url: &str) -> Self {
        Self {
            urls: url.split(',').map(|u| u.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty()).collect(),
            basic_auth: None,
            timeout: Duration::from_secs(30),
            max_retries: 3,
            retries_wait: Duration::from_secs(1),
            retries_max_wait: Duration::from_secs(20),
        }
    }

    /// Builds a config from Confluent's string keys (`schema.registry.url`,
    /// `basic.auth.user.info`, `basic.auth.credentials.source`, `max.retries`,
    /// `retries.wait.ms`, `retries.max.wait.ms`).
    ///
    /// # Errors
    /// [`Error::Config`] without a URL, with a malformed `user:password` or a retry key that
    /// is not a number.
    pub fn from_properties<'a>(props: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self> {
        let mut config = Self::new("");
        for (key, value) in props {
            match key {
                "schema.registry.url" => config.urls = Self::new(value).urls,
                "basic.auth.user.info" | "schema.registry.basic.auth.user.info" => {
                    let (user, password) = value.split_once(':').ok_or_else(|| Error::Config {
                        key: key.to_owned(),
                        reason: "expected user:password".to_owned(),
                    })?;
                    config.basic_auth = Some((user.to_owned(), password.to_owned()));
                }
                "max.retries" => config.max_retries = number(key, value)?,
                "retries.wait.ms" => config.retries_wait = Duration::from_millis(number(key, value)?),
                "retries.max.wait.ms" => config.retries_max_wait = Duration::from_millis(number(key, value)?),
                _ => {}
            }
        }
        if config.urls.is_empty() {
            return Err(Error::Config { key: "schema.registry.url".to_owned(), reason: "missing".to_owned() });
        }
        Ok(config)
    }

    /// Sets `user:password` credentials for HTTP basic authentication.
    #[must_use]
    pub fn with_basic_auth(mut self, user: &str, password: &str) -> Self {
        self.basic_auth = Some((user.to_owned(), password.to_owned()));
        self
    }
}

/// A retry key's value.
fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T> {
    value.trim().parse().map_err(|_| Error::Config { key: key.to_owned(), reason: format!("not a number: {value}") })
}

/// A blocking REST client (no async runtime of its own, so it works on any thread).
/// Wrap it in [`CachedClient`](crate::CachedClient) for serdes.
#[derive(Debug)]
pub struct HttpClient {
    config: HttpClientConfig,
    agent: ureq::Agent,
    authorization: Option<String>,
}

#[derive(Deserialize)]
struct IdBody {
    id: i32,
}

#[derive(Deserialize)]
struct ErrorBody {
    error_code: i32,
    message: String,
}

impl HttpClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`Error::Config`] without a URL.
    pub fn new(config: HttpClientConfig) -> Result<Self> {
        if config.urls.is_empty() {
            return Err(Error::Config { key: "schema.registry.url".to_owned(), reason: "missing".to_owned() });
        }
        let agent = ureq::AgentBuilder::new().timeout_connect(config.timeout).timeout_read(config.timeout).build();
        let authorization = config.basic_auth.as_ref().map(|(user, password)| {
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}")))
        });
        Ok(Self { config, agent, authorization })
    }

    /// Whether the registry answers (`GET /subjects`), without retrying: what `brook server`
    /// polls at start-up while an external registry is down.
    ///
    /// # Errors
    /// [`Error::Unreachable`] when no URL answers; the registry's error otherwise.
    pub fn check(&self) -> Result<()> {
        self.call_once::<Vec<String>>("GET", "/subjects", None).map(|_| ())
    }

    /// [`call_once`](Self::call_once), sent again after a growing wait while the error is
    /// transient ([`Error::is_transient`]: the registry is down or its store timed out), up to
    /// `max.retries` times.
    fn call<T: serde::de::DeserializeOwned>(&self, method: &str, path: &str, body: Option<&Schema>) -> Result<T> {
        let mut wait = self.config.retries_wait;
        let mut retries = 0;
        loop {
            match self.call_once(method, path, body) {
                Err(e) if e.is_transient() && retries < self.config.max_retries => {
                    retries += 1;
                    tracing::warn!(error = %e, retry = retries, of = self.config.max_retries, wait_ms = wait.as_millis() as u64, "Schema Registry request failed; retrying");
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(self.config.retries_max_wait);
                }
                result => return result,
            }
        }
    }

    /// Sends one request to each base URL in turn until one answers (an answer with an error
    /// code is an answer).
    fn call_once<T: serde::de::DeserializeOwned>(&self, method: &str, path: &str, body: Option<&Schema>) -> Result<T> {
        let mut last = None;
        for base in &self.config.urls {
            let url = format!("{base}{path}");
            let mut request = self.agent.request(method, &url).set("Accept", CONTENT_TYPE);
            if let Some(authorization) = &self.authorization {
                request = request.set("Authorization", authorization);
            }
            let response = match body {
                Some(schema) => request.set("Content-Type", CONTENT_TYPE).send_json(schema),
                None => request.call(),
            };
            match response {
                Ok(response) => {
                    return response
                        .into_json::<T>()
                        .map_err(|e| Error::BadResponse { url, reason: e.to_string() });
                }
                Err(ureq::Error::Status(status, response)) => {
                    let text = response.into_string().unwrap_or_default();
                    return Err(match serde_json::from_str::<ErrorBody>(&text) {
                        Ok(body) => Error::from_code(body.error_code, body.message),
                        Err(_) if status == 401 || status == 403 => Error::Unauthorized(format!("HTTP {status}")),
                        Err(_) => Error::Registry { code: i32::from(status), message: text },
                    });
                }
                Err(ureq::Error::Transport(transport)) => {
                    tracing::debug!(%url, error = %transport, "schema registry unreachable");
                    last = Some(Error::Unreachable { url, reason: transport.to_string() });
                }
            }
        }
        Err(last.expect("at least one URL"))
    }
}

/// Percent-encodes a path segment (subjects may hold `/`, `:`, spaces).
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

impl SchemaRegistryClient for HttpClient {
    fn register(&self, subject: &str, schema: &Schema, normalize: bool) -> Result<i32> {
        let path = format!("/subjects/{}/versions{}", encode(subject), if normalize { "?normalize=true" } else { "" });
        self.call::<IdBody>("POST", &path, Some(schema)).map(|body| body.id)
    }

    fn schema_by_id(&self, id: i32) -> Result<Schema> {
        self.call("GET", &format!("/schemas/ids/{id}"), None)
    }

    fn latest(&self, subject: &str) -> Result<RegisteredSchema> {
        self.call("GET", &format!("/subjects/{}/versions/latest", encode(subject)), None)
    }

    fn version(&self, subject: &str, version: i32) -> Result<RegisteredSchema> {
        self.call("GET", &format!("/subjects/{}/versions/{version}", encode(subject)), None).map_err(|e| match e {
            Error::VersionNotFound { .. } => Error::VersionNotFound { subject: subject.to_owned(), version },
            e => e,
        })
    }

    fn lookup(&self, subject: &str, schema: &Schema) -> Result<RegisteredSchema> {
        self.call("POST", &format!("/subjects/{}", encode(subject)), Some(schema))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_percent_encoded() {
        assert_eq!(encode("orders-value"), "orders-value");
        assert_eq!(encode("a/b c:d"), "a%2Fb%20c%3Ad");
    }

    #[test]
    fn an_unreachable_registry_is_retried_then_reported() {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut config = HttpClientConfig::new(&format!("http://127.0.0.1:{port}"));
        (config.max_retries, config.retries_wait) = (2, Duration::from_millis(5));
        let client = HttpClient::new(config).unwrap();
        let err = client.schema_by_id(1).unwrap_err();
        assert!(err.is_transient(), "{err}");
        assert!(err.to_string().contains(&port.to_string()), "the error names the URL: {err}");
        assert!(client.check().is_err());
    }

    #[test]
    fn config_from_confluent_keys() {
        let config = HttpClientConfig::from_properties([
            ("schema.registry.url", "http://a:8081/, http://b:8081"),
            ("basic.auth.user.info", "fred:letmein"),
        ])
        .unwrap();
        assert_eq!(config.urls, ["http://a:8081", "http://b:8081"]);
        assert_eq!(config.basic_auth, Some(("fred".to_owned(), "letmein".to_owned())));
        assert_eq!((config.max_retries, config.retries_wait), (3, Duration::from_secs(1)));
        let config = HttpClientConfig::from_properties([
            ("schema.registry.url", "http://a:8081"),
            ("max.retries", "5"),
            ("retries.wait.ms", "10"),
            ("retries.max.wait.ms", "40"),
        ])
        .unwrap();
        assert_eq!((config.max_retries, config.retries_wait, config.retries_max_wait), (5, Duration::from_millis(10), Duration::from_millis(40)));
        assert!(HttpClientConfig::from_properties([("schema.registry.url", "http://a"), ("max.retries", "x")]).is_err());
        assert!(matches!(HttpClientConfig::from_properties([]), Err(Error::Config { .. })));
    }

    #[test]
    fn a_registry_that_is_down_is_a_transient_error() {
        // Port 9 (discard) on loopback: nothing listens there in the sandbox.
        let client = HttpClient::new(HttpClientConfig::new("http://127.0.0.1:9")).unwrap();
        let err = client.schema_by_id(1).unwrap_err();
        assert!(matches!(err, Error::Unreachable { .. }), "{err}");
        assert!(err.is_transient());
    }
}
