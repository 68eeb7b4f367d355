//! The client against the sandbox over real HTTP: form encoding, idempotency, authentication,
//! parameter errors and an unreachable processor.

mod common;

use common::{carlos_session, processor, refusal, sandbox, SECRET_KEY};
use energy_utility_payments::client::{Processor, ProcessorError};
use energy_utility_payments::wire::ApiErrorBody;

#[tokio::test]
async fn checkout_session_reads_back_exactly_as_created() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let new = carlos_session();

    let created = processor
        .create_checkout_session(&new, "order-1")
        .await
        .expect("created");
    let read = processor
        .retrieve_checkout_session(&created.id)
        .await
        .expect("read back");

    assert_eq!(read, created);
    assert!(
        read.id.starts_with("cs_test_") && read.id.len() >= 32,
        "{}",
        read.id
    );
    assert_eq!(read.object, "checkout.session");
    assert_eq!(read.amount_total, Some(1250));
    assert_eq!(read.currency.as_deref(), Some("usd"));
    assert_eq!(read.client_reference_id.as_deref(), Some("carlos"));
    assert_eq!(read.metadata, new.metadata);
    assert_eq!(read.mode, "payment");
    assert_eq!(read.payment_status, "unpaid");
    assert_eq!(read.status.as_deref(), Some("open"));
    assert_eq!(read.success_url.as_deref(), Some(new.success_url.as_str()));
    assert_eq!(read.cancel_url.as_deref(), Some(new.cancel_url.as_str()));
    assert_eq!(
        read.url,
        Some(format!("{}/c/pay/{}", sandbox.url(), read.id))
    );
    assert!(!read.livemode);
    assert_eq!(read.expires_at, Some(read.created + 24 * 3600));
}

#[tokio::test]
async fn same_idempotency_key_and_params_return_the_same_session() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);

    let first = processor
        .create_checkout_session(&carlos_session(), "order-2")
        .await
        .expect("first");
    let again = processor
        .create_checkout_session(&carlos_session(), "order-2")
        .await
        .expect("repeat");

    assert_eq!(again, first);
    assert_eq!(sandbox.checkout_sessions().len(), 1);
}

#[tokio::test]
async fn idempotency_key_reused_with_other_params_is_refused() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    processor
        .create_checkout_session(&carlos_session(), "order-3")
        .await
        .expect("first");
    let mut other = carlos_session();
    other.amount_cents = 2000;

    let (status, error) = refusal(
        processor
            .create_checkout_session(&other, "order-3")
            .await
            .expect_err("a different request under a used key"),
    );

    assert_eq!(status, 400);
    assert_eq!(error.kind, "idempotency_error");
    assert!(error.message.contains("order-3"), "{}", error.message);
    assert_eq!(sandbox.checkout_sessions().len(), 1);
}

#[tokio::test]
async fn wrong_secret_key_is_rejected_with_401() {
    let sandbox = sandbox(None).await;
    let intruder = Processor::new(&sandbox.url(), "sk_test_not_the_sandbox_key");

    let (status, error) = refusal(
        intruder
            .create_checkout_session(&carlos_session(), "order-4")
            .await
            .expect_err("wrong key"),
    );

    assert_eq!(status, 401);
    assert_eq!(error.kind, "invalid_request_error");
    assert!(
        error
            .message
            .contains("Invalid API Key provided: sk_test_****_key"),
        "{}",
        error.message
    );
    assert!(sandbox.checkout_sessions().is_empty());
}

#[tokio::test]
async fn missing_key_is_401_and_basic_auth_is_accepted() {
    let sandbox = sandbox(None).await;
    let http = reqwest::Client::new();
    let url = format!("{}/v1/events", sandbox.url());

    let anonymous = http.get(&url).send().await.expect("answered");
    assert_eq!(anonymous.status(), 401);
    let body: ApiErrorBody = anonymous.json().await.expect("Stripe error body");
    assert!(body
        .error
        .message
        .contains("You did not provide an API key"));

    // `curl -u sk_test_sandbox:` is how Stripe's docs call the API.
    let basic = http
        .get(&url)
        .basic_auth(SECRET_KEY, Some(""))
        .send()
        .await
        .expect("answered");
    assert_eq!(basic.status(), 200);
}

