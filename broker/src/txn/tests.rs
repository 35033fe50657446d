//! The transaction coordinator's fsyncs happen outside its lock.

use std::sync::mpsc;
use std::time::Duration;

use crate::log::block_syncs_under;
use crate::topic::{partition_dir, TRANSACTION_STATE_TOPIC};
use crate::txn::TxnStatus;
use crate::{Broker, BrokerConfig};

const PATIENCE: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_fsync_of_one_transaction_does_not_block_another_transactional_id() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = BrokerConfig::new(dir.path());
    config.topic_defaults.flush_messages = 1; // every append asks for an fsync
    let broker = Broker::open(config).await.unwrap();
    broker.create_topic("t", 1, Default::default()).unwrap();
    let (pid, epoch) = broker.init_producer_id(Some("a"), 60_000).unwrap();
    broker.add_partitions_to_txn("a", pid, epoch, &[brook_common::TopicPartition::new("t", 0)]).unwrap();
    let (pa, pb) = (broker.inner.txns.state_partition("a"), broker.inner.txns.state_partition("b"));
    assert_ne!(pa, pb);

    // Every fsync of a's `__transaction_state` partition blocks until `disk.release()`.
    let mut disk = block_syncs_under(partition_dir(dir.path(), TRANSACTION_STATE_TOPIC, pa));

    let ender = {
        let broker = broker.clone();
        std::thread::spawn(move || broker.end_txn("a", pid, epoch, true))
    };
    disk.entered.recv_timeout(PATIENCE).expect("a's EndTxn reaches its fsync");
    let (init_tx, init) = mpsc::channel();
    {
        let broker = broker.clone();
        std::thread::spawn(move || init_tx.send(broker.init_producer_id(Some("b"), 60_000).is_ok()));
    }
    assert_eq!(init.recv_timeout(PATIENCE), Ok(true), "b's InitProducerId is answered while a's fsync hangs");
    assert!(!ender.is_finished(), "a's EndTxn is answered only once durable");
    let a = |b: &Broker| b.transactions().into_iter().find(|m| m.transactional_id == "a").unwrap();
    assert_eq!(a(&broker).status, TxnStatus::PrepareCommit);

    disk.release();
    ender.join().unwrap().unwrap();
    assert_eq!(a(&broker).status, TxnStatus::CompleteCommit);
}
