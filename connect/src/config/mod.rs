//! Configuration: the [`Config`] map every connector, task and worker is given, the key
//! declarations and their validation ([`ConfigDef`], Kafka's `ConfigDef`, in `def.rs`, a leaf
//! every layer may use), and the keys the framework adds to every connector
//! ([`connector_config_def`], Kafka's `ConnectorConfig`, in `connector.rs`, which asks the
//! converter registry whether a converter class exists).

mod connector;
mod def;

pub use connector::connector_config_def;
pub use def::{at_least_one, non_empty_string, Config, ConfigDef, ConfigKey, ConfigType, ConfigValue, Importance, Validator};
