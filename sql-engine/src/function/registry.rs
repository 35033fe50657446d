//! The registry: every function a query can call, by upper-case name, with its signatures;
//! overload resolution as ksqlDB's `UdfIndex` does it; the descriptions `SHOW FUNCTIONS` and
//! `DESCRIBE FUNCTION` print. The built-ins register themselves from their families
//! ([`FunctionRegistry::new`], in `mod.rs`).

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::api::{AggregateFactory, AggregateFunction, Nulls, ReturnRule, ScalarImpl, TableFunction};
use super::signature::{self, Signature};
use super::udf::IntoUdf;
use crate::value::{SqlType, Value};
use crate::{analysis_err, Result};

/// One scalar function: its signatures and implementation.
#[derive(Clone)]
pub(crate) struct ScalarFunction {
    pub(crate) name: String,
    pub(crate) category: String,
    pub(crate) description: String,
    pub(crate) signatures: Vec<Signature>,
    pub(crate) nulls: Nulls,
    pub(crate) ret_rule: Option<ReturnRule>,
    pub(crate) imp: ScalarImpl,
}

impl fmt::Debug for ScalarFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScalarFunction").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Built-ins whose result changes between calls with the same arguments.
const NONDETERMINISTIC: &[&str] = &["RANDOM", "UUID", "UNIX_TIMESTAMP", "UNIX_DATE"];

impl ScalarFunction {
    /// Whether equal arguments always give equal results (user functions are assumed not to).
    pub(crate) fn is_deterministic(&self) -> bool {
        self.category != "USER" && !NONDETERMINISTIC.contains(&self.name.as_str())
    }
}

/// A call resolved against one signature.
#[derive(Debug, Clone)]
pub(crate) struct ResolvedScalar {
    pub(crate) function: Arc<ScalarFunction>,
    /// The type each argument converts to (`None`: keep as is).
    pub(crate) arg_types: Vec<Option<SqlType>>,
    pub(crate) ret: SqlType,
}

struct AggregateEntry {
    category: String,
    description: String,
    signatures: Vec<String>,
    factory: AggregateFactory,
}

struct TableEntry {
    description: String,
    signatures: Vec<String>,
    factory: fn(&[SqlType]) -> Result<Arc<dyn TableFunction>>,
}

/// `SCALAR`, `AGGREGATE` or `TABLE`, as `SHOW FUNCTIONS` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FunctionKind {
    Scalar,
    Aggregate,
    Table,
}

/// One signature of a function, for `DESCRIBE FUNCTION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionVariant {
    /// Parameter types in parentheses: `(STRING, INT)`.
    pub arguments: String,
    pub return_type: String,
}

/// One function, for `SHOW FUNCTIONS` and `DESCRIBE FUNCTION`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FunctionDescription {
    pub name: String,
    pub kind: FunctionKind,
    pub category: String,
    pub description: String,
    pub variants: Vec<FunctionVariant>,
}

/// All functions a query can call, by upper-case name.
#[derive(Default)]
pub struct FunctionRegistry {
    scalars: BTreeMap<String, Arc<ScalarFunction>>,
    aggregates: BTreeMap<String, AggregateEntry>,
    tables: BTreeMap<String, TableEntry>,
}

impl fmt::Debug for FunctionRegistry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FunctionRegistry")
            .field("scalars", &self.scalars.len())
            .field("aggregates", &self.aggregates.len())
            .field("tables", &self.tables.len())
            .finish()
    }
}

impl FunctionRegistry {
    /// Registers a built-in scalar (signatures are static text; a bad one is a bug caught by
    /// the registry's tests, and is skipped with an error log rather than a panic).
    pub(crate) fn scalar(&mut self, name: &str, category: &str, description: &str, signatures: &[&str], nulls: Nulls, imp: fn(&[Value], &SqlType) -> Result<Value>) {
        self.scalar_with(name, category, description, signatures, nulls, None, imp);
    }

