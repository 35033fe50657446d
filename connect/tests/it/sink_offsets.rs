//! A sink connector's offsets through the distributed worker's REST API (KIP-875: its
//! consumer group `connect-<name>` read, altered, deleted and reset through the group
//! coordinator, only while the connector is STOPPED), and `topics.regex` subscriptions.

use std::sync::Arc;
use std::time::{Duration, Instant};

use brook_connect::offsets::FileOffsetStore;
use brook_connect::{Herder, Plugins, Worker};
use serde_json::{json, Value};

use crate::distributed::{create, listen, start_with, stop};
use crate::standalone::{append, broker, lines, props, run_until, wait_for, worker_props};

async fn call(base: &str, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
    let http = reqwest::Client::new();
    let mut req = http.request(reqwest::Method::from_bytes(method.as_bytes()).unwrap(), format!("{base}{path}"));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// Repeats `method path` until its answer has `status` (the group may still be emptying, or
/// rebalancing), and returns the body.
async fn until(base: &str, method: &str, path: &str, body: Option<Value>, status: u16) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, b) = call(base, method, path, body.clone()).await;
        if s == status {
            return b;
        }
        assert!(Instant::now() < deadline, "{method} {path}: {s} {b}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn offset(topic: &str, partition: i32, offset: Option<i64>) -> Value {
    json!({"partition": {"kafka_topic": topic, "kafka_partition": partition}, "offset": offset.map(|o| json!({"kafka_offset": o}))})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sink_connectors_offsets_are_its_consumer_groups_read_altered_and_reset_over_rest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    let (addr, stop_server, server) = listen(&b).await;
    let h = start_with(&b, &addr, "", Plugins::default()).await;
    let rest = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", rest.local_addr().unwrap());
    let (stop_rest, rest_stopped) = tokio::sync::oneshot::channel::<()>();
    let herder: Arc<dyn Herder> = h.clone();
    let rest_server = tokio::spawn(brook_connect::rest::serve(rest, herder, async move {
        let _ = rest_stopped.await;
    }));
    let (input, output) = (d.join("in.txt"), d.join("out.txt"));
    append(&input, "a\nb\nc\n");
    create(&h, "src", props(&format!("connector.class=FileStreamSource\nfile={}\ntopic=lines\n", input.display()))).await;
    create(&h, "snk", props(&format!("connector.class=FileStreamSink\nfile={}\ntopics=lines\n", output.display()))).await;
    let out = output.clone();
    wait_for("three lines in the sink", move || lines(&out).len() == 3).await;

    // GET: the group's committed offset, in Connect's sink form.
    let path = "/connectors/snk/offsets";
    let body = json!({"offsets": [offset("lines", 0, Some(3))]});
    assert_eq!(until(&base, "GET", path, None, 200).await, body);
    for _ in 0..100 {
        if call(&base, "GET", path, None).await.1 == body {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(call(&base, "GET", path, None).await, (200, body));

    // Changes need a STOPPED connector.
    let (status, err) = call(&base, "PATCH", path, Some(json!({"offsets": [offset("lines", 0, Some(1))]}))).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(err["message"], "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/snk/stop' endpoint");
    until(&base, "PUT", "/connectors/snk/stop", None, 202).await;
    until(&base, "GET", "/connectors/snk/status", None, 200).await;

    // PATCH: commit an offset (once the stopped task left the group), then remove it.
    let altered = until(&base, "PATCH", path, Some(json!({"offsets": [offset("lines", 0, Some(1))]})), 200).await;
    assert_eq!(altered, json!({"message": "The offsets for this connector have been altered successfully"}));
    assert_eq!(call(&base, "GET", path, None).await, (200, json!({"offsets": [offset("lines", 0, Some(1))]})));
    assert_eq!(call(&base, "PATCH", path, Some(json!({"offsets": [offset("lines", 0, None)]}))).await.0, 200);
    assert_eq!(call(&base, "GET", path, None).await, (200, json!({"offsets": []})));
    // Bad bodies, in Connect's words.
    let (status, err) = call(&base, "PATCH", path, Some(json!({"offsets": [{"partition": {"kafka_partition": 0}, "offset": {"kafka_offset": 1}}]}))).await;
    assert_eq!(status, 400, "{err}");
    assert!(err["message"].as_str().unwrap().contains("\"kafka_topic\" string"), "{err}");
    let (status, err) = call(&base, "PATCH", path, Some(json!({"offsets": [offset("lines", 0, Some(-4))]}))).await;
    assert_eq!(status, 400, "{err}");
    assert_eq!(call(&base, "PATCH", path, Some(json!({"offsets": []}))).await.0, 400);

    // DELETE: the group (and so its offsets) is gone.
    assert_eq!(call(&base, "PATCH", path, Some(json!({"offsets": [offset("lines", 0, Some(2))]}))).await.0, 200);
    let (status, reset) = call(&base, "DELETE", path, None).await;
    assert_eq!((status, reset), (200, json!({"message": "The offsets for this connector have been reset successfully"})));
    assert_eq!(call(&base, "GET", path, None).await, (200, json!({"offsets": []})));

    // Offset 2, then resume: the sink consumes from there, so "c" arrives again.
    assert_eq!(call(&base, "PATCH", path, Some(json!({"offsets": [offset("lines", 0, Some(2))]}))).await.0, 200);
    until(&base, "PUT", "/connectors/snk/resume", None, 202).await;
    let out = output.clone();
    wait_for("the line after offset 2 again", move || lines(&out).len() == 4).await;
    assert_eq!(lines(&output), ["a", "b", "c", "c"]);

    let _ = stop_rest.send(());
    rest_server.await.unwrap().unwrap();
    stop(h).await;
    let _ = stop_server.send(());
    server.await.unwrap().unwrap();
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topics_regex_sink_consumes_every_matching_topic_also_those_created_later() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let b = broker(d).await;
    let worker = worker_props(d, "org.apache.kafka.connect.storage.StringConverter");
    let source = |name: &str, topic: &str| {
        let file = d.join(format!("{name}.txt"));
        append(&file, &format!("{name}-1\n{name}-2\n"));
        props(&format!("name={name}\nconnector.class=FileStreamSource\nfile={}\ntopic={topic}\n", file.display()))
    };
    let sink = props(&format!("name=rx\nconnector.class=FileStreamSink\nfile={}\ntopics.regex=rx-.*\n", d.join("out.txt").display()));
    // The sink starts with nothing to match; the sources create rx-a, rx-b and rxx (which
    // does not match) after it.
    let out = d.join("out.txt");
    run_until(&b, worker.clone(), vec![sink, source("a", "rx-a"), source("b", "rx-b"), source("c", "rxx")], "both matching topics in the sink", || lines(&out).len() >= 4).await;
    let mut got = lines(&out);
    got.sort();
    assert_eq!(got, ["a-1", "a-2", "b-1", "b-2"]);

    // Validation: exactly one of topics / topics.regex, a valid pattern, no DLQ it matches.
    let offsets = Arc::new(FileOffsetStore::open(d.join("v.offsets")).unwrap());
    let w = Worker::new(b.clone(), worker, Duration::from_millis(50), Plugins::default(), offsets, "v");
    let errors = |extra: &str| -> Vec<String> {
        let config = props(&format!("name=v\nconnector.class=FileStreamSink\nfile=/tmp/v\n{extra}"));
        w.validate("FileStreamSink", &config).unwrap().configs.iter().flat_map(|c| c.value.errors.clone()).collect()
    };
    assert!(errors("topics.regex=rx-.*").is_empty());
    assert_eq!(errors("topics=a\ntopics.regex=rx-.*"), vec!["topics and topics.regex are mutually exclusive options, but both are set."; 2]);
    assert_eq!(errors(""), vec!["Must configure one of topics or topics.regex"; 2]);
    let bad = errors("topics.regex=rx-(");
    assert_eq!(bad.len(), 1);
    assert!(bad[0].starts_with("Invalid value rx-( for configuration topics.regex: Invalid regex:"), "{bad:?}");
    let dlq = errors("topics.regex=rx-.*\nerrors.deadletterqueue.topic.name=rx-dlq\nerrors.tolerance=all");
    assert!(dlq.iter().any(|e| e == "The DLQ topic 'rx-dlq' may not be included in the regex matching the topics ('topics.regex=rx-.*') consumed by the connector"), "{dlq:?}");
    b.shutdown().await;
}
