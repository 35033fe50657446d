//! The `kafka-consumer-groups.sh` views other than offsets: `--list [--state]`,
//! `--describe --members [--verbose]` and `--describe --state [--verbose]`, with Kafka's columns,
//! widths and wording (`ConsumerGroupCommand`).

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::bail;
use brook_broker::server::wire_client::Client;
use brook_common::TopicPartition;
use kafka_protocol::messages::describe_groups_response::DescribedGroup;
use kafka_protocol::messages::ListGroupsRequest;

use crate::admin::{assigned_partitions, metadata};

/// Kafka's placeholder for a missing value.
const MISSING: &str = "-";

/// The states a consumer group can be in, as `--state` takes them.
const STATES: [&str; 5] = ["PreparingRebalance", "CompletingRebalance", "Stable", "Dead", "Empty"];

/// Left-aligns each cell to its width, one space apart (Java's `%-Ns`); a width of 0 is `%s`.
fn row(cells: &[(&str, usize)]) -> String {
    cells.iter().map(|(c, w)| format!("{c:w$}")).collect::<Vec<_>>().join(" ")
}

/// `--list`, and with `--state` the GROUP and STATE columns, filtered by the given states.
pub(crate) async fn list(c: &mut Client, states: Option<&str>, out: &mut dyn Write) -> anyhow::Result<()> {
    let resp = c.send(ListGroupsRequest::default()).await?;
    let mut groups: Vec<(String, String)> =
        resp.groups.iter().map(|g| (g.group_id.0.to_string(), g.group_state.to_string())).collect();
    groups.sort();
    let Some(states) = states else {
        for (id, _) in groups {
            writeln!(out, "{id}")?;
        }
        return Ok(());
    };
    let wanted: Vec<&str> = states.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let mut filter = Vec::new();
    for w in &wanted {
        match STATES.iter().find(|s| s.eq_ignore_ascii_case(w)) {
            Some(s) => filter.push(*s),
            None => bail!("Invalid state list '{states}'. Valid states are: {}", STATES.join(", ")),
        }
    }
    groups.retain(|(_, st)| filter.is_empty() || filter.contains(&st.as_str()));
    let w = groups.iter().map(|(g, _)| g.len().max(15)).max().unwrap_or(15) + 10;
    writeln!(out, "{}", row(&[("GROUP", w), ("STATE", 20)]).trim_end())?;
    for (g, st) in &groups {
        writeln!(out, "{}", row(&[(g, w), (st, 20)]).trim_end())?;
    }
    Ok(())
}

/// Kafka's `shouldPrintMemberState`: fails for a group that does not exist, tells on stderr when
/// the group is empty or rebalancing.
fn check_state(d: &DescribedGroup) -> anyhow::Result<()> {
    let g = d.group_id.0.as_str();
    match d.group_state.as_str() {
        "Dead" => bail!("Error: Consumer group '{g}' does not exist."),
        "Empty" => eprintln!("\nConsumer group '{g}' has no active members."),
        "PreparingRebalance" | "CompletingRebalance" => eprintln!("\nWarning: Consumer group '{g}' is rebalancing."),
        _ => {}
    }
    Ok(())
}

/// `topic:0,1;other:2`: a member's partitions grouped by topic, as Kafka prints assignments.
fn assignment_string(tps: &[TopicPartition]) -> String {
    let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in tps {
        by_topic.entry(&tp.topic).or_default().push(tp.partition);
    }
    if by_topic.is_empty() {
        return MISSING.to_owned();
    }
    let parts: Vec<String> = by_topic
        .into_iter()
        .map(|(t, mut ps)| {
            ps.sort_unstable();
            format!("{t}:{}", ps.iter().map(i32::to_string).collect::<Vec<_>>().join(","))
        })
        .collect();
    parts.join(";")
}

