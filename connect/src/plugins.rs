//! The plugin registry: connectors by class name. Like Kafka's plugin path, a connector is
//! found by its full class name, its simple name (`FileStreamSourceConnector`) or the simple
//! name without the `Connector` suffix (`FileStreamSource`).

use std::collections::BTreeMap;

use crate::connector::Connector;
use crate::error::{Error, Result};
use crate::datagen::DatagenConnector;
use crate::file::{FileStreamSinkConnector, FileStreamSourceConnector};
use crate::postgres::{JdbcSinkConnector, JdbcSourceConnector};

type Factory = fn() -> Connector;

/// Connector factories by full class name.
#[derive(Debug, Clone)]
pub struct Plugins {
    by_class: BTreeMap<String, Factory>,
}

impl Default for Plugins {
    /// The built-in connectors: `org.apache.kafka.connect.file.FileStreamSourceConnector`,
    /// `org.apache.kafka.connect.file.FileStreamSinkConnector`,
    /// `io.confluent.connect.jdbc.JdbcSourceConnector`, `io.confluent.connect.jdbc.JdbcSinkConnector`
    /// (PostgreSQL) and `io.confluent.kafka.connect.datagen.DatagenConnector`.
    fn default() -> Self {
        let mut p = Plugins { by_class: BTreeMap::new() };
        p.register("org.apache.kafka.connect.file.FileStreamSourceConnector", || Connector::Source(Box::<FileStreamSourceConnector>::default()));
        p.register("org.apache.kafka.connect.file.FileStreamSinkConnector", || Connector::Sink(Box::<FileStreamSinkConnector>::default()));
        p.register("io.confluent.connect.jdbc.JdbcSourceConnector", || Connector::Source(Box::<JdbcSourceConnector>::default()));
        p.register("io.confluent.connect.jdbc.JdbcSinkConnector", || Connector::Sink(Box::<JdbcSinkConnector>::default()));
        p.register("io.confluent.kafka.connect.datagen.DatagenConnector", || Connector::Source(Box::<DatagenConnector>::default()));
        p
    }
}

impl Plugins {
    /// Adds (or replaces) the connector of `class`.
    pub fn register(&mut self, class: impl Into<String>, factory: Factory) {
        self.by_class.insert(class.into(), factory);
    }

    /// The full class names, sorted.
    pub fn classes(&self) -> Vec<&str> {
        self.by_class.keys().map(String::as_str).collect()
    }

    /// The full class name of `class` (full name, simple name or alias), if registered.
    pub fn class_of(&self, class: &str) -> Option<&str> {
        if let Some((full, _)) = self.by_class.get_key_value(class) {
            return Some(full);
        }
        self.by_class.keys().map(String::as_str).find(|full| {
            let simple = full.rsplit('.').next().unwrap_or(full);
            simple == class || simple.strip_suffix("Connector") == Some(class)
        })
    }

    /// A new connector of `class` (full name, simple name or alias).
    ///
    /// # Errors
    /// [`Error::UnknownPlugin`].
    pub fn connector(&self, class: &str) -> Result<Connector> {
        let full = self.class_of(class).ok_or_else(|| Error::UnknownPlugin(class.to_owned()))?;
        Ok(self.by_class[full]())
    }
}
