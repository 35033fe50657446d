//! DescribeConfigs (32): topic resources (type 2) and this broker (type 4).

use kafka_protocol::messages::describe_configs_response::{DescribeConfigsResourceResult, DescribeConfigsResult};
use kafka_protocol::messages::{DescribeConfigsRequest, DescribeConfigsResponse, RequestHeader};

use super::{code, str_bytes, Ctx};
use crate::config::TOPIC_CONFIG_KEYS;
use crate::error::ErrorCode;
use crate::server::session::ConnState;

pub(crate) const TOPIC: i8 = 2;
pub(crate) const BROKER: i8 = 4;
/// Kafka's `ConfigSource` values.
const DYNAMIC_TOPIC_CONFIG: i8 = 1;
const STATIC_BROKER_CONFIG: i8 = 4;
const DEFAULT_CONFIG: i8 = 5;

/// (key, value, source, read_only)
fn broker_configs(ctx: &Ctx) -> Vec<(String, String, i8, bool)> {
    let c = ctx.broker.config();
    let d = &c.topic_defaults;
    let st = STATIC_BROKER_CONFIG;
    let mut v = vec![
        ("broker.id".to_owned(), c.node_id.to_string()),
        ("node.id".to_owned(), c.node_id.to_string()),
        ("log.dirs".to_owned(), c.log_dir.display().to_string()),
        ("num.partitions".to_owned(), c.num_partitions.to_string()),
        ("auto.create.topics.enable".to_owned(), c.auto_create_topics.to_string()),
        ("delete.topic.enable".to_owned(), c.delete_topic_enable.to_string()),
        ("message.max.bytes".to_owned(), c.message_max_bytes.to_string()),
        ("max.partitions.per.topic".to_owned(), c.max_partitions_per_topic.to_string()),
        ("max.broker.partitions".to_owned(), c.max_broker_partitions.to_string()),
        ("default.replication.factor".to_owned(), "1".to_owned()),
        ("offsets.topic.num.partitions".to_owned(), c.offsets_topic_partitions.to_string()),
        ("transaction.state.log.num.partitions".to_owned(), c.transaction_topic_partitions.to_string()),
        ("transaction.max.timeout.ms".to_owned(), c.transaction_max_timeout.as_millis().to_string()),
        ("group.min.session.timeout.ms".to_owned(), c.group_min_session_timeout.as_millis().to_string()),
        ("group.max.session.timeout.ms".to_owned(), c.group_max_session_timeout.as_millis().to_string()),
        ("group.initial.rebalance.delay.ms".to_owned(), c.group_initial_rebalance_delay.as_millis().to_string()),
        ("log.retention.ms".to_owned(), d.retention_ms.to_string()),
        ("log.retention.bytes".to_owned(), d.retention_bytes.to_string()),
        ("log.segment.bytes".to_owned(), d.segment_bytes.to_string()),
        ("log.cleanup.policy".to_owned(), d.cleanup_policy.to_string()),
        ("socket.request.max.bytes".to_owned(), ctx.config.socket_request_max_bytes.to_string()),
        ("connections.max.idle.ms".to_owned(), ctx.config.connections_max_idle.as_millis().to_string()),
        ("advertised.listeners".to_owned(), format!("PLAINTEXT://{}:{}", ctx.host, ctx.port)),
    ];
    v.sort();
    v.into_iter().map(|(k, val)| (k, val, st, true)).collect()
}

fn topic_configs(ctx: &Ctx, name: &str) -> crate::Result<Vec<(String, String, i8, bool)>> {
    let d = ctx.broker.describe_topic(name)?;
    Ok(TOPIC_CONFIG_KEYS
        .iter()
        .map(|k| {
            let src = if d.overrides.contains_key(*k) { DYNAMIC_TOPIC_CONFIG } else { DEFAULT_CONFIG };
            (k.to_string(), d.config.get(k).unwrap_or_default(), src, false)
        })
        .collect())
}

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: DescribeConfigsRequest) -> DescribeConfigsResponse {
    let mut resp = DescribeConfigsResponse::default();
    for r in req.resources {
        let mut out = DescribeConfigsResult::default();
        let name = r.resource_name.to_string();
        let configs = match r.resource_type {
            TOPIC => topic_configs(ctx, &name).map_err(|e| (code(&e), e.to_string())),
            BROKER if name.is_empty() || name == ctx.node_id.to_string() => Ok(broker_configs(ctx)),
            BROKER => Err((ErrorCode::InvalidRequest.as_i16(), format!("unknown broker {name}"))),
            t => Err((ErrorCode::InvalidRequest.as_i16(), format!("unsupported resource type {t}"))),
        };
        match configs {
            Ok(list) => {
                let keys = r.configuration_keys.as_ref().filter(|k| !k.is_empty());
                out.configs = list
                    .into_iter()
                    .filter(|(k, ..)| keys.is_none_or(|ks| ks.iter().any(|x| x.as_str() == k)))
                    .map(|(k, v, src, ro)| {
                        let mut c = DescribeConfigsResourceResult::default();
                        c.name = str_bytes(k);
                        c.value = Some(str_bytes(v));
                        c.config_source = src;
                        c.read_only = ro;
                        c
                    })
                    .collect();
            }
            Err((c, m)) => {
                out.error_code = c;
                out.error_message = Some(str_bytes(m));
            }
        }
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name;
        resp.results.push(out);
    }
    resp
}
