//! `brook topics`: kafka-topics.sh.

use std::io::Write;

use anyhow::{anyhow, bail};
use clap::Args;
use kafka_protocol::messages::create_partitions_request::CreatePartitionsTopic;
use kafka_protocol::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kafka_protocol::messages::describe_configs_request::DescribeConfigsResource;
use kafka_protocol::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, DescribeConfigsRequest,
};

use crate::admin::{connect, error_name, metadata, str_bytes, tn};
use crate::Bootstrap;

/// Flags of `brook topics`.
#[derive(Debug, Clone, Args)]
pub struct TopicsArgs {
    #[command(flatten)]
    bootstrap: Bootstrap,
    /// Create a topic.
    #[arg(long, group = "action")]
    create: bool,
    /// List topics.
    #[arg(long, group = "action")]
    list: bool,
    /// Describe topics.
    #[arg(long, group = "action")]
    describe: bool,
    /// Add partitions to a topic.
    #[arg(long, group = "action")]
    alter: bool,
    /// Delete a topic.
    #[arg(long, group = "action")]
    delete: bool,
    /// The topic.
    #[arg(long)]
    topic: Option<String>,
    /// Partition count for --create and --alter.
    #[arg(long, allow_negative_numbers = true)]
    partitions: Option<i32>,
    /// Replication factor for --create (1 on a single node).
    #[arg(long = "replication-factor", allow_negative_numbers = true)]
    replication_factor: Option<i32>,
    /// With --create: succeed quietly when the topic already exists.
    #[arg(long = "if-not-exists")]
    if_not_exists: bool,
    /// Topic config `key=value` for --create (repeatable).
    #[arg(long = "config")]
    config: Vec<String>,
}

fn fail(msg: impl std::fmt::Display) -> anyhow::Error {
    anyhow!("Error while executing topic command : {msg}")
}

pub(crate) async fn run(a: TopicsArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    if !(a.create || a.list || a.describe || a.alter || a.delete) {
        bail!("Command must include exactly one action: --list, --describe, --create, --alter or --delete");
    }
    let need_topic = || a.topic.clone().ok_or_else(|| fail("--topic is required"));
    // Kafka's TopicCommand checks these before it talks to the cluster, with these messages.
    if a.partitions.is_some_and(|p| p < 1) {
        bail!("The partitions must be greater than 0");
    }
    let replication_factor = match a.replication_factor {
        None => -1,
        Some(rf) => i16::try_from(rf)
            .ok()
            .filter(|rf| *rf >= 1)
            .ok_or_else(|| anyhow!("The replication factor must be between 1 and {} inclusive", i16::MAX))?,
    };
    let configs = crate::args::parse_kv("--config", &a.config)?;
    let mut c = connect(&a.bootstrap).await?;
    if a.create {
        let name = need_topic()?;
        let mut t = CreatableTopic::default();
        t.name = tn(&name);
        t.num_partitions = a.partitions.unwrap_or(-1);
        t.replication_factor = replication_factor;
        for (k, v) in configs {
            let mut cfg = CreatableTopicConfig::default();
            cfg.name = str_bytes(&k);
            cfg.value = Some(str_bytes(&v));
            t.configs.push(cfg);
        }
        let mut req = CreateTopicsRequest::default();
        req.topics = vec![t];
        req.timeout_ms = 30_000;
        let resp = c.send(req).await?;
        let r = resp.topics.first().ok_or_else(|| fail("empty response"))?;
        if r.error_code == 36 && a.if_not_exists {
            return Ok(());
        }
        if r.error_code != 0 {
            let msg = r.error_message.as_ref().map_or(error_name(r.error_code).to_owned(), |m| m.to_string());
            return Err(fail(msg));
        }
        writeln!(out, "Created topic {name}.")?;
    } else if a.list {
        let md = metadata(&mut c, None).await?;
        let mut names: Vec<String> = md.topics.iter().filter_map(|t| t.name.as_ref().map(|n| n.0.to_string())).collect();
        names.sort();
        for n in names {
            writeln!(out, "{n}")?;
        }
    } else if a.describe {
        describe(&mut c, a.topic.as_deref(), out).await?;
    } else if a.alter {
        let name = need_topic()?;
        let count = a.partitions.ok_or_else(|| fail("--partitions is required with --alter"))?;
        crate::admin::partitions(&mut c, &name).await.map_err(fail)?;
        let mut t = CreatePartitionsTopic::default();
        t.name = tn(&name);
        t.count = count;
        let mut req = CreatePartitionsRequest::default();
        req.topics = vec![t];
        req.timeout_ms = 30_000;
        let resp = c.send(req).await?;
        if let Some(r) = resp.results.iter().find(|r| r.error_code != 0) {
            let msg = r.error_message.as_ref().map_or(error_name(r.error_code).to_owned(), |m| m.to_string());
            return Err(fail(msg));
        }
    } else {
        let name = need_topic()?;
        crate::admin::partitions(&mut c, &name).await.map_err(fail)?;
        let mut req = DeleteTopicsRequest::default();
        req.topic_names = vec![tn(&name)];
        req.topics = vec![{
            let mut d = kafka_protocol::messages::delete_topics_request::DeleteTopicState::default();
            d.name = Some(tn(&name));
            d
        }];
        req.timeout_ms = 30_000;
        let resp = c.send(req).await?;
        if let Some(r) = resp.responses.iter().find(|r| r.error_code != 0) {
            let msg = r.error_message.as_ref().map_or(error_name(r.error_code).to_owned(), |m| m.to_string());
            return Err(fail(msg));
        }
    }
    Ok(())
}

