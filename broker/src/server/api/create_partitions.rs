//! CreatePartitions (37).

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse, RequestHeader};

use super::{code, str_bytes, Ctx};
use crate::error::Result;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let mut resp = CreatePartitionsResponse::default();
    for t in req.topics {
        let name = t.name.0.to_string();
        let res: Result<()> = if req.validate_only {
            ctx.broker.validate_new_partitions(&name, t.count)
        } else {
            ctx.broker.create_partitions(&name, t.count)
        };
        let mut r = CreatePartitionsTopicResult::default();
        r.name = t.name;
        if let Err(e) = res {
            r.error_code = code(&e);
            r.error_message = Some(str_bytes(e.to_string()));
        }
        resp.results.push(r);
    }
    resp
}
