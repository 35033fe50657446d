//! ListGroups (16).

use kafka_protocol::messages::list_groups_response::ListedGroup;
use kafka_protocol::messages::{GroupId, ListGroupsRequest, ListGroupsResponse, RequestHeader};

use super::{str_bytes, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: ListGroupsRequest) -> ListGroupsResponse {
    let states: Vec<String> = req.states_filter.iter().map(|s| s.to_string()).collect();
    let mut resp = ListGroupsResponse::default();
    resp.groups = ctx
        .broker
        .groups()
        .list_groups(&states)
        .into_iter()
        .map(|g| {
            let mut l = ListedGroup::default();
            l.group_id = GroupId(str_bytes(g.group_id));
            l.protocol_type = str_bytes(g.protocol_type);
            l.group_state = str_bytes(g.state);
            l.group_type = str_bytes("classic");
            l
        })
        .collect();
    resp
}
