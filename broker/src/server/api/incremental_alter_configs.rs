//! IncrementalAlterConfigs (44): SET, DELETE, and APPEND/SUBTRACT for list values
//! (`cleanup.policy`); topics only.

use std::collections::BTreeMap;

use kafka_protocol::messages::incremental_alter_configs_response::AlterConfigsResourceResponse;
use kafka_protocol::messages::{IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, RequestHeader};

use super::alter_configs::alter_resource;
use super::Ctx;
use crate::error::{Error, ErrorCode, Result};
use crate::server::session::ConnState;

fn changes(ctx: &Ctx, topic: &str, configs: &[kafka_protocol::messages::incremental_alter_configs_request::AlterableConfig]) -> Result<BTreeMap<String, Option<String>>> {
    let current = ctx.broker.describe_topic(topic)?;
    let mut out = BTreeMap::new();
    for c in configs {
        let key = c.name.to_string();
        let value = c.value.as_ref().map(|v| v.to_string()).unwrap_or_default();
        let list = |cur: Option<String>| -> Vec<String> {
            cur.unwrap_or_default().split(',').map(str::trim).filter(|x| !x.is_empty()).map(str::to_owned).collect()
        };
        let v = match c.config_operation {
            0 => Some(value),
            1 => None,
            2 | 3 => {
                let mut items = list(current.config.get(&key));
                for item in list(Some(value)) {
                    if c.config_operation == 2 && !items.contains(&item) {
                        items.push(item);
                    } else if c.config_operation == 3 {
                        items.retain(|x| *x != item);
                    }
                }
                Some(items.join(","))
            }
            op => return Err(Error::kafka(ErrorCode::InvalidRequest, format!("unknown config operation {op}"))),
        };
        out.insert(key, v);
    }
    Ok(out)
}

pub(crate) async fn handle(
    ctx: &Ctx,
    _: &mut ConnState,
    _: &RequestHeader,
    req: IncrementalAlterConfigsRequest,
) -> IncrementalAlterConfigsResponse {
    let mut resp = IncrementalAlterConfigsResponse::default();
    for r in req.resources {
        let mut out = AlterConfigsResourceResponse::default();
        (out.error_code, out.error_message) = alter_resource(r.resource_type, || {
            let name = r.resource_name.as_str();
            changes(ctx, name, &r.configs).and_then(|ch| ctx.broker.alter_topic_config(name, &ch, false, req.validate_only))
        });
        out.resource_type = r.resource_type;
        out.resource_name = r.resource_name;
        resp.responses.push(out);
    }
    resp
}
