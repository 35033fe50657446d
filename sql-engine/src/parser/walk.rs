//! Walking and rewriting expression trees, and printing them as ksqlDB does: the analyzer
//! qualifies column references, finds aggregate calls and replaces them by the columns that
//! hold their results; the expression compiler quotes expressions in its messages.

use super::ast::Expr;

/// The direct children of `e`.
pub(crate) fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Literal(_) | Expr::Column { .. } | Expr::Star => vec![],
        Expr::Dereference { base, .. } => vec![base],
        Expr::Subscript { base, index } => vec![base, index],
        Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => vec![expr],
        Expr::Binary { left, right, .. } | Expr::IsDistinctFrom { left, right, .. } => vec![left, right],
        Expr::Like { expr, pattern, .. } => vec![expr, pattern],
        Expr::Between { expr, low, high, .. } => vec![expr, low, high],
        Expr::InList { expr, list, .. } => std::iter::once(&**expr).chain(list).collect(),
        Expr::Case { operand, when_then, else_result } => operand
            .iter()
            .map(|b| &**b)
            .chain(when_then.iter().flat_map(|(w, t)| [w, t]))
            .chain(else_result.iter().map(|b| &**b))
            .collect(),
        Expr::Function { args, .. } => args.iter().collect(),
        Expr::Lambda { body, .. } => vec![body],
        Expr::Array(items) => items.iter().collect(),
        Expr::Map(entries) => entries.iter().flat_map(|(k, v)| [k, v]).collect(),
        Expr::Struct(fields) => fields.iter().map(|(_, v)| v).collect(),
    }
}

/// Calls `f` on `e` and every expression below it, parents first.
pub(crate) fn visit<'a>(e: &'a Expr, f: &mut impl FnMut(&'a Expr)) {
    f(e);
    for c in children(e) {
        visit(c, f);
    }
}

/// Rebuilds `e` top-down: where `f` returns `Some`, that replaces the subtree
/// (not visited further); elsewhere children are rewritten.
pub(crate) fn rewrite(e: &Expr, f: &mut impl FnMut(&Expr) -> Option<Expr>) -> Expr {
    if let Some(r) = f(e) {
        return r;
    }
    let mut r = |x: &Expr| rewrite(x, f);
    let b = |x: Expr| Box::new(x);
    match e {
        Expr::Literal(_) | Expr::Column { .. } | Expr::Star => e.clone(),
        Expr::Dereference { base, field } => Expr::Dereference { base: b(r(base)), field: field.clone() },
        Expr::Subscript { base, index } => Expr::Subscript { base: b(r(base)), index: b(r(index)) },
        Expr::Unary { op, expr } => Expr::Unary { op: *op, expr: b(r(expr)) },
        Expr::IsNull { expr, negated } => Expr::IsNull { expr: b(r(expr)), negated: *negated },
        Expr::Cast { expr, ty } => Expr::Cast { expr: b(r(expr)), ty: ty.clone() },
        Expr::Binary { op, left, right } => Expr::Binary { op: *op, left: b(r(left)), right: b(r(right)) },
        Expr::IsDistinctFrom { left, right, negated } => {
            Expr::IsDistinctFrom { left: b(r(left)), right: b(r(right)), negated: *negated }
        }
        Expr::Like { expr, pattern, escape, negated } => {
            Expr::Like { expr: b(r(expr)), pattern: b(r(pattern)), escape: *escape, negated: *negated }
        }
        Expr::Between { expr, low, high, negated } => {
            Expr::Between { expr: b(r(expr)), low: b(r(low)), high: b(r(high)), negated: *negated }
        }
        Expr::InList { expr, list, negated } => Expr::InList { expr: b(r(expr)), list: list.iter().map(&mut r).collect(), negated: *negated },
        Expr::Case { operand, when_then, else_result } => Expr::Case {
            operand: operand.as_ref().map(|o| b(r(o))),
            when_then: when_then.iter().map(|(w, t)| (r(w), r(t))).collect(),
            else_result: else_result.as_ref().map(|o| b(r(o))),
        },
        Expr::Function { name, args, distinct } => Expr::Function { name: name.clone(), args: args.iter().map(&mut r).collect(), distinct: *distinct },
        Expr::Lambda { params, body } => Expr::Lambda { params: params.clone(), body: b(r(body)) },
        Expr::Array(items) => Expr::Array(items.iter().map(&mut r).collect()),
        Expr::Map(entries) => Expr::Map(entries.iter().map(|(k, v)| (r(k), r(v))).collect()),
        Expr::Struct(fields) => Expr::Struct(fields.iter().map(|(n, v)| (n.clone(), r(v))).collect()),
    }
}

