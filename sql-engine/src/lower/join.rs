//! Joins: `StreamStreamJoin` (windowed, `Join-this-join` / `Join-other-join` and their window
//! stores), `StreamTableJoin`, `TableTableJoin` and `ForeignKeyTableTableJoin`. The joined
//! value is the left row followed by the right row (`NULL`s for a missing side), plus
//! `ROWKEY` for full outer joins. `RIGHT` joins run as `LEFT` joins with the sides swapped.
//! Each join gets its two inputs already lowered (left, then right) from the dispatcher.

use std::sync::Arc;
use std::time::Duration;

use brook_streams_dsl::{JoinWindows, Joined, StreamJoined};

use crate::expr::CompiledExpr;
use crate::lower::serde::internal_serde;
use crate::lower::context::{LowerContext, Lowered};
use crate::parser::ast::{JoinKind, Within};
use crate::plan::physical::JoinStep;
use crate::{Error, Result, Row, Value};


/// Builds joined rows.
struct Joiner {
    left_width: usize,
    right_width: usize,
    /// For full outer joins: the key expressions of both sides (for `ROWKEY`).
    rowkey: Option<(Arc<CompiledExpr>, Arc<CompiledExpr>)>,
}

impl Joiner {
    fn join(&self, l: Option<&Row>, r: Option<&Row>) -> Row {
        let mut row = Vec::with_capacity(self.left_width + self.right_width + 1);
        match l {
            Some(l) => row.extend(l.iter().cloned()),
            None => row.extend(std::iter::repeat_n(Value::Null, self.left_width)),
        }
        match r {
            Some(r) => row.extend(r.iter().cloned()),
            None => row.extend(std::iter::repeat_n(Value::Null, self.right_width)),
        }
        if let Some((lk, rk)) = &self.rowkey {
            let lv = l.and_then(|l| lk.eval(l).ok()).unwrap_or(Value::Null);
            let key = if lv.is_null() { r.and_then(|r| rk.eval(r).ok()).unwrap_or(Value::Null) } else { lv };
            row.push(key);
        }
        row
    }
}

/// ksqlDB's `StreamStreamJoinBuilder`: with a `GRACE PERIOD`, Kafka's
/// `JoinWindows.ofTimeDifferenceAndGrace` (left/outer non-matches once the window closes);
/// without, the deprecated `JoinWindows.of` (24 hours of grace, non-matches at once).
fn windows(w: &Within) -> JoinWindows {
    let ms = Duration::from_millis;
    let base = match w.grace_ms {
        Some(grace) => JoinWindows::of_time_difference_and_grace(ms(w.before_ms), ms(grace)),
        None => JoinWindows::of(ms(w.before_ms)),
    };
    base.before(ms(w.before_ms)).after(ms(w.after_ms))
}

fn joiner(j: &JoinStep, cx: &LowerContext) -> Result<Arc<Joiner>> {
    let (lw, rw) = (j.left.schema().value.len(), j.right.schema().value.len());
    // Full outer joins and joins on expressions of both sides carry a synthetic `ROWKEY` value
    // column after both sides' columns.
    let rowkey = if j.kind == JoinKind::Full || j.props.schema.value.len() == lw + rw + 1 {
        Some((Arc::new(cx.env.compile(&j.left_key, &j.left.schema().value)?), Arc::new(cx.env.compile(&j.right_key, &j.right.schema().value)?)))
    } else {
        None
    };
    Ok(Arc::new(Joiner { left_width: lw, right_width: rw, rowkey }))
}

