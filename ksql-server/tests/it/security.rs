//! Basic authentication and HTTPS, with real clients: reqwest over rustls trusting a
//! certificate made here (rcgen), and a WebSocket client.

use std::sync::Arc;

use base64::Engine as _;
use brook_ksql_server::{BasicAuth, KsqlServerConfig, TlsConfig};
use serde_json::json;

use crate::support::{mask, split, TestServer};
use crate::ws::{connect, next, ws_url, Got};

fn basic(user_password: &str) -> String {
    format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(user_password))
}

/// Users as ksqlDB's documentation writes them: OBF and MD5 are both `letmein`.
fn users(roles: &[&str]) -> Arc<BasicAuth> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.properties");
    std::fs::write(
        &path,
        "# ksqlDB's PropertyFileLoginModule format\n\
         fred: OBF:1w8t1tvf1w261w8v1w1c1tvn1w8x,user,admin\n\
         harry: changeme,user,developer\n\
         tom: MD5:0d107d09f5bbe40cade3de5c71e9e9b7,user\n",
    )
    .unwrap();
    Arc::new(BasicAuth::from_file(&path).unwrap().with_roles(roles.iter().map(|r| r.to_string()).collect()))
}

/// A self-signed certificate for `localhost`, written as PEM files, and the server's TLS
/// configuration read back from them.
fn certificate(dir: &std::path::Path) -> (TlsConfig, reqwest::Certificate) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap().self_signed(&key).unwrap();
    let (cert_pem, key_pem) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_pem, cert.pem()).unwrap();
    std::fs::write(&key_pem, key.serialize_pem()).unwrap();
    (TlsConfig::from_pem_files(&cert_pem, &key_pem).unwrap(), reqwest::Certificate::from_pem(cert.pem().as_bytes()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_needs_credentials_when_auth_is_on() {
    let config = KsqlServerConfig { auth: Some(users(&[])), ..Default::default() };
    let srv = TestServer::start_with(config, reqwest::Client::new()).await;
    let get = |path: &str, auth: Option<&str>| {
        let mut req = srv.client.get(format!("{}{path}", srv.url));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        req.send()
    };

    // ksqlDB's JAAS basic auth covers every path, /healthcheck and /info included.
    for path in ["/info", "/healthcheck", "/clusterStatus", "/no/such/path"] {
        let resp = get(path, None).await.unwrap();
        assert_eq!(resp.headers()["www-authenticate"], "Basic realm=\"KsqlServer-Props\"", "{path}");
        let (status, ct, body) = split(resp).await;
        assert_eq!((status, ct.as_str()), (401, "application/vnd.ksql.v1+json"), "{path}");
        insta::assert_json_snapshot!("unauthorized", body);
    }
    for wrong in [basic("fred:letmeout"), basic("nobody:letmein"), "Bearer x".to_owned()] {
        assert_eq!(get("/info", Some(&wrong)).await.unwrap().status(), 401, "{wrong}");
    }
    let (status, _, body) = split(get("/info", Some("Basic %%%")).await.unwrap()).await;
    assert_eq!(status, 400);
    insta::assert_json_snapshot!("malformed_authorization", body);

    for user in ["fred:letmein", "harry:changeme", "tom:letmein"] {
        assert_eq!(get("/healthcheck", Some(&basic(user))).await.unwrap().status(), 200, "{user}");
    }
    // A POST without credentials is refused before its body is looked at.
    let resp = srv.client.post(format!("{}/ksql", srv.url)).body("{not json").send().await.unwrap();
    assert_eq!(resp.status(), 401);
    let resp = srv
        .client
        .post(format!("{}/ksql", srv.url))
        .header("authorization", basic("harry:changeme"))
        .body(json!({ "ksql": "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');" }).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    // The WebSocket handshake is refused without credentials, and works with them.
    let request = json!({ "ksql": "SELECT * FROM S;" }).to_string();
    let url = ws_url(&srv, &request);
    match tokio_tungstenite::connect_async(url.as_str()).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => assert_eq!(resp.status(), 401),
        other => panic!("expected 401, got {other:?}"),
    }
    let mut ws = connect(&url, Some(&basic("fred:letmein"))).await;
    assert!(matches!(next(&mut ws).await, Got::Text(_)));
    assert!(matches!(next(&mut ws).await, Got::Closed(1000, r) if r == "done"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_allowed_roles_get_in() {
    let config = KsqlServerConfig { auth: Some(users(&["admin"])), ..Default::default() };
    let srv = TestServer::start_with(config, reqwest::Client::new()).await;
    let get = |auth: String| srv.client.get(format!("{}/info", srv.url)).header("authorization", auth).send();
    assert_eq!(get(basic("fred:letmein")).await.unwrap().status(), 200);
    let (status, _, body) = split(get(basic("harry:changeme")).await.unwrap()).await;
    assert_eq!(status, 403);
    insta::assert_json_snapshot!("forbidden", body);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_http1_and_http2_by_alpn() {
    let dir = tempfile::tempdir().unwrap();
    let (tls, ca) = certificate(dir.path());
    let client = |h1: bool| {
        let b = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false).add_root_certificate(ca.clone());
        if h1 { b.http1_only() } else { b }.build().unwrap()
    };
    let config = KsqlServerConfig { tls: Some(tls), auth: Some(users(&[])), ..Default::default() };
    let srv = TestServer::start_with(config, client(false)).await;
    assert!(srv.url.starts_with("https://localhost:"));
    let auth = basic("fred:letmein");

    for (client, version) in [(client(false), reqwest::Version::HTTP_2), (client(true), reqwest::Version::HTTP_11)] {
        let resp = client.get(format!("{}/info", srv.url)).header("authorization", &auth).send().await.unwrap();
        assert_eq!((resp.status().as_u16(), resp.version()), (200, version));
        let (_, _, body) = split(resp).await;
        insta::assert_json_snapshot!("https_info", mask(body));
        let resp = client.get(format!("{}/info", srv.url)).send().await.unwrap();
        assert_eq!((resp.status().as_u16(), resp.version()), (401, version));
    }

    // A push query streams over HTTPS too.
    let post = |path: &str, body: serde_json::Value| srv.client.post(format!("{}{path}", srv.url)).header("authorization", &auth).body(body.to_string()).send();
    let resp = post("/ksql", json!({ "ksql": "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON');" })).await.unwrap();
    assert_eq!(resp.status(), 200);
    let resp = post("/query-stream", json!({ "sql": "SELECT * FROM S EMIT CHANGES LIMIT 1;" })).await.unwrap();
    assert_eq!(resp.version(), reqwest::Version::HTTP_2);
    post("/ksql", json!({ "ksql": "INSERT INTO S (ID, V) VALUES (1, 'tls');" })).await.unwrap();
    let text = tokio::time::timeout(std::time::Duration::from_secs(60), resp.text()).await.unwrap().unwrap();
    assert_eq!(text.lines().nth(1), Some(r#"[1,"tls"]"#), "{text}");

    // Cleartext HTTP on the TLS port gets no answer, and the server stays up.
    let plain = srv.url.replace("https://", "http://");
    assert!(reqwest::Client::new().get(format!("{plain}/info")).send().await.is_err());
    let resp = srv.client.get(format!("{}/healthcheck", srv.url)).header("authorization", &auth).send().await.unwrap();
    assert_eq!(resp.status(), 200);
}

#[test]
fn bad_pem_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, "not a certificate").unwrap();
    std::fs::write(&key, "not a key").unwrap();
    let err = TlsConfig::from_pem_files(&cert, &key).unwrap_err().to_string();
    assert!(err.contains("cert.pem"), "{err}");
    let (_, _) = certificate(dir.path());
    std::fs::write(&key, "not a key").unwrap();
    let err = TlsConfig::from_pem_files(&cert, &key).unwrap_err().to_string();
    assert!(err.contains("key.pem"), "{err}");
    let err = TlsConfig::from_pem_files(&dir.path().join("missing.pem"), &key).unwrap_err().to_string();
    assert!(err.contains("missing.pem"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_queries_over_wss() {
    use futures::{SinkExt as _, StreamExt as _};
    use rustls_pki_types::pem::PemObject as _;
    use tokio_rustls::rustls;
    use tokio_tungstenite::tungstenite::Message;

    let dir = tempfile::tempdir().unwrap();
    let (tls, ca) = certificate(dir.path());
    let client = reqwest::Client::builder().use_rustls_tls().tls_built_in_root_certs(false).add_root_certificate(ca).build().unwrap();
    let config = KsqlServerConfig { tls: Some(tls), auth: Some(users(&[])), ..Default::default() };
    let srv = TestServer::start_with(config, client).await;
    let ksql = json!({ "ksql": "CREATE STREAM S (ID INT KEY, V STRING) WITH (KAFKA_TOPIC='s', PARTITIONS=1, FORMAT='JSON'); INSERT INTO S (ID, V) VALUES (1, 'wss');" });
    let resp = srv.client.post(format!("{}/ksql", srv.url)).header("authorization", basic("fred:letmein")).json(&ksql).send().await.unwrap();
    let (status, _, body) = split(resp).await;
    assert_eq!(status, 200, "{body}");

    // A WebSocket client over rustls trusting the server's certificate, as a browser would.
    let mut roots = rustls::RootCertStore::empty();
    roots.add(rustls_pki_types::CertificateDer::from_pem_file(dir.path().join("cert.pem")).unwrap()).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions().unwrap().with_root_certificates(roots).with_no_client_auth();
    let request = json!({ "ksql": "SELECT * FROM S EMIT CHANGES LIMIT 1;", "streamsProperties": { "auto.offset.reset": "earliest" } }).to_string();
    let url = ws_url(&srv, &request);
    assert!(url.starts_with("wss://localhost:"), "{url}");
    let port = reqwest::Url::parse(&url).unwrap().port().unwrap();
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let stream = tokio_rustls::TlsConnector::from(Arc::new(tls)).connect(rustls_pki_types::ServerName::try_from("localhost").unwrap(), tcp).await.unwrap();
    let mut req = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).unwrap();
    req.headers_mut().insert("authorization", basic("fred:letmein").parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::client_async(req, stream).await.unwrap();
    let mut got = Vec::new();
    while let Some(msg) = ws.next().await {
        match msg.unwrap() {
            Message::Text(t) => got.push(serde_json::from_str::<serde_json::Value>(&t).unwrap()),
            Message::Close(frame) => {
                let frame = frame.unwrap();
                got.push(json!({ "close": u16::from(frame.code), "reason": frame.reason.as_str() }));
                let _ = ws.close(None).await;
                break;
            }
            _ => {}
        }
    }
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0][0]["name"], "ID", "the schema first: {got:?}");
    assert_eq!(got[1], json!({ "row": { "columns": [1, "wss"] } }));
    assert_eq!(got[2], json!({ "close": 1000, "reason": "done" }));
    let _ = ws.send(Message::Close(None)).await;
}
