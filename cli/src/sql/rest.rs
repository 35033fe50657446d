//! `brook sql http://host:8088`: the ksqlDB REST client behind the REPL. Statements go to
//! `POST /ksql`, queries to `POST /query-stream` (rows streamed line by line, stopped with
//! `POST /close-query`), `PRINT` to `POST /query`; the session's properties and variables travel
//! with each request (`streamsProperties` / `properties`, `sessionVariables`), as the ksql CLI
//! sends them. HTTP/2 (prior knowledge over `http://`, ALPN over `https://`) when the server
//! speaks it, HTTP/1.1 otherwise; basic auth with `-u` / `-p`. `https://` servers are checked
//! against the Mozilla roots (webpki-roots) and the CAs of `--ssl-ca-file`, or not at all with
//! `--ssl-skip-verify`.
//!
//! The server's JSON entities are turned back into the engine's [`StatementResult`]s, so both
//! modes print through one renderer ([`super::render`]).
//!
//! Where Brook differs from the ksql CLI: queries use `/query-stream` (the ksql CLI uses
//! `/query`); TLS trust comes from `--ssl-ca-file` (PEM) and `--ssl-skip-verify`, not from the
//! JVM's trust store and `ssl.truststore.*` of `--config-file`.

use std::collections::BTreeMap;
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{anyhow, bail, Context};
use brook_sql_engine::engine::entities::{CommandStatus, FieldInfo, FieldSchema};
use brook_sql_engine::function::{FunctionDescription, FunctionKind, FunctionVariant};
use brook_sql_engine::parser::ast::Statement;
use brook_sql_engine::{Row, StatementResult, Value};
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{json, Value as Json};

/// The properties and variables a session keeps on the client and sends with each request.
#[derive(Debug, Default, Clone)]
pub(crate) struct ClientState {
    pub(crate) properties: BTreeMap<String, String>,
    pub(crate) variables: BTreeMap<String, String>,
}

impl ClientState {
    fn properties_json(&self) -> Json {
        Json::Object(self.properties.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect())
    }

    fn variables_json(&self) -> Json {
        Json::Object(self.variables.iter().map(|(k, v)| (k.clone(), Json::String(v.clone()))).collect())
    }
}

/// How an `https://` server's certificate is checked.
#[derive(Debug, Default, Clone)]
pub(crate) struct TlsOptions {
    /// PEM certificates of CAs to trust besides the Mozilla roots.
    pub(crate) ca_file: Option<std::path::PathBuf>,
    /// Accept any certificate (for tests and self-signed set-ups only).
    pub(crate) skip_verify: bool,
}

impl TlsOptions {
    fn apply(&self, builder: reqwest::ClientBuilder) -> anyhow::Result<reqwest::ClientBuilder> {
        let mut builder = builder.use_rustls_tls().danger_accept_invalid_certs(self.skip_verify);
        if let Some(path) = &self.ca_file {
            let pem = std::fs::read(path).with_context(|| format!("cannot read --ssl-ca-file {}", path.display()))?;
            let certs = reqwest::Certificate::from_pem_bundle(&pem).with_context(|| format!("--ssl-ca-file {}: not PEM certificates", path.display()))?;
            if certs.is_empty() {
                bail!("--ssl-ca-file {}: no certificate in it", path.display());
            }
            for c in certs {
                builder = builder.add_root_certificate(c);
            }
        }
        Ok(builder)
    }
}

/// A connection to a ksqlDB-compatible REST server.
#[derive(Debug)]
pub(crate) struct RestClient {
    http: reqwest::Client,
    base: String,
    user: Option<(String, Option<String>)>,
    rt: tokio::runtime::Handle,
    /// Whether the server answered over HTTP/2.
    pub(crate) http2: bool,
    /// `version` of `/info`.
    pub(crate) server_version: String,
}

