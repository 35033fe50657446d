//! `brook consumer-groups`: kafka-consumer-groups.sh.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{anyhow, bail};
use brook_broker::server::wire_client::Client;
use brook_common::TopicPartition;
use clap::Args;
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::{
    DeleteGroupsRequest, DescribeGroupsRequest, GroupId, OffsetCommitRequest, OffsetFetchRequest,
};

use crate::admin::{assigned_partitions, connect, error_name, partitions, str_bytes, tn};
use crate::records::list_offsets;
use crate::{views, Bootstrap};

/// Flags of `brook consumer-groups`.
#[derive(Debug, Clone, Args)]
pub struct GroupsArgs {
    #[command(flatten)]
    bootstrap: Bootstrap,
    /// List all groups.
    #[arg(long)]
    list: bool,
    /// Describe a group: offsets and lag (default), or --members, or --state.
    #[arg(long)]
    describe: bool,
    /// With --describe: the group's members (consumer id, host, client id, partition count).
    #[arg(long)]
    members: bool,
    /// With --describe: the group's coordinator, assignment strategy, state and member count.
    /// With --list: a STATE column, only the groups in the given comma-separated states when any.
    #[arg(long, value_name = "STATES", num_args = 0..=1, default_missing_value = "")]
    state: Option<String>,
    /// With --describe: the partition offsets (the default view).
    #[arg(long)]
    offsets: bool,
    /// With --describe --members or --state: more columns (each member's assignment, epochs).
    #[arg(long)]
    verbose: bool,
    /// Reset a group's offsets (dry run unless --execute).
    #[arg(long = "reset-offsets")]
    reset_offsets: bool,
    /// Delete a group.
    #[arg(long)]
    delete: bool,
    /// The group.
    #[arg(long)]
    group: Option<String>,
    /// The topic for --reset-offsets.
    #[arg(long)]
    topic: Option<String>,
    /// Reset to the earliest offset.
    #[arg(long = "to-earliest")]
    to_earliest: bool,
    /// Reset to the latest offset.
    #[arg(long = "to-latest")]
    to_latest: bool,
    /// Reset to this offset.
    #[arg(long = "to-offset")]
    to_offset: Option<i64>,
    /// Apply the reset (otherwise only print the plan).
    #[arg(long)]
    execute: bool,
}

/// Commits `offsets` for `topic` as a standalone consumer (generation -1, no member id).
pub(crate) async fn commit(c: &mut Client, group: &str, topic: &str, offsets: &BTreeMap<i32, i64>) -> anyhow::Result<()> {
    let mut t = OffsetCommitRequestTopic::default();
    t.name = tn(topic);
    t.partitions = offsets
        .iter()
        .map(|(p, o)| {
            let mut rp = OffsetCommitRequestPartition::default();
            rp.partition_index = *p;
            rp.committed_offset = *o;
            rp.committed_leader_epoch = -1;
            rp.committed_metadata = Some(str_bytes(""));
            rp
        })
        .collect();
    let mut req = OffsetCommitRequest::default();
    req.group_id = GroupId(str_bytes(group));
    req.generation_id_or_member_epoch = -1;
    req.retention_time_ms = -1;
    req.topics = vec![t];
    let resp = c.send(req).await?;
    for p in resp.topics.iter().flat_map(|t| t.partitions.iter()) {
        if p.error_code != 0 {
            bail!("committing offsets of group {group} failed: {}", error_name(p.error_code));
        }
    }
    Ok(())
}

