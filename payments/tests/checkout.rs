//! The hosted Checkout page over real HTTP: what it shows, which cards it takes, and the signed
//! `checkout.session.completed` event a successful payment sends.

mod common;

use std::time::Duration;

use common::{browser, carlos_session, eventually, processor, sandbox, Receiver};
use energy_utility_payments::sandbox::Sandbox;
use energy_utility_payments::wire::{CheckoutSession, CHECKOUT_SESSION_COMPLETED};

/// A fresh open session and its hosted page URL.
async fn open_session(sandbox: &Sandbox) -> (CheckoutSession, String) {
    let session = processor(sandbox)
        .create_checkout_session(&carlos_session(), "checkout-test")
        .await
        .expect("created");
    let url = session.url.clone().expect("an open session has a url");
    (session, url)
}

/// POSTs the card form the way a browser submits it.
async fn pay(url: &str, number: &str, expiry: &str, cvc: &str) -> reqwest::Response {
    browser()
        .post(url)
        .form(&[
            ("card_number", number),
            ("card_expiry", expiry),
            ("card_cvc", cvc),
        ])
        .send()
        .await
        .expect("answered")
}

#[tokio::test]
async fn page_shows_product_amount_test_cards_and_the_form() {
    let sandbox = sandbox(None).await;
    let (session, url) = open_session(&sandbox).await;

    let page = reqwest::get(&url).await.expect("page");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");

    assert!(html.contains("TEST MODE — sandbox processor, no real money moves"));
    assert!(html.contains("4242 4242 4242 4242") && html.contains("4000 0000 0000 0002"));
    assert!(
        html.contains("<code>4000 0000 0000 0259</code> succeeds and is then disputed"),
        "the dispute card is listed: {html}"
    );
    assert!(html.contains("125 k of energy for carlos-house"));
    assert!(html.contains("<strong id=\"amount\">$12.50</strong>"));
    for id in ["card-number", "card-expiry", "card-cvc", "pay"] {
        assert!(html.contains(&format!("id=\"{id}\"")), "missing #{id}");
    }
    assert!(html.contains(&format!("action=\"/c/pay/{}\"", session.id)));
    // The cancel link goes back to the utility, with its query string escaped for HTML.
    assert!(html.contains(
        "href=\"https://utility.example/resident.html?id=carlos&amp;checkout=cancelled\""
    ));
}

#[tokio::test]
async fn paying_with_the_success_card_redirects_and_sends_one_signed_completed_event() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let (session, url) = open_session(&sandbox).await;

    let paid = pay(&url, "4242 4242 4242 4242", "12 / 34", "123").await;

    assert_eq!(paid.status(), 303);
    let location = paid.headers()["location"].to_str().expect("ascii");
    assert_eq!(
        location,
        format!(
            "https://utility.example/resident.html?id=carlos&checkout={}",
            session.id
        )
    );
    let hit = eventually("the completed event", || receiver.hits().first().cloned()).await;
    hit.verify();
    assert_eq!(hit.content_type, "application/json; charset=utf-8");
    assert_eq!(
        hit.user_agent,
        "Stripe/1.0 (+https://stripe.com/docs/webhooks)"
    );
    let event = hit.event();
    assert_eq!(event.kind, CHECKOUT_SESSION_COMPLETED);
    assert!(
        event.id.starts_with("evt_") && event.id.len() == 28,
        "{}",
        event.id
    );
    assert_eq!(event.api_version.as_deref(), Some("2024-06-20"));
    assert!(!event.livemode);
    let completed: CheckoutSession = event.data_object().expect("a session");
    assert_eq!(completed.id, session.id);
    assert_eq!(completed.payment_status, "paid");
    assert_eq!(completed.status.as_deref(), Some("complete"));
    assert_eq!(completed.amount_total, Some(1250));
    assert_eq!(completed.client_reference_id.as_deref(), Some("carlos"));
    assert_eq!(completed.metadata, carlos_session().metadata);
    assert_eq!(completed.url, None);

    // Exactly one: nothing else arrives, and the API agrees.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.hits().len(), 1);
    assert_eq!(sandbox.events().len(), 1);
    let read = processor(&sandbox)
        .retrieve_checkout_session(&session.id)
        .await
        .expect("read back");
    assert_eq!(read, completed);
}

