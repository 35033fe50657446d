//! Query plans: [`physical`] is the serializable tree of ksqlDB `ExecutionStep`s that the
//! command topic stores and the lowering turns into a topology; the analyzer builds it.
//! [`command`] is the command topic's record around it (ksqlDB's `Command` and `KsqlPlan`).
//!
//! Where Brook differs from ksqlDB: there is no separate logical plan-node tree
//! (`DataSourceNode`, `ProjectNode`, ...): the analysis is the logical plan, and the builder
//! goes straight to execution steps. Step schemas are stored in the steps, as ksqlDB's
//! `ExecutionStepPropertiesV1` does, so lowering never re-derives types.

pub mod command;
pub mod physical;
