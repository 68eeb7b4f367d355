//! Charges after they are paid, over real HTTP: a paid checkout names its PaymentIntent and
//! leaves a charge carrying `payment_intent_data[metadata]`; refunds in part then whole
//! (`charge.refunded` with the cumulative amount), replayed under their idempotency key, and
//! Stripe's refusals; the dispute test card paid then disputed after the delay
//! (`charge.dispute.created`), decided by the evidence submitted (saved first or not), accepted,
//! listed; and the dashboard's refund and dispute buttons, with the API's rules.

mod common;

use std::time::{Duration, Instant};

use common::{
    api, browser, carlos_session, eventually, processor, refusal, sandbox, sandbox_with, Receiver,
};
use energy_utility_payments::client::Processor;
use energy_utility_payments::sandbox::{
    Sandbox, DISPUTE_LOSING_EVIDENCE, DISPUTE_WINNING_EVIDENCE, TEST_CARD_DISPUTED,
    TEST_CARD_SUCCEEDS,
};
use energy_utility_payments::wire::{
    Charge, CheckoutSession, Dispute, List, CHARGE_DISPUTE_CLOSED, CHARGE_DISPUTE_CREATED,
    CHARGE_REFUNDED, CHECKOUT_SESSION_COMPLETED,
};
use reqwest::Method;

