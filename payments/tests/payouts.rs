//! Payouts over real HTTP: Stripe's test bank accounts are paid or fail after the payout delay,
//! each step announced by a signed event; other destinations are refused.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{eventually, processor, refusal, sandbox, sandbox_with, Receiver, SECRET_KEY};
use energy_utility_payments::client::{NewPayout, ProcessorError};
use energy_utility_payments::sandbox::{
    TEST_ACCOUNT_CLOSED, TEST_ACCOUNT_NO_ACCOUNT, TEST_ACCOUNT_PAID,
};
use energy_utility_payments::wire::{
    Event, List, Payout, PAYOUT_CANCELED, PAYOUT_CREATED, PAYOUT_FAILED, PAYOUT_PAID,
};

fn payout_to(destination: &str) -> NewPayout {
    NewPayout {
        amount_cents: 2_721,
        currency: "usd".into(),
        destination: Some(destination.into()),
        description: "angel-roof earnings".into(),
        metadata: BTreeMap::from([("resident".into(), "angel".into())]),
    }
}

/// Waits for `count` acknowledged events and returns them.
async fn delivered(receiver: &Receiver, count: usize) -> Vec<Event> {
    eventually("the deliveries", || {
        let events = receiver.delivered();
        (events.len() >= count).then_some(events)
    })
    .await
}

#[tokio::test]
async fn payout_to_the_paid_test_account_is_created_then_paid() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);

    let payout = processor
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-1")
        .await
        .expect("created");

    assert!(
        payout.id.starts_with("po_") && payout.id.len() == 27,
        "{}",
        payout.id
    );
    assert_eq!(payout.object, "payout");
    assert_eq!(payout.status, "pending");
    assert_eq!(payout.amount, 2_721);
    assert_eq!(payout.destination.as_deref(), Some(TEST_ACCOUNT_PAID));
    assert_eq!(payout.description.as_deref(), Some("angel-roof earnings"));
    let events = delivered(&receiver, 2).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [PAYOUT_CREATED, PAYOUT_PAID]);
    let created: Payout = events[0].data_object().expect("a payout");
    assert_eq!(created, payout);
    let paid: Payout = events[1].data_object().expect("a payout");
    assert_eq!(paid.id, payout.id);
    assert_eq!(paid.status, "paid");
    assert_eq!(
        paid.metadata.get("resident").map(String::as_str),
        Some("angel")
    );
    assert_eq!(paid.failure_code, None);
    for hit in receiver.hits() {
        hit.verify();
    }
    assert_eq!(sandbox.payouts(), [paid]);
}

#[tokio::test]
async fn payout_to_the_missing_test_account_fails_with_no_account() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;

    let payout = processor(&sandbox)
        .create_payout(&payout_to(TEST_ACCOUNT_NO_ACCOUNT), "payout-2")
        .await
        .expect("created: the account is checked later, like a real bank");

    let events = delivered(&receiver, 2).await;
    assert_eq!(events[0].kind, PAYOUT_CREATED);
    assert_eq!(events[1].kind, PAYOUT_FAILED);
    let failed: Payout = events[1].data_object().expect("a payout");
    assert_eq!(failed.id, payout.id);
    assert_eq!(failed.status, "failed");
    assert_eq!(failed.failure_code.as_deref(), Some("no_account"));
    assert_eq!(
        failed.failure_message.as_deref(),
        Some("The bank account details on file are probably incorrect. No bank account could be located with those details.")
    );
}

#[tokio::test]
async fn payout_to_the_closed_test_account_is_paid_then_fails() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let payout = processor(&sandbox)
        .create_payout(&payout_to(TEST_ACCOUNT_CLOSED), "payout-closed")
        .await
        .expect("created");
    let events = delivered(&receiver, 3).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [PAYOUT_CREATED, PAYOUT_PAID, PAYOUT_FAILED]);
    let failed: Payout = events[2].data_object().expect("a payout");
    assert_eq!(failed.id, payout.id);
    assert_eq!(failed.failure_code.as_deref(), Some("account_closed"));
    assert_eq!(sandbox.payouts()[0].status, "failed");
}

#[tokio::test]
async fn a_pending_payout_can_be_canceled_and_then_is_never_paid() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);
    let payout = processor
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-cancel")
        .await
        .expect("created");
    let canceled = processor.cancel_payout(&payout.id).await.expect("canceled");
    assert_eq!(canceled.status, "canceled");
    let events = delivered(&receiver, 2).await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [PAYOUT_CREATED, PAYOUT_CANCELED]);
    // The payout delay passes: no paid event follows, and it cannot be canceled twice.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(receiver.delivered().len(), 2);
    assert_eq!(sandbox.payouts()[0].status, "canceled");
    let (status, _) = refusal(
        processor
            .cancel_payout(&payout.id)
            .await
            .expect_err("canceled twice"),
    );
    assert_eq!(status, 400);
}

#[tokio::test]
async fn payout_to_any_other_account_is_refused_naming_destination() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);

    for destination in [Some("000999999999"), None] {
        let mut new = payout_to("");
        new.destination = destination.map(String::from);
        let (status, error) = refusal(
            processor
                .create_payout(&new, &format!("payout-{destination:?}"))
                .await
                .expect_err("not a test account"),
        );
        assert_eq!(status, 400);
        assert_eq!(error.param.as_deref(), Some("destination"));
    }
    assert!(sandbox.payouts().is_empty());
    assert!(sandbox.events().is_empty());
}

