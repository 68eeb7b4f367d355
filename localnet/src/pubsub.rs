//! Websocket subscriptions, on the RPC port + 1 as `solana-test-validator` serves them:
//! `accountSubscribe`, `signatureSubscribe`, `slotSubscribe`, `logsSubscribe`,
//! `programSubscribe`, and their unsubscribes. Stock clients (web3.js's `confirmTransaction`
//! and `onAccountChange`, kit's subscriptions) wait on these.
//!
//! The bank thread publishes what happened (a block, a committed transaction); each connection
//! keeps its own subscriptions and turns matching events into notifications.
//!
//! Limits: [`MAX_CONNECTIONS`] websockets at once (more are answered 503),
//! [`MAX_SUBSCRIPTIONS`] subscriptions on one (more are refused until some are unsubscribed),
//! requests of at most [`MAX_MESSAGE_BYTES`]. A subscriber that reads too slowly to keep up
//! with the last `LocalnetConfig::subscriber_backlog` events (4,096) is **closed** (code 1013, "try again later", with
//! how many events it missed) rather than left waiting for a notification it will never get:
//! clients reconnect and subscribe again, and a signature already processed is notified at
//! once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{mpsc, Arc};

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};
use solana_rpc_client_api::config::{RpcAccountInfoConfig, UiAccountEncoding};
use solana_rpc_client_api::filter::RpcFilterType;
use solana_sdk::pubkey::Pubkey;
use solana_sdk::signature::Signature;
use tokio::sync::{broadcast, OwnedSemaphorePermit, Semaphore};

use crate::encoding::ui_account;
use crate::node::{self, Event, Job};
use crate::rpc::{parse_pubkey, parse_signature, RpcError};

/// Websocket connections served at once.
pub(crate) const MAX_CONNECTIONS: usize = 256;
/// Subscriptions one connection may hold.
pub(crate) const MAX_SUBSCRIPTIONS: usize = 1_024;
/// The largest message (a request or a batch) read from a subscriber.
pub(crate) const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// The close code for a subscriber that fell behind: 1013, "try again later".
const CLOSE_LAGGING: u16 = 1013;

/// What the websocket server shares: the bank's jobs (to ask for a status), its events, and
/// the connections left.
pub(crate) struct Hub {
    pub jobs: mpsc::Sender<Job>,
    pub events: broadcast::Sender<Event>,
    connections: Arc<Semaphore>,
}

impl Hub {
    pub fn new(jobs: mpsc::Sender<Job>, events: broadcast::Sender<Event>) -> Self {
        Self {
            jobs,
            events,
            connections: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        }
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

enum Subscription {
    Account {
        address: Pubkey,
        config: RpcAccountInfoConfig,
    },
    Signature(Signature),
    Slot,
    Logs(LogsFilter),
    Program {
        program: Pubkey,
        config: RpcAccountInfoConfig,
        filters: Vec<RpcFilterType>,
    },
}

enum LogsFilter {
    All,
    Mentions(Pubkey),
}

impl Subscription {
    fn notification_method(&self) -> &'static str {
        match self {
            Self::Account { .. } => "accountNotification",
            Self::Signature(_) => "signatureNotification",
            Self::Slot => "slotNotification",
            Self::Logs(_) => "logsNotification",
            Self::Program { .. } => "programNotification",
        }
    }
}

pub(crate) async fn upgrade(State(hub): State<Arc<Hub>>, ws: WebSocketUpgrade) -> Response {
    let Ok(permit) = hub.connections.clone().try_acquire_owned() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [("retry-after", "5")],
            format!("{MAX_CONNECTIONS} websocket connections are open; try again in a moment\n"),
        )
            .into_response();
    };
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection(hub, socket, permit))
}

fn account_config(value: Option<&Value>) -> Result<RpcAccountInfoConfig, RpcError> {
    match value {
        None | Some(Value::Null) => Ok(RpcAccountInfoConfig {
            encoding: Some(UiAccountEncoding::Base64),
            ..RpcAccountInfoConfig::default()
        }),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| RpcError::invalid_params(format!("Invalid params: config: {e}"))),
    }
}

fn notification(method: &str, subscription: u64, result: Value) -> String {
    json!({
        "jsonrpc": "2.0",
        "method": method,
        "params": { "result": result, "subscription": subscription },
    })
    .to_string()
}

