//! One module per Kafka API; `context.rs` holds what they share, this one the supported-version
//! table and the dispatcher.

use bytes::Bytes;
use kafka_protocol::messages::*;

use super::session::ConnState;
use super::frame::{decode_body, encode_response, parse_frame, FrameError};

/// The offsets of an OffsetCommit or TxnOffsetCommit request (different message types, same
/// shape) as the group coordinator takes them.
macro_rules! offset_commits {
    ($topics:expr) => {
        $topics
            .iter()
            .flat_map(|t| {
                t.partitions.iter().map(move |p| crate::group::OffsetCommit {
                    topic: t.name.0.to_string(),
                    partition: p.partition_index,
                    offset: p.committed_offset,
                    leader_epoch: p.committed_leader_epoch,
                    metadata: p.committed_metadata.as_ref().map(|m| m.to_string()),
                })
            })
            .collect::<Vec<_>>()
    };
}

/// The response topics of an offset commit: the request's topics and partitions with one error
/// code each, in request order.
macro_rules! commit_response_topics {
    ($topics:expr, $codes:expr, $topic:ident, $partition:ident) => {{
        let mut codes = $codes.into_iter();
        $topics
            .into_iter()
            .map(|t| {
                let mut tr = $topic::default();
                tr.name = t.name;
                tr.partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| {
                        let mut pr = $partition::default();
                        pr.partition_index = p.partition_index;
                        pr.error_code = codes.next().unwrap_or(0);
                        pr
                    })
                    .collect();
                tr
            })
            .collect()
    }};
}

mod add_offsets_to_txn;
mod add_partitions_to_txn;
mod alter_configs;
pub(crate) mod api_versions;
mod context;
mod create_partitions;
mod create_topics;
mod delete_groups;
mod delete_records;
mod delete_topics;
mod describe_cluster;
mod describe_configs;
mod describe_groups;
mod describe_producers;
mod describe_transactions;
mod end_txn;
mod fetch;
mod find_coordinator;
mod heartbeat;
mod incremental_alter_configs;
mod init_producer_id;
mod join_group;
mod leave_group;
mod list_groups;
mod list_offsets;
mod list_transactions;
mod metadata;
mod offset_commit;
mod offset_delete;
mod offset_fetch;
mod offset_for_leader_epoch;
mod produce;
mod sasl_handshake;
pub(crate) mod sasl_authenticate;
mod sync_group;
mod txn_offset_commit;

pub(crate) use context::{code, err_code, str_bytes, topic_name, Ctx, Reply};

macro_rules! apis {
    ($( $key:ident => $module:ident, $req:ty, $resp:ty, $min:literal ..= $max:literal; )*) => {
        /// The versions this broker implements, per API.
        pub(crate) fn supported_versions(key: ApiKey) -> Option<(i16, i16)> {
            match key {
                $(ApiKey::$key => Some(($min, $max)),)*
                _ => None,
            }
        }

        /// Every supported API with its version range, in key order of the table.
        pub(crate) const SUPPORTED: &[(ApiKey, i16, i16)] = &[$((ApiKey::$key, $min, $max),)*];

        async fn dispatch(ctx: &Ctx, conn: &mut ConnState, api_key: ApiKey, header: RequestHeader, mut body: Bytes) -> std::result::Result<Reply, FrameError> {
            let v = header.request_api_version;
            if api_key == ApiKey::Fetch {
                // Fetch responses go out in parts, their record sets uncopied.
                let req: FetchRequest = decode_body(&mut body, v)?;
                let resp = fetch::handle(ctx, conn, &header, req).await;
                return Ok(fetch::reply(header.correlation_id, api_key.response_header_version(v), v, resp));
            }
            match api_key {
                $(ApiKey::$key => {
                    let req: $req = decode_body(&mut body, v)?;
                    let resp: Option<$resp> = $module::handle(ctx, conn, &header, req).await.into();
                    Ok(match resp {
                        None => Reply::Nothing,
                        Some(r) => match encode_response(header.correlation_id, api_key.response_header_version(v), v, &r) {
                            Ok(b) => Reply::Send(b),
                            Err(e) => Reply::Close(format!("cannot encode {api_key:?} v{v} response: {e}")),
                        },
                    })
                })*
                _ => Err(FrameError::UnknownApiKey { api_key: api_key as i16, correlation_id: header.correlation_id }),
            }
        }

        /// Decodes a whole request frame (header and body) without handling it: the fuzz target's
        /// entry point.
        ///
        /// # Errors
        /// As [`parse_frame`], plus undecodable bodies.
        pub fn decode_request(frame: Bytes) -> std::result::Result<RequestHeader, FrameError> {
            let f = parse_frame(frame, supported_versions)?;
            let v = f.header.request_api_version;
            let mut body = f.body;
            match f.api_key {
                $(ApiKey::$key => { let _: $req = decode_body(&mut body, v)?; })*
                _ => {}
            }
            Ok(f.header)
        }
    };
}