/// Opens Carlos's $12.50 session (under `key`) and pays it with `card`; returns the
/// PaymentIntent.
async fn paid(processor: &Processor, card: &str, key: &str) -> String {
    let session = processor
        .create_checkout_session(&carlos_session(), key)
        .await
        .unwrap();
    assert_eq!(session.payment_intent, None, "unpaid: no payment yet");
    let answer = browser()
        .post(session.url.unwrap())
        .form(&[
            ("card_number", card),
            ("card_expiry", "12 / 34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 303);
    let after = processor
        .retrieve_checkout_session(&session.id)
        .await
        .unwrap();
    after
        .payment_intent
        .expect("a paid session's PaymentIntent")
}

/// The dashboard's HTML.
async fn dashboard(sandbox: &Sandbox) -> String {
    let page = browser().get(sandbox.url()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// The charge of a PaymentIntent, as the sandbox holds it.
fn charge_of(sandbox: &Sandbox, intent: &str) -> Charge {
    sandbox
        .charges()
        .into_iter()
        .find(|c| c.payment_intent.as_deref() == Some(intent))
        .expect("the PaymentIntent's charge")
}

#[tokio::test]
async fn a_paid_checkout_names_its_payment_intent_and_leaves_a_charge_with_its_metadata() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);
    let intent = paid(&processor, TEST_CARD_SUCCEEDS, "s1").await;
    assert!(intent.starts_with("pi_") && intent.len() <= 32, "{intent}");
    assert!(intent[3..].bytes().all(|b| b.is_ascii_alphanumeric()));

    let completed = eventually("checkout.session.completed", || {
        receiver.delivered_of(CHECKOUT_SESSION_COMPLETED).pop()
    })
    .await;
    let session: CheckoutSession = completed.data_object().unwrap();
    assert_eq!(session.payment_intent.as_deref(), Some(intent.as_str()));

    let charge = charge_of(&sandbox, &intent);
    assert!(charge.id.starts_with("ch_"), "{}", charge.id);
    assert_eq!(
        (
            charge.amount,
            charge.amount_refunded,
            charge.currency.as_str()
        ),
        (1250, 0, "usd")
    );
    assert!(!charge.refunded && !charge.disputed && !charge.livemode);
    assert_eq!(
        charge.metadata,
        carlos_session().metadata,
        "the charge carries payment_intent_data[metadata]"
    );
    assert_eq!(processor.retrieve_charge(&charge.id).await.unwrap(), charge);
    let (status, error) = refusal(processor.retrieve_charge("ch_nobody").await.unwrap_err());
    assert_eq!(
        (status, error.code.as_deref()),
        (404, Some("resource_missing"))
    );
}

#[tokio::test]
async fn a_charge_refunds_in_part_then_whole_with_stripes_refusals() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);
    let intent = paid(&processor, TEST_CARD_SUCCEEDS, "s1").await;
    let charge = charge_of(&sandbox, &intent);

    let first = processor
        .create_refund(&intent, Some(250), "r1")
        .await
        .unwrap();
    assert!(first.id.starts_with("re_"), "{}", first.id);
    assert_eq!((first.amount, first.status.as_str()), (250, "succeeded"));
    assert_eq!(first.charge.as_deref(), Some(charge.id.as_str()));
    assert_eq!(first.payment_intent.as_deref(), Some(intent.as_str()));
    // The same key replays the same refund; nothing more is refunded.
    let replay = processor
        .create_refund(&intent, Some(250), "r1")
        .await
        .unwrap();
    assert_eq!(replay, first);
    assert_eq!(charge_of(&sandbox, &intent).amount_refunded, 250);
    // More than is left.
    let (status, error) = refusal(
        processor
            .create_refund(&intent, Some(1001), "r2")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code.as_deref(), error.param.as_deref()),
        (400, Some("amount_too_large"), Some("amount"))
    );
    assert!(
        error.message.contains("($10.01)") && error.message.contains("($10.00)"),
        "{}",
        error.message
    );
    // By charge, with a reason.
    let (status, by_charge) = api(
        &sandbox,
        Method::POST,
        "/v1/refunds",
        &[
            ("charge", &charge.id),
            ("amount", "100"),
            ("reason", "requested_by_customer"),
            ("metadata[ticket]", "42"),
        ],
        Some("r3"),
    )
    .await;
    assert_eq!((status, by_charge["amount"].as_i64()), (200, Some(100)));
    // The rest, then nothing is left.
    let rest = processor.create_refund(&intent, None, "r4").await.unwrap();
    assert_eq!(rest.amount, 900);
    let (status, error) = refusal(
        processor
            .create_refund(&intent, None, "r5")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code.as_deref()),
        (400, Some("charge_already_refunded"))
    );
    let now = processor.retrieve_charge(&charge.id).await.unwrap();
    assert_eq!((now.amount_refunded, now.refunded), (1250, true));

    // What is refused before anything is looked at.
    let (status, error) = refusal(
        processor
            .create_refund("pi_nobody", None, "r6")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code.as_deref(), error.param.as_deref()),
        (400, Some("resource_missing"), Some("payment_intent"))
    );
    assert_eq!(error.message, "No such payment_intent: 'pi_nobody'");
    let refunds = "/v1/refunds";
    let (status, body) = api(
        &sandbox,
        Method::POST,
        refunds,
        &[("charge", "ch_nobody")],
        None,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "resource_missing");
    assert_eq!(body["error"]["param"], "charge");
    let (status, body) = api(&sandbox, Method::POST, refunds, &[("amount", "100")], None).await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("payment_intent or charge"),
        "{body}"
    );
    let both = [("charge", charge.id.as_str()), ("payment_intent", &intent)];
    let (status, _) = api(&sandbox, Method::POST, refunds, &both, None).await;
    assert_eq!(status, 400);
    let odd_reason = [
        ("charge", charge.id.as_str()),
        ("reason", "changed_my_mind"),
    ];
    let (status, body) = api(&sandbox, Method::POST, refunds, &odd_reason, None).await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("reason"))
    );
    assert_eq!(sandbox.refunds().len(), 3);

    let refunded = eventually("three charge.refunded", || {
        let events = receiver.delivered_of(CHARGE_REFUNDED);
        (events.len() == 3).then_some(events)
    })
    .await;
    let totals: Vec<(i64, bool)> = refunded
        .iter()
        .map(|e| e.data_object::<Charge>().unwrap())
        .map(|c| (c.amount_refunded, c.refunded))
        .collect();
    assert_eq!(
        totals,
        [(250, false), (350, false), (1250, true)],
        "each event carries the charge with the total so far"
    );
}

