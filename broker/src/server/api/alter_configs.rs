//! AlterConfigs (33): the legacy, replace-everything form; topics only (broker configs are static).

use std::collections::BTreeMap;

use kafka_protocol::messages::alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{AlterConfigsRequest, AlterConfigsResponse, RequestHeader};

use super::describe_configs::TOPIC;
use super::{code, str_bytes, Ctx};
use crate::error::ErrorCode;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: AlterConfigsRequest) -> AlterConfigsResponse {
    let mut resp = AlterConfigsResponse::default();
    for r in req.resources {
        let mut out = AlterConfigsResourceResponse::default();
        if r.resource_type == TOPIC {
            let changes: BTreeMap<String, Option<String>> = r
                .configs
                .iter()
                .map(|c| (c.name.to_string(), c.value.as_ref().map(|v| v.to_string())))
                .collect();
            if let Err(e) = ctx.broker.alter_topic_config(r.resource_name.as_str(), &changes, true, req.validate_only) {
                out.error_code = code(&e);
                out.error_message = Some(str_bytes(e.to_string()));
            }
        } else {
            out.error_code = ErrorCode::InvalidRequest.as_i16();
            out.error_message = Some(str_bytes("broker configs cannot be updated dynamically"));
        }
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name;
        resp.responses.push(out);
    }
    resp
}
