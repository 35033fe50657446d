//! [`KsqlServerConfig`]: how the REST server is set up.

use std::sync::Arc;

use crate::auth::BasicAuth;
use crate::tls::TlsConfig;

/// How the REST server is set up.
#[derive(Debug, Clone)]
pub struct KsqlServerConfig {
    /// `ksql.service.id`. Default: `default_`.
    pub service_id: String,
    /// The `kafkaClusterId` `/info` reports. Default: `brook`.
    pub cluster_id: String,
    /// The address `/clusterStatus` names this server by. Default: `127.0.0.1:8088`.
    pub advertised: String,
    /// The largest request body accepted (and, on `/inserts-stream`, the largest row).
    /// Default: 8 MiB.
    pub max_body_bytes: usize,
    /// Basic authentication on every endpoint. Default: none.
    pub auth: Option<Arc<BasicAuth>>,
    /// HTTPS instead of cleartext HTTP. Default: none.
    pub tls: Option<TlsConfig>,
}

impl Default for KsqlServerConfig {
    fn default() -> Self {
        KsqlServerConfig {
            service_id: "default_".into(),
            cluster_id: "brook".into(),
            advertised: "127.0.0.1:8088".into(),
            max_body_bytes: 8 << 20,
            auth: None,
            tls: None,
        }
    }
}