    /// [`Self::scalar`] with a custom return type rule.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn scalar_with(&mut self, name: &str, category: &str, description: &str, signatures: &[&str], nulls: Nulls, ret_rule: Option<ReturnRule>, imp: fn(&[Value], &SqlType) -> Result<Value>) {
        if let Err(e) = self.register_scalar(name, category, description, signatures, nulls, ret_rule, Arc::new(imp)) {
            tracing::error!(function = name, error = %e, "built-in function not registered");
        }
    }

    /// Registers a scalar function from signatures and an implementation. Signatures are
    /// text: `"(STRING, INT) -> STRING"`, generics `T`/`U`/`K`/`V`/`S` (`"(ARRAY<T>, T) ->
    /// BOOLEAN"`), `DECIMAL` for any decimal, `ANY`, a last parameter repeating with `...`.
    /// The implementation receives its arguments converted to the matched signature's types;
    /// `ret_rule` overrides the return type when it depends on the arguments.
    ///
    /// # Examples
    /// ```
    /// use std::sync::Arc;
    /// use brook_sql_engine::function::{FunctionRegistry, Nulls};
    /// use brook_sql_engine::Value;
    /// let mut registry = FunctionRegistry::new();
    /// registry
    ///     .register_scalar("FIRST_OR", "USER", "first element or a default", &["(ARRAY<T>, T) -> T"], Nulls::Handled, None, Arc::new(|args: &[Value], _: &_| {
    ///         Ok(match &args[0] {
    ///             Value::Array(items) if !items.is_empty() => items[0].clone(),
    ///             _ => args[1].clone(),
    ///         })
    ///     }))
    ///     .unwrap();
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] for a malformed signature or a name already taken.
    #[allow(clippy::too_many_arguments)]
    pub fn register_scalar(&mut self, name: &str, category: &str, description: &str, signatures: &[&str], nulls: Nulls, ret_rule: Option<ReturnRule>, imp: ScalarImpl) -> Result<()> {
        let name = name.to_ascii_uppercase();
        if self.scalars.contains_key(&name) || self.aggregates.contains_key(&name) || self.tables.contains_key(&name) {
            return analysis_err!("function \"{name}\" already exists");
        }
        let signatures = signatures.iter().map(|s| Signature::parse(s)).collect::<Result<Vec<_>>>()?;
        let f = ScalarFunction { name: name.clone(), category: category.into(), description: description.into(), signatures, nulls, ret_rule, imp };
        self.scalars.insert(name, Arc::new(f));
        Ok(())
    }

    /// Registers a typed Rust function as a scalar UDF; its signature comes from the Rust
    /// argument and result types (see [`SqlArg`](super::SqlArg)). `NULL` arguments give `NULL` unless the
    /// parameter is an `Option`.
    ///
    /// # Examples
    /// ```
    /// use brook_sql_engine::function::FunctionRegistry;
    /// let mut registry = FunctionRegistry::new();
    /// registry.register_udf("SHOUT", "upper-cases and appends !", |s: String| format!("{}!", s.to_uppercase())).unwrap();
    /// registry.register_udf("SAFE_DIV", "null on zero", |a: i64, b: i64| if b == 0 { None } else { Some(a / b) }).unwrap();
    /// ```
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] if the name is taken.
    pub fn register_udf<Args, F: IntoUdf<Args>>(&mut self, name: &str, description: &str, f: F) -> Result<()> {
        let (signature, nulls, imp) = f.into_udf();
        self.register_scalar(name, "USER", description, &[signature.as_str()], nulls, None, imp)
    }

    /// Registers an aggregate under `name`.
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] if the name is taken.
    pub fn register_aggregate(&mut self, name: &str, category: &str, description: &str, signatures: &[&str], factory: AggregateFactory) -> Result<()> {
        let name = name.to_ascii_uppercase();
        if self.scalars.contains_key(&name) || self.aggregates.contains_key(&name) {
            return analysis_err!("function \"{name}\" already exists");
        }
        let signatures = signatures.iter().map(|s| s.to_string()).collect();
        self.aggregates.insert(name, AggregateEntry { category: category.into(), description: description.into(), signatures, factory });
        Ok(())
    }

    pub(crate) fn table(&mut self, name: &str, description: &str, signatures: &[&str], factory: fn(&[SqlType]) -> Result<Arc<dyn TableFunction>>) {
        let signatures = signatures.iter().map(|s| s.to_string()).collect();
        self.tables.insert(name.into(), TableEntry { description: description.into(), signatures, factory });
    }

    /// One function's description, for `DESCRIBE FUNCTION name` (upper case).
    pub fn describe_function(&self, name: &str) -> Option<FunctionDescription> {
        self.describe().into_iter().find(|f| f.name == name)
    }

    /// Whether `name` (upper case) is a scalar function.
    pub fn is_scalar(&self, name: &str) -> bool {
        self.scalars.contains_key(name)
    }

    /// Whether `name` (upper case) is an aggregate function.
    pub fn is_aggregate(&self, name: &str) -> bool {
        self.aggregates.contains_key(name)
    }

    /// Whether `name` (upper case) is a table function.
    pub fn is_table_function(&self, name: &str) -> bool {
        self.tables.contains_key(name)
    }

    /// An aggregate instance for one call site.
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] for an unknown aggregate or unsupported argument types.
    pub fn aggregate(&self, name: &str, arg_types: &[SqlType], literal_args: &[Value]) -> Result<Arc<dyn AggregateFunction>> {
        match self.aggregates.get(name) {
            Some(e) => (e.factory)(arg_types, literal_args),
            None => analysis_err!("Can't find any functions with the name '{name}'"),
        }
    }

    /// A table function instance for one call site.
    ///
    /// # Errors
    /// [`crate::Error::Analysis`] for an unknown table function or bad argument types.
    pub fn table_function(&self, name: &str, arg_types: &[SqlType]) -> Result<Arc<dyn TableFunction>> {
        match self.tables.get(name) {
            Some(e) => (e.factory)(arg_types),
            None => analysis_err!("Can't find any functions with the name '{name}'"),
        }
    }

    /// Resolves a scalar call; `None` argument types are untyped `NULL`s.
    pub(crate) fn resolve_scalar(&self, name: &str, args: &[Option<SqlType>]) -> Result<ResolvedScalar> {
        let Some(f) = self.scalars.get(name) else {
            return analysis_err!("Can't find any functions with the name '{name}'");
        };
        let m = match best_match(&f.signatures, args) {
            Ok(Some(m)) => m,
            Ok(None) => {
                let valid = f.signatures.iter().map(|s| format!("{}{}", name.to_ascii_lowercase(), s.params_text())).collect::<Vec<_>>().join("\n");
                return analysis_err!("Function '{}' does not accept parameters {}.\nValid alternatives are:\n{valid}", name.to_ascii_lowercase(), args_text(args));
            }
            Err(()) => {
                return analysis_err!("Function '{}' cannot be resolved due to ambiguous method parameters {}.\nUse CAST() to explicitly cast your parameters to one of the supported function calls.", name.to_ascii_lowercase(), args_text(args));
            }
        };
        let concrete: Vec<SqlType> = args.iter().zip(&m.arg_types).map(|(a, t)| t.clone().or_else(|| a.clone()).unwrap_or(SqlType::String)).collect();
        let ret = match (f.ret_rule, m.ret) {
            (Some(rule), _) => rule(&concrete),
            (None, Some(t)) => Some(t),
            (None, None) => concrete.iter().find(|t| matches!(t, SqlType::Decimal { .. } | SqlType::Struct(_))).cloned(),
        };
        let Some(ret) = ret else {
            return analysis_err!("cannot infer the return type of '{name}' from its arguments");
        };
        Ok(ResolvedScalar { function: f.clone(), arg_types: m.arg_types, ret })
    }

    /// Every function, by name, for `SHOW FUNCTIONS` and `DESCRIBE FUNCTION`.
    pub fn describe(&self) -> Vec<FunctionDescription> {
        let variants = |sigs: &mut dyn Iterator<Item = (String, String)>| sigs.map(|(arguments, return_type)| FunctionVariant { arguments, return_type }).collect();
        let split = |s: &String| {
            let (a, r) = s.split_once("->").unwrap_or((s, ""));
            (a.trim().to_string(), r.trim().to_string())
        };
        let mut out: Vec<FunctionDescription> = self
            .scalars
            .values()
            .map(|f| FunctionDescription {
                name: f.name.clone(),
                kind: FunctionKind::Scalar,
                category: f.category.clone(),
                description: f.description.clone(),
                variants: variants(&mut f.signatures.iter().map(|s| (s.params_text(), s.ret_text()))),
            })
            .collect();
        out.extend(self.aggregates.iter().map(|(name, e)| FunctionDescription {
            name: name.clone(),
            kind: FunctionKind::Aggregate,
            category: e.category.clone(),
            description: e.description.clone(),
            variants: variants(&mut e.signatures.iter().map(split)),
        }));
        out.extend(self.tables.iter().map(|(name, e)| FunctionDescription {
            name: name.clone(),
            kind: FunctionKind::Table,
            category: "TABLE".into(),
            description: e.description.clone(),
            variants: variants(&mut e.signatures.iter().map(split)),
        }));
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }
}