#[tokio::test]
async fn zero_amount_is_refused_naming_amount() {
    let sandbox = sandbox(None).await;
    let mut new = payout_to(TEST_ACCOUNT_PAID);
    new.amount_cents = 0;

    let refused = processor(&sandbox)
        .create_payout(&new, "payout-3")
        .await
        .expect_err("nothing to pay");

    assert!(
        matches!(&refused, ProcessorError::Rejected { status: 400, param: Some(p), .. } if p == "amount"),
        "{refused:?}"
    );
}

#[tokio::test]
async fn repeated_payout_request_pays_once() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);

    let first = processor
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-4")
        .await
        .expect("created");
    let again = processor
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-4")
        .await
        .expect("replayed");

    assert_eq!(again, first);
    delivered(&receiver, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sandbox.payouts().len(), 1);
    assert_eq!(receiver.delivered_of(PAYOUT_CREATED).len(), 1);
    assert_eq!(receiver.delivered_of(PAYOUT_PAID).len(), 1);
}

#[tokio::test]
async fn a_payout_request_repeated_after_its_idempotency_key_was_pruned_is_a_new_payout() {
    // Stripe keeps a key for 24 hours; here for 200 ms.
    let sandbox = sandbox_with(None, |c| c.idempotency_ttl = Duration::from_millis(200)).await;
    let processor = processor(&sandbox);
    let first = processor
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-ttl")
        .await
        .expect("created");
    let replayed = processor
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-ttl")
        .await
        .expect("replayed");
    assert_eq!(
        replayed.id, first.id,
        "within the key's life: the same payout"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let later = processor
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-ttl")
        .await
        .expect("created anew");
    assert_ne!(
        later.id, first.id,
        "after the key was pruned: a second payout"
    );
    assert_eq!(sandbox.payouts().len(), 2);
}

#[tokio::test]
async fn payouts_are_listed_newest_first_by_creation_time_and_found_by_metadata() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let start = common::now();
    let mut made = Vec::new();
    for n in 0..105 {
        let mut new = payout_to(TEST_ACCOUNT_PAID);
        new.metadata.insert("sale".into(), format!("sale-{n}"));
        made.push(
            processor
                .create_payout(&new, &format!("listed-{n}"))
                .await
                .expect("created")
                .id,
        );
    }

    let first = processor.list_payouts(start, None).await.expect("a page");
    assert_eq!(first.object, "list");
    assert_eq!(first.data.len(), 100);
    assert!(first.has_more);
    assert_eq!(first.data[0].id, made[104], "newest first");
    let last = &first.data[99].id;
    let second = processor
        .list_payouts(start, Some(last))
        .await
        .expect("the next page");
    let ids: Vec<&str> = second.data.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, [&made[4], &made[3], &made[2], &made[1], &made[0]]);
    assert!(!second.has_more);
    let future = processor
        .list_payouts(common::now() + 3600, None)
        .await
        .expect("an empty page");
    assert!(
        future.data.is_empty(),
        "created[gte] filters by creation time"
    );

    // The oldest one is on the second page: found by its metadata all the same.
    let found = processor
        .find_payout(start, "sale", "sale-0")
        .await
        .expect("searched")
        .expect("found");
    assert_eq!(found.id, made[0]);
    assert_eq!(
        processor
            .find_payout(start, "sale", "sale-105")
            .await
            .expect("searched"),
        None
    );
    let (status, error) = refusal(
        processor
            .list_payouts(start, Some("po_nope"))
            .await
            .expect_err("an unknown cursor"),
    );
    assert_eq!(
        (status, error.code.as_deref()),
        (404, Some("resource_missing"))
    );
}

#[tokio::test]
async fn events_api_lists_newest_first_and_reads_one() {
    let sandbox = sandbox(None).await;
    let payout = processor(&sandbox)
        .create_payout(&payout_to(TEST_ACCOUNT_PAID), "payout-5")
        .await
        .expect("created");
    eventually("the payout to settle", || {
        (sandbox.events().len() == 2).then_some(())
    })
    .await;
    let http = reqwest::Client::new();

    let list: List<Event> = http
        .get(format!("{}/v1/events", sandbox.url()))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a list");

    assert_eq!(list.object, "list");
    assert!(!list.has_more);
    let kinds: Vec<&str> = list.data.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, [PAYOUT_PAID, PAYOUT_CREATED]);
    let mut oldest_first = sandbox.events();
    oldest_first.reverse();
    assert_eq!(list.data, oldest_first);

    let one_page: List<Event> = http
        .get(format!("{}/v1/events?limit=1&type=payout.*", sandbox.url()))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a list");
    assert_eq!(one_page.data.len(), 1);
    assert!(one_page.has_more);

    let created = &list.data[1];
    let read: Event = http
        .get(format!("{}/v1/events/{}", sandbox.url(), created.id))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("an event");
    assert_eq!(&read, created);

    let settled: Payout = http
        .get(format!("{}/v1/payouts/{}", sandbox.url(), payout.id))
        .bearer_auth(SECRET_KEY)
        .send()
        .await
        .expect("answered")
        .json()
        .await
        .expect("a payout");
    assert_eq!(settled.status, "paid");
}
