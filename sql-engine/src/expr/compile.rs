//! Type checking: [`Expr`] -> [`Node`] against a [`Scope`]. Columns, struct fields and
//! functions are resolved here and implicit conversions become explicit `Cast` nodes, so
//! evaluation does no lookups.

use std::sync::Arc;

use super::lambda::LambdaKind;
use super::node::{like_regex, CmpOp, LikePattern, Node};
use super::types::{arith_type, common_of, common_type, is_numeric, ArithOp};
use super::scope::Scope;
use super::{cast, decimal};
use crate::function::FunctionRegistry;
use crate::parser::ast::{BinaryOp, Expr, Literal, UnaryOp};
use crate::value::{SqlType, Value};
use crate::parser::walk::sql_text;
use crate::{analysis_err, Result};

/// A compiled node and its type; `None` for an untyped `NULL` literal.
pub(crate) struct Typed {
    pub(crate) node: Node,
    pub(crate) ty: Option<SqlType>,
}

impl Typed {
    fn new(node: Node, ty: SqlType) -> Typed {
        Typed { node, ty: Some(ty) }
    }
}

/// Functions whose first argument is a time unit word (`MINUTES`), not a column.
const TIME_UNIT_FUNCTIONS: &[&str] = &["TIMESTAMPADD", "TIMESTAMPSUB", "DATEADD", "DATESUB", "TIMEADD", "TIMESUB"];

pub(crate) struct Compiler<'a> {
    pub(crate) scope: &'a Scope,
    pub(crate) functions: &'a FunctionRegistry,
    pub(crate) named_types: &'a dyn Fn(&str) -> Option<SqlType>,
    /// Lambda parameters in scope, outermost first.
    pub(crate) vars: Vec<(String, SqlType)>,
}

/// Converts `t` to `to`: nothing when it already is, a folded literal when constant, else a
/// `Cast` node.
pub(crate) fn coerce(t: Typed, to: &SqlType) -> Node {
    match (&t.ty, t.node) {
        (Some(ty), node) if ty == to => node,
        (None, _) => Node::Literal(Value::Null),
        (_, Node::Literal(v)) => match cast::cast(v.clone(), to) {
            Ok(folded) => Node::Literal(folded),
            Err(_) => Node::Cast { expr: Box::new(Node::Literal(v)), to: to.clone() },
        },
        (_, node) => Node::Cast { expr: Box::new(node), to: to.clone() },
    }
}

fn type_name(t: &Option<SqlType>) -> String {
    t.as_ref().map_or_else(|| "NULL".to_string(), SqlType::to_string)
}

fn temporal(t: &SqlType) -> bool {
    matches!(t, SqlType::Date | SqlType::Time | SqlType::Timestamp)
}

