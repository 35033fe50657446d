//! Aggregate functions. An accumulator is a [`Value`] so state stores serialize it like any
//! other value; `undo` exists where ksqlDB's UDAF is a `TableUdaf` (aggregating a table
//! retracts old rows), and `None` marks aggregates that cannot run over tables.

mod collect;
mod numeric;
mod stddev;

use std::sync::Arc;

use super::api::{AggregateFactory, AggregateFunction};
use super::registry::FunctionRegistry;
use crate::value::{SqlType, Value};
use crate::Result;

/// A built-in aggregate's constructor.
type Builtin = fn(&[SqlType], &[Value]) -> Result<Arc<dyn AggregateFunction>>;

fn factory(f: Builtin) -> AggregateFactory {
    Arc::new(f)
}

pub(crate) fn register(r: &mut FunctionRegistry) {
    let mut add = |name: &str, category: &str, description: &str, sigs: &[&str], f: Builtin| {
        if let Err(e) = r.register_aggregate(name, category, description, sigs, factory(f)) {
            tracing::error!(function = name, error = %e, "built-in aggregate not registered");
        }
    };
    add("COUNT", "AGGREGATE", "Counts records (COUNT(*)) or non-null values.", &["(*) -> BIGINT", "(T) -> BIGINT"], numeric::count);
    add("SUM", "AGGREGATE", "Sums the non-null values.", &["(INT) -> INT", "(BIGINT) -> BIGINT", "(DOUBLE) -> DOUBLE", "(DECIMAL) -> DECIMAL"], numeric::sum);
    add("SUM_LIST", "AGGREGATE", "Sums the non-null elements of every array.", &["(ARRAY<INT>) -> INT", "(ARRAY<BIGINT>) -> BIGINT", "(ARRAY<DOUBLE>) -> DOUBLE"], numeric::sum_list);
    add("AVG", "AGGREGATE", "Averages the non-null values.", &["(INT) -> DOUBLE", "(BIGINT) -> DOUBLE", "(DOUBLE) -> DOUBLE", "(DECIMAL) -> DOUBLE"], numeric::avg);
    add("MIN", "AGGREGATE", "The smallest non-null value.", &["(T) -> T"], numeric::min);
    add("MAX", "AGGREGATE", "The largest non-null value.", &["(T) -> T"], numeric::max);
    add("STDDEV_SAMP", "AGGREGATE", "Sample variance of the non-null values (ksqlDB returns the variance under this name).", &["(INT) -> DOUBLE", "(BIGINT) -> DOUBLE", "(DOUBLE) -> DOUBLE"], stddev::stddev_samp);
    add("STDDEV_SAMPLE", "AGGREGATE", "Sample standard deviation of the non-null values.", &["(INT) -> DOUBLE", "(BIGINT) -> DOUBLE", "(DOUBLE) -> DOUBLE"], stddev::stddev_sample);
    add("CORRELATION", "AGGREGATE", "Pearson correlation of two columns.", &["(DOUBLE, DOUBLE) -> DOUBLE"], numeric::correlation);
    add("COUNT_DISTINCT", "AGGREGATE", "Counts distinct non-null values.", &["(T) -> BIGINT"], collect::count_distinct);
    add("COLLECT_LIST", "AGGREGATE", "All values, in arrival order (at most 1000).", &["(T) -> ARRAY<T>"], collect::collect_list);
    add("COLLECT_SET", "AGGREGATE", "The distinct values, in first-arrival order (at most 1000).", &["(T) -> ARRAY<T>"], collect::collect_set);
    add("TOPK", "AGGREGATE", "The K largest values, largest first.", &["(T, INT) -> ARRAY<T>"], collect::topk);
    add("TOPKDISTINCT", "AGGREGATE", "The K largest distinct values, largest first.", &["(T, INT) -> ARRAY<T>"], collect::topk_distinct);
    add("HISTOGRAM", "AGGREGATE", "Counts of each distinct string (at most 1000 entries).", &["(STRING) -> MAP<STRING, BIGINT>"], collect::histogram);
    add("EARLIEST_BY_OFFSET", "AGGREGATE", "The first value received, or the first N as an array (nulls ignored unless the last argument is false).", &["(T) -> T", "(T, BOOLEAN) -> T", "(T, INT) -> ARRAY<T>", "(T, INT, BOOLEAN) -> ARRAY<T>"], collect::earliest);
    add("LATEST_BY_OFFSET", "AGGREGATE", "The last value received, or the last N as an array (nulls ignored unless the last argument is false).", &["(T) -> T", "(T, BOOLEAN) -> T", "(T, INT) -> ARRAY<T>", "(T, INT, BOOLEAN) -> ARRAY<T>"], collect::latest);
}

#[cfg(test)]
mod tests;