/// ksqlDB's text of an expression, as error messages and generated names print it
/// (`ABS(INPUT.ID)`, `(A + 1)`).
pub(crate) fn sql_text(e: &Expr) -> String {
    use crate::parser::ast::{BinaryOp as B, Literal as L, UnaryOp as U};
    let list = |xs: &[Expr]| xs.iter().map(sql_text).collect::<Vec<_>>().join(", ");
    match e {
        Expr::Literal(l) => match l {
            L::Null => "null".into(),
            L::Boolean(b) => b.to_string(),
            L::Int(i) => i.to_string(),
            L::BigInt(i) => i.to_string(),
            L::Decimal(d) => d.clone(),
            L::Double(d) => format!("{d:?}"),
            L::String(s) => format!("'{}'", s.replace('\'', "''")),
            L::Bytes(b) => format!("{b:?}"),
        },
        Expr::Column { source: Some(s), name } => format!("{s}.{name}"),
        Expr::Column { source: None, name } => name.clone(),
        Expr::Dereference { base, field } => format!("{}->{field}", sql_text(base)),
        Expr::Subscript { base, index } => format!("{}[{}]", sql_text(base), sql_text(index)),
        Expr::Unary { op, expr } => match op {
            U::Neg => format!("-{}", sql_text(expr)),
            U::Plus => format!("+{}", sql_text(expr)),
            U::Not => format!("(NOT {})", sql_text(expr)),
        },
        Expr::Binary { op, left, right } => {
            let o = match op {
                B::Add => "+",
                B::Sub => "-",
                B::Mul => "*",
                B::Div => "/",
                B::Mod => "%",
                B::Eq => "=",
                B::NotEq => "<>",
                B::Lt => "<",
                B::LtEq => "<=",
                B::Gt => ">",
                B::GtEq => ">=",
                B::And => "AND",
                B::Or => "OR",
                B::Concat => "||",
            };
            format!("({} {o} {})", sql_text(left), sql_text(right))
        }
        Expr::IsNull { expr, negated } => format!("({} IS {}NULL)", sql_text(expr), if *negated { "NOT " } else { "" }),
        Expr::IsDistinctFrom { left, right, negated } => {
            format!("({} IS {}DISTINCT FROM {})", sql_text(left), if *negated { "NOT " } else { "" }, sql_text(right))
        }
        Expr::Like { expr, pattern, negated, .. } => {
            format!("({} {}LIKE {})", sql_text(expr), if *negated { "NOT " } else { "" }, sql_text(pattern))
        }
        Expr::Between { expr, low, high, negated } => format!(
            "({} {}BETWEEN {} AND {})",
            sql_text(expr),
            if *negated { "NOT " } else { "" },
            sql_text(low),
            sql_text(high)
        ),
        Expr::InList { expr, list: l, negated } => {
            format!("({} {}IN ({}))", sql_text(expr), if *negated { "NOT " } else { "" }, list(l))
        }
        Expr::Case { operand, when_then, else_result } => {
            let mut s = String::from("(CASE");
            if let Some(o) = operand {
                s.push_str(&format!(" {}", sql_text(o)));
            }
            for (w, t) in when_then {
                s.push_str(&format!(" WHEN {} THEN {}", sql_text(w), sql_text(t)));
            }
            if let Some(e) = else_result {
                s.push_str(&format!(" ELSE {}", sql_text(e)));
            }
            s.push_str(" END)");
            s
        }
        Expr::Cast { expr, ty } => format!("CAST({} AS {ty:?})", sql_text(expr)),
        Expr::Function { name, args, distinct } => {
            format!("{name}({}{})", if *distinct { "DISTINCT " } else { "" }, list(args))
        }
        Expr::Star => "*".into(),
        Expr::Lambda { params, body } => format!("({}) => {}", params.join(", "), sql_text(body)),
        Expr::Array(items) => format!("ARRAY[{}]", list(items)),
        Expr::Map(entries) => format!(
            "MAP({})",
            entries.iter().map(|(k, v)| format!("{}:={}", sql_text(k), sql_text(v))).collect::<Vec<_>>().join(", ")
        ),
        Expr::Struct(fields) => format!(
            "STRUCT({})",
            fields.iter().map(|(n, v)| format!("{n}:={}", sql_text(v))).collect::<Vec<_>>().join(", ")
        ),
    }
}
