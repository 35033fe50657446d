//! [`BranchedKStream`]: `split()` with `branch` and `default_branch` (Kafka's
//! `BranchedKStream`): the first matching predicate wins.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use brook_processor_api::ProcessorContext;

use super::{KStream, StreamRecord};
use crate::internals::processors::add_fn;
use crate::options::{Branched, Named};
use crate::Data;

type Predicate<K, V> = Arc<dyn Fn(Option<&K>, &V) -> bool + Send + Sync>;

/// The branches of a `split()`. The splitter is `KSTREAM-BRANCH-<n>` (or the `Named`
/// prefix); each branch is a pass-through node named `<splitter><branch name>`, or
/// `<splitter><position>` (`1`, `2`, ...; `0` for the default branch), as in Kafka.
pub struct BranchedKStream<K, V> {
    source: KStream<K, V>,
    splitter: String,
    branches: Vec<(String, Option<Predicate<K, V>>)>,
}

impl<K, V> fmt::Debug for BranchedKStream<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BranchedKStream").field("splitter", &self.splitter).finish_non_exhaustive()
    }
}

impl<K: Data, V: Data> BranchedKStream<K, V> {
    pub(crate) fn new(source: KStream<K, V>, named: Named) -> Self {
        let splitter = source.name(named.0, "KSTREAM-BRANCH-");
        BranchedKStream { source, splitter, branches: Vec::new() }
    }

    fn child_name(&self, index: usize, branched: &Branched) -> String {
        // Kafka burns an index for every branch, named or not.
        self.source.inner.borrow_mut().name("KSTREAM-BRANCHCHILD-");
        match &branched.0 {
            Some(n) => format!("{}{n}", self.splitter),
            None => format!("{}{index}", self.splitter),
        }
    }

    /// Adds a branch for records matching `predicate` (and no earlier one).
    #[must_use]
    pub fn branch(mut self, predicate: impl Fn(Option<&K>, &V) -> bool + Send + Sync + 'static, branched: Branched) -> Self {
        let name = self.child_name(self.branches.len() + 1, &branched);
        self.branches.push((name, Some(Arc::new(predicate))));
        self
    }

    /// Adds the branch of records no predicate matched, and returns the branches by name.
    pub fn default_branch(mut self, branched: Branched) -> BTreeMap<String, KStream<K, V>> {
        let name = self.child_name(0, &branched);
        self.branches.push((name, None));
        self.finish()
    }

    /// Returns the branches by name; records no predicate matched are dropped.
    pub fn no_default_branch(self) -> BTreeMap<String, KStream<K, V>> {
        self.finish()
    }

    fn finish(self) -> BTreeMap<String, KStream<K, V>> {
        let routes: Vec<(String, Option<Predicate<K, V>>)> = self.branches.clone();
        add_fn(&self.source.inner, &self.splitter, &[&self.source.node], move |ctx: &mut ProcessorContext<'_, Option<K>, Option<V>>, r: StreamRecord<K, V>| {
            for (child, p) in &routes {
                let hit = match (p, r.value()) {
                    (None, _) => true,
                    (Some(p), Some(v)) => p(r.key().as_ref(), v),
                    (Some(_), None) => false,
                };
                if hit {
                    return ctx.forward_to(child, r);
                }
            }
            Ok(())
        });
        let mut out = BTreeMap::new();
        for (child, _) in &self.branches {
            add_fn(&self.source.inner, child, &[&self.splitter], |ctx, r: StreamRecord<K, V>| ctx.forward(r));
            let mut s = self.source.clone();
            s.node = child.clone();
            out.insert(child.clone(), s);
        }
        out
    }
}