impl Compiler<'_> {
    pub(crate) fn compile(&mut self, expr: &Expr) -> Result<Typed> {
        stacker::maybe_grow(super::node::STACK_RED_ZONE, super::node::STACK_SEGMENT, || self.compile_inner(expr))
    }

    fn compile_inner(&mut self, expr: &Expr) -> Result<Typed> {
        match expr {
            Expr::Literal(l) => literal(l),
            Expr::Column { source, name } => self.column(source.as_deref(), name),
            Expr::Dereference { base, field } => {
                let b = self.compile(base)?;
                let Some(SqlType::Struct(fields)) = &b.ty else {
                    return analysis_err!("Expected STRUCT type for dereference of '{field}', got {}", type_name(&b.ty));
                };
                match fields.iter().position(|(n, _)| n == field) {
                    Some(index) => {
                        let ty = fields[index].1.clone();
                        Ok(Typed::new(Node::Field { base: Box::new(b.node), index }, ty))
                    }
                    None => analysis_err!("Could not find field '{field}' in {}", type_name(&b.ty)),
                }
            }
            Expr::Subscript { base, index } => {
                let b = self.compile(base)?;
                let i = self.compile(index)?;
                match b.ty.clone() {
                    Some(SqlType::Array(elem)) => {
                        if !matches!(i.ty, None | Some(SqlType::Int | SqlType::BigInt)) {
                            return analysis_err!("array index must be an INTEGER, got {}", type_name(&i.ty));
                        }
                        Ok(Typed::new(Node::Index { base: Box::new(b.node), index: Box::new(coerce(i, &SqlType::Int)) }, *elem))
                    }
                    Some(SqlType::Map(k, v)) => match &i.ty {
                        Some(t) if common_type(t, &k).as_ref() != Some(&*k) => analysis_err!("map key must be {k}, got {t}"),
                        _ => Ok(Typed::new(Node::Key { base: Box::new(b.node), key: Box::new(coerce(i, &k)) }, *v)),
                    },
                    other => analysis_err!("Subscript expression requires ARRAY or MAP, got {}", type_name(&other)),
                }
            }
            Expr::Unary { op, expr } => {
                let e = self.compile(expr)?;
                match (op, &e.ty) {
                    (UnaryOp::Not, Some(SqlType::Boolean) | None) => Ok(Typed::new(Node::Not(Box::new(coerce(e, &SqlType::Boolean))), SqlType::Boolean)),
                    (UnaryOp::Neg, Some(t)) if is_numeric(t) => {
                        let ty = t.clone();
                        Ok(Typed::new(Node::Neg(Box::new(e.node)), ty))
                    }
                    (UnaryOp::Plus, Some(t)) if is_numeric(t) => Ok(e),
                    (UnaryOp::Neg | UnaryOp::Plus, None) => Ok(e),
                    (op, t) => analysis_err!("Unary operator {op:?} does not accept {}", type_name(t)),
                }
            }
            Expr::Binary { op, left, right } => self.binary(*op, left, right),
            Expr::IsNull { expr, negated } => {
                let e = self.compile(expr)?;
                Ok(Typed::new(Node::IsNull { expr: Box::new(e.node), negated: *negated }, SqlType::Boolean))
            }
            Expr::IsDistinctFrom { left, right, negated } => {
                let (l, r) = self.comparable(left, right, CmpOp::Eq)?;
                Ok(Typed::new(Node::Distinct { left: Box::new(l), right: Box::new(r), negated: *negated }, SqlType::Boolean))
            }
            Expr::Like { expr, pattern, escape, negated } => {
                let e = self.compile(expr)?;
                let p = self.compile(pattern)?;
                for t in [&e.ty, &p.ty] {
                    if !matches!(t, None | Some(SqlType::String)) {
                        return analysis_err!("LIKE can only be applied to STRING, got {}", type_name(t));
                    }
                }
                let pattern = match &p.node {
                    Node::Literal(Value::String(s)) => LikePattern::Fixed(Arc::new(like_regex(s, *escape).map_err(|e| crate::Error::Analysis(e.to_string()))?)),
                    _ => LikePattern::Dynamic { pattern: Box::new(p.node), escape: *escape },
                };
                Ok(Typed::new(Node::Like { expr: Box::new(e.node), pattern, negated: *negated }, SqlType::Boolean))
            }
            Expr::Between { expr, low, high, negated } => {
                let (v, lo) = self.comparable(expr, low, CmpOp::GtEq)?;
                let (v2, hi) = self.comparable(expr, high, CmpOp::LtEq)?;
                let node = Node::And(Box::new(Node::Compare { op: CmpOp::GtEq, left: Box::new(v), right: Box::new(lo) }), Box::new(Node::Compare { op: CmpOp::LtEq, left: Box::new(v2), right: Box::new(hi) }));
                Ok(Typed::new(if *negated { Node::Not(Box::new(node)) } else { node }, SqlType::Boolean))
            }
            Expr::InList { expr, list, negated } => {
                let e = self.compile(expr)?;
                let items = list.iter().filter(|x| !matches!(x, Expr::Literal(Literal::Null))).map(|x| self.compile(x)).collect::<Result<Vec<_>>>()?;
                let ty = self.common(std::iter::once(&e).chain(&items), "IN")?;
                let list = items.into_iter().map(|t| self.coerce_to(t, &ty)).collect();
                Ok(Typed::new(Node::InList { expr: Box::new(self.coerce_to(e, &ty)), list, negated: *negated }, SqlType::Boolean))
            }
            Expr::Case { operand, when_then, else_result } => self.case(operand.as_deref(), when_then, else_result.as_deref()),
            Expr::Cast { expr, ty } => {
                let to = ty.resolve(self.named_types)?;
                let e = self.compile(expr)?;
                match &e.ty {
                    Some(from) if !cast::castable(from, &to) => analysis_err!("Cast of {from} to {to} is not supported"),
                    _ => Ok(Typed::new(coerce(e, &to), to)),
                }
            }
            Expr::Function { name, args, .. } => self.function(name, args),
            Expr::Star => analysis_err!("'*' can only be used as the argument of COUNT"),
            Expr::Lambda { .. } => analysis_err!("lambda expressions can only be used as arguments of TRANSFORM, FILTER and REDUCE"),
            Expr::Array(items) => {
                if items.is_empty() {
                    return analysis_err!("Array constructor cannot be empty");
                }
                let items = items.iter().map(|x| self.compile(x)).collect::<Result<Vec<_>>>()?;
                let ty = self.common(&items, "ARRAY")?;
                let nodes = items.into_iter().map(|t| self.coerce_to(t, &ty)).collect();
                Ok(Typed::new(Node::MakeArray(nodes), SqlType::Array(Box::new(ty))))
            }
            Expr::Map(entries) => {
                if entries.is_empty() {
                    return analysis_err!("Map constructor cannot be empty. Please supply at least one key value pair (see https://github.com/confluentinc/ksql/issues/4239).");
                }
                let keys = entries.iter().map(|(k, _)| self.compile(k)).collect::<Result<Vec<_>>>()?;
                let values = entries.iter().map(|(_, v)| self.compile(v)).collect::<Result<Vec<_>>>()?;
                // ksqlDB's map constructor rules and messages; types listed once each, in order.
                let type_list = |items: &[Typed]| {
                    let mut names: Vec<String> = Vec::new();
                    for t in items {
                        let n = t.ty.as_ref().map_or_else(|| "NULL".to_string(), SqlType::to_string);
                        if !names.contains(&n) {
                            names.push(n);
                        }
                    }
                    format!("[{}]", names.join(", "))
                };
                // A NULL key literal gets the message of ksqlDB's MAP constructor; keys of any other
                // one type are accepted (maps with non-STRING keys, as ksqlDB's MAP<K, V> type and
                // the AVRO / PROTOBUF formats have them).
                if keys.iter().any(|k| k.ty.is_none()) {
                    return analysis_err!("Only STRING keys are supported in maps but got: {}", type_list(&keys));
                }
                if values.iter().all(|v| v.ty.is_none()) {
                    return analysis_err!("Cannot construct a map with all NULL values");
                }
                let kt = self.common(&keys, "MAP key")?;
                let vt = match common_of(values.iter().map(|t| t.ty.as_ref())) {
                    Ok(t) => t.unwrap_or(SqlType::String),
                    Err(_) => {
                        let unqualified = crate::parser::walk::rewrite(expr, &mut |x| match x {
                            Expr::Column { source: Some(_), name } => Some(Expr::Column { source: None, name: name.clone() }),
                            _ => None,
                        });
                        return analysis_err!("Cannot construct a map with mismatching value types ({}) from expression {}.", type_list(&values), crate::parser::walk::sql_text(&unqualified));
                    }
                };
                let nodes = keys.into_iter().zip(values).map(|(k, v)| (self.coerce_to(k, &kt), self.coerce_to(v, &vt))).collect();
                Ok(Typed::new(Node::MakeMap(nodes), SqlType::Map(Box::new(kt), Box::new(vt))))
            }
            Expr::Struct(fields) => {
                let mut nodes = Vec::with_capacity(fields.len());
                let mut types = Vec::with_capacity(fields.len());
                for (name, e) in fields {
                    let t = self.compile(e)?;
                    types.push((name.clone(), t.ty.clone().unwrap_or(SqlType::String)));
                    nodes.push((name.clone(), t.node));
                }
                Ok(Typed::new(Node::MakeStruct(nodes), SqlType::Struct(types)))
            }
        }
    }

    fn coerce_to(&self, t: Typed, to: &SqlType) -> Node {
        coerce(t, to)
    }

    /// The common type of several operands, `STRING` when all are untyped `NULL`s.
    fn common<'t>(&self, items: impl IntoIterator<Item = &'t Typed>, what: &str) -> Result<SqlType> {
        match common_of(items.into_iter().map(|t| t.ty.as_ref())) {
            Ok(Some(t)) => Ok(t),
            Ok(None) => Ok(SqlType::String),
            Err((a, b)) => analysis_err!("invalid {what}: operands of types {a} and {b} do not mix"),
        }
    }

    fn column(&self, source: Option<&str>, name: &str) -> Result<Typed> {
        if source.is_none() {
            if let Some(i) = self.vars.iter().rposition(|(n, _)| n == name) {
                return Ok(Typed::new(Node::Var(i), self.vars[i].1.clone()));
            }
        }
        let mut found = self.scope.columns().iter().enumerate().filter(|(_, c)| c.name == name && (source.is_none() || c.qualifier.as_deref() == source));
        let Some((i, c)) = found.next() else {
            let full = source.map_or_else(|| name.to_string(), |s| format!("{s}.{name}"));
            return analysis_err!("Column '{full}' cannot be resolved.");
        };
        if found.next().is_some() {
            let all: Vec<String> = self.scope.columns().iter().filter(|c| c.name == name).map(|c| c.qualifier.as_ref().map_or_else(|| c.name.clone(), |q| format!("{q}.{}", c.name))).collect();
            return analysis_err!("Column '{name}' is ambiguous. Could be any of: {}", all.join(", "));
        }
        Ok(Typed::new(Node::Column(i), c.ty.clone()))
    }

    /// Both sides of a comparison converted to a common type.
    fn comparable(&mut self, left: &Expr, right: &Expr, op: CmpOp) -> Result<(Node, Node)> {
        let l = self.compile(left)?;
        let r = self.compile(right)?;
        let mismatch = |a: &SqlType, b: &SqlType| {
            analysis_err!("Cannot compare {} ({a}) to {} ({b}) with {}.", operand_text(left), operand_text(right), op.ksql_name())
        };
        let ty = match (&l.ty, &r.ty) {
            (None, None) => return Ok((Node::Literal(Value::Null), Node::Literal(Value::Null))),
            (Some(t), None) | (None, Some(t)) => t.clone(),
            (Some(a), Some(SqlType::String)) if temporal(a) => a.clone(),
            (Some(SqlType::String), Some(b)) if temporal(b) => b.clone(),
            (Some(SqlType::Date), Some(SqlType::Timestamp)) | (Some(SqlType::Timestamp), Some(SqlType::Date)) => SqlType::Timestamp,
            (Some(a), Some(b)) => match common_type(a, b) {
                Some(t) => t,
                None => return mismatch(a, b),
            },
        };
        let ordered = !matches!(op, CmpOp::Eq | CmpOp::NotEq);
        if ordered && matches!(ty, SqlType::Boolean | SqlType::Array(_) | SqlType::Map(..) | SqlType::Struct(_)) {
            return mismatch(l.ty.as_ref().unwrap_or(&ty), r.ty.as_ref().unwrap_or(&ty));
        }
        Ok((coerce(l, &ty), coerce(r, &ty)))
    }

    fn binary(&mut self, op: BinaryOp, left: &Expr, right: &Expr) -> Result<Typed> {
        let cmp = |op| Some(op);
        let cmp_op = match op {
            BinaryOp::Eq => cmp(CmpOp::Eq),
            BinaryOp::NotEq => cmp(CmpOp::NotEq),
            BinaryOp::Lt => cmp(CmpOp::Lt),
            BinaryOp::LtEq => cmp(CmpOp::LtEq),
            BinaryOp::Gt => cmp(CmpOp::Gt),
            BinaryOp::GtEq => cmp(CmpOp::GtEq),
            _ => None,
        };
        if let Some(op) = cmp_op {
            if is_null_literal(left) && is_null_literal(right) {
                return analysis_err!("Comparison with NULL not supported: NULL {} NULL", op.symbol());
            }
            let (l, r) = self.comparable(left, right, op)?;
            return Ok(Typed::new(Node::Compare { op, left: Box::new(l), right: Box::new(r) }, SqlType::Boolean));
        }
        let l = self.compile(left)?;
        let r = self.compile(right)?;
        let arith = match op {
            BinaryOp::Add => ArithOp::Add,
            BinaryOp::Sub => ArithOp::Sub,
            BinaryOp::Mul => ArithOp::Mul,
            BinaryOp::Div => ArithOp::Div,
            BinaryOp::Mod => ArithOp::Mod,
            BinaryOp::And | BinaryOp::Or => {
                for t in [&l.ty, &r.ty] {
                    if !matches!(t, None | Some(SqlType::Boolean)) {
                        return analysis_err!("{op:?} requires BOOLEAN operands, got {}", type_name(t));
                    }
                }
                let (a, b) = (Box::new(coerce(l, &SqlType::Boolean)), Box::new(coerce(r, &SqlType::Boolean)));
                return Ok(Typed::new(if op == BinaryOp::And { Node::And(a, b) } else { Node::Or(a, b) }, SqlType::Boolean));
            }
            _ => return self.concat(l, r),
        };
        let (lt, rt) = match (&l.ty, &r.ty) {
            (Some(SqlType::String), Some(SqlType::String) | None) | (None, Some(SqlType::String)) if arith == ArithOp::Add => return self.concat(l, r),
            (Some(a), Some(b)) => (a.clone(), b.clone()),
            (Some(a), None) | (None, Some(a)) => (a.clone(), a.clone()),
            (None, None) => return Ok(Typed { node: Node::Literal(Value::Null), ty: None }),
        };
        let Some(ty) = arith_type(arith, &lt, &rt) else {
            // ksqlDB names the expression and the operands' base types (`DECIMAL`, not `DECIMAL(2, 1)`).
            let text = sql_text(&Expr::Binary { op, left: Box::new(left.clone()), right: Box::new(right.clone()) });
            return analysis_err!("Error processing expression: {text}. Unsupported arithmetic types. {} {}", base_type_name(&lt), base_type_name(&rt));
        };
        let operand = |t: &SqlType| match (&ty, super::types::as_decimal(t)) {
            (SqlType::Decimal { .. }, Some((precision, scale))) => SqlType::Decimal { precision, scale },
            _ => ty.clone(),
        };
        let (lo, ro) = (operand(&lt), operand(&rt));
        let node = Node::Arith { op: arith, ty: ty.clone(), left: Box::new(coerce(l, &lo)), right: Box::new(coerce(r, &ro)) };
        Ok(Typed::new(node, ty))
    }

    fn concat(&self, l: Typed, r: Typed) -> Result<Typed> {
        let ty = match (&l.ty, &r.ty) {
            (Some(SqlType::Bytes), Some(SqlType::Bytes) | None) | (None, Some(SqlType::Bytes)) => SqlType::Bytes,
            (Some(SqlType::String) | None, Some(SqlType::String) | None) => SqlType::String,
            (a, b) => return analysis_err!("|| requires STRING or BYTES operands, got {} and {}", type_name(a), type_name(b)),
        };
        Ok(Typed::new(Node::Concat(Box::new(coerce(l, &ty)), Box::new(coerce(r, &ty))), ty))
    }

    fn case(&mut self, operand: Option<&Expr>, when_then: &[(Expr, Expr)], else_result: Option<&Expr>) -> Result<Typed> {
        let mut conds = Vec::with_capacity(when_then.len());
        for (when, _) in when_then {
            let cond = match operand {
                Some(op) => {
                    let (l, r) = self.comparable(op, when, CmpOp::Eq)?;
                    Node::Compare { op: CmpOp::Eq, left: Box::new(l), right: Box::new(r) }
                }
                None => {
                    let c = self.compile(when)?;
                    if !matches!(c.ty, None | Some(SqlType::Boolean)) {
                        return analysis_err!("WHEN operand type should be boolean. Type for '{when:?}' is {}", type_name(&c.ty));
                    }
                    c.node
                }
            };
            conds.push(cond);
        }
        let mut results = when_then.iter().map(|(_, then)| self.compile(then)).collect::<Result<Vec<_>>>()?;
        if let Some(e) = else_result {
            results.push(self.compile(e)?);
        }
        let ty = match common_of(results.iter().map(|t| t.ty.as_ref())) {
            Ok(Some(t)) => t,
            Ok(None) => return analysis_err!("Invalid Case expression. All case branches have NULL type"),
            Err((a, b)) => return analysis_err!("Invalid Case expression. Type for all 'THEN' clauses should be the same. THEN expression has type {b}, expected {a}"),
        };
        let mut nodes: Vec<Node> = results.into_iter().map(|t| coerce(t, &ty)).collect();
        let otherwise = if else_result.is_some() { nodes.pop().unwrap_or(Node::Literal(Value::Null)) } else { Node::Literal(Value::Null) };
        Ok(Typed::new(Node::Case { whens: conds.into_iter().zip(nodes).collect(), otherwise: Box::new(otherwise) }, ty))
    }

    fn function(&mut self, name: &str, args: &[Expr]) -> Result<Typed> {
        let name = name.to_ascii_uppercase();
        if self.functions.is_aggregate(&name) {
            return analysis_err!("Aggregate function '{name}' is not allowed in this context: aggregate functions can only be used in the projection and HAVING clause of an aggregate query");
        }
        if self.functions.is_table_function(&name) {
            return analysis_err!("Table function '{name}' is not allowed in this context: table functions can only be used in the projection of a query");
        }
        let kind = match name.as_str() {
            "TRANSFORM" => Some(LambdaKind::Transform),
            "FILTER" => Some(LambdaKind::Filter),
            "REDUCE" => Some(LambdaKind::Reduce),
            _ => None,
        };
        if let Some(kind) = kind {
            return self.lambda_function(&name, kind, args);
        }
        let mut compiled = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            compiled.push(match a {
                Expr::Column { source: None, name: unit } if i == 0 && TIME_UNIT_FUNCTIONS.contains(&name.as_str()) => Typed::new(Node::Literal(Value::String(unit.clone())), SqlType::String),
                _ => self.compile(a)?,
            });
        }
        let types: Vec<Option<SqlType>> = compiled.iter().map(|t| t.ty.clone()).collect();
        let resolved = self.functions.resolve_scalar(&name, &types)?;
        let nodes = compiled.into_iter().zip(&resolved.arg_types).map(|(t, to)| match to {
            Some(to) => coerce(t, to),
            None => t.node,
        });
        let f = &resolved.function;
        let node = Node::Call { name: Arc::from(f.name.as_str()), imp: f.imp.clone(), nulls: f.nulls, ret: resolved.ret.clone(), args: nodes.collect() };
        Ok(Typed::new(fold_constant_call(node, f.is_deterministic()), resolved.ret))
    }

    fn lambda_function(&mut self, name: &str, kind: LambdaKind, args: &[Expr]) -> Result<Typed> {
        let want = match kind {
            LambdaKind::Reduce => 3,
            _ => 2,
        };
        let Some(base_expr) = args.first() else {
            return analysis_err!("Function '{name}' requires a collection argument");
        };
        let base = self.compile(base_expr)?;
        let (is_map, elem) = match &base.ty {
            Some(SqlType::Array(e)) => (false, vec![(**e).clone()]),
            Some(SqlType::Map(k, v)) => (true, vec![(**k).clone(), (**v).clone()]),
            other => return analysis_err!("Function '{name}' requires an ARRAY or MAP as first argument, got {}", type_name(other)),
        };
        let lambdas = if is_map && kind == LambdaKind::Transform { 2 } else { 1 };
        if args.len() != want + lambdas - 1 {
            return analysis_err!("Function '{name}' expects {} arguments, got {}", want + lambdas - 1, args.len());
        }
        let init = match kind {
            LambdaKind::Reduce => Some(self.compile(&args[1])?),
            _ => None,
        };
        let init_ty = init.as_ref().map(|t| t.ty.clone().unwrap_or(SqlType::String));
        let mut params_types = Vec::new();
        if let Some(t) = &init_ty {
            params_types.push(t.clone());
        }
        params_types.extend(elem.iter().cloned());
        let depth = self.vars.len();
        let mut bodies = Vec::new();
        let mut body_types = Vec::new();
        for lambda in &args[args.len() - lambdas..] {
            let Expr::Lambda { params, body } = lambda else {
                return analysis_err!("Function '{name}' expects a lambda expression, got {lambda:?}");
            };
            if params.len() != params_types.len() {
                return analysis_err!("Was expecting {} arguments but found {}, {params:?}. Check your lambda statement.", params_types.len(), params.len());
            }
            self.vars.extend(params.iter().cloned().zip(params_types.iter().cloned()));
            let compiled = self.compile(body);
            self.vars.truncate(depth);
            let compiled = compiled?;
            body_types.push(compiled.ty.clone().unwrap_or(SqlType::String));
            bodies.push(compiled);
        }
        let ty = match (kind, &init_ty) {
            (LambdaKind::Transform, _) if is_map => SqlType::Map(Box::new(body_types[0].clone()), Box::new(body_types[1].clone())),
            (LambdaKind::Transform, _) => SqlType::Array(Box::new(body_types[0].clone())),
            (LambdaKind::Filter, _) => {
                if body_types[0] != SqlType::Boolean {
                    return analysis_err!("Function '{name}' lambda must return BOOLEAN, got {}", body_types[0]);
                }
                base.ty.clone().unwrap_or(SqlType::String)
            }
            (LambdaKind::Reduce, Some(t)) => t.clone(),
            (LambdaKind::Reduce, None) => return analysis_err!("REDUCE without an initial state"),
        };
        let bodies = bodies
            .into_iter()
            .map(|b| match kind {
                LambdaKind::Reduce => coerce(b, &ty),
                _ => b.node,
            })
            .collect();
        let init = init.zip(init_ty).map(|(t, ty)| Box::new(coerce(t, &ty)));
        Ok(Typed::new(Node::Lambda { kind, base: Box::new(base.node), init, bodies, depth }, ty))
    }
}

