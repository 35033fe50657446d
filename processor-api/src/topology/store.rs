//! [`StoreFactory`]: the store builders a topology keeps, erased over their shape.

use std::collections::BTreeMap;

use brook_state_store::{AnyStore, KeyValueSpec, SessionSpec, StoreBuilder, StoreContext, VersionedSpec, WindowSpec};

use crate::error::Result;

/// Something that opens one store per task: every state-store [`StoreBuilder`] is one.
pub trait StoreFactory: Send + Sync {
    /// The store name.
    fn name(&self) -> &str;
    /// Whether the store writes a changelog.
    fn logging_enabled(&self) -> bool;
    /// The changelog topic configs (`None` without logging).
    fn changelog_config(&self) -> Option<BTreeMap<String, String>>;
    /// Opens the store with a task's context.
    ///
    /// # Errors
    /// Store errors.
    fn build_store(&self, ctx: &StoreContext) -> Result<AnyStore>;
}

macro_rules! store_factory {
    ($spec:ty) => {
        impl StoreFactory for StoreBuilder<$spec> {
            fn name(&self) -> &str {
                StoreBuilder::name(self)
            }
            fn logging_enabled(&self) -> bool {
                StoreBuilder::logging_enabled(self)
            }
            fn changelog_config(&self) -> Option<BTreeMap<String, String>> {
                StoreBuilder::changelog_config(self)
            }
            fn build_store(&self, ctx: &StoreContext) -> Result<AnyStore> {
                Ok(self.clone().build(ctx)?.into())
            }
        }
    };
}

store_factory!(KeyValueSpec);
store_factory!(WindowSpec);
store_factory!(SessionSpec);
store_factory!(VersionedSpec);