/// An error with its causes (`error sending request: ...: invalid peer certificate: UnknownIssuer`).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// A failed request: the server's `message` when it sent one.
fn server_error(status: StatusCode, body: &str) -> anyhow::Error {
    if status == StatusCode::UNAUTHORIZED {
        return anyhow!("the server refused the credentials (HTTP 401 Unauthorized): pass -u USER -p PASSWORD");
    }
    if status == StatusCode::FORBIDDEN {
        return anyhow!("the user may not do this (HTTP 403 Forbidden)");
    }
    match serde_json::from_str::<Json>(body).ok().and_then(|j| j.get("message").and_then(Json::as_str).map(str::to_owned)) {
        Some(m) => anyhow!("{m}"),
        None if body.trim().is_empty() => anyhow!("the server answered {status}"),
        None => anyhow!("the server answered {status}: {}", body.trim()),
    }
}

impl RestClient {
    /// Connects to `url` (`http://host:port` or `https://host:port`), trying HTTP/2 first;
    /// reads `/info`.
    ///
    /// # Errors
    /// A bad URL, an unreadable `--ssl-ca-file`, a server that does not answer or whose
    /// certificate is not trusted, refused credentials.
    pub(crate) fn connect(url: &str, user: Option<String>, password: Option<String>, tls: &TlsOptions, rt: tokio::runtime::Handle) -> anyhow::Result<Self> {
        let base = url.trim_end_matches('/').to_owned();
        let parsed = reqwest::Url::parse(&base).with_context(|| format!("invalid server address {url:?}: expected http://HOST:PORT or https://HOST:PORT"))?;
        let https = match parsed.scheme() {
            "http" => false,
            "https" => true,
            _ => bail!("invalid server address {url:?}: only http:// and https:// are supported"),
        };
        let user = user.map(|u| (u, password));
        let mut last = None;
        // Over TLS, ALPN picks the version in one attempt.
        let attempts: &[Option<bool>] = if https { &[None] } else { &[Some(true), Some(false)] };
        for &http2 in attempts {
            let builder = reqwest::Client::builder().connect_timeout(Duration::from_secs(10)).tcp_nodelay(true);
            let builder = match http2 {
                Some(true) => builder.http2_prior_knowledge(),
                Some(false) => builder.http1_only(),
                None => tls.apply(builder)?,
            };
            let http = builder.build().context("cannot build the HTTP client")?;
            let mut client = RestClient { http, base: base.clone(), user: user.clone(), rt: rt.clone(), http2: http2.unwrap_or(false), server_version: String::new() };
            match client.info() {
                Ok((info, version)) => {
                    client.http2 = version == reqwest::Version::HTTP_2;
                    client.server_version = info.pointer("/KsqlServerInfo/version").and_then(Json::as_str).unwrap_or("unknown").to_owned();
                    return Ok(client);
                }
                Err(e) if e.to_string().contains("HTTP 401") => return Err(e),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| anyhow!("no answer")).context(format!("cannot reach the ksqlDB server at {base}")))
    }

    /// `GET /info` and the HTTP version it was answered in.
    fn info(&self) -> anyhow::Result<(Json, reqwest::Version)> {
        let req = self.request(Method::GET, "/info");
        self.rt.block_on(async move {
            let resp = req.send().await.map_err(|e| anyhow!("{}", error_chain(&e)))?;
            let (status, version) = (resp.status(), resp.version());
            let body = resp.text().await?;
            if !status.is_success() {
                return Err(server_error(status, &body));
            }
            Ok((serde_json::from_str(&body)?, version))
        })
    }

    fn request(&self, method: Method, path: &str) -> RequestBuilder {
        let r = self.http.request(method, format!("{}{path}", self.base));
        match &self.user {
            Some((u, p)) => r.basic_auth(u, p.as_ref()),
            None => r,
        }
    }