#[tokio::test]
async fn the_dispute_card_pays_and_is_disputed_after_the_delay() {
    let receiver = Receiver::start(0).await;
    let delay = Duration::from_millis(600);
    let sandbox = sandbox_with(Some(&receiver), |c| c.payout_delay = delay).await;
    let processor = processor(&sandbox);
    let undisputed = paid(&processor, TEST_CARD_SUCCEEDS, "s1").await;
    let intent = paid(&processor, TEST_CARD_DISPUTED, "s2").await;
    let paid_at = Instant::now();
    assert!(sandbox.disputes().is_empty(), "paid like 4242 at first");
    assert!(!charge_of(&sandbox, &intent).disputed);

    let created = eventually("charge.dispute.created", || {
        receiver.delivered_of(CHARGE_DISPUTE_CREATED).pop()
    })
    .await;
    assert!(
        paid_at.elapsed() >= delay - Duration::from_millis(50),
        "after the delay"
    );
    let dispute: Dispute = created.data_object().unwrap();
    let charge = charge_of(&sandbox, &intent);
    assert!(dispute.id.starts_with("du_"), "{}", dispute.id);
    assert_eq!(
        (
            dispute.amount,
            dispute.charge.as_str(),
            dispute.payment_intent.as_deref()
        ),
        (1250, charge.id.as_str(), Some(intent.as_str()))
    );
    assert_eq!(
        (dispute.status.as_str(), dispute.reason.as_str()),
        ("needs_response", "fraudulent")
    );
    assert!(!dispute.is_inquiry() && !dispute.livemode);
    assert!(charge.disputed);
    assert_eq!(
        processor.retrieve_dispute(&dispute.id).await.unwrap(),
        dispute
    );
    // A charged-back charge cannot be refunded.
    let (status, error) = refusal(
        processor
            .create_refund(&intent, Some(100), "r")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code.as_deref()),
        (400, Some("charge_disputed"))
    );
    // The 4242 payment is never disputed.
    tokio::time::sleep(delay).await;
    assert_eq!(sandbox.disputes().len(), 1);
    assert!(!charge_of(&sandbox, &undisputed).disputed);
    let (status, listed) = api(
        &sandbox,
        Method::GET,
        "/v1/disputes",
        &[("payment_intent", &intent)],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let listed: List<Dispute> = serde_json::from_value(listed).unwrap();
    assert_eq!(listed.data, [dispute]);
    let (_, none) = api(
        &sandbox,
        Method::GET,
        "/v1/disputes",
        &[("payment_intent", &undisputed)],
        None,
    )
    .await;
    assert_eq!(none["data"], serde_json::json!([]));
}

