//! Column names and column references the planner's passes share: ksqlDB's pseudo-columns,
//! the synthetic join key `ROWKEY`, and references qualified by the source they resolve to.

use crate::parser::ast::Expr;
use crate::parser::walk::rewrite;
use crate::plan::physical::PlanColumn;
use crate::Result;

// ksqlDB's pseudo-columns: a source step adds them to every row's value (the window bounds
// only for windowed sources).
pub(crate) const ROWTIME: &str = "ROWTIME";
pub(crate) const ROWPARTITION: &str = "ROWPARTITION";
pub(crate) const ROWOFFSET: &str = "ROWOFFSET";
pub(crate) const WINDOWSTART: &str = "WINDOWSTART";
pub(crate) const WINDOWEND: &str = "WINDOWEND";

/// The synthetic key column of full outer joins and of joins on expressions of both sides.
pub(crate) const ROWKEY: &str = "ROWKEY";

/// A qualified reference to `c`.
pub(crate) fn column_ref(c: &PlanColumn) -> Expr {
    Expr::Column { source: c.qualifier.clone(), name: c.name.clone() }
}

/// `e` with every column reference qualified by the source it resolves to, so equal
/// expressions compare equal however they were written. Unknown names are left for the
/// expression compiler to report; ambiguous ones fail here.
pub(crate) fn qualify(e: &Expr, cols: &[PlanColumn]) -> Result<Expr> {
    fn go(e: &Expr, cols: &[PlanColumn], bound: &mut Vec<String>, err: &mut Option<crate::Error>) -> Expr {
        match e {
            Expr::Column { source: None, name } if !bound.contains(name) => {
                let matches: Vec<&PlanColumn> = cols.iter().filter(|c| &c.name == name).collect();
                let qualifiers: Vec<&Option<String>> = {
                    let mut q: Vec<&Option<String>> = matches.iter().map(|c| &c.qualifier).collect();
                    q.dedup();
                    q
                };
                if qualifiers.len() > 1 && err.is_none() {
                    let options: Vec<String> = matches.iter().map(|c| format!("{}.{}", c.qualifier.as_deref().unwrap_or(""), c.name)).collect();
                    *err = Some(crate::Error::Analysis(format!("Column '{name}' is ambiguous. Could be any of: {}", options.join(", "))));
                }
                match matches.first() {
                    Some(c) => Expr::Column { source: c.qualifier.clone(), name: name.clone() },
                    None => e.clone(),
                }
            }
            Expr::Lambda { params, body } => {
                let n = bound.len();
                bound.extend(params.iter().cloned());
                let body = go(body, cols, bound, err);
                bound.truncate(n);
                Expr::Lambda { params: params.clone(), body: Box::new(body) }
            }
            _ => rewrite(e, &mut |x| if std::ptr::eq(x, e) { None } else { Some(go(x, cols, bound, err)) }),
        }
    }
    let mut err = None;
    let out = go(e, cols, &mut Vec::new(), &mut err);
    match err {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