    /// Sends `req` and parses the whole JSON answer; an error status becomes the server's message.
    fn call(&self, req: RequestBuilder) -> anyhow::Result<Json> {
        self.rt.block_on(async move {
            let resp = req.send().await?;
            let status = resp.status();
            let body = resp.text().await?;
            if !status.is_success() {
                return Err(server_error(status, &body));
            }
            Ok(serde_json::from_str(&body)?)
        })
    }

    /// `POST /ksql`: the entities of one statement.
    ///
    /// # Errors
    /// The server's message.
    pub(crate) fn ksql(&self, statement: &str, state: &ClientState) -> anyhow::Result<Vec<Json>> {
        let body = json!({ "ksql": format!("{statement};"), "streamsProperties": state.properties_json(), "sessionVariables": state.variables_json() });
        match self.call(self.request(Method::POST, "/ksql").header("Accept", "application/vnd.ksql.v1+json").json(&body))? {
            Json::Array(entities) => Ok(entities),
            other => Ok(vec![other]),
        }
    }

    /// Starts a streaming request and hands its body over line by line.
    fn lines(&self, req: RequestBuilder) -> anyhow::Result<LineStream> {
        let resp = self.rt.block_on(async move {
            let resp = req.send().await?;
            let status = resp.status();
            if !status.is_success() {
                let text = resp.text().await.unwrap_or_default();
                return Err(server_error(status, &text));
            }
            Ok(resp)
        })?;
        let (tx, rx) = mpsc::channel();
        let task = self.rt.spawn(async move {
            let mut resp = resp;
            let mut pending: Vec<u8> = Vec::new();
            loop {
                match resp.chunk().await {
                    Ok(Some(chunk)) => {
                        pending.extend_from_slice(&chunk);
                        while let Some(i) = pending.iter().position(|b| *b == b'\n') {
                            let line: Vec<u8> = pending.drain(..=i).collect();
                            if tx.send(Ok(String::from_utf8_lossy(&line[..i]).into_owned())).is_err() {
                                return;
                            }
                        }
                    }
                    Ok(None) => {
                        if !pending.is_empty() {
                            let _ = tx.send(Ok(String::from_utf8_lossy(&pending).into_owned()));
                        }
                        return;
                    }
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                }
            }
        });
        Ok(LineStream { rx, task, ended: false })
    }

    /// `POST /query-stream`: a pull or push query; the header is read before this returns.
    ///
    /// # Errors
    /// The server's message.
    pub(crate) fn query(&self, sql: &str, state: &ClientState) -> anyhow::Result<RestQuery> {
        let body = json!({ "sql": format!("{sql};"), "properties": state.properties_json(), "sessionVariables": state.variables_json() });
        let req = self.request(Method::POST, "/query-stream").header("Accept", "application/vnd.ksqlapi.delimited.v1").json(&body);
        let mut lines = self.lines(req)?;
        let header = loop {
            match lines.next_line(Duration::from_secs(3600)) {
                Some(Ok(l)) if l.trim().is_empty() => {}
                Some(Ok(l)) => break l,
                Some(Err(e)) => bail!("{e}"),
                None => bail!("the server closed the query without a header"),
            }
        };
        let header: Json = serde_json::from_str(&header).with_context(|| format!("unexpected query header {header:?}"))?;
        if let Some(m) = header.get("message").and_then(Json::as_str) {
            bail!("{m}");
        }
        let id = header.get("queryId").and_then(Json::as_str).unwrap_or_default().to_owned();
        let names = header.get("columnNames").and_then(Json::as_array).cloned().unwrap_or_default();
        let types = header.get("columnTypes").and_then(Json::as_array).cloned().unwrap_or_default();
        let schema: Vec<FieldInfo> = names
            .iter()
            .enumerate()
            .map(|(i, n)| FieldInfo {
                name: n.as_str().unwrap_or_default().to_owned(),
                schema: parse_type(types.get(i).and_then(Json::as_str).unwrap_or("STRING")),
                kind: None,
            })
            .collect();
        Ok(RestQuery { id, schema, lines, ended: false, error: None })
    }