apis! {
    Produce => produce, ProduceRequest, ProduceResponse, 3..=11;
    Fetch => fetch, FetchRequest, FetchResponse, 4..=12;
    ListOffsets => list_offsets, ListOffsetsRequest, ListOffsetsResponse, 1..=8;
    Metadata => metadata, MetadataRequest, MetadataResponse, 0..=12;
    OffsetCommit => offset_commit, OffsetCommitRequest, OffsetCommitResponse, 2..=9;
    OffsetFetch => offset_fetch, OffsetFetchRequest, OffsetFetchResponse, 1..=9;
    FindCoordinator => find_coordinator, FindCoordinatorRequest, FindCoordinatorResponse, 0..=4;
    JoinGroup => join_group, JoinGroupRequest, JoinGroupResponse, 0..=9;
    Heartbeat => heartbeat, HeartbeatRequest, HeartbeatResponse, 0..=4;
    LeaveGroup => leave_group, LeaveGroupRequest, LeaveGroupResponse, 0..=5;
    SyncGroup => sync_group, SyncGroupRequest, SyncGroupResponse, 0..=5;
    DescribeGroups => describe_groups, DescribeGroupsRequest, DescribeGroupsResponse, 0..=5;
    ListGroups => list_groups, ListGroupsRequest, ListGroupsResponse, 0..=4;
    SaslHandshake => sasl_handshake, SaslHandshakeRequest, SaslHandshakeResponse, 0..=1;
    ApiVersions => api_versions, ApiVersionsRequest, ApiVersionsResponse, 0..=3;
    CreateTopics => create_topics, CreateTopicsRequest, CreateTopicsResponse, 2..=7;
    DeleteTopics => delete_topics, DeleteTopicsRequest, DeleteTopicsResponse, 1..=6;
    DeleteRecords => delete_records, DeleteRecordsRequest, DeleteRecordsResponse, 0..=2;
    InitProducerId => init_producer_id, InitProducerIdRequest, InitProducerIdResponse, 0..=4;
    OffsetForLeaderEpoch => offset_for_leader_epoch, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse, 2..=4;
    AddPartitionsToTxn => add_partitions_to_txn, AddPartitionsToTxnRequest, AddPartitionsToTxnResponse, 0..=3;
    AddOffsetsToTxn => add_offsets_to_txn, AddOffsetsToTxnRequest, AddOffsetsToTxnResponse, 0..=3;
    EndTxn => end_txn, EndTxnRequest, EndTxnResponse, 0..=3;
    TxnOffsetCommit => txn_offset_commit, TxnOffsetCommitRequest, TxnOffsetCommitResponse, 0..=3;
    DescribeConfigs => describe_configs, DescribeConfigsRequest, DescribeConfigsResponse, 1..=4;
    AlterConfigs => alter_configs, AlterConfigsRequest, AlterConfigsResponse, 0..=2;
    SaslAuthenticate => sasl_authenticate, SaslAuthenticateRequest, SaslAuthenticateResponse, 0..=2;
    CreatePartitions => create_partitions, CreatePartitionsRequest, CreatePartitionsResponse, 0..=3;
    DeleteGroups => delete_groups, DeleteGroupsRequest, DeleteGroupsResponse, 0..=2;
    IncrementalAlterConfigs => incremental_alter_configs, IncrementalAlterConfigsRequest, IncrementalAlterConfigsResponse, 0..=1;
    OffsetDelete => offset_delete, OffsetDeleteRequest, OffsetDeleteResponse, 0..=0;
    DescribeCluster => describe_cluster, DescribeClusterRequest, DescribeClusterResponse, 0..=1;
    DescribeProducers => describe_producers, DescribeProducersRequest, DescribeProducersResponse, 0..=0;
    DescribeTransactions => describe_transactions, DescribeTransactionsRequest, DescribeTransactionsResponse, 0..=0;
    ListTransactions => list_transactions, ListTransactionsRequest, ListTransactionsResponse, 0..=1;
}

impl Ctx {
    /// The context of a server on `local`, implementing the APIs of [`SUPPORTED`].
    pub(crate) fn new(broker: crate::broker::Broker, config: super::ServerConfig, local: std::net::SocketAddr) -> crate::error::Result<Ctx> {
        Ctx::with_versions(broker, config, local, SUPPORTED)
    }
}

/// Handles one frame (without its size prefix).
pub(crate) async fn handle_frame(ctx: &Ctx, conn: &mut ConnState, frame: Bytes) -> Reply {
    let f = match parse_frame(frame, supported_versions) {
        Ok(f) => f,
        Err(FrameError::UnsupportedVersion { api_key: ApiKey::ApiVersions, correlation_id, .. }) => {
            return api_versions::unsupported(correlation_id, ctx.supported);
        }
        Err(e) => return Reply::Close(e.to_string()),
    };
    let open = matches!(f.api_key, ApiKey::ApiVersions | ApiKey::SaslHandshake | ApiKey::SaslAuthenticate);
    if !conn.authenticated && !open {
        return Reply::Close(format!("{:?} before SASL authentication", f.api_key));
    }
    match dispatch(ctx, conn, f.api_key, f.header, f.body).await {
        Ok(r) => r,
        Err(e) => Reply::Close(e.to_string()),
    }
}
