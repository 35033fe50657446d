//! DeleteGroups (42).

use kafka_protocol::messages::delete_groups_response::DeletableGroupResult;
use kafka_protocol::messages::{DeleteGroupsRequest, DeleteGroupsResponse, GroupId, RequestHeader};

use super::{str_bytes, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: DeleteGroupsRequest) -> DeleteGroupsResponse {
    let ids: Vec<String> = req.groups_names.iter().map(|g| g.0.to_string()).collect();
    let mut resp = DeleteGroupsResponse::default();
    resp.results = ctx
        .broker
        .groups()
        .delete_groups(&ids)
        .into_iter()
        .map(|(id, code)| {
            let mut r = DeletableGroupResult::default();
            r.group_id = GroupId(str_bytes(id));
            r.error_code = code.as_i16();
            r
        })
        .collect();
    resp
}