/// `--describe --members [--verbose]`.
pub(crate) fn members(d: &DescribedGroup, verbose: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    check_state(d)?;
    let g = d.group_id.0.to_string();
    struct Member {
        id: String,
        instance: String,
        host: String,
        client: String,
        partitions: String,
        assignment: String,
    }
    let ms: Vec<Member> = d
        .members
        .iter()
        .map(|m| {
            let tps = assigned_partitions(&m.member_assignment);
            Member {
                id: m.member_id.to_string(),
                instance: m.group_instance_id.as_ref().map_or(String::new(), |i| i.to_string()),
                host: m.client_host.to_string(),
                client: m.client_id.to_string(),
                partitions: tps.len().to_string(),
                assignment: assignment_string(&tps),
            }
        })
        .collect();
    let width = |min: usize, f: &dyn Fn(&Member) -> usize| ms.iter().map(f).fold(min, usize::max);
    let wg = g.len().max(15);
    let (wc, wi, wh, wl) = (width(15, &|m| m.id.len()), width(17, &|m| m.instance.len()), width(15, &|m| m.host.len()), width(15, &|m| m.client.len()));
    let wa = width(20, &|m| m.assignment.len());
    let with_instance = ms.iter().any(|m| !m.instance.is_empty());
    let line = |cells: [&str; 6], extra: Option<[&str; 4]>| {
        let mut v: Vec<(&str, usize)> = vec![(cells[0], wg), (cells[1], wc)];
        if with_instance {
            v.push((cells[2], wi));
        }
        v.extend([(cells[3], wh), (cells[4], wl), (cells[5], 15)]);
        if let Some(e) = extra {
            v.extend([(e[0], 15), (e[1], wa), (e[2], 15), (e[3], wa)]);
        }
        row(&v).trim_end().to_owned()
    };
    let head = ["GROUP", "CONSUMER-ID", "GROUP-INSTANCE-ID", "HOST", "CLIENT-ID", "#PARTITIONS"];
    let extra_head = verbose.then_some(["CURRENT-EPOCH", "CURRENT-ASSIGNMENT", "TARGET-EPOCH", "TARGET-ASSIGNMENT"]);
    writeln!(out, "\n{}", line(head, extra_head))?;
    for m in &ms {
        // Classic-protocol groups have no member epochs or target assignments.
        let extra = verbose.then_some([MISSING, m.assignment.as_str(), MISSING, MISSING]);
        writeln!(out, "{}", line([&g, &m.id, &m.instance, &m.host, &m.client, &m.partitions], extra))?;
    }
    Ok(())
}

/// `--describe --state [--verbose]`.
pub(crate) async fn state(c: &mut Client, d: &DescribedGroup, verbose: bool, out: &mut dyn Write) -> anyhow::Result<()> {
    check_state(d)?;
    let md = metadata(c, Some(&[])).await?;
    let coordinator = md
        .brokers
        .first()
        .map_or_else(|| MISSING.to_owned(), |b| format!("{}:{}  ({})", b.host.as_str(), b.port, b.node_id.0));
    let g = d.group_id.0.as_str();
    let strategy = if d.protocol_data.is_empty() { MISSING.to_owned() } else { d.protocol_data.to_string() };
    let members = d.members.len().to_string();
    let (wg, wc) = (g.len().max(15), coordinator.len().max(25));
    let mut head = vec![("GROUP", wg), ("COORDINATOR (ID)", wc), ("ASSIGNMENT-STRATEGY", 20), ("STATE", 20)];
    let mut cells = vec![(g, wg), (coordinator.as_str(), wc), (strategy.as_str(), 20), (d.group_state.as_str(), 20)];
    if verbose {
        // Classic-protocol groups have no group or target-assignment epochs.
        head.extend([("GROUP-EPOCH", 15), ("TARGET-ASSIGNMENT-EPOCH", 25)]);
        cells.extend([(MISSING, 15), (MISSING, 25)]);
    }
    head.push(("#MEMBERS", 0));
    cells.push((members.as_str(), 0));
    writeln!(out, "\n{}\n{}", row(&head), row(&cells))?;
    Ok(())
}