#[tokio::test]
async fn submitted_evidence_decides_a_dispute_and_a_closed_one_cannot_be_answered() {
    let receiver = Receiver::start(0).await;
    let delay = Duration::from_millis(400);
    let sandbox = sandbox_with(Some(&receiver), |c| c.payout_delay = delay).await;
    let processor = processor(&sandbox);
    let won = paid(&processor, TEST_CARD_DISPUTED, "s1").await;
    let lost = paid(&processor, TEST_CARD_DISPUTED, "s2").await;
    let saved = paid(&processor, TEST_CARD_DISPUTED, "s3").await;
    eventually("three disputes", || {
        (receiver.delivered_of(CHARGE_DISPUTE_CREATED).len() == 3).then_some(())
    })
    .await;
    let dispute_of = |intent: &str| -> Dispute {
        sandbox
            .disputes()
            .into_iter()
            .find(|d| d.payment_intent.as_deref() == Some(intent))
            .expect("the payment's dispute")
    };
    let (to_win, to_lose, to_save) = (dispute_of(&won), dispute_of(&lost), dispute_of(&saved));

    let review = processor
        .submit_dispute_evidence(&to_win.id, DISPUTE_WINNING_EVIDENCE)
        .await
        .unwrap();
    assert_eq!(review.status, "under_review");
    let submitted = processor
        .submit_dispute_evidence(&to_lose.id, DISPUTE_LOSING_EVIDENCE)
        .await
        .unwrap();
    assert_eq!(submitted.status, "under_review");
    // Under review: neither accepted nor answered again.
    let (status, error) = refusal(processor.close_dispute(&to_lose.id).await.unwrap_err());
    assert_eq!(status, 400);
    assert!(error.message.contains("under review"), "{}", error.message);
    // Evidence saved without submitting; submitted later without more: the saved text decides.
    let path = format!("/v1/disputes/{}", to_save.id);
    let (status, kept) = api(
        &sandbox,
        Method::POST,
        &path,
        &[
            ("evidence[uncategorized_text]", "receipt: winning_evidence"),
            ("metadata[case]", "7"),
        ],
        Some("save-1"),
    )
    .await;
    assert_eq!(
        (status, kept["status"].as_str()),
        (200, Some("needs_response"))
    );
    tokio::time::sleep(delay + Duration::from_millis(100)).await;
    assert_eq!(
        processor
            .retrieve_dispute(&to_save.id)
            .await
            .unwrap()
            .status,
        "needs_response",
        "saved evidence alone decides nothing"
    );
    let (status, sent) = api(
        &sandbox,
        Method::POST,
        &path,
        &[("submit", "true")],
        Some("save-2"),
    )
    .await;
    assert_eq!(
        (status, sent["status"].as_str()),
        (200, Some("under_review"))
    );

    let closed = eventually("three closed", || {
        let events = receiver.delivered_of(CHARGE_DISPUTE_CLOSED);
        (events.len() == 3).then_some(events)
    })
    .await;
    for event in closed {
        let dispute: Dispute = event.data_object().unwrap();
        let expected = if dispute.id == to_lose.id {
            "lost"
        } else {
            "won"
        };
        assert_eq!(dispute.status, expected, "{}", dispute.id);
    }
    assert_eq!(
        processor.retrieve_dispute(&to_win.id).await.unwrap().status,
        "won"
    );
    // Won: the charge can be refunded again; lost: it cannot.
    processor
        .create_refund(&won, Some(100), "after-won")
        .await
        .unwrap();
    let (_, error) = refusal(
        processor
            .create_refund(&lost, None, "after-lost")
            .await
            .unwrap_err(),
    );
    assert_eq!(error.code.as_deref(), Some("charge_disputed"));
    // A closed dispute cannot be answered or closed again.
    let (status, error) = refusal(processor.close_dispute(&to_lose.id).await.unwrap_err());
    assert_eq!(status, 400);
    assert!(
        error.message.contains("already closed (lost)"),
        "{}",
        error.message
    );
    let (status, _) = refusal(
        processor
            .submit_dispute_evidence(&to_win.id, DISPUTE_WINNING_EVIDENCE)
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);

    // Listed newest first, a page at a time.
    let (_, first) = api(
        &sandbox,
        Method::GET,
        "/v1/disputes",
        &[("limit", "2")],
        None,
    )
    .await;
    let first: List<Dispute> = serde_json::from_value(first).unwrap();
    let ids: Vec<&str> = first.data.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, [to_save.id.as_str(), to_lose.id.as_str()]);
    assert!(first.has_more);
    let (_, rest) = api(
        &sandbox,
        Method::GET,
        "/v1/disputes",
        &[("limit", "2"), ("starting_after", &to_lose.id)],
        None,
    )
    .await;
    assert_eq!(rest["data"][0]["id"], to_win.id.as_str());
    assert_eq!(rest["has_more"], false);
}

