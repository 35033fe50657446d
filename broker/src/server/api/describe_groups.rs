//! DescribeGroups (15).

use kafka_protocol::messages::describe_groups_response::{DescribedGroup, DescribedGroupMember};
use kafka_protocol::messages::{DescribeGroupsRequest, DescribeGroupsResponse, GroupId, RequestHeader};

use super::{s, Ctx};
use crate::server::conn::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: DescribeGroupsRequest) -> DescribeGroupsResponse {
    let mut resp = DescribeGroupsResponse::default();
    for g in req.groups {
        let d = ctx.broker.groups().describe_group(g.0.as_str());
        let mut dg = DescribedGroup::default();
        dg.error_code = d.error.as_i16();
        dg.group_id = GroupId(s(d.group_id));
        dg.group_state = s(d.state);
        dg.protocol_type = s(d.protocol_type);
        dg.protocol_data = s(d.protocol_name);
        dg.authorized_operations = i32::MIN;
        dg.members = d
            .members
            .into_iter()
            .map(|m| {
                let mut dm = DescribedGroupMember::default();
                dm.member_id = s(m.member_id);
                dm.group_instance_id = m.group_instance_id.map(s);
                dm.client_id = s(m.client_id);
                dm.client_host = s(m.client_host);
                dm.member_metadata = m.metadata.into();
                dm.member_assignment = m.assignment.into();
                dm
            })
            .collect();
        resp.groups.push(dg);
    }
    resp
}