/// All committed offsets of `group`: topic-partition -> offset.
pub(crate) async fn committed(c: &mut Client, group: &str) -> anyhow::Result<BTreeMap<TopicPartition, i64>> {
    let mut req = OffsetFetchRequest::default();
    req.group_id = GroupId(str_bytes(group));
    req.topics = None;
    let mut req8 = OffsetFetchRequest::default();
    let mut g = kafka_protocol::messages::offset_fetch_request::OffsetFetchRequestGroup::default();
    g.group_id = GroupId(str_bytes(group));
    g.topics = None;
    req8.groups = vec![g];
    let v = c.version_for::<OffsetFetchRequest>()?;
    let resp = c.send_version(if v >= 8 { req8 } else { req }, v).await?;
    let mut out = BTreeMap::new();
    if v >= 8 {
        for g in &resp.groups {
            if g.error_code != 0 {
                bail!("fetching offsets of group {group} failed: {}", error_name(g.error_code));
            }
            for t in &g.topics {
                for p in &t.partitions {
                    out.insert(TopicPartition::new(t.name.0.to_string(), p.partition_index), p.committed_offset);
                }
            }
        }
    } else {
        for t in &resp.topics {
            for p in &t.partitions {
                out.insert(TopicPartition::new(t.name.0.to_string(), p.partition_index), p.committed_offset);
            }
        }
    }
    Ok(out)
}

pub(crate) async fn run(a: GroupsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let group = || {
        a.group.clone().ok_or_else(|| anyhow!("Option --group is required with --describe, --delete and --reset-offsets: name the group (see --list)"))
    };
    if !a.describe {
        let misplaced = [("--members", a.members), ("--offsets", a.offsets), ("--verbose", a.verbose)];
        if let Some((flag, _)) = misplaced.iter().find(|(_, set)| *set) {
            bail!("Option {flag} can only be used with --describe");
        }
        if a.state.is_some() && !a.list {
            bail!("Option --state can only be used with --describe or --list");
        }
    }
    if a.members && a.state.is_some() {
        bail!("Option --members cannot be used with --state: pick one view (--offsets, --members or --state)");
    }
    let mut c = connect(&a.bootstrap).await?;
    if a.list {
        views::list(&mut c, a.state.as_deref(), out).await?;
    } else if a.describe {
        let g = group()?;
        if a.members {
            let d = group_state(&mut c, &g).await?;
            views::members(&d, a.verbose, out)?;
        } else if a.state.is_some() {
            let d = group_state(&mut c, &g).await?;
            views::state(&mut c, &d, a.verbose, out).await?;
        } else {
            describe(&mut c, &g, out).await?;
        }
    } else if a.reset_offsets {
        reset(&mut c, &a, &group()?, out).await?;
    } else if a.delete {
        let g = group()?;
        let mut req = DeleteGroupsRequest::default();
        req.groups_names = vec![GroupId(str_bytes(&g))];
        let resp = c.send(req).await?;
        match resp.results.first().map_or(0, |r| r.error_code) {
            0 => writeln!(out, "Deletion of requested consumer groups ('{g}') was successful.")?,
            69 => bail!("Error: Deletion of some consumer groups failed: Group '{g}' could not be deleted due to: The group id does not exist."),
            e => bail!("Error: Deletion of some consumer groups failed: Group '{g}' could not be deleted due to: {}", error_name(e)),
        }
    } else {
        bail!("Command must include exactly one action: --list, --describe, --delete, --reset-offsets");
    }
    Ok(())
}

pub(crate) async fn group_state(c: &mut Client, g: &str) -> anyhow::Result<kafka_protocol::messages::describe_groups_response::DescribedGroup> {
    let mut req = DescribeGroupsRequest::default();
    req.groups = vec![GroupId(str_bytes(g))];
    let resp = c.send(req).await?;
    let d = resp.groups.into_iter().next().ok_or_else(|| anyhow!("empty DescribeGroups response"))?;
    if d.error_code != 0 {
        bail!("Error: describing group {g} failed: {}", error_name(d.error_code));
    }
    Ok(d)
}

