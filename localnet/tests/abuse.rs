//! What a web page, a slow client or a greedy subscriber can do to the local cluster: nothing
//! it should. A page cannot call it (wrong content type, another site's origin, a rebound host
//! name), a client that never finishes its request is dropped, one connection holds a bounded
//! number of subscriptions, and a subscriber too slow to keep up is closed with the reason
//! instead of silently missing a notification.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use solana_rpc_client_api::config::RpcSendTransactionConfig;
use solana_sdk::pubkey::Pubkey;
use solana_signer::Signer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::{client::IntoClientRequest, protocol::CloseFrame, Message};

mod common;
use common::*;

/// Posts `body` to the cluster with the given headers; the status and the body.
async fn post(url: &str, headers: &[(&str, &str)], body: &str) -> (u16, String) {
    let http = reqwest::Client::new();
    let mut request = http.post(url).body(body.to_string());
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn clock_offset(url: &str) -> i64 {
    let (status, body) = post(
        url,
        &[("content-type", "application/json")],
        r#"{"jsonrpc":"2.0","id":1,"method":"deuGetClock"}"#,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    body["result"]["offsetSeconds"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_web_page_cannot_advance_the_clock_airdrop_or_send() {
    let t = Cluster::start("cross-site").await;
    let url = t.localnet.rpc_url();
    let port = url.rsplit(':').next().unwrap().to_string();
    let before = clock_offset(&url).await;
    let victim = Pubkey::new_unique();
    let advance = r#"{"jsonrpc":"2.0","id":1,"method":"deuAdvanceClock","params":[3153600000]}"#;
    let airdrop = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"requestAirdrop","params":["{victim}",1000000000]}}"#
    );

    // A form or `fetch(..., {mode: "no-cors"})` posts text/plain: no preflight asks first.
    for body in [advance, airdrop.as_str()] {
        let (status, answer) = post(
            &url,
            &[
                ("content-type", "text/plain;charset=UTF-8"),
                ("origin", "https://attacker.example"),
            ],
            body,
        )
        .await;
        assert_ne!(status, 200, "{answer}");
        // The same from that page's own origin, even as JSON.
        let (status, answer) = post(
            &url,
            &[
                ("content-type", "application/json"),
                ("origin", "https://attacker.example"),
            ],
            body,
        )
        .await;
        assert_eq!(status, 403, "{answer}");
        assert!(answer.contains("another site"), "{answer}");
        // No origin but not JSON either.
        let (status, _) = post(&url, &[("content-type", "text/plain")], body).await;
        assert_eq!(status, 415);
        // DNS rebinding: attacker.example now resolves to 127.0.0.1, so the page is
        // "same-origin" with the cluster; the Host it names gives it away.
        let rebound = format!("attacker.example:{port}");
        let origin = format!("http://{rebound}");
        let (status, answer) = post(
            &url,
            &[
                ("content-type", "application/json"),
                ("host", rebound.as_str()),
                ("origin", origin.as_str()),
            ],
            body,
        )
        .await;
        assert_eq!(status, 421, "{answer}");
    }
    assert_eq!(clock_offset(&url).await, before, "the clock moved");
    assert_eq!(t.rpc.get_balance(&victim).await.unwrap(), 0);

    // The websocket refuses another site's page too.
    let mut request = t.localnet.ws_url().into_client_request().unwrap();
    request
        .headers_mut()
        .insert("origin", "https://attacker.example".parse().unwrap());
    let refused = tokio_tungstenite::connect_async(request).await.unwrap_err();
    assert!(refused.to_string().contains("403"), "{refused}");

    // What the developer's own tools send still works: the stock client, a dapp on
    // localhost, and a JSON body with a charset.
    t.rpc.get_latest_blockhash().await.unwrap();
    let (status, answer) = post(
        &url,
        &[
            ("content-type", "application/json; charset=utf-8"),
            ("origin", "http://localhost:3000"),
        ],
        r#"{"jsonrpc":"2.0","id":1,"method":"deuAdvanceClock","params":[60]}"#,
    )
    .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(clock_offset(&url).await, before + 60);
    let (mut ws, _) = tokio_tungstenite::connect_async(t.localnet.ws_url())
        .await
        .unwrap();
    ws.close(None).await.unwrap();
    t.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_never_finishes_its_request_is_dropped() {
    let t = Cluster::start("slow-client").await;
    let addr = t.localnet.rpc_url().replace("http://", "");
    let mut stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // Half a request line, then nothing.
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: ")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let closed = tokio::time::timeout(Duration::from_secs(25), async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the connection was still open after 25 s");
    // Others were served meanwhile.
    t.rpc.get_slot().await.unwrap();
    t.finish().await;
}

