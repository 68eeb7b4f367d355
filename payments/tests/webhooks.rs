//! Webhook delivery over real HTTP: retries after failures with a fresh signature each time,
//! giving up when the schedule runs out, and stopping at shutdown.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{eventually, processor, sandbox_with, Receiver};
use energy_utility_payments::client::NewPayout;
use energy_utility_payments::sandbox::{Sandbox, TEST_ACCOUNT_PAID};
use energy_utility_payments::wire::PAYOUT_CREATED;

/// Creates a payout whose `payout.created` event is then delivered.
async fn emit_an_event(sandbox: &Sandbox) {
    let new = NewPayout {
        amount_cents: 100,
        currency: "usd".into(),
        destination: Some(TEST_ACCOUNT_PAID.into()),
        description: "webhook test".into(),
        metadata: BTreeMap::new(),
    };
    processor(sandbox)
        .create_payout(&new, "webhook-test")
        .await
        .expect("created");
}

/// A sandbox whose payouts never settle during the test, so only `payout.created` is sent.
async fn sandbox_delivering_to(receiver: &Receiver, retry_delays: Vec<Duration>) -> Sandbox {
    sandbox_with(Some(receiver), |config| {
        config.retry_delays = retry_delays;
        config.payout_delay = Duration::from_secs(60);
    })
    .await
}

#[tokio::test]
async fn failed_deliveries_are_retried_until_acknowledged_each_signed_afresh() {
    let receiver = Receiver::start(2).await;
    // The second wait is over a second, so the third attempt's `t` must differ from the first's.
    let delays = vec![
        Duration::from_millis(100),
        Duration::from_millis(1_100),
        Duration::from_millis(100),
    ];
    let sandbox = sandbox_delivering_to(&receiver, delays).await;

    emit_an_event(&sandbox).await;

    let records = eventually("the third attempt", || {
        let records = sandbox.deliveries();
        (records.len() == 3).then_some(records)
    })
    .await;
    let attempts: Vec<u32> = records.iter().map(|r| r.attempt).collect();
    assert_eq!(attempts, [1, 2, 3]);
    let statuses: Vec<Option<u16>> = records.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [Some(503), Some(503), Some(200)]);
    let outcomes: Vec<bool> = records.iter().map(|r| r.succeeded).collect();
    assert_eq!(outcomes, [false, false, true]);
    assert!(records.iter().all(|r| r.event_type == PAYOUT_CREATED));

    let hits = receiver.hits();
    assert_eq!(hits.len(), 3);
    let signed_at: Vec<i64> = hits.iter().map(|hit| hit.verify()).collect();
    let recorded_at: Vec<i64> = records.iter().map(|r| r.at).collect();
    assert_eq!(signed_at, recorded_at);
    assert!(
        signed_at[2] > signed_at[0],
        "a fresh timestamp at each attempt: {signed_at:?}"
    );
    assert!(
        hits.iter().all(|hit| hit.body == hits[0].body),
        "the same bytes each time"
    );
    assert!(hits[0].signature != hits[2].signature);

    // Acknowledged: no fourth attempt.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 3);
    assert_eq!(sandbox.events()[0].pending_webhooks, 0);
}

#[tokio::test]
async fn delivery_is_given_up_after_the_last_delay() {
    let receiver = Receiver::start(usize::MAX).await;
    let sandbox = sandbox_delivering_to(&receiver, vec![Duration::from_millis(50); 2]).await;

    emit_an_event(&sandbox).await;

    eventually("three attempts", || {
        (sandbox.deliveries().len() == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.hits().len(), 3);
    assert!(sandbox.deliveries().iter().all(|r| !r.succeeded));
    let dashboard = reqwest::get(sandbox.url())
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("html");
    assert!(dashboard.contains("<span class=\"bad\">failed</span>"));
}

#[tokio::test]
async fn unreachable_receiver_is_recorded_without_a_status() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let closed = format!("http://{}/webhook", listener.local_addr().expect("address"));
    drop(listener);
    let sandbox = sandbox_with(None, |config| {
        config.webhook_url = Some(closed);
        config.retry_delays = vec![];
        config.payout_delay = Duration::from_secs(60);
    })
    .await;

    emit_an_event(&sandbox).await;

    let record = eventually("the attempt", || sandbox.deliveries().first().cloned()).await;
    assert_eq!(record.status, None);
    assert!(!record.succeeded);
    assert!(!record.response.is_empty());
}

#[tokio::test]
async fn shutdown_stops_retries() {
    let receiver = Receiver::start(usize::MAX).await;
    let sandbox = sandbox_delivering_to(&receiver, vec![Duration::from_millis(200); 20]).await;
    let url = sandbox.url();

    emit_an_event(&sandbox).await;
    eventually("the first attempt", || {
        (!receiver.hits().is_empty()).then_some(())
    })
    .await;
    sandbox.shutdown().await.expect("shuts down");
    let attempts = receiver.hits().len();

    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.hits().len(), attempts);
    assert!(reqwest::get(url).await.is_err(), "no longer listening");
}