/// A deterministic call on literals, evaluated once at compile time (`PARSE_TIMESTAMP('...',
/// '...')` in a filter). A call that fails stays, to be `NULL` and logged on each record as
/// ksqlDB does.
fn fold_constant_call(node: Node, deterministic: bool) -> Node {
    let Node::Call { args, .. } = &node else { return node };
    if !deterministic || !args.iter().all(|a| matches!(a, Node::Literal(_))) {
        return node;
    }
    super::node::clear_call_errors();
    let v = node.eval(&[], &[]);
    let failed = !super::node::take_call_errors().is_empty();
    match v {
        Ok(v) if !failed => Node::Literal(v),
        _ => node,
    }
}

fn literal(l: &Literal) -> Result<Typed> {
    let (v, ty) = match l {
        Literal::Null => return Ok(Typed { node: Node::Literal(Value::Null), ty: None }),
        Literal::Boolean(b) => (Value::Boolean(*b), SqlType::Boolean),
        Literal::Int(i) => (Value::Int(*i), SqlType::Int),
        Literal::BigInt(i) => (Value::BigInt(*i), SqlType::BigInt),
        Literal::Double(d) => (Value::Double(*d), SqlType::Double),
        Literal::String(s) => (Value::String(s.clone()), SqlType::String),
        Literal::Bytes(b) => (Value::Bytes(b.clone()), SqlType::Bytes),
        Literal::Decimal(text) => {
            let d = decimal::parse(text).map_err(|e| crate::Error::Analysis(e.to_string()))?;
            (Value::Decimal(d), SqlType::Decimal { precision: d.precision, scale: d.scale })
        }
    };
    Ok(Typed::new(Node::Literal(v), ty))
}

fn is_null_literal(e: &Expr) -> bool {
    matches!(e, Expr::Literal(Literal::Null))
}

/// An operand as ksqlDB's type errors print it: a column by its bare name.
/// A type's name without its parameters (`DECIMAL`, `ARRAY`), as ksqlDB's `SqlBaseType`.
fn base_type_name(t: &SqlType) -> String {
    let full = t.to_string();
    full.split(['(', '<']).next().unwrap_or_default().trim().to_owned()
}

fn operand_text(e: &Expr) -> String {
    match e {
        Expr::Column { name, .. } => name.clone(),
        other => sql_text(other),
    }
}