/// Sends a subscription request and reads its answer (skipping notifications).
async fn request<S>(ws: &mut S, id: u64, method: &str, params: Value) -> Value
where
    S: futures_util::Sink<Message>
        + futures_util::Stream<Item = Result<Message, tokio_tungstenite::tungstenite::Error>>
        + Unpin,
    <S as futures_util::Sink<Message>>::Error: std::fmt::Debug,
{
    let text = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
    ws.send(Message::Text(text.to_string().into()))
        .await
        .unwrap();
    loop {
        let message = ws.next().await.unwrap().unwrap();
        let Message::Text(text) = message else {
            continue;
        };
        let answer: Value = serde_json::from_str(&text).unwrap();
        if answer["id"] == json!(id) {
            return answer;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_connection_holds_a_bounded_number_of_subscriptions() {
    let t = Cluster::start("sub-cap").await;
    let (mut ws, _) = tokio_tungstenite::connect_async(t.localnet.ws_url())
        .await
        .unwrap();
    let mut first = None;
    let mut refused = None;
    for id in 1..=1_100u64 {
        let answer = request(
            &mut ws,
            id,
            "accountSubscribe",
            json!([Pubkey::new_unique().to_string()]),
        )
        .await;
        if let Some(subscription) = answer["result"].as_u64() {
            first.get_or_insert(subscription);
        } else {
            refused = Some((id, answer));
            break;
        }
    }
    let (at, answer) = refused.expect("1,100 subscriptions on one connection were all accepted");
    assert_eq!(at, 1_025, "{answer}");
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("1024 subscriptions"),
        "{answer}"
    );
    // Unsubscribing one makes room for one.
    let answer = request(
        &mut ws,
        2_000,
        "accountUnsubscribe",
        json!([first.unwrap()]),
    )
    .await;
    assert_eq!(answer["result"], true, "{answer}");
    let answer = request(&mut ws, 2_001, "slotSubscribe", json!([])).await;
    assert!(answer["result"].is_u64(), "{answer}");
    let answer = request(&mut ws, 2_002, "slotSubscribe", json!([])).await;
    assert!(answer["error"].is_object(), "{answer}");
    t.finish().await;
}

/// How many events the cluster in the lagging test keeps for subscribers that are behind
/// (the default, 4,096, would take a minute of transactions here).
const BACKLOG: usize = 64;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_is_told_and_never_left_waiting() {
    let ledger = ledger_dir("lagging");
    let mut config = config(&ledger, false);
    config.subscriber_backlog = BACKLOG;
    let localnet = energy_utility_localnet::start(config).await.unwrap();
    let t = Cluster {
        rpc: client(&localnet),
        ledger,
        localnet,
    };
    let payer = funded(&t.rpc, 10 * SOL).await;
    let bob = funded(&t.rpc, SOL).await.pubkey();
    // The transaction whose confirmation the subscriber waits for, signed now, sent later.
    let awaited = transfer_tx(&t.rpc, &payer, &bob, 7).await;
    let signature = awaited.signatures[0];

    // A subscriber with a tiny receive buffer that stops reading: its notifications back up.
    let ws_addr = t.localnet.ws_url().replace("ws://", "");
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(ws_addr.parse().unwrap()).await.unwrap();
    let (mut ws, _) = tokio_tungstenite::client_async(t.localnet.ws_url(), stream)
        .await
        .unwrap();
    // A thousand notifications of every transfer fill the buffers within a few.
    for id in 1..=1_000u64 {
        let answer = request(&mut ws, id, "logsSubscribe", json!(["all"])).await;
        assert!(answer["result"].is_u64(), "{answer}");
    }
    let answer = request(
        &mut ws,
        1_001,
        "signatureSubscribe",
        json!([signature.to_string(), {"commitment": "confirmed"}]),
    )
    .await;
    let awaited_subscription = answer["result"].as_u64().unwrap();

    let config = RpcSendTransactionConfig {
        skip_preflight: true,
        ..RpcSendTransactionConfig::default()
    };
    let flood = |range: std::ops::Range<u64>| {
        let rpc = &t.rpc;
        let payer = &payer;
        async move {
            for chunk in range.collect::<Vec<_>>().chunks(200) {
                let blockhash = rpc.get_latest_blockhash().await.unwrap();
                futures_util::stream::iter(chunk.iter().copied())
                    .map(|i| async move {
                        let tx = solana_transaction::Transaction::new_signed_with_payer(
                            &[solana_system_interface::instruction::transfer(
                                &payer.pubkey(),
                                &bob,
                                1_000 + i,
                            )],
                            Some(&payer.pubkey()),
                            &[payer],
                            blockhash,
                        );
                        rpc.send_transaction_with_config(&tx, config).await.unwrap();
                    })
                    .buffer_unordered(8)
                    .collect::<Vec<()>>()
                    .await;
            }
        }
    };
    // Enough to fill the socket's buffers, then the awaited one, then more than the
    // cluster keeps for subscribers that are behind.
    flood(0..40).await;
    t.rpc
        .send_transaction_with_config(&awaited, config)
        .await
        .unwrap();
    flood(40..40 + 4 * BACKLOG as u64).await;

    // Now the subscriber reads: it gets its notification, or is told it fell behind.
    let mut notified = false;
    let mut closed: Option<Option<CloseFrame>> = None;
    let read = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(message) = ws.next().await {
            match message {
                Ok(Message::Text(text)) => {
                    let note: Value = serde_json::from_str(&text).unwrap();
                    if note["method"] == "signatureNotification"
                        && note["params"]["subscription"] == json!(awaited_subscription)
                    {
                        notified = true;
                        return;
                    }
                }
                Ok(Message::Close(frame)) => {
                    closed = Some(frame);
                    return;
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    })
    .await;
    assert!(
        notified || closed.is_some(),
        "the subscriber was neither notified of {signature} nor told it missed notifications \
         (read for 30 s: {read:?})"
    );
    if let Some(frame) = closed {
        let frame = frame.expect("a close frame with a reason");
        assert_eq!(u16::from(frame.code), 1013, "{frame:?}");
        assert!(frame.reason.contains("missed"), "{frame:?}");
        // Subscribing again on a new connection hears of the signature at once.
        let (mut again, _) = tokio_tungstenite::connect_async(t.localnet.ws_url())
            .await
            .unwrap();
        let answer = request(
            &mut again,
            3,
            "signatureSubscribe",
            json!([signature.to_string(), {"commitment": "confirmed"}]),
        )
        .await;
        let subscription = answer["result"].as_u64().unwrap();
        let note = tokio::time::timeout(Duration::from_secs(5), again.next())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        let note: Value = serde_json::from_str(note.to_text().unwrap()).unwrap();
        assert_eq!(
            note["params"]["subscription"],
            json!(subscription),
            "{note}"
        );
        assert!(note["params"]["result"]["value"]["err"].is_null(), "{note}");
    }
    t.finish().await;
}
