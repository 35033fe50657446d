//! Transformations and error handling through the standalone worker: a FileStream source with
//! an SMT chain, a FileStream sink with its own chain, `errors.tolerance=all` and a dead
//! letter queue whose `__connect.errors.*` headers are checked.

use std::time::{Duration, Instant};

use brook_broker::client::{Consumer, ConsumerConfig, ConsumerRecord, Producer, ProducerConfig, ProducerRecord, TopicPartition};
use brook_broker::Broker;
use brook_common::{Header, OffsetReset};

use crate::standalone::{append, broker, lines, props, run_until, worker_props};

async fn read_all(b: &Broker, topic: &str, n: usize) -> Vec<ConsumerRecord> {
    let mut cc = ConsumerConfig::default();
    cc.auto_offset_reset = OffsetReset::Earliest;
    let mut c = Consumer::new(b.clone(), cc);
    c.assign(&[TopicPartition { topic: topic.into(), partition: 0 }]);
    let mut got = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while got.len() < n && Instant::now() < deadline {
        got.extend(c.poll(Duration::from_millis(200)).await.unwrap());
    }
    got
}

fn headers(r: &ConsumerRecord) -> Vec<(String, String)> {
    r.headers.iter().map(|h| (h.key.clone(), String::from_utf8_lossy(h.value.as_deref().unwrap_or_default()).into_owned())).collect()
}

fn header<'a>(hs: &'a [(String, String)], key: &str) -> &'a str {
    hs.iter().find(|(k, _)| k == key).map_or_else(|| panic!("no header {key} in {hs:?}"), |(_, v)| v.as_str())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smt_chains_and_dead_letter_queue_through_the_worker() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    // Two records the sink cannot take: bytes that are not JSON (value converter), and a
    // schemaless string that InsertField$Value cannot add a field to (transformation).
    b.create_topic("lines", 1, Default::default()).unwrap();
    let p = Producer::new(b.clone(), ProducerConfig::default()).unwrap();
    let mut bad = ProducerRecord::new("lines", Some("k1"), Some("not json"));
    bad.headers.push(Header { key: "trace".into(), value: Some("t1".into()) });
    let pending = [p.send(bad), p.send(ProducerRecord::new("lines", None::<&str>, Some(r#"{"schema":null,"payload":"plain"}"#)))];
    p.flush();
    for f in pending {
        f.await.unwrap();
    }
    append(&d.join("in.txt"), "hello\nworld\n");

    let source = props(&format!(
        "name=src\nconnector.class=FileStreamSource\nfile={}\ntopic=raw\n\
         transforms=hoist,insert,route\n\
         transforms.hoist.type=org.apache.kafka.connect.transforms.HoistField$Value\n\
         transforms.hoist.field=line\n\
         transforms.insert.type=org.apache.kafka.connect.transforms.InsertField$Value\n\
         transforms.insert.topic.field=topic\n\
         transforms.insert.static.field=source\n\
         transforms.insert.static.value=file\n\
         transforms.route.type=org.apache.kafka.connect.transforms.RegexRouter\n\
         transforms.route.regex=r(a)w\n\
         transforms.route.replacement=lines\n\
         transforms.route.predicate=isRaw\n\
         predicates=isRaw\n\
         predicates.isRaw.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches\n\
         predicates.isRaw.pattern=raw\n",
        d.join("in.txt").display()
    ));
    let sink = props(&format!(
        "name=snk\nconnector.class=FileStreamSink\nfile={}\ntopics=lines\n\
         transforms=offset\n\
         transforms.offset.type=org.apache.kafka.connect.transforms.InsertField$Value\n\
         transforms.offset.offset.field=off\n\
         errors.tolerance=all\n\
         errors.log.enable=true\n\
         errors.log.include.messages=true\n\
         errors.deadletterqueue.topic.name=dlq\n\
         errors.deadletterqueue.context.headers.enable=true\n",
        d.join("out.txt").display()
    ));
    let worker = worker_props(d, "org.apache.kafka.connect.json.JsonConverter");
    run_until(&b, worker, vec![source, sink], "two lines in the sink file", || lines(&d.join("out.txt")).len() >= 2).await;
    assert_eq!(lines(&d.join("out.txt")), ["Struct{line=hello,topic=raw,source=file,off=2}", "Struct{line=world,topic=raw,source=file,off=3}"]);

    // The source's chain wrote Connect's envelope of the new struct to the routed topic.
    let routed = read_all(&b, "lines", 4).await;
    assert_eq!(routed.len(), 4);
    assert_eq!(
        String::from_utf8_lossy(routed[2].value.as_deref().unwrap()),
        r#"{"schema":{"type":"struct","fields":[{"type":"string","optional":false,"field":"line"},{"type":"string","optional":true,"field":"topic"},{"type":"string","optional":true,"field":"source"}],"optional":false},"payload":{"line":"hello","topic":"raw","source":"file"}}"#
    );

    // The two bad records went to the dead letter queue as they were, with Kafka's headers.
    let dlq = read_all(&b, "dlq", 2).await;
    assert_eq!(dlq.len(), 2);
    assert_eq!((dlq[0].key.as_deref(), dlq[0].value.as_deref()), (Some(&b"k1"[..]), Some(&b"not json"[..])));
    assert_eq!(dlq[0].timestamp, routed[0].timestamp);
    let h = headers(&dlq[0]);
    assert_eq!(h[0], ("trace".to_owned(), "t1".to_owned()), "the original headers come first");
    for (k, v) in [
        ("__connect.errors.topic", "lines"),
        ("__connect.errors.partition", "0"),
        ("__connect.errors.offset", "0"),
        ("__connect.errors.connector.name", "snk"),
        ("__connect.errors.task.id", "0"),
        ("__connect.errors.stage", "VALUE_CONVERTER"),
        ("__connect.errors.class.name", "org.apache.kafka.connect.json.JsonConverter"),
        ("__connect.errors.exception.class.name", "org.apache.kafka.connect.errors.DataException"),
    ] {
        assert_eq!(header(&h, k), v, "{k}");
    }
    assert!(header(&h, "__connect.errors.exception.message").starts_with("Converting byte[] to Kafka Connect data failed due to serialization error"));
    assert!(header(&h, "__connect.errors.exception.stacktrace").starts_with("org.apache.kafka.connect.errors.DataException: Converting byte[]"));
    let h = headers(&dlq[1]);
    assert_eq!(dlq[1].value.as_deref(), Some(&br#"{"schema":null,"payload":"plain"}"#[..]));
    for (k, v) in [
        ("__connect.errors.offset", "1"),
        ("__connect.errors.stage", "TRANSFORMATION"),
        ("__connect.errors.class.name", "org.apache.kafka.connect.transforms.InsertField$Value"),
        ("__connect.errors.exception.message", "Only Map objects supported in absence of schema for [field insertion], found: java.lang.String"),
    ] {
        assert_eq!(header(&h, k), v, "{k}");
    }
    b.shutdown().await;
}