#[tokio::test]
async fn paying_a_paid_session_again_charges_nothing() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let (_, url) = open_session(&sandbox).await;
    assert_eq!(
        pay(&url, "4242424242424242", "12/34", "123").await.status(),
        303
    );

    let again = pay(&url, "4242424242424242", "12/34", "123").await;

    assert_eq!(again.status(), 200);
    assert!(again.text().await.expect("html").contains("already paid"));
    eventually("the first event", || {
        (receiver.hits().len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(receiver.hits().len(), 1);
    assert_eq!(sandbox.events().len(), 1);
}

#[tokio::test]
async fn declined_card_shows_the_error_and_leaves_the_session_open() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let (session, url) = open_session(&sandbox).await;

    let declined = pay(&url, "4000 0000 0000 0002", "12 / 34", "123").await;

    assert_eq!(declined.status(), 200);
    let html = declined.text().await.expect("html");
    assert!(
        html.contains("<p id=\"error\" role=\"alert\">Your card was declined.</p>"),
        "{html}"
    );
    assert!(html.contains("TEST MODE"));
    let read = processor(&sandbox)
        .retrieve_checkout_session(&session.id)
        .await
        .expect("read back");
    assert_eq!(read.status.as_deref(), Some("open"));
    assert_eq!(read.payment_status, "unpaid");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(sandbox.events().is_empty());
    assert!(receiver.hits().is_empty());
}

#[tokio::test]
async fn card_form_mistakes_are_explained_and_charge_nothing() {
    let sandbox = sandbox(None).await;
    let (_, url) = open_session(&sandbox).await;

    let cases = [
        (
            "4242 4242 4242 4241",
            "12 / 34",
            "123",
            "Your card number is invalid.",
        ),
        (
            "4242 4242 4242 4242",
            "01 / 20",
            "123",
            "Your card&#39;s expiration date is in the past.",
        ),
        (
            "4242 4242 4242 4242",
            "13 / 34",
            "123",
            "Your card&#39;s expiration date is incomplete.",
        ),
        (
            "4242 4242 4242 4242",
            "12 / 34",
            "1",
            "Your card&#39;s security code is incomplete.",
        ),
        (
            "4111 1111 1111 1111",
            "12 / 34",
            "123",
            "Your card was declined. Your request was in test mode, but used a non test card.",
        ),
    ];
    for (number, expiry, cvc, message) in cases {
        let answer = pay(&url, number, expiry, cvc).await;
        assert_eq!(answer.status(), 200, "{number} {expiry} {cvc}");
        let html = answer.text().await.expect("html");
        assert!(
            html.contains(message),
            "{number} {expiry} {cvc}: expected {message:?}"
        );
    }
    assert!(sandbox.events().is_empty());
}

#[tokio::test]
async fn unknown_session_page_is_404() {
    let sandbox = sandbox(None).await;
    let page = reqwest::get(format!("{}/c/pay/cs_test_nope", sandbox.url()))
        .await
        .expect("answered");
    assert_eq!(page.status(), 404);
    assert!(page.text().await.expect("html").contains("TEST MODE"));
}

#[tokio::test]
async fn dashboard_lists_sessions_and_events_under_the_test_mode_banner() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let (session, url) = open_session(&sandbox).await;
    pay(&url, "4242 4242 4242 4242", "12 / 34", "123").await;
    let delivery = eventually("the delivery", || {
        sandbox.deliveries().into_iter().find(|d| d.succeeded)
    })
    .await;

    let html = reqwest::get(sandbox.url())
        .await
        .expect("dashboard")
        .text()
        .await
        .expect("html");

    assert!(html.contains("TEST MODE — sandbox processor, no real money moves"));
    assert!(html.contains(&session.id));
    assert!(html.contains("$12.50"));
    assert!(html.contains(&delivery.event_id));
    assert!(html.contains("delivered"));
}