/// Kafka's topic id format: the UUID's 16 bytes in unpadded base64url.
fn topic_id(id: &[u8; 16]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in id.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

async fn describe(c: &mut brook_broker::server::wire_client::Client, topic: Option<&str>, out: &mut dyn Write) -> anyhow::Result<()> {
    let only = topic.map(|t| vec![t.to_owned()]);
    let md = metadata(c, only.as_deref()).await?;
    let mut topics: Vec<_> = md.topics.iter().collect();
    topics.sort_by(|a, b| a.name.cmp(&b.name));
    for t in topics {
        let name = t.name.as_ref().map(|n| n.0.to_string()).unwrap_or_default();
        match t.error_code {
            0 => {}
            3 => return Err(fail(format!("Topic '{name}' does not exist as expected"))),
            e => return Err(fail(error_name(e))),
        }
        let mut req = DescribeConfigsRequest::default();
        let mut r = DescribeConfigsResource::default();
        r.resource_type = 2;
        r.resource_name = str_bytes(&name);
        r.configuration_keys = None;
        req.resources = vec![r];
        let resp = c.send(req).await?;
        let configs: Vec<String> = resp
            .results
            .iter()
            .flat_map(|r| r.configs.iter())
            .filter(|c| c.config_source == 1)
            .map(|c| format!("{}={}", c.name.as_str(), c.value.as_ref().map_or("", |v| v.as_str())))
            .collect();
        let mut parts: Vec<_> = t.partitions.iter().collect();
        parts.sort_by_key(|p| p.partition_index);
        writeln!(
            out,
            "Topic: {name}\tTopicId: {}\tPartitionCount: {}\tReplicationFactor: 1\tConfigs: {}",
            topic_id(t.topic_id.as_bytes()),
            parts.len(),
            configs.join(",")
        )?;
        for p in parts {
            let list = |v: &[kafka_protocol::messages::BrokerId]| v.iter().map(|b| b.0.to_string()).collect::<Vec<_>>().join(",");
            // Offline while the partition's appends fail on a storage error (a full disk).
            let offline = if p.offline_replicas.is_empty() {
                String::new()
            } else {
                format!("\tOffline: {} (storage error, see the broker log)", list(&p.offline_replicas))
            };
            writeln!(
                out,
                "\tTopic: {name}\tPartition: {}\tLeader: {}\tReplicas: {}\tIsr: {}{offline}",
                p.partition_index,
                p.leader_id.0,
                list(&p.replica_nodes),
                list(&p.isr_nodes)
            )?;
        }
    }
    Ok(())
}