    /// `POST /close-query`.
    pub(crate) fn close_query(&self, id: &str) {
        let req = self.request(Method::POST, "/close-query").json(&json!({ "queryId": id }));
        let sent = self.rt.block_on(async move { req.timeout(Duration::from_secs(5)).send().await });
        if let Err(e) = sent {
            tracing::debug!(error = %e, query = id, "close-query failed");
        }
    }

    /// `POST /query` with a `PRINT` statement: its lines as they come.
    ///
    /// # Errors
    /// The server's message.
    pub(crate) fn print(&self, statement: &str, state: &ClientState) -> anyhow::Result<LineStream> {
        let body = json!({ "ksql": format!("{statement};"), "streamsProperties": state.properties_json(), "sessionVariables": state.variables_json() });
        let req = self.request(Method::POST, "/query").header("Accept", "application/vnd.ksql.v1+json").json(&body);
        self.lines(req)
    }
}

/// A response body, line by line (read by a task on the runtime).
#[derive(Debug)]
pub(crate) struct LineStream {
    rx: mpsc::Receiver<Result<String, String>>,
    task: tokio::task::JoinHandle<()>,
    ended: bool,
}

impl LineStream {
    /// The next line, `None` after `timeout` or at the end (see [`LineStream::ended`]).
    pub(crate) fn next_line(&mut self, timeout: Duration) -> Option<Result<String, String>> {
        match self.rx.recv_timeout(timeout) {
            Ok(l) => Some(l),
            Err(mpsc::RecvTimeoutError::Timeout) => None,
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                self.ended = true;
                None
            }
        }
    }

    /// Whether the body ended.
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }
}

impl Drop for LineStream {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A query running on the server.
#[derive(Debug)]
pub(crate) struct RestQuery {
    pub(crate) id: String,
    pub(crate) schema: Vec<FieldInfo>,
    lines: LineStream,
    ended: bool,
    /// An error the server sent in the body.
    pub(crate) error: Option<String>,
}

impl RestQuery {
    /// The next row; `None` after `timeout` or when the response ended.
    pub(crate) fn next_row(&mut self, timeout: Duration) -> Option<Row> {
        loop {
            match self.lines.next_line(timeout) {
                None => {
                    self.ended = self.lines.ended();
                    return None;
                }
                Some(Err(e)) => {
                    self.error = Some(e);
                    self.ended = true;
                    return None;
                }
                Some(Ok(l)) => {
                    let l = l.trim();
                    if l.is_empty() {
                        continue;
                    }
                    match serde_json::from_str::<Json>(l) {
                        Ok(Json::Array(cols)) => {
                            return Some(cols.iter().zip(self.schema.iter().map(|f| &f.schema)).map(|(v, t)| json_value(v, Some(t))).collect())
                        }
                        Ok(other) => {
                            if let Some(m) = other.get("message").and_then(Json::as_str) {
                                self.error = Some(m.to_owned());
                                self.ended = true;
                                return None;
                            }
                        }
                        Err(e) => tracing::debug!(error = %e, line = l, "skipping a line of the query's response"),
                    }
                }
            }
        }
    }