async fn connection(hub: Arc<Hub>, mut socket: WebSocket, _permit: OwnedSemaphorePermit) {
    let mut events = hub.events.subscribe();
    let mut subscriptions: HashMap<u64, Subscription> = HashMap::new();
    loop {
        tokio::select! {
            incoming = socket.recv() => {
                let Some(Ok(message)) = incoming else { return };
                let text = match message {
                    Message::Text(text) => text.to_string(),
                    Message::Binary(bytes) => String::from_utf8_lossy(&bytes).to_string(),
                    Message::Ping(_) | Message::Pong(_) => continue,
                    // Reading on sends the close reply (echoing the client's code, so that a
                    // normal close is not retried), then ends the stream.
                    Message::Close(_) => continue,
                };
                for reply in handle(&hub, &mut subscriptions, &text).await {
                    if socket.send(Message::Text(reply.into())).await.is_err() {
                        return;
                    }
                }
            }
            event = events.recv() => {
                let event = match event {
                    Ok(event) => event,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        // Its notifications would have gaps: say so and close.
                        let reason = format!(
                            "too slow: missed {missed} events; reconnect and subscribe again"
                        );
                        let _ = socket
                            .send(Message::Close(Some(CloseFrame {
                                code: CLOSE_LAGGING,
                                reason: reason.into(),
                            })))
                            .await;
                        return;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                for reply in notify(&mut subscriptions, &event) {
                    if socket.send(Message::Text(reply.into())).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// Answers one message (a request, a batch of them, or a notification such as web3.js's
/// keep-alive `ping`, which needs no answer). Returns the texts to send.
async fn handle(
    hub: &Hub,
    subscriptions: &mut HashMap<u64, Subscription>,
    text: &str,
) -> Vec<String> {
    let Ok(request) = serde_json::from_str::<Value>(text) else {
        return vec![json!({"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}).to_string()];
    };
    let requests = match request {
        Value::Array(requests) => requests,
        single => vec![single],
    };
    let mut replies = Vec::new();
    for request in requests {
        let Some(id) = request.get("id").cloned().filter(|id| !id.is_null()) else {
            continue;
        };
        let method = request.get("method").and_then(Value::as_str).unwrap_or("");
        let params = request
            .get("params")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let (result, extra) = match subscribe(hub, subscriptions, method, &params).await {
            Ok((result, extra)) => (Ok(result), extra),
            Err(e) => (Err(e), None),
        };
        replies.push(match result {
            Ok(result) => json!({"jsonrpc": "2.0", "result": result, "id": id}).to_string(),
            Err(e) => json!({"jsonrpc": "2.0", "error": e.to_json(), "id": id}).to_string(),
        });
        replies.extend(extra);
    }
    replies
}

/// One subscription request. Returns its answer and, for a signature already processed, the
/// notification that follows it at once.
async fn subscribe(
    hub: &Hub,
    subscriptions: &mut HashMap<u64, Subscription>,
    method: &str,
    params: &[Value],
) -> Result<(Value, Option<String>), RpcError> {
    let string = |i: usize, what: &str| -> Result<String, RpcError> {
        params
            .get(i)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| RpcError::invalid_params(format!("Invalid params: missing {what}")))
    };
    let subscription = match method {
        "accountSubscribe" => Subscription::Account {
            address: parse_pubkey(&string(0, "address")?)?,
            config: account_config(params.get(1))?,
        },
        "programSubscribe" => {
            let config = params.get(1).cloned().unwrap_or(Value::Null);
            let filters: Vec<RpcFilterType> = match config.get("filters") {
                None | Some(Value::Null) => Vec::new(),
                Some(f) => serde_json::from_value(f.clone()).map_err(|e| {
                    RpcError::invalid_params(format!("Invalid params: filters: {e}"))
                })?,
            };
            for filter in &filters {
                filter
                    .verify()
                    .map_err(|e| RpcError::invalid_params(format!("invalid filter: {e}")))?;
            }
            Subscription::Program {
                program: parse_pubkey(&string(0, "program id")?)?,
                config: account_config(Some(&config))?,
                filters,
            }
        }
        "signatureSubscribe" => Subscription::Signature(parse_signature(&string(0, "signature")?)?),
        "slotSubscribe" => Subscription::Slot,
        "logsSubscribe" => match params.first() {
            Some(Value::String(s)) if s == "all" || s == "allWithVotes" => {
                Subscription::Logs(LogsFilter::All)
            }
            Some(Value::Object(filter)) => {
                let mentions = filter
                    .get("mentions")
                    .and_then(Value::as_array)
                    .filter(|m| m.len() == 1)
                    .and_then(|m| m[0].as_str())
                    .ok_or_else(|| {
                        RpcError::invalid_params(
                            "Invalid params: mentions takes exactly one address",
                        )
                    })?;
                Subscription::Logs(LogsFilter::Mentions(parse_pubkey(mentions)?))
            }
            _ => return Err(RpcError::invalid_params("Invalid params: a logs filter")),
        },
        "accountUnsubscribe"
        | "programUnsubscribe"
        | "signatureUnsubscribe"
        | "slotUnsubscribe"
        | "logsUnsubscribe" => {
            let id = params
                .first()
                .and_then(Value::as_u64)
                .ok_or_else(|| RpcError::invalid_params("Invalid params: a subscription id"))?;
            return match subscriptions.remove(&id) {
                Some(_) => Ok((json!(true), None)),
                None => Err(RpcError::invalid_params("Invalid subscription id.")),
            };
        }
        _ => return Err(RpcError::method_not_found()),
    };
    if subscriptions.len() >= MAX_SUBSCRIPTIONS {
        return Err(RpcError::internal(format!(
            "Subscription refused: this connection holds {MAX_SUBSCRIPTIONS} subscriptions; \
             unsubscribe some or open another connection"
        )));
    }
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    // A signature the cluster already processed is notified at once.
    if let Subscription::Signature(signature) = &subscription {
        let status = node::call(
            &hub.jobs,
            "getSignatureStatuses".into(),
            json!([[signature.to_string()]]),
        )
        .await?;
        let slot = status["context"]["slot"].clone();
        let value = &status["value"][0];
        if !value.is_null() {
            let note = notification(
                "signatureNotification",
                id,
                json!({"context": {"slot": slot}, "value": {"err": value["err"]}}),
            );
            return Ok((json!(id), Some(note)));
        }
    }
    subscriptions.insert(id, subscription);
    Ok((json!(id), None))
}

/// The notifications `event` owes this connection's subscriptions.
fn notify(subscriptions: &mut HashMap<u64, Subscription>, event: &Event) -> Vec<String> {
    let mut out = Vec::new();
    let mut done = Vec::new();
    for (id, subscription) in subscriptions.iter() {
        let method = subscription.notification_method();
        match (subscription, event) {
            (Subscription::Slot, Event::Slot { slot, parent }) => out.push(notification(
                method,
                *id,
                json!({"parent": parent, "root": parent, "slot": slot}),
            )),
            (Subscription::Signature(signature), Event::Processed(p))
                if p.signature == *signature =>
            {
                out.push(notification(
                    method,
                    *id,
                    json!({"context": {"slot": p.slot}, "value": {"err": p.err}}),
                ));
                done.push(*id);
            }
            (Subscription::Logs(filter), Event::Processed(p)) => {
                let wanted = match filter {
                    LogsFilter::All => true,
                    LogsFilter::Mentions(address) => p.account_keys.contains(address),
                };
                if wanted {
                    out.push(notification(
                        method,
                        *id,
                        json!({"context": {"slot": p.slot}, "value": {
                            "signature": p.signature.to_string(),
                            "err": p.err,
                            "logs": p.logs,
                        }}),
                    ));
                }
            }
            (Subscription::Account { address, config }, Event::Processed(p)) => {
                for (key, account) in &p.accounts {
                    if key != address {
                        continue;
                    }
                    let value = match account {
                        Some(a) => ui_account(a.clone(), config).ok().map(|a| json!(a)),
                        // Closed: shown as an empty account, as the validator does.
                        None => Some(
                            json!({"lamports": 0, "data": ["", "base64"], "owner": "11111111111111111111111111111111", "executable": false, "rentEpoch": 0, "space": 0}),
                        ),
                    };
                    if let Some(value) = value {
                        out.push(notification(
                            method,
                            *id,
                            json!({"context": {"slot": p.slot}, "value": value}),
                        ));
                    }
                }
            }
            (
                Subscription::Program {
                    program,
                    config,
                    filters,
                },
                Event::Processed(p),
            ) => {
                for (key, account) in &p.accounts {
                    let Some(account) = account else { continue };
                    let passes = account.owner == *program
                        && filters.iter().all(|f| match f {
                            RpcFilterType::DataSize(size) => account.data.len() as u64 == *size,
                            RpcFilterType::Memcmp(m) => m.bytes_match(&account.data),
                            RpcFilterType::TokenAccountState => account.data.len() == 165,
                        });
                    if !passes {
                        continue;
                    }
                    if let Ok(ui) = ui_account(account.clone(), config) {
                        out.push(notification(
                            method,
                            *id,
                            json!({"context": {"slot": p.slot}, "value": {
                                "pubkey": key.to_string(),
                                "account": ui,
                            }}),
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for id in done {
        subscriptions.remove(&id);
    }
    out
}