#[tokio::test]
async fn accepting_a_dispute_loses_it_at_once() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);
    let intent = paid(&processor, TEST_CARD_DISPUTED, "s1").await;
    let dispute = eventually("the dispute", || sandbox.disputes().pop()).await;
    assert_eq!(dispute.payment_intent.as_deref(), Some(intent.as_str()));
    let lost = processor.close_dispute(&dispute.id).await.unwrap();
    assert_eq!(lost.status, "lost");
    // The same request again (the client's key) is answered as the first time.
    let again = processor.close_dispute(&dispute.id).await.unwrap();
    assert_eq!(again, lost);
    let closed = eventually("charge.dispute.closed", || {
        receiver.delivered_of(CHARGE_DISPUTE_CLOSED).pop()
    })
    .await;
    assert_eq!(closed.data_object::<Dispute>().unwrap(), lost);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.delivered_of(CHARGE_DISPUTE_CLOSED).len(), 1);
    let (status, _) = refusal(processor.close_dispute("du_nobody").await.unwrap_err());
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_dashboard_refunds_and_answers_disputes_with_the_api_s_rules() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let intent = paid(&processor, TEST_CARD_SUCCEEDS, "s1").await;
    let lost = paid(&processor, TEST_CARD_DISPUTED, "s2").await;
    let won = paid(&processor, TEST_CARD_DISPUTED, "s3").await;
    let disputes = eventually("two disputes", || {
        let disputes = sandbox.disputes();
        (disputes.len() == 2).then_some(disputes)
    })
    .await;
    let dispute_of = |intent: &str| {
        disputes
            .iter()
            .find(|d| d.payment_intent.as_deref() == Some(intent))
            .expect("the payment's dispute")
            .clone()
    };
    let (to_lose, to_win) = (dispute_of(&lost), dispute_of(&won));
    let charge = charge_of(&sandbox, &intent);
    let http = browser();
    let page = dashboard(&sandbox).await;
    assert!(page.contains("id=\"charges\"") && page.contains(&intent));
    assert!(page.contains(&format!("id=\"refund-{}\"", charge.id)));
    assert!(page.contains(&format!("id=\"refund-amount-{}\"", charge.id)));
    assert!(
        !page.contains(&format!("id=\"refund-{}\"", charge_of(&sandbox, &lost).id)),
        "a charged-back charge offers no refund"
    );
    assert!(page.contains("id=\"disputes\""));
    for id in [&to_lose.id, &to_win.id] {
        assert!(page.contains(&format!("id=\"win-{id}\"")), "{id}");
        assert!(page.contains(&format!("id=\"lose-{id}\"")), "{id}");
    }

    let refund = format!("{}/dashboard/charges/{}/refund", sandbox.url(), charge.id);
    for (amount, why) in [
        ("5000", "greater than unrefunded"),
        ("abc", "Invalid integer"),
    ] {
        let bad = http
            .post(&refund)
            .form(&[("amount", amount)])
            .send()
            .await
            .unwrap();
        assert_eq!(bad.status(), 400);
        let html = bad.text().await.unwrap();
        assert!(
            html.contains("id=\"error\"") && html.contains(why),
            "{html}"
        );
    }
    let done = http
        .post(&refund)
        .form(&[("amount", "300")])
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            done.status().as_u16(),
            done.headers()["location"].to_str().unwrap()
        ),
        (303, "/")
    );
    assert_eq!(charge_of(&sandbox, &intent).amount_refunded, 300);
    let rest = http
        .post(&refund)
        .form(&[("amount", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 303);
    assert!(charge_of(&sandbox, &intent).refunded);
    assert_eq!(sandbox.refunds().len(), 2);
    let events: Vec<String> = sandbox.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        events.iter().filter(|k| *k == CHARGE_REFUNDED).count(),
        2,
        "{events:?}"
    );
    assert!(!dashboard(&sandbox)
        .await
        .contains(&format!("id=\"refund-{}\"", charge.id)));

    let lose = format!("{}/dashboard/disputes/{}/lose", sandbox.url(), to_lose.id);
    assert_eq!(http.post(&lose).send().await.unwrap().status(), 303);
    assert_eq!(
        processor
            .retrieve_dispute(&to_lose.id)
            .await
            .unwrap()
            .status,
        "lost"
    );
    assert_eq!(http.post(&lose).send().await.unwrap().status(), 400);

    let win = format!("{}/dashboard/disputes/{}/win", sandbox.url(), to_win.id);
    assert_eq!(http.post(&win).send().await.unwrap().status(), 303);
    assert_eq!(
        processor.retrieve_dispute(&to_win.id).await.unwrap().status,
        "under_review"
    );
    eventually("the dispute won", || {
        sandbox
            .disputes()
            .into_iter()
            .any(|d| d.id == to_win.id && d.status == "won")
            .then_some(())
    })
    .await;
    let page = dashboard(&sandbox).await;
    assert!(!page.contains(&format!("id=\"win-{}\"", to_win.id)));
    assert!(!page.contains(&format!("id=\"lose-{}\"", to_lose.id)));
}
