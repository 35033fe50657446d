//! What the Schema Registry converters (`AvroConverter`, `JsonSchemaConverter`,
//! `ProtobufConverter`) share: the registry client made from `schema.registry.url` and
//! `basic.auth.user.info`, Confluent's serializer keys (`auto.register.schemas`,
//! `use.latest.version`, `normalize.schemas`, the subject name strategies), choosing the
//! writer's schema id, and fetching a writer's schema by id with its references.

use std::collections::BTreeMap;
use std::sync::Arc;

use brook_schema::{CachedClient, HttpClient, HttpClientConfig, Resolved, SchemaRegistryClient, SerdeConfig};

use crate::error::{Error, Result};

const MISSING_URL: &str = "Missing required configuration \"schema.registry.url\" which has no default value.";

/// A registry error as Connect's: transport failures are retriable.
pub(crate) fn registry_error(e: brook_schema::Error) -> Error {
    match e {
        brook_schema::Error::Unreachable { .. } => Error::Retriable(e.to_string()),
        other => Error::Data(other.to_string()),
    }
}

/// The registry side of a converter.
#[derive(Debug, Default)]
pub(crate) struct RegistrySide {
    client: Option<Arc<dyn SchemaRegistryClient>>,
    pub(crate) serde: SerdeConfig,
}

impl RegistrySide {
    /// Over `client` (tests); `configure` keeps it unless `schema.registry.url` is given.
    pub(crate) fn with_client(client: Arc<dyn SchemaRegistryClient>, is_key: bool) -> RegistrySide {
        RegistrySide { client: Some(client), serde: if is_key { SerdeConfig::key() } else { SerdeConfig::value() } }
    }

    /// Reads Confluent's keys; makes a cached HTTP client from `schema.registry.url`.
    pub(crate) fn configure(&mut self, config: &BTreeMap<String, String>, is_key: bool) -> Result<()> {
        let props = || config.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        let base = if is_key { SerdeConfig::key() } else { SerdeConfig::value() };
        self.serde = base.with_properties(props()).map_err(|e| Error::Config(e.to_string()))?;
        if self.client.is_none() || config.contains_key("schema.registry.url") {
            let http = HttpClientConfig::from_properties(props()).map_err(|_| Error::Config(MISSING_URL.into()))?;
            let client = HttpClient::new(http).map_err(|e| Error::Config(e.to_string()))?;
            self.client = Some(Arc::new(CachedClient::new(client)));
        }
        Ok(())
    }

    pub(crate) fn client(&self) -> Result<&Arc<dyn SchemaRegistryClient>> {
        self.client.as_ref().ok_or_else(|| Error::Config(MISSING_URL.into()))
    }

    /// The subject of a record on `topic` whose schema's record name is `record_name`.
    pub(crate) fn subject(&self, topic: &str, record_name: Option<&str>) -> Result<String> {
        self.serde.subject(topic, record_name).map_err(registry_error)
    }

    /// The id to write `schema` under `subject` with: the subject's latest version with
    /// `use.latest.version`, else `schema` registered (`auto.register.schemas`) or looked up.
    pub(crate) fn writer_id(&self, subject: &str, schema: &brook_schema::Schema) -> Result<i32> {
        let client = self.client()?;
        if self.serde.use_latest_version {
            Ok(client.latest(subject).map_err(registry_error)?.id)
        } else if self.serde.auto_register_schemas {
            client.register(subject, schema, self.serde.normalize_schemas).map_err(registry_error)
        } else {
            Ok(client.lookup(subject, schema).map_err(registry_error)?.id)
        }
    }

    /// The schema with id `id` and the schemas it references.
    pub(crate) fn fetch(&self, id: i32) -> Result<Resolved> {
        let client = self.client()?;
        let schema = client.schema_by_id(id).map_err(registry_error)?;
        brook_schema::resolve_references(client.as_ref(), schema).map_err(registry_error)
    }
}