#[tokio::test]
async fn amount_below_stripes_minimum_is_rejected_naming_the_param() {
    let sandbox = sandbox(None).await;
    let mut new = carlos_session();
    new.amount_cents = 49;

    let (status, error) = refusal(
        processor(&sandbox)
            .create_checkout_session(&new, "order-5")
            .await
            .expect_err("49 cents"),
    );

    assert_eq!(status, 400);
    assert_eq!(
        error.param.as_deref(),
        Some("line_items[0][price_data][unit_amount]")
    );
}

#[tokio::test]
async fn other_currency_and_relative_urls_are_rejected_naming_the_param() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let mut euros = carlos_session();
    euros.currency = "eur".into();
    let mut relative = carlos_session();
    relative.success_url = "/paid".into();

    let cases = [
        (euros, "line_items[0][price_data][currency]"),
        (relative, "success_url"),
    ];
    for (new, expected_param) in cases {
        let (status, error) = refusal(
            processor
                .create_checkout_session(&new, &format!("key-{expected_param}"))
                .await
                .expect_err("invalid"),
        );
        assert_eq!(status, 400);
        assert_eq!(error.param.as_deref(), Some(expected_param));
    }
    assert!(sandbox.checkout_sessions().is_empty());
}

#[tokio::test]
async fn unknown_parameter_is_rejected() {
    let sandbox = sandbox(None).await;
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/payouts", sandbox.url()))
        .bearer_auth(SECRET_KEY)
        .form(&[
            ("amount", "100"),
            ("currency", "usd"),
            ("destination", "000123456789"),
            ("colour", "red"),
        ])
        .send()
        .await
        .expect("answered");

    assert_eq!(answer.status(), 400);
    let body: ApiErrorBody = answer.json().await.expect("Stripe error body");
    assert_eq!(body.error.param.as_deref(), Some("colour"));
    assert_eq!(body.error.message, "Received unknown parameter: colour");
    assert!(sandbox.payouts().is_empty());
}

#[tokio::test]
async fn unknown_session_is_rejected_with_404_resource_missing() {
    let sandbox = sandbox(None).await;

    let (status, error) = refusal(
        processor(&sandbox)
            .retrieve_checkout_session("cs_test_nope")
            .await
            .expect_err("no such session"),
    );

    assert_eq!(status, 404);
    assert_eq!(error.code.as_deref(), Some("resource_missing"));
    assert_eq!(error.message, "No such checkout.session: 'cs_test_nope'");
}

#[tokio::test]
async fn closed_port_is_unreachable() {
    // Take a free port, then free it: nothing listens there.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    drop(listener);
    let processor = Processor::new(&format!("http://{addr}"), SECRET_KEY);

    let refused = processor
        .create_checkout_session(&carlos_session(), "order-6")
        .await
        .expect_err("nobody listens");

    assert!(
        matches!(refused, ProcessorError::Unreachable(_)),
        "{refused:?}"
    );
    assert!(refused
        .to_string()
        .starts_with("the payment processor is unreachable"));
}

#[tokio::test]
async fn error_without_a_stripe_body_is_a_server_error() {
    let sandbox = sandbox(None).await;
    // No route matches: axum's bare 404, which carries no Stripe error body.
    let bare_404 = Processor::new(&format!("{}/nowhere", sandbox.url()), SECRET_KEY)
        .retrieve_checkout_session("x")
        .await
        .expect_err("a 404 without Stripe's body");
    assert!(
        matches!(bare_404, ProcessorError::Server { status: 404, .. }),
        "{bare_404:?}"
    );
}

#[tokio::test]
async fn success_that_is_not_the_object_is_a_decode_error() {
    let sandbox = sandbox(None).await;
    // The trailing `?` turns the API path into a query: the request lands on the HTML dashboard.
    let html = Processor::new(&format!("{}/?", sandbox.url()), SECRET_KEY)
        .retrieve_checkout_session("x")
        .await
        .expect_err("HTML is not a session");
    assert!(matches!(html, ProcessorError::Decode(_)), "{html:?}");
}
