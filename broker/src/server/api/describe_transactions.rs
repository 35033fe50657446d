//! DescribeTransactions (65).

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_transactions_response::{TopicData, TransactionState};
use kafka_protocol::messages::{DescribeTransactionsRequest, DescribeTransactionsResponse, ProducerId, RequestHeader};

use super::{str_bytes, topic_name, Ctx};
use crate::error::ErrorCode;
use crate::server::session::ConnState;

pub(crate) async fn handle(
    ctx: &Ctx,
    _: &mut ConnState,
    _: &RequestHeader,
    req: DescribeTransactionsRequest,
) -> DescribeTransactionsResponse {
    let all = ctx.broker.transactions();
    let mut resp = DescribeTransactionsResponse::default();
    for id in req.transactional_ids {
        let mut st = TransactionState::default();
        match all.iter().find(|m| m.transactional_id == id.0.as_str()) {
            Some(m) => {
                st.transaction_state = str_bytes(m.status.name());
                st.transaction_timeout_ms = m.timeout_ms;
                st.transaction_start_time_ms = m.start_ms;
                st.producer_id = ProducerId(m.producer_id);
                st.producer_epoch = m.producer_epoch;
                let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for tp in &m.partitions {
                    by_topic.entry(&tp.topic).or_default().push(tp.partition);
                }
                st.topics = by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        let mut td = TopicData::default();
                        td.topic = topic_name(t);
                        td.partitions = ps;
                        td
                    })
                    .collect();
            }
            None => st.error_code = ErrorCode::TransactionalIdNotFound.as_i16(),
        }
        st.transactional_id = id;
        resp.transaction_states.push(st);
    }
    resp
}
