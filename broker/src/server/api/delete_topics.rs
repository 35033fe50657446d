//! DeleteTopics (20): by name, or (v6) by topic id.

use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, RequestHeader};
use uuid::Uuid;

use super::metadata::by_id;
use super::{code, str_bytes, topic_name, Ctx};
use crate::error::ErrorCode;
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, h: &RequestHeader, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let targets: Vec<(Option<String>, Uuid)> = if h.request_api_version >= 6 {
        req.topics
            .into_iter()
            .map(|t| (t.name.map(|n| n.0.to_string()), t.topic_id))
            .collect()
    } else {
        req.topic_names.into_iter().map(|n| (Some(n.0.to_string()), Uuid::nil())).collect()
    };
    let mut resp = DeleteTopicsResponse::default();
    for (name, id) in targets {
        let mut r = DeletableTopicResult::default();
        r.topic_id = id;
        let name = name.or_else(|| by_id(ctx, id));
        match name {
            Some(n) => {
                if let Err(e) = ctx.broker.delete_topic(&n) {
                    r.error_code = code(&e);
                    r.error_message = Some(str_bytes(e.to_string()));
                }
                r.name = Some(topic_name(&n));
            }
            None => r.error_code = ErrorCode::UnknownTopicOrPartition.as_i16(),
        }
        resp.responses.push(r);
    }
    resp
}
