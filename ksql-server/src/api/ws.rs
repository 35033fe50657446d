//! `GET /ws/query` (WebSocket): ksqlDB's WebSocket query endpoint. The query comes in the
//! `request` query parameter as a `KsqlRequest` (`{"ksql":"SELECT ...","streamsProperties":{}}`),
//! optionally with `version=1`. The server then sends text messages: first the schema, a JSON
//! array of `FieldInfo` (`[{"name":"ID","schema":{"type":"INTEGER","fields":null,
//! "memberSchema":null}}]`), then one `{"row":{"columns":[...]}}` per row (`PRINT`: one message
//! per printed line), and closes with 1000 `done` when a pull query or `PRINT` has sent
//! everything or a push query reaches its `LIMIT`.
//!
//! Errors close the socket as ksqlDB does: a bad `request` parameter or a statement that fails
//! with 1003 and the message (cut to the 123 bytes a close reason holds), an error while rows
//! stream with 1011. The client closing the socket stops its push query.
//!
//! Queries run through [`super::streaming`], the machinery of `/query-stream`: the rows of its
//! delimited body are re-framed here.

use std::collections::HashMap;

use axum::extract::ws::{close_code, CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::Query;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;

use super::ksql::{variables, KsqlRequest};
use super::streaming::{self, Framing, Started};
use super::common::State;
use super::properties::properties;
use crate::shared::Shared;
use crate::Error;

/// The handler: upgrades, then runs the query on the socket.
pub(crate) async fn handle(state: State, Query(params): Query<HashMap<String, String>>, ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>) -> Response {
    match ws {
        Ok(ws) => ws.on_upgrade(move |socket| run(state.0, params, socket)),
        Err(e) => Error::bad_request(e.body_text()).into_response(),
    }
}

/// A close with `code` and `reason` cut to what a close frame holds (123 bytes).
fn close(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame { code, reason: reason[..end].into() }))
}

/// The request parameter, checked as ksqlDB checks it.
fn parse_request(params: &HashMap<String, String>) -> Result<(KsqlRequest, std::collections::BTreeMap<String, String>), String> {
    if let Some(v) = params.get("version") {
        if v != "1" {
            return Err(format!("Received invalid api version: {v}"));
        }
    }
    let parse = || -> Result<_, String> {
        let text = params.get("request").filter(|r| !r.is_empty()).ok_or("missing request parameter")?;
        let req: KsqlRequest = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if req.ksql.trim().is_empty() {
            return Err("\"ksql\" field of \"request\" must be populated".into());
        }
        let props = properties(&req.streams_properties).map_err(|e| e.to_string())?;
        Ok((req, props))
    };
    parse().map_err(|e| format!("Error parsing request: {e}"))
}

async fn run(shared: std::sync::Arc<Shared>, params: HashMap<String, String>, mut socket: WebSocket) {
    let started = match parse_request(&params) {
        Ok((req, props)) => {
            let vars = variables(&req.session_variables);
            streaming::start(&shared, req.ksql, props, vars, true).await.map_err(|e| e.to_string())
        }
        Err(message) => Err(message),
    };
    let started = match started {
        Ok(s) => s,
        Err(message) => {
            let _ = socket.send(close(close_code::UNSUPPORTED, &message)).await;
            return;
        }
    };
    let end = match stream(&shared, started, &mut socket).await {
        Ok(true) => close(close_code::NORMAL, "done"),
        Ok(false) => return,
        Err(message) => close(close_code::ERROR, &message),
    };
    let _ = socket.send(end).await;
}

/// A row line of the delimited body as ksqlDB's `StreamedRow`.
fn row_message(line: &str) -> Message {
    Message::Text(format!("{{\"row\":{{\"columns\":{line}}}}}").into())
}

