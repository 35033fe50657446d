//! AlterConfigs (33): the legacy, replace-everything form; topics only (broker configs are static).

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, RequestHeader};
use kafka_protocol::protocol::StrBytes;

use super::describe_configs::TOPIC;
use super::{code, str_bytes, Ctx};
use crate::error::{ErrorCode, Result};
use crate::server::session::ConnState;

/// The error code and message of altering the configs of one resource, for AlterConfigs and
/// IncrementalAlterConfigs: `alter` runs for a topic; a broker's configs are static.
pub(super) fn alter_resource(resource_type: i8, alter: impl FnOnce() -> Result<()>) -> (i16, Option<StrBytes>) {
    if resource_type != TOPIC {
        return (ErrorCode::InvalidRequest.as_i16(), Some(str_bytes("broker configs cannot be updated dynamically")));
    }
    match alter() {
        Ok(()) => (ErrorCode::None.as_i16(), None),
        Err(e) => (code(&e), Some(str_bytes(e.to_string()))),
    }
}

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut resp = AlterConfigsResponse::default();
    for r in req.resources {
        let mut out = AlterConfigsResourceResponse::default();
        (out.error_code, out.error_message) = alter_resource(r.resource_type, || {
            let changes: BTreeMap<String, Option<String>> =
                r.configs.iter().map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string()))).collect();
            ctx.broker.alter_topic_config(r.resource_name.as_str(), &changes, true, req.validate_only)
        });
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name;
        resp.responses.push(out);
    }
    resp
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::alter_configs_request::{AlterConfigsResource, AlterableConfig};
    use kafka_protocol::messages::incremental_alter_configs_request as incremental;
    use kafka_protocol::messages::{AlterConfigsRequest, IncrementalAlterConfigsRequest, RequestHeader};

    use super::super::describe_configs::TOPIC;
    use super::super::{str_bytes, Ctx};
    use crate::error::ErrorCode;
    use crate::server::session::ConnState;
    use crate::server::ServerConfig;
    use crate::{Broker, BrokerConfig};

    const BROKER: i8 = 4;

    #[tokio::test]
    async fn both_forms_alter_topics_and_refuse_broker_configs() {
        let dir = tempfile::tempdir().unwrap();
        let broker = Broker::open(BrokerConfig::new(dir.path())).await.unwrap();
        broker.create_topic("t", 1, Default::default()).unwrap();
        let peer = "127.0.0.1:9092".parse().unwrap();
        let ctx = Ctx::new(broker.clone(), ServerConfig::default(), peer).unwrap();
        let mut conn = ConnState::new(peer, false);
        let policy = |b: &Broker| b.describe_topic("t").unwrap().overrides.get("cleanup.policy").cloned();

        let resource = |kind: i8, name: &str| AlterConfigsResource::default().with_resource_type(kind).with_resource_name(str_bytes(name));
        let set = vec![AlterableConfig::default().with_name(str_bytes("cleanup.policy")).with_value(Some(str_bytes("compact")))];
        let req = AlterConfigsRequest::default().with_resources(vec![
            resource(TOPIC, "t").with_configs(set.clone()),
            resource(BROKER, "0").with_configs(set.clone()),
            resource(TOPIC, "missing").with_configs(set),
        ]);
        let resp = super::handle(&ctx, &mut conn, &RequestHeader::default(), req).await;
        let codes: Vec<i16> = resp.responses.iter().map(|r| r.error_code).collect();
        assert_eq!(codes, [0, ErrorCode::InvalidRequest.as_i16(), ErrorCode::UnknownTopicOrPartition.as_i16()]);
        assert_eq!(resp.responses[0].error_message, None);
        assert_eq!(resp.responses[1].error_message.as_deref(), Some("broker configs cannot be updated dynamically"));
        assert!(resp.responses[2].error_message.is_some());
        assert_eq!(resp.responses.iter().map(|r| (r.resource_type, r.resource_name.to_string())).collect::<Vec<_>>(), [
            (TOPIC, "t".to_owned()),
            (BROKER, "0".to_owned()),
            (TOPIC, "missing".to_owned())
        ]);
        assert_eq!(policy(&broker).as_deref(), Some("compact"));

        // APPEND to the list value; a broker resource is refused the same way.
        let resource = |kind: i8, name: &str| {
            incremental::AlterConfigsResource::default().with_resource_type(kind).with_resource_name(str_bytes(name)).with_configs(vec![
                incremental::AlterableConfig::default()
                    .with_name(str_bytes("cleanup.policy"))
                    .with_config_operation(2)
                    .with_value(Some(str_bytes("delete"))),
            ])
        };
        let req = IncrementalAlterConfigsRequest::default().with_resources(vec![resource(TOPIC, "t"), resource(BROKER, "0")]);
        let resp = super::super::incremental_alter_configs::handle(&ctx, &mut conn, &RequestHeader::default(), req).await;
        let codes: Vec<i16> = resp.responses.iter().map(|r| r.error_code).collect();
        assert_eq!(codes, [0, ErrorCode::InvalidRequest.as_i16()]);
        assert_eq!(resp.responses[1].error_message.as_deref(), Some("broker configs cannot be updated dynamically"));
        assert_eq!(policy(&broker).as_deref(), Some("compact,delete"));
    }
}
