//! CreateTopics (19): replication factor 1 (or -1, the default), configs, validate_only.

use std::collections::BTreeMap;

use kafka_protocol::messages::create_topics_response::{CreatableTopicConfigs, CreatableTopicResult};
use kafka_protocol::messages::{CreateTopicsRequest, CreateTopicsResponse, RequestHeader};
use uuid::Uuid;

use super::{code, str_bytes, Ctx};
use crate::config::TOPIC_CONFIG_KEYS;
use crate::error::{Error, Result};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, h: &RequestHeader, req: CreateTopicsRequest) -> CreateTopicsResponse {
    let mut resp = CreateTopicsResponse::default();
    for t in req.topics {
        let name = t.name.0.to_string();
        let mut r = CreatableTopicResult::default();
        r.name = t.name.clone();
        r.num_partitions = -1;
        r.replication_factor = -1;
        let configs: BTreeMap<String, String> = t
            .configs
            .iter()
            .filter_map(|c| c.value.as_ref().map(|v| (c.name.to_string(), v.to_string())))
            .collect();
        let partitions = if !t.assignments.is_empty() {
            t.assignments.len() as i32
        } else if t.num_partitions == -1 {
            ctx.broker.config().num_partitions
        } else {
            t.num_partitions
        };
        let res: Result<()> = if t.replication_factor != 1 && t.replication_factor != -1 {
            Err(Error::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {} time(s): The target replication factor of {} cannot be reached because only 1 broker(s) are registered.",
                t.replication_factor, t.replication_factor
            )))
        } else if req.validate_only {
            ctx.broker.validate_new_topic(&name, partitions, &configs)
        } else {
            ctx.broker.create_topic(&name, partitions, configs)
        };
        match res {
            Ok(()) => {
                r.num_partitions = partitions;
                r.replication_factor = 1;
                if let Ok(d) = ctx.broker.describe_topic(&name) {
                    r.topic_id = Uuid::from_bytes(d.id);
                    if h.request_api_version >= 5 {
                        r.configs = Some(
                            TOPIC_CONFIG_KEYS
                                .iter()
                                .map(|k| {
                                    let mut c = CreatableTopicConfigs::default();
                                    c.name = str_bytes(*k);
                                    c.value = d.config.get(k).map(str_bytes);
                                    c.config_source = if d.overrides.contains_key(*k) { 1 } else { 5 };
                                    c
                                })
                                .collect(),
                        );
                    }
                }
            }
            Err(e) => {
                r.error_code = code(&e);
                r.error_message = Some(str_bytes(e.to_string()));
            }
        }
        resp.topics.push(r);
    }
    resp
}