    /// Whether the server ended the response (a pull query's end, a push query's `LIMIT`).
    pub(crate) fn ended(&self) -> bool {
        self.ended
    }
}

/// A `columnTypes` entry (`INTEGER`, `ARRAY<STRING>`, ``STRUCT<`A` INTEGER>``,
/// `MAP<STRING, INTEGER>`, `DECIMAL(4, 2)`) as the engine's [`FieldSchema`], read by the SQL
/// parser (as the type of a `CREATE TYPE`); an unknown name stays as it is.
pub(crate) fn parse_type(t: &str) -> FieldSchema {
    let parsed = brook_sql_engine::parser::parse(&format!("CREATE TYPE T AS {t};")).ok().and_then(|mut s| s.pop()).map(|s| s.statement);
    match parsed.map(|s| match s {
        Statement::CreateType { ty, .. } => ty.resolve(&|_| None).ok(),
        _ => None,
    }) {
        Some(Some(ty)) => FieldSchema::of(&ty),
        _ => FieldSchema { type_name: t.trim().to_owned(), fields: None, member_schema: None },
    }
}

/// A JSON value of a row as the engine's [`Value`], guided by the column's type where known.
pub(crate) fn json_value(v: &Json, ty: Option<&FieldSchema>) -> Value {
    let name = ty.map(|t| t.type_name.as_str());
    match v {
        Json::Null => Value::Null,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => match (name, n.as_i64(), n.as_f64()) {
            (Some("INTEGER"), Some(i), _) => i32::try_from(i).map_or(Value::BigInt(i), Value::Int),
            (Some("DOUBLE" | "DECIMAL"), _, Some(f)) => Value::Double(f),
            (_, Some(i), _) => Value::BigInt(i),
            (_, _, Some(f)) => Value::Double(f),
            _ => Value::String(n.to_string()),
        },
        Json::String(s) => Value::String(s.clone()),
        Json::Array(items) => {
            let member = ty.and_then(|t| t.member_schema.as_deref());
            Value::Array(items.iter().map(|i| json_value(i, member)).collect())
        }
        Json::Object(m) => match ty {
            Some(t) if t.type_name == "STRUCT" => {
                let fields = t.fields.as_deref().unwrap_or_default();
                Value::Struct(m.iter().map(|(k, v)| (k.clone(), json_value(v, fields.iter().find(|f| f.name == *k).map(|f| &f.schema)))).collect())
            }
            Some(t) => {
                let member = t.member_schema.as_deref();
                Value::Map(m.iter().map(|(k, v)| (Value::String(k.clone()), json_value(v, member))).collect())
            }
            None => Value::Struct(m.iter().map(|(k, v)| (k.clone(), json_value(v, None))).collect()),
        },
    }
}

fn field<T: serde::de::DeserializeOwned>(e: &Json, name: &str) -> Option<T> {
    e.get(name).cloned().and_then(|v| serde_json::from_value(v).ok())
}

fn text(e: &Json, name: &str) -> String {
    e.get(name).and_then(Json::as_str).unwrap_or_default().to_owned()
}

/// One `KsqlEntity` of `/ksql` as the engine's result; `None` for an entity this client does not
/// know (printed as JSON instead).
pub(crate) fn entity(e: &Json) -> Option<StatementResult> {
    Some(match e.get("@type")?.as_str()? {
        "currentStatus" => {
            let s = e.get("commandStatus")?;
            StatementResult::Status(CommandStatus {
                statement_text: text(e, "statementText"),
                status: text(s, "status"),
                message: text(s, "message"),
                query_id: s.get("queryId").and_then(Json::as_str).map(str::to_owned),
            })
        }
        "streams" => StatementResult::Streams(field(e, "streams")?),
        "tables" => StatementResult::Tables(field(e, "tables")?),
        "queries" => {
            let mut queries: Vec<Json> = field(e, "queries")?;
            for q in &mut queries {
                // ksqlDB sends `statusCount` ({"RUNNING":1}); Brook also sends `state`.
                if q.get("state").is_none() {
                    let state = q.get("statusCount").and_then(Json::as_object).and_then(|m| m.keys().next().cloned()).unwrap_or_default();
                    q["state"] = Json::String(state);
                }
            }
            StatementResult::Queries(serde_json::from_value(Json::Array(queries)).ok()?)
        }
        "kafka_topics" => StatementResult::Topics(field(e, "topics")?),
        "properties" => StatementResult::Properties(field(e, "properties")?),
        "variables" => {
            let vars: Vec<Json> = field(e, "variables")?;
            StatementResult::Variables(vars.iter().map(|v| (text(v, "name"), text(v, "value"))).collect())
        }
        "type_list" => {
            let types = e.get("types")?.as_object()?;
            StatementResult::Types(types.iter().map(|(n, t)| (n.clone(), t.get("type").and_then(Json::as_str).unwrap_or_default().to_owned())).collect())
        }
        "function_names" => StatementResult::Functions(field(e, "functions")?),
        "describe_function" => {
            let variants: Vec<Json> = field(e, "functions").unwrap_or_default();
            StatementResult::FunctionDescription(FunctionDescription {
                name: text(e, "name"),
                kind: field::<FunctionKind>(e, "type").unwrap_or(FunctionKind::Scalar),
                category: String::new(),
                description: text(e, "description"),
                variants: variants.iter().map(|v| FunctionVariant { arguments: text(v, "arguments"), return_type: text(v, "returnType") }).collect(),
            })
        }
        "sourceDescription" => StatementResult::SourceDescription(Box::new(field(e, "sourceDescription")?)),
        "source_descriptions" => StatementResult::SourceDescriptions(field(e, "sourceDescriptions")?),
        "queryDescription" => StatementResult::QueryDescription(Box::new(field(e, "queryDescription")?)),
        "connector_info" => StatementResult::ConnectorInfo(field(e, "info")?),
        "drop_connector" => StatementResult::DropConnector(text(e, "connectorName")),
        "connector_list" => StatementResult::Connectors(field(e, "connectors")?),
        "connector_description" => StatementResult::ConnectorDescription(Box::new(serde_json::from_value(e.clone()).ok()?)),
        "warning_entity" => StatementResult::Warning(text(e, "message")),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_parse_back_into_schemas() {
        let t = parse_type("STRUCT<`A` INTEGER, `B` MAP<STRING, ARRAY<DOUBLE>>, `C` DECIMAL(4, 2)>");
        let fields = t.fields.as_deref().unwrap();
        assert_eq!(fields.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(), ["A", "B", "C"]);
        assert_eq!(fields[1].schema.type_name, "MAP");
        assert_eq!(fields[1].schema.member_schema.as_ref().unwrap().member_schema.as_ref().unwrap().type_name, "DOUBLE");
        assert_eq!(fields[2].schema.type_name, "DECIMAL");
        assert_eq!(parse_type("BIGINT").type_name, "BIGINT");
    }

    #[test]
    fn row_values_follow_the_column_types() {
        let ty = parse_type("STRUCT<`X` DOUBLE, `Y` INTEGER>");
        let v = json_value(&json!({ "X": 1, "Y": 2 }), Some(&ty));
        assert_eq!(v, Value::Struct(vec![("X".into(), Value::Double(1.0)), ("Y".into(), Value::Int(2))]));
        assert_eq!(json_value(&json!(3), Some(&parse_type("DOUBLE"))), Value::Double(3.0));
        assert_eq!(json_value(&json!({"k": 1}), Some(&parse_type("MAP<STRING, BIGINT>"))), Value::Map(vec![(Value::String("k".into()), Value::BigInt(1))]));
    }

    #[test]
    fn entities_become_statement_results() {
        let status = json!({"@type": "currentStatus", "statementText": "CREATE STREAM S ...", "commandId": "stream/`S`/create",
            "commandStatus": {"status": "SUCCESS", "message": "Stream created", "queryId": null}, "commandSequenceNumber": 2, "warnings": []});
        assert!(matches!(entity(&status), Some(StatementResult::Status(s)) if s.message == "Stream created"));
        let queries = json!({"@type": "queries", "queries": [{"queryString": "q", "sinks": ["S"], "sinkKafkaTopics": ["s"], "id": "CSAS_S_0",
            "queryType": "PERSISTENT", "statusCount": {"RUNNING": 1}}]});
        assert!(matches!(entity(&queries), Some(StatementResult::Queries(q)) if q[0].state == "RUNNING"));
        assert!(entity(&json!({"@type": "something_new"})).is_none());
    }
}
