//! Request scope on the engine thread: a request's `streamsProperties` and `sessionVariables`
//! (and any `SET` / `DEFINE` among its statements) apply to that request only, as in ksqlDB,
//! where the server keeps no session. The engine keeps one session, so the scope snapshots its
//! properties and variables before the request and puts them back after.

use std::collections::BTreeMap;

use brook_sql_engine::{Engine, StatementResult};

fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// The session-scoped properties and the variables of the engine.
fn snapshot(engine: &mut Engine) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
    let mut props = BTreeMap::new();
    let mut vars = BTreeMap::new();
    if let Ok(rs) = engine.execute("SHOW PROPERTIES;") {
        for r in rs {
            if let StatementResult::Properties(ps) = r {
                props.extend(ps.into_iter().filter(|p| p.scope == "SESSION").map(|p| (p.name, p.value)));
            }
        }
    }
    if let Ok(rs) = engine.execute("SHOW VARIABLES;") {
        for r in rs {
            if let StatementResult::Variables(vs) = r {
                vars.extend(vs);
            }
        }
    }
    (props, vars)
}

fn set(engine: &mut Engine, props: &BTreeMap<String, String>, vars: &BTreeMap<String, String>) {
    for (k, v) in props {
        if let Err(e) = engine.execute(&format!("SET {}={};", quote(k), quote(v))) {
            tracing::warn!(property = %k, error = %e, "cannot set a request property");
        }
    }
    for (k, v) in vars {
        if let Err(e) = engine.execute(&format!("DEFINE {k}={};", quote(v))) {
            tracing::warn!(variable = %k, error = %e, "cannot define a session variable");
        }
    }
}

/// Runs `f` with `props` and `vars` set, then restores the engine's session.
pub(crate) fn scoped<T>(engine: &mut Engine, props: &BTreeMap<String, String>, vars: &BTreeMap<String, String>, f: impl FnOnce(&mut Engine) -> T) -> T {
    let (before_props, before_vars) = snapshot(engine);
    set(engine, props, vars);
    let out = f(engine);
    let (after_props, after_vars) = snapshot(engine);
    for k in after_props.keys().filter(|k| !before_props.contains_key(*k)) {
        let _ = engine.execute(&format!("UNSET {};", quote(k)));
    }
    for k in after_vars.keys().filter(|k| !before_vars.contains_key(*k)) {
        let _ = engine.execute(&format!("UNDEFINE {k};"));
    }
    set(engine, &before_props, &before_vars);
    out
}