async fn describe(c: &mut Client, g: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let d = group_state(c, g).await?;
    let offsets = committed(c, g).await?;
    if d.group_state.as_str() == "Dead" && offsets.is_empty() {
        bail!("Error: Consumer group '{g}' does not exist.");
    }
    // (topic, partition) -> (consumer id, host, client id)
    let mut owners: BTreeMap<TopicPartition, (String, String, String)> = BTreeMap::new();
    for m in &d.members {
        for tp in assigned_partitions(&m.member_assignment) {
            owners.insert(tp, (m.member_id.to_string(), m.client_host.to_string(), m.client_id.to_string()));
        }
    }
    let mut keys: Vec<TopicPartition> = offsets.keys().cloned().chain(owners.keys().cloned()).collect();
    keys.sort();
    keys.dedup();
    let mut ends: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for TopicPartition { topic: t, .. } in &keys {
        if !ends.contains_key(t) {
            let n = partitions(c, t).await.unwrap_or(0);
            let e = if n > 0 { list_offsets(c, t, n, -1).await.unwrap_or_default() } else { Vec::new() };
            ends.insert(t.clone(), e);
        }
    }
    if d.members.is_empty() {
        writeln!(out, "\nConsumer group '{g}' has no active members.")?;
    }
    let dash = || "-".to_owned();
    let rows: Vec<[String; 9]> = keys
        .iter()
        .map(|tp| {
            let TopicPartition { topic: t, partition: p } = tp;
            let cur = offsets.get(tp).copied().filter(|o| *o >= 0);
            let end = ends.get(t).and_then(|e| e.get(*p as usize)).copied();
            let lag = match (cur, end) {
                (Some(c), Some(e)) => (e - c).max(0).to_string(),
                _ => dash(),
            };
            let (cid, host, client) = owners.get(tp).cloned().unwrap_or_else(|| (dash(), dash(), dash()));
            [g.to_owned(), t.clone(), p.to_string(), cur.map_or_else(dash, |c| c.to_string()), end.map_or_else(dash, |e| e.to_string()), lag, cid, host, client]
        })
        .collect();
    let w = |i: usize, min: usize| rows.iter().map(|r| r[i].len()).max().unwrap_or(0).max(min);
    let (wg, wt, wc, wh) = (w(0, 15), w(1, 15), w(6, 15), w(7, 15));
    writeln!(out)?;
    writeln!(
        out,
        "{:wg$} {:wt$} {:10} {:15} {:15} {:15} {:wc$} {:wh$} CLIENT-ID",
        "GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG", "CONSUMER-ID", "HOST"
    )?;
    for r in rows {
        writeln!(
            out,
            "{:wg$} {:wt$} {:10} {:15} {:15} {:15} {:wc$} {:wh$} {}",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8]
        )?;
    }
    Ok(())
}

async fn reset(c: &mut Client, a: &GroupsArgs, g: &str, out: &mut dyn Write) -> anyhow::Result<()> {
    let topic = a.topic.clone().ok_or_else(|| anyhow!("--topic is required with --reset-offsets"))?;
    let d = group_state(c, g).await?;
    let state = d.group_state.to_string();
    if state != "Empty" && state != "Dead" {
        bail!("Error: Assignments can only be reset if the group '{g}' is inactive, but the current state is {state}.");
    }
    let n = partitions(c, &topic).await?;
    let earliest = list_offsets(c, &topic, n, -2).await?;
    let latest = list_offsets(c, &topic, n, -1).await?;
    let target: BTreeMap<i32, i64> = (0..n)
        .map(|p| {
            let (lo, hi) = (earliest[p as usize], latest[p as usize]);
            let o = if a.to_earliest {
                lo
            } else if a.to_latest {
                hi
            } else {
                a.to_offset.unwrap_or(hi).clamp(lo, hi)
            };
            (p, o)
        })
        .collect();
    if !(a.to_earliest || a.to_latest || a.to_offset.is_some()) {
        bail!("One of the reset scopes should be defined: --to-earliest, --to-latest, --to-offset");
    }
    if a.execute {
        commit(c, g, &topic, &target).await?;
    }
    writeln!(out, "\n{:30} {:30} {:10} {:15}", "GROUP", "TOPIC", "PARTITION", "NEW-OFFSET")?;
    for (p, o) in &target {
        writeln!(out, "{:30} {:30} {:10} {:15}", g, topic, p, o)?;
    }
    Ok(())
}
