//! ListTransactions (66): filtered by state and producer id.

use kafka_protocol::messages::list_transactions_response::TransactionState;
use kafka_protocol::messages::{ListTransactionsRequest, ListTransactionsResponse, ProducerId, RequestHeader, TransactionalId};

use super::{str_bytes, Ctx};
use crate::server::session::ConnState;

pub(crate) async fn handle(ctx: &Ctx, _: &mut ConnState, _: &RequestHeader, req: ListTransactionsRequest) -> ListTransactionsResponse {
    let mut resp = ListTransactionsResponse::default();
    let states: Vec<&str> = req.state_filters.iter().map(|s| s.as_str()).collect();
    for m in ctx.broker.transactions() {
        if !states.is_empty() && !states.contains(&m.status.name()) {
            continue;
        }
        if !req.producer_id_filters.is_empty() && !req.producer_id_filters.iter().any(|p| p.0 == m.producer_id) {
            continue;
        }
        let mut st = TransactionState::default();
        st.transactional_id = TransactionalId(str_bytes(m.transactional_id));
        st.producer_id = ProducerId(m.producer_id);
        st.transaction_state = str_bytes(m.status.name());
        resp.transaction_states.push(st);
    }
    resp
}
