//! What every Schema Registry serde does with the registry: choose the writer's schema id
//! (register, look up, or take the latest version), fetch and parse schemas by id, resolve
//! references. Parsed schemas are cached per id and per subject.

use std::collections::HashMap;
use std::sync::Arc;

use brook_state_store::SerdeContext;
use parking_lot::Mutex;

use crate::client::{Schema, SchemaRegistryClient};
use crate::config::SerdeConfig;
use crate::error::{Error, Result};

/// A schema with the schemas it references, in dependency order (referenced first).
#[derive(Debug, Clone)]
pub struct Resolved {
    /// The schema.
    pub schema: Schema,
    /// `(reference name, schema)`.
    pub references: Vec<(String, Schema)>,
}

/// The registry side of a serde, generic over the parsed schema `P`.
pub(crate) struct SchemaCache<P> {
    pub(crate) client: Arc<dyn SchemaRegistryClient>,
    pub(crate) config: SerdeConfig,
    by_id: Mutex<HashMap<i32, Arc<P>>>,
    by_subject: Mutex<HashMap<String, (i32, Arc<P>)>>,
}

impl<P> std::fmt::Debug for SchemaCache<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaCache").field("client", &self.client).field("config", &self.config).finish_non_exhaustive()
    }
}

impl<P> SchemaCache<P> {
    pub(crate) fn new(client: Arc<dyn SchemaRegistryClient>, config: SerdeConfig) -> Self {
        Self { client, config, by_id: Mutex::default(), by_subject: Mutex::default() }
    }

    /// The context of a record on `topic` on the side this serde was configured for
    /// ([`SerdeConfig::is_key`]), for the topic-only methods.
    pub(crate) fn context<'a>(&self, topic: &'a str) -> SerdeContext<'a> {
        SerdeContext { topic, is_key: self.config.is_key, headers: &[] }
    }

    /// The id and parsed schema to write a record of `own` (the serde's schema, parsed as
    /// `parsed`) with, for the record's topic and side (`ctx`, named by the subject name
    /// strategy): the latest version of the subject with `use.latest.version`,
    /// else `own` registered (`auto.register.schemas`) or looked up.
    pub(crate) fn writer(
        &self,
        ctx: &SerdeContext<'_>,
        record_name: Option<&str>,
        own: &Schema,
        parsed: &Arc<P>,
        parse: impl Fn(&Resolved) -> Result<P>,
    ) -> Result<(i32, Arc<P>)> {
        let subject = self.config.subject_name_strategy.subject(ctx.topic, ctx.is_key, record_name)?;
        if let Some(hit) = self.by_subject.lock().get(&subject) {
            return Ok(hit.clone());
        }
        let normalize = self.config.normalize_schemas;
        let hit = if self.config.use_latest_version {
            let latest = self.client.latest(&subject)?;
            let resolved = self.resolve(latest.schema)?;
            (latest.id, Arc::new(parse(&resolved)?))
        } else if self.config.auto_register_schemas {
            (self.client.register(&subject, own, normalize)?, parsed.clone())
        } else {
            (self.client.lookup(&subject, own)?.id, parsed.clone())
        };
        self.by_subject.lock().insert(subject, hit.clone());
        Ok(hit)
    }

    /// The parsed schema with id `id`.
    pub(crate) fn by_id(&self, id: i32, parse: impl Fn(&Resolved) -> Result<P>) -> Result<Arc<P>> {
        if let Some(hit) = self.by_id.lock().get(&id) {
            return Ok(hit.clone());
        }
        let schema = self.client.schema_by_id(id)?;
        let parsed = Arc::new(parse(&self.resolve(schema)?)?);
        self.by_id.lock().insert(id, parsed.clone());
        Ok(parsed)
    }

    /// `schema` with its references fetched (depth first, each once).
    pub(crate) fn resolve(&self, schema: Schema) -> Result<Resolved> {
        resolve_references(self.client.as_ref(), schema)
    }
}

/// Fetches the schemas `schema` references, transitively, referenced first.
///
/// # Errors
/// Registry errors; [`Error::InvalidSchema`] for references nested deeper than 32 levels.
pub fn resolve_references(client: &dyn SchemaRegistryClient, schema: Schema) -> Result<Resolved> {
    fn visit(client: &dyn SchemaRegistryClient, schema: &Schema, depth: usize, out: &mut Vec<(String, Schema)>) -> Result<()> {
        if depth > 32 {
            return Err(Error::InvalidSchema("schema references nested deeper than 32 levels".to_owned()));
        }
        for reference in &schema.references {
            if out.iter().any(|(name, _)| *name == reference.name) {
                continue;
            }
            let referenced = client.version(&reference.subject, reference.version)?.schema;
            visit(client, &referenced, depth + 1, out)?;
            out.push((reference.name.clone(), referenced));
        }
        Ok(())
    }
    let mut references = Vec::new();
    visit(client, &schema, 0, &mut references)?;
    Ok(Resolved { schema, references })
}
