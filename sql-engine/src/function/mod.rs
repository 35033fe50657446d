//! The function registry: ksqlDB's built-in scalar functions (one file per family), aggregates
//! ([`AggregateFunction`]), the table function `EXPLODE`, and user functions registered from
//! Rust with a typed signature ([`FunctionRegistry::register_udf`]).
//!
//! A scalar function is a set of signatures (`"(STRING, INT) -> STRING"`, parsed once at
//! registration) and one implementation that receives its arguments already converted to the
//! matched signature's parameter types. Overloads resolve as in ksqlDB: exact match first, then
//! implicit numeric widening.
//!
//! Layout: what a function is (implementation types, the aggregate and table function traits)
//! in `api.rs`, the registry and overload resolution in `registry.rs`, both below the families,
//! which register into the registry; this file declares them and builds the registry of
//! built-ins ([`FunctionRegistry::new`]).
//!
//! # Examples
//! ```
//! use brook_sql_engine::function::FunctionRegistry;
//! let mut registry = FunctionRegistry::new();
//! registry.register_udf("MY_ADD", "adds two numbers", |a: i64, b: i64| a + b).unwrap();
//! assert!(registry.describe().iter().any(|f| f.name == "MY_ADD"));
//! ```

mod aggregate;
mod api;
pub(crate) mod args;
mod collections;
mod conversion;
mod datetime;
pub(crate) mod javatime;
mod json;
mod jsondoc;
mod math;
mod nulls;
mod regex;
mod registry;
pub(crate) mod signature;
mod string;
mod table;
mod udf;
mod url;

pub use self::api::{AggregateFactory, AggregateFunction, Nulls, ReturnRule, ScalarImpl, TableFunction};
pub use self::registry::{FunctionDescription, FunctionKind, FunctionRegistry, FunctionVariant};
pub use self::udf::{IntoUdf, SqlArg, SqlResult};

impl FunctionRegistry {
    /// A registry with every built-in function.
    pub fn new() -> Self {
        let mut r = FunctionRegistry::default();
        string::register(&mut r);
        math::register(&mut r);
        nulls::register(&mut r);
        regex::register(&mut r);
        conversion::register(&mut r);
        datetime::register(&mut r);
        json::register(&mut r);
        collections::register(&mut r);
        url::register(&mut r);
        aggregate::register(&mut r);
        table::register(&mut r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::SqlType;

    #[test]
    fn every_builtin_signature_parses_and_names_are_unique() {
        let r = FunctionRegistry::new();
        let d = r.describe();
        for f in &d {
            assert!(!f.variants.is_empty(), "{} has no variants", f.name);
            assert!(!f.description.is_empty(), "{} has no description", f.name);
        }
        let names: Vec<_> = d.iter().map(|f| f.name.as_str()).collect();
        let mut dedup = names.clone();
        dedup.dedup();
        assert_eq!(names, dedup);
        assert!(names.len() >= 60, "only {} functions", names.len());
    }

    #[test]
    fn resolution_prefers_exact_then_widens() {
        let r = FunctionRegistry::new();
        let abs = r.resolve_scalar("ABS", &[Some(SqlType::Int)]).unwrap();
        assert_eq!(abs.ret, SqlType::Int);
        let sqrt = r.resolve_scalar("SQRT", &[Some(SqlType::Int)]).unwrap();
        assert_eq!(sqrt.arg_types, vec![Some(SqlType::Double)]);
        let err = r.resolve_scalar("LCASE", &[Some(SqlType::Int)]).unwrap_err().to_string();
        assert!(err.contains("Function 'lcase' does not accept parameters (INTEGER)"), "{err}");
        assert!(r.resolve_scalar("NOPE", &[]).is_err());
    }

    #[test]
    fn show_functions_listing() {
        let listing: Vec<String> = FunctionRegistry::new().describe().iter().map(|f| format!("{:<22} {:<9} {:<18} {}", f.name, format!("{:?}", f.kind).to_uppercase(), f.category, f.variants.iter().map(|v| format!("{} -> {}", v.arguments, v.return_type)).collect::<Vec<_>>().join(" | "))).collect();
        insta::assert_snapshot!(listing.join("\n"));
    }

    #[test]
    fn compiled_expressions_are_shareable() {
        fn assert_send_sync_clone<T: Send + Sync + Clone>() {}
        assert_send_sync_clone::<crate::expr::CompiledExpr>();
        fn assert_send_sync<T: Send + Sync + ?Sized>() {}
        assert_send_sync::<dyn AggregateFunction>();
        assert_send_sync::<FunctionRegistry>();
    }

    #[test]
    fn duplicate_registration_is_rejected() {
        let mut r = FunctionRegistry::new();
        assert!(r.register_udf("LCASE", "", |s: String| s).is_err());
        assert!(r.register_udf("MINE", "", |s: String| s).is_ok());
        assert!(r.register_udf("mine", "", |s: String| s).is_err());
    }
}