/// `(INTEGER, null)`: argument types as ksqlDB's resolution errors print them.
fn args_text(args: &[Option<SqlType>]) -> String {
    format!("({})", args.iter().map(|a| a.as_ref().map_or("null".to_string(), SqlType::to_string)).collect::<Vec<_>>().join(", "))
}

/// ksqlDB's overload resolution (`UdfIndex`): the signatures that accept the arguments without
/// any implicit cast, else those that accept them with casts; of several, the best by ksqlDB's
/// ranking (fixed arity over variadic, more parameters, fewer generics), then Brook's widening
/// cost. `Err` when the best candidates tie on ksqlDB's ranking and need casts in different
/// places (ksqlDB's "ambiguous method parameters"); `Ok(None)` when nothing accepts them.
fn best_match(signatures: &[Signature], args: &[Option<SqlType>]) -> std::result::Result<Option<signature::Matched>, ()> {
    let all: Vec<(&Signature, signature::Matched)> = signatures.iter().filter_map(|s| s.matches(args).map(|m| (s, m))).collect();
    let exact: Vec<_> = all.iter().filter(|(_, m)| m.cost == 0).cloned().collect();
    let pool = if exact.is_empty() { all } else { exact };
    let rank = |s: &Signature| (!s.variadic, s.params.len(), std::cmp::Reverse(s.generic_count()));
    let Some(top) = pool.iter().map(|(s, _)| rank(s)).max() else {
        return Ok(None);
    };
    let mut best: Vec<_> = pool.into_iter().filter(|(s, _)| rank(s) == top).collect();
    best.sort_by_key(|(_, m)| m.cost);
    if best.len() > 1 && best.iter().all(|(s, _)| s.variadic && s.generic_count() == 0) {
        return Err(());
    }
    Ok(best.into_iter().next().map(|(_, m)| m))
}
