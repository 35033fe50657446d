//! DescribeCluster (60): this node is the cluster and its controller.

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{BrokerId, DescribeClusterRequest, DescribeClusterResponse, RequestHeader};

use super::{str_bytes, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, _: DescribeClusterRequest) -> DescribeClusterResponse {
    let mut resp = DescribeClusterResponse::default();
    resp.endpoint_type = 1;
    resp.cluster_id = str_bytes(ctx.cluster_id.clone());
    resp.controller_id = BrokerId(ctx.node_id);
    resp.cluster_authorized_operations = i32::MIN;
    let mut b = DescribeClusterBroker::default();
    b.broker_id = BrokerId(ctx.node_id);
    b.host = str_bytes(ctx.host.clone());
    b.port = ctx.port;
    resp.brokers = vec![b];
    resp
}
