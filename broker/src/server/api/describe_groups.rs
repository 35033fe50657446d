//! DescribeGroups (15).

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId, RequestHeader};

use super::{str_bytes, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    for g in req.groups {
        let d = ctx.broker.groups().describe_group(g.0.as_str());
        let mut dg = DescribedGroup::default();
        dg.error_code = d.error.as_i16();
        dg.group_id = GroupId(str_bytes(d.group_id));
        dg.group_state = str_bytes(d.state);
        dg.protocol_type = str_bytes(d.protocol_type);
        dg.protocol_data = str_bytes(d.protocol_name);
        dg.authorized_operations = i32::MIN;
        dg.members = d
            .members
            .into_iter()
            .map(|m| {
                let mut dm = DescribedGroupMember::default();
                dm.member_id = str_bytes(m.member_id);
                dm.group_instance_id = m.group_instance_id.map(str_bytes);
                dm.client_id = str_bytes(m.client_id);
                dm.client_host = str_bytes(m.client_host);
                dm.member_metadata = m.metadata.into();
                dm.member_assignment = m.assignment.into();
                dm
            })
            .collect();
        resp.groups.push(dg);
    }
    resp
}
