//! Commands: what the engine writes to, and rebuilds itself from, the command topic
//! ([`crate::plan::command`]). While recording is on ([`Engine::record_commands`]), every
//! statement that changes the catalog leaves a [`Command`] with its plan; the server appends
//! them ([`Engine::take_commands`]) and, on start, applies each recorded one
//! ([`Engine::apply_command`]): the catalog change and the query's execution steps as they were
//! recorded, run under the properties recorded with them; nothing is planned again. Only
//! `TERMINATE` (recorded without a plan, as ksqlDB does) and records written before plans were
//! recorded run their statement text. Recording is part of the engine's state (`state.rs`),
//! which the statements that record call; applying is here.

use crate::catalog::{QueryInfo, QueryState};
use crate::engine::lifecycle::{start, stop, stop_source_table_query};
use crate::engine::state::Engine;
use crate::parser::ast::Statement;
use crate::plan::command::{Command, DdlCommand, KsqlPlan};
use crate::plan::physical::PhysicalPlan;
use crate::{analysis_err, ColumnNamespace, Result};

impl Engine {
    /// Keeps `query_id` from being given out again: for a recorded query that is not started
    /// (a restore that leaves out queries terminated later in the command topic).
    pub fn reserve_query_id(&mut self, query_id: &str) {
        self.catalog.reserve_query_id(query_id);
    }

    /// Applies a recorded command: its catalog change and its query, started from the recorded
    /// execution steps under the recorded properties (the server's, then the session's, over
    /// today's). Nothing is recorded while it runs; a live query is started without waiting for
    /// it to run (it may wait for its group, as after a crash).
    ///
    /// # Errors
    /// A change that no longer fits the catalog (a source that exists, or is missing), a query
    /// that does not start; the engine is then as it was before the command, except that a
    /// `TERMINATE ALL` or a legacy record may have applied in part.
    pub fn apply_command(&mut self, c: &Command) -> Result<()> {
        let mut overrides = c.original_properties.clone();
        overrides.extend(c.streams_properties.clone());
        let saved_overrides = std::mem::replace(&mut self.overrides, overrides);
        let saved_recording = self.recorded.take();
        self.replaying = true;
        let out = match &c.plan {
            Some(plan) => self.apply_plan(plan, &c.statement),
            None => self.apply_text(&c.statement),
        };
        self.replaying = false;
        self.overrides = saved_overrides;
        self.recorded = saved_recording;
        out
    }

    /// A command without a plan: `TERMINATE`, or a statement recorded by an older Brook (planned
    /// again, with a warning).
    fn apply_text(&mut self, text: &str) -> Result<()> {
        let parsed = crate::parser::parse(text)?;
        let [one] = parsed.as_slice() else {
            return analysis_err!("a recorded command holds {} statements, expected one", parsed.len());
        };
        if !matches!(one.statement, Statement::Terminate(_)) {
            tracing::warn!(statement = %text, "a command recorded without a plan (by an older Brook): planning its statement again");
        }
        self.execute_statement(one).map(drop)
    }

    fn apply_plan(&mut self, plan: &KsqlPlan, text: &str) -> Result<()> {
        let Some(q) = &plan.query_plan else {
            return match &plan.ddl_command {
                Some(ddl) => self.apply_ddl(ddl, text),
                None => analysis_err!("a recorded plan has neither a DDL command nor a query plan"),
            };
        };
        // Check the catalog change before the query starts, apply it once it runs.
        let replacing = match &plan.ddl_command {
            Some(DdlCommand::CreateStream(c) | DdlCommand::CreateTable(c)) => {
                if self.catalog.source(&c.source.name).is_some() && !c.or_replace {
                    return analysis_err!("Cannot add {} '{}': A source with the same name already exists", crate::catalog::kind_name(c.source.kind), c.source.name);
                }
                c.or_replace
            }
            Some(_) => return analysis_err!("a recorded query plan comes with a DDL command that is not a CREATE"),
            None => false,
        };
        if replacing && self.catalog.query(&q.query_id).is_some() {
            stop(self, &q.query_id)?;
        } else if self.catalog.query(&q.query_id).is_some() {
            return analysis_err!("query {} already exists", q.query_id);
        }
        if let (Some(topic), Some(partitions)) = (&q.sink_topic, q.sink_partitions) {
            self.create_topic(topic, partitions)?;
        }
        // A source table's materialization reads the table its own DDL creates.
        let created = match &plan.ddl_command {
            Some(DdlCommand::CreateStream(c) | DdlCommand::CreateTable(c)) => Some(&c.source),
            _ => None,
        };
        let reads = q
            .sources
            .iter()
            .filter_map(|s| self.catalog.source(s).or(created.filter(|c| &c.name == s)).map(|d| d.topic.clone()))
            .collect();
        let physical = PhysicalPlan { query_id: q.query_id.clone(), root: q.physical_plan.clone() };
        start(self, &physical, reads)?;
        if let Some(ddl) = &plan.ddl_command {
            self.apply_ddl(ddl, text)?;
        }
        self.catalog.reserve_query_id(&q.query_id);
        self.catalog.add_query(QueryInfo {
            id: q.query_id.clone(),
            kind: q.kind,
            sources: q.sources.clone(),
            sink: q.sink.clone(),
            sink_topic: q.sink_topic.clone(),
            statement: text.to_owned(),
            plan: physical,
            state: QueryState::Running,
        });
        Ok(())
    }

    fn apply_ddl(&mut self, ddl: &DdlCommand, text: &str) -> Result<()> {
        match ddl {
            DdlCommand::CreateStream(c) | DdlCommand::CreateTable(c) => self.catalog.add_source(c.source.clone(), c.or_replace),
            DdlCommand::DropSource { source_name, data_source_type } => {
                self.catalog.drop_source(source_name, *data_source_type)?;
                stop_source_table_query(self, source_name)
            }
            DdlCommand::AlterSource { source_name, data_source_type, new_columns } => {
                let Some(existing) = self.catalog.source(source_name) else {
                    return analysis_err!("Source {source_name} does not exist.");
                };
                if existing.kind != *data_source_type {
                    return analysis_err!("Source {source_name} is a {}, the recorded ALTER a {}", crate::catalog::kind_name(existing.kind), crate::catalog::kind_name(*data_source_type));
                }
                let mut source = existing.clone();
                for c in new_columns {
                    if source.schema.find(&c.name).is_some() {
                        return analysis_err!("Cannot add column {} to schema. A column with the same name already exists.", c.name);
                    }
                    source.schema.columns.push(crate::Column { namespace: ColumnNamespace::Value, ..c.clone() });
                }
                source.statement = format!("{}; {text}", source.statement);
                self.catalog.add_source(source, true)
            }
            DdlCommand::RegisterType { type_name, ty } => {
                self.catalog.add_type(type_name, ty.clone(), false)?;
                self.env.types.insert(type_name.clone(), ty.clone());
                Ok(())
            }
            DdlCommand::DropType { type_name } => {
                if !self.catalog.drop_type(type_name) {
                    return analysis_err!("Type {type_name} does not exist.");
                }
                self.env.types.remove(type_name);
                Ok(())
            }
        }
    }
}