/// `StreamStreamJoin`.
pub(crate) fn stream_stream(j: &JoinStep, within: &Within, left: Lowered, right: Lowered, cx: &LowerContext) -> Result<Lowered> {
    let (Lowered::Stream(l), Lowered::Stream(r)) = (left, right) else {
        return Err(Error::Unsupported("a stream-stream join of non-streams".into()));
    };
    let f = joiner(j, cx)?;
    let w = windows(within);
    // ksqlDB 0.29 runs on Kafka Streams 3.3, whose join window stores expire whole segments.
    let options = || {
        StreamJoined::with(internal_serde(), internal_serde(), internal_serde())
            .with_name(j.props.op_name())
            .with_segment_granular_expiry()
    };
    Ok(Lowered::Stream(match j.kind {
        JoinKind::Inner => l.join(&r, move |a: &Row, b: &Row| f.join(Some(a), Some(b)), w, options()),
        JoinKind::Left => l.left_join(&r, move |a: &Row, b: Option<&Row>| f.join(Some(a), b), w, options()),
        JoinKind::Right => r.left_join(&l, move |b: &Row, a: Option<&Row>| f.join(a, Some(b)), w, options()),
        JoinKind::Full => l.outer_join(&r, move |a: Option<&Row>, b: Option<&Row>| f.join(a, b), w, options()),
    }))
}

/// `StreamTableJoin`.
pub(crate) fn stream_table(j: &JoinStep, left: Lowered, right: Lowered, cx: &LowerContext) -> Result<Lowered> {
    let (Lowered::Stream(l), Lowered::Table(t)) = (left, right) else {
        return Err(Error::Unsupported("a stream-table join of a non-stream and a non-table".into()));
    };
    let f = joiner(j, cx)?;
    let joined = || Joined::with(internal_serde(), internal_serde()).with_name(j.props.op_name());
    Ok(Lowered::Stream(match j.kind {
        JoinKind::Inner => l.join_table(&t, move |a: &Row, b: &Row| f.join(Some(a), Some(b)), joined()),
        JoinKind::Left => l.left_join_table(&t, move |a: &Row, b: Option<&Row>| f.join(Some(a), b), joined()),
        _ => return Err(Error::Unsupported("RIGHT and FULL stream-table joins".into())),
    }))
}

/// `TableTableJoin`.
pub(crate) fn table_table(j: &JoinStep, left: Lowered, right: Lowered, cx: &LowerContext) -> Result<Lowered> {
    let (Lowered::Table(l), Lowered::Table(r)) = (left, right) else {
        return Err(Error::Unsupported("a table-table join of non-tables".into()));
    };
    let f = joiner(j, cx)?;
    Ok(Lowered::Table(match j.kind {
        JoinKind::Inner => l.join(&r, move |a: &Row, b: &Row| f.join(Some(a), Some(b))),
        JoinKind::Left => l.left_join(&r, move |a: &Row, b: Option<&Row>| f.join(Some(a), b)),
        JoinKind::Right => r.left_join(&l, move |b: &Row, a: Option<&Row>| f.join(a, Some(b))),
        JoinKind::Full => l.outer_join(&r, move |a: Option<&Row>, b: Option<&Row>| f.join(a, b)),
    }))
}

/// `ForeignKeyTableTableJoin`: each left row joins the right row whose key the foreign-key
/// expression gives.
pub(crate) fn foreign_key(j: &JoinStep, fk: &crate::parser::ast::Expr, left: Lowered, right: Lowered, cx: &LowerContext) -> Result<Lowered> {
    let (Lowered::Table(l), Lowered::Table(r)) = (left, right) else {
        return Err(Error::Unsupported("a foreign-key join of non-tables".into()));
    };
    let f = joiner(j, cx)?;
    let key = Arc::new(cx.env.compile(fk, &j.left.schema().value)?);
    let log = cx.logger(&j.props.ctx);
    let extract = move |v: &Row| -> Row {
        vec![key.eval(v).unwrap_or_else(|e| {
            log.processing_error(&e.to_string(), v);
            Value::Null
        })]
    };
    Ok(Lowered::Table(match j.kind {
        JoinKind::Inner => l.join_foreign_key(&r, extract, move |a: &Row, b: &Row| f.join(Some(a), Some(b))),
        JoinKind::Left => l.left_join_foreign_key(&r, extract, move |a: &Row, b: Option<&Row>| f.join(Some(a), b)),
        _ => return Err(Error::Unsupported("RIGHT and FULL foreign-key joins".into())),
    }))
}