/// Sends the schema and rows; `Ok(true)` when the query ended, `Ok(false)` when the client left.
async fn stream(shared: &Shared, started: Started, socket: &mut WebSocket) -> Result<bool, String> {
    if matches!(started, Started::Print(..)) {
        // PRINT following the topic: each line a text message, as they come.
        let mut body = streaming::body(shared, started, Framing::Delimited).map_err(|e| e.to_string())?.into_data_stream();
        while let Some(chunk) = body.next().await {
            let bytes = chunk.map_err(|e| e.to_string())?;
            for l in String::from_utf8_lossy(&bytes).lines() {
                if socket.send(Message::Text(l.to_owned().into())).await.is_err() {
                    return Ok(false);
                }
            }
        }
        return Ok(true);
    }
    let schema = match &started {
        Started::Print(..) => return Ok(true),
        Started::Pull { schema, .. } => schema,
        Started::Push(q) => &q.schema,
        Started::Printed(lines) => {
            for l in lines {
                if socket.send(Message::Text(l.clone().into())).await.is_err() {
                    return Ok(false);
                }
            }
            return Ok(true);
        }
    };
    let header = serde_json::to_string(schema).map_err(|e| e.to_string())?;
    if socket.send(Message::Text(header.into())).await.is_err() {
        return Ok(false);
    }
    // The delimited framing: the header line (skipped: the schema went first), then one JSON
    // array per row. Dropping the body stops a push query.
    let mut body = streaming::body(shared, started, Framing::Delimited).map_err(|e| e.to_string())?.into_data_stream();
    let mut pending: Vec<u8> = Vec::new();
    let mut header_seen = false;
    loop {
        tokio::select! {
            chunk = body.next() => match chunk {
                Some(Ok(bytes)) => {
                    pending.extend_from_slice(&bytes);
                    while let Some(at) = pending.iter().position(|b| *b == b'\n') {
                        let line: Vec<u8> = pending.drain(..=at).collect();
                        let line = String::from_utf8_lossy(&line);
                        let line = line.trim();
                        if line.starts_with('[') {
                            if socket.send(row_message(line)).await.is_err() {
                                return Ok(false);
                            }
                        } else if !std::mem::replace(&mut header_seen, true) || line.is_empty() {
                            // The header line.
                        } else {
                            // Anything else after the header is an error the query ended with.
                            let v: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
                            return Err(v["message"].as_str().unwrap_or(line).to_owned());
                        }
                    }
                }
                Some(Err(e)) => return Err(e.to_string()),
                None => return Ok(true),
            },
            msg = socket.recv() => match msg {
                // Clients send nothing but pings (answered by the library) and the close.
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(false),
                Some(Ok(_)) => {}
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_parameter_errors_read_as_ksqldb_writes_them() {
        let p = |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<HashMap<_, _>>();
        assert_eq!(parse_request(&p(&[])).unwrap_err(), "Error parsing request: missing request parameter");
        assert_eq!(parse_request(&p(&[("version", "2"), ("request", "{}")])).unwrap_err(), "Received invalid api version: 2");
        assert!(parse_request(&p(&[("request", "{not json")])).unwrap_err().starts_with("Error parsing request: "));
        assert_eq!(
            parse_request(&p(&[("request", r#"{"ksql":" "}"#)])).unwrap_err(),
            "Error parsing request: \"ksql\" field of \"request\" must be populated"
        );
        let err = parse_request(&p(&[("request", r#"{"ksql":"SELECT 1;","streamsProperties":{"nope":1}}"#)])).unwrap_err();
        assert_eq!(err, "Error parsing request: Not recognizable as ksql, streams, consumer, or producer property: 'nope'");
        let (req, props) = parse_request(&p(&[("version", "1"), ("request", r#"{"ksql":"SELECT 1;","streamsProperties":{"auto.offset.reset":"earliest"}}"#)])).unwrap();
        assert_eq!((req.ksql.as_str(), props["auto.offset.reset"].as_str()), ("SELECT 1;", "earliest"));
    }

    #[test]
    fn close_reasons_fit_a_frame() {
        let long = "é".repeat(100);
        let Message::Close(Some(frame)) = close(1003, &long) else { panic!("not a close") };
        assert!(frame.reason.len() <= 123 && long.starts_with(frame.reason.as_str()));
    }
}
