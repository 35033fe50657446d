//! In-process produce and consume of 100-byte records on one partition, through the embedded
//! client (no sockets). `./x bench` runs it; figures go into BENCHMARKS.md.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use brook_broker::client::{Consumer, ConsumerConfig, OffsetReset, Producer, ProducerConfig, ProducerRecord, TopicPartition};
use brook_broker::{Broker, BrokerConfig};
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

const RECORDS: usize = 1_000_000;

fn producer(b: &Broker) -> Producer {
    let cfg = ProducerConfig {
        batch_size: 256 * 1024,
        linger: Duration::from_millis(5),
        ..Default::default()
    };
    Producer::new(b.clone(), cfg).unwrap()
}

async fn produce(p: &Producer, topic: &str, n: usize, value: &Bytes) {
    let mut last = None;
    for _ in 0..n {
        last = Some(p.send(ProducerRecord {
            topic: topic.to_owned(),
            partition: Some(0),
            value: Some(value.clone()),
            ..Default::default()
        }));
    }
    p.flush();
    last.unwrap().await.unwrap();
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = BrokerConfig::new(dir.path());
    cfg.topic_defaults.retention_bytes = 1 << 30;
    let broker = rt.block_on(Broker::open(cfg)).unwrap();
    let value = Bytes::from(vec![b'x'; 100]);
    let mut g = c.benchmark_group("embedded");
    g.throughput(Throughput::Elements(RECORDS as u64));
    g.sample_size(10);

    let mut round = 0;
    g.bench_function("produce_100b_1p", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                round += 1;
                let topic = format!("produce-{round}");
                broker.create_topic(&topic, 1, BTreeMap::new()).unwrap();
                let p = rt.block_on(async { producer(&broker) });
                let start = Instant::now();
                rt.block_on(produce(&p, &topic, RECORDS, &value));
                total += start.elapsed();
                broker.delete_topic(&topic).unwrap();
            }
            total
        })
    });

    broker.create_topic("consume", 1, BTreeMap::new()).unwrap();
    let p = rt.block_on(async { producer(&broker) });
    rt.block_on(produce(&p, "consume", RECORDS, &value));
    g.bench_function("consume_100b_1p", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let cfg = ConsumerConfig {
                    auto_offset_reset: OffsetReset::Earliest,
                    max_poll_records: 10_000,
                    max_partition_fetch_bytes: 4 << 20,
                    ..Default::default()
                };
                let mut consumer = Consumer::new(broker.clone(), cfg);
                consumer.assign(&[TopicPartition::new("consume", 0)]);
                let start = Instant::now();
                rt.block_on(async {
                    let mut n = 0;
                    while n < RECORDS {
                        n += consumer.poll(Duration::from_secs(1)).await.unwrap().len();
                    }
                });
                total += start.elapsed();
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
