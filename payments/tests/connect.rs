//! Connected accounts over real HTTP: an Express account opened through the API, finished on the
//! hosted onboarding page (prefilled with Stripe's test data) through a single-use link that
//! expires, `account.updated` delivered; Stripe's checks of account and link requests; transfers
//! to it (refused before onboarding), listed, found again by metadata, replayed under their
//! idempotency key, and reversed in part then whole, through the API and the dashboard.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{api, browser, eventually, processor, refusal, sandbox, sandbox_with, Receiver};
use energy_utility_payments::client::{NewAccount, NewTransfer, Processor};
use energy_utility_payments::sandbox::{Sandbox, TEST_ACCOUNT_PAID, TEST_ROUTING_NUMBER};
use energy_utility_payments::wire::{
    Account, List, Transfer, ACCOUNT_UPDATED, TRANSFER_CREATED, TRANSFER_REVERSED,
};
use reqwest::Method;

fn carlos() -> NewAccount {
    NewAccount {
        country: "US".into(),
        email: Some("carlos@example.com".into()),
        metadata: BTreeMap::from([("resident".into(), "carlos".into())]),
    }
}

fn transfer_to(account: &str, sale: &str) -> NewTransfer {
    NewTransfer {
        amount_cents: 150,
        currency: "usd".into(),
        destination: account.into(),
        description: "carlos sells 15 k".into(),
        metadata: BTreeMap::from([("sale".into(), sale.into())]),
    }
}

/// The onboarding page's element ids a browser test relies on.
const FORM_IDS: [&str; 8] = [
    "first-name",
    "last-name",
    "dob",
    "ssn-last4",
    "routing-number",
    "account-number",
    "submit",
    "later",
];

/// The dashboard's HTML.
async fn dashboard(sandbox: &Sandbox) -> String {
    let page = browser().get(sandbox.url()).send().await.unwrap();
    assert_eq!(page.status(), 200);
    page.text().await.unwrap()
}

/// The first form of a page: its action and its inputs (what a browser submits untouched).
fn form_of(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(tag[start..end].to_string())
    };
    let form = &html[html.find("<form").expect("a form")..];
    let form = &form[..form.find("</form>").expect("the form ends")];
    let action = attr(&form[..form.find('>').unwrap()], "action").unwrap();
    let mut fields = Vec::new();
    let mut rest = form;
    while let Some(at) = rest.find("<input") {
        let end = rest[at..].find('>').unwrap() + at;
        if let Some(name) = attr(&rest[at..end], "name") {
            fields.push((name, attr(&rest[at..end], "value").unwrap_or_default()));
        }
        rest = &rest[end..];
    }
    (action, fields)
}

/// Opens `processor`'s onboarding link for `account` and submits its form as prefilled (with
/// `extra` fields replaced); returns the HTTP status and the redirect target (or, when the form
/// came back, its HTML).
async fn onboard(
    processor: &Processor,
    base: &str,
    account: &str,
    extra: &[(&str, &str)],
) -> (u16, String) {
    let link = processor
        .create_account_link(
            account,
            "https://utility.example/refresh",
            "https://utility.example/return",
        )
        .await
        .expect("a link");
    assert!(link.url.starts_with(base), "{}", link.url);
    let http = browser();
    let page = http.get(&link.url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("TEST MODE") && html.contains(TEST_ROUTING_NUMBER),
        "{html}"
    );
    for id in FORM_IDS {
        assert!(html.contains(&format!("id=\"{id}\"")), "#{id} missing");
    }
    let (action, mut fields) = form_of(&html);
    let prefilled: BTreeMap<&str, &str> = fields
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    assert_eq!(prefilled["routing_number"], TEST_ROUTING_NUMBER);
    assert_eq!(prefilled["account_number"], TEST_ACCOUNT_PAID);
    assert_eq!(
        (prefilled["ssn_last_4"], prefilled["dob"]),
        ("0000", "1901-01-01")
    );
    for (name, value) in extra {
        fields.retain(|(n, _)| n != name);
        fields.push((name.to_string(), value.to_string()));
    }
    let done = http
        .post(format!("{base}{action}"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = done.status().as_u16();
    let location = done
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string());
    match location {
        Some(location) => (status, location),
        None => (status, done.text().await.unwrap()),
    }
}

#[tokio::test]
async fn an_express_account_is_onboarded_through_its_link_and_announced() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);
    let opened = processor
        .create_account(&carlos(), "open-carlos")
        .await
        .unwrap();
    assert!(opened.id.starts_with("acct_"), "{}", opened.id);
    assert_eq!(opened.kind.as_deref(), Some("express"));
    assert_eq!(opened.country.as_deref(), Some("US"));
    assert_eq!(opened.email.as_deref(), Some("carlos@example.com"));
    assert!(!opened.details_submitted && !opened.payouts_enabled && !opened.charges_enabled);
    assert_eq!(opened.capabilities["transfers"], "inactive");
    assert!(!opened.transfers_active());
    assert!(opened
        .requirements
        .as_ref()
        .unwrap()
        .currently_due
        .contains(&"external_account".to_string()));
    let banks = opened.external_accounts.as_ref().unwrap();
    assert!(banks.data.is_empty() && banks.object == "list");
    assert_eq!(
        banks.url,
        format!("/v1/accounts/{}/external_accounts", opened.id)
    );
    // The same request again is the same account.
    let again = processor
        .create_account(&carlos(), "open-carlos")
        .await
        .unwrap();
    assert_eq!(again, opened);
    assert_eq!(sandbox.accounts().len(), 1);

    // Bad details are named on the form shown again; nothing changes, the link still serves.
    for (field, value, problem) in [
        (
            "account_number",
            "12",
            "The account number is 4 to 17 digits.",
        ),
        ("routing_number", "11000", "The routing number is 9 digits."),
        ("last_name", " ", "Enter your first and last name."),
    ] {
        let (status, html) =
            onboard(&processor, &sandbox.url(), &opened.id, &[(field, value)]).await;
        assert_eq!(status, 200, "the form again, with the error");
        assert!(
            html.contains(&format!("<p id=\"error\" role=\"alert\">{problem}</p>")),
            "{html}"
        );
        assert!(
            html.contains(&format!("value=\"{value}\"")),
            "what was typed is kept"
        );
    }
    assert!(
        !processor
            .retrieve_account(&opened.id)
            .await
            .unwrap()
            .details_submitted
    );
    assert!(sandbox.events().is_empty(), "nothing announced");

    let (status, back) = onboard(&processor, &sandbox.url(), &opened.id, &[]).await;
    assert_eq!(
        (status, back.as_str()),
        (303, "https://utility.example/return")
    );
    let done: Account = processor.retrieve_account(&opened.id).await.unwrap();
    assert!(done.details_submitted && done.payouts_enabled && done.transfers_active());
    assert!(done.requirements.clone().unwrap().currently_due.is_empty());
    let bank = done.bank_account().unwrap().clone();
    assert!(bank.id.starts_with("ba_"), "{}", bank.id);
    assert_eq!(
        (
            bank.last4.as_str(),
            bank.bank_name.as_deref(),
            bank.currency.as_deref(),
            bank.default_for_currency
        ),
        ("6789", Some("STRIPE TEST BANK"), Some("usd"), Some(true))
    );
    let updated = eventually("account.updated", || {
        receiver.delivered_of(ACCOUNT_UPDATED).pop()
    })
    .await;
    let announced: Account = updated.data_object().unwrap();
    assert_eq!(announced, done);
    assert_eq!(announced.metadata["resident"], "carlos");
    let recorded: Vec<String> = sandbox.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        recorded,
        [ACCOUNT_UPDATED],
        "one event, recorded and delivered"
    );

    // Listed newest first, a page at a time, and found by metadata.
    let other = processor
        .create_account(
            &NewAccount {
                country: "US".into(),
                email: None,
                metadata: BTreeMap::new(),
            },
            "open-other",
        )
        .await
        .unwrap();
    let listed = processor.list_accounts(None).await.unwrap();
    let ids: Vec<&str> = listed.data.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(ids, [other.id.as_str(), opened.id.as_str()]);
    let (_, page) = api(
        &sandbox,
        Method::GET,
        "/v1/accounts",
        &[("limit", "1")],
        None,
    )
    .await;
    let page: List<Account> = serde_json::from_value(page).unwrap();
    assert_eq!((page.data.len(), page.has_more), (1, true));
    assert_eq!(page.data[0].id, other.id);
    let found = processor.find_account("resident", "carlos").await.unwrap();
    assert_eq!(found.map(|a| a.id), Some(opened.id.clone()));
    // Unknown accounts are Stripe's refusals.
    let (status, error) = refusal(
        processor
            .create_account_link("acct_nobody", "https://x/r", "https://x/b")
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.param.as_deref()), (400, Some("account")));
    assert_eq!(error.code.as_deref(), Some("resource_missing"));
    assert_eq!(error.message, "No such account: 'acct_nobody'");
    let (status, _) = refusal(processor.retrieve_account("acct_nobody").await.unwrap_err());
    assert_eq!(status, 404);
}

#[tokio::test]
async fn account_and_link_requests_are_checked_as_stripe_checks_them() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let transfers = ("capabilities[transfers][requested]", "true");
    for (form, param) in [
        (vec![("type", "standard"), transfers], "type"),
        (vec![("country", "US"), transfers], "type"),
        (vec![("type", "express")], "capabilities"),
        (
            vec![("type", "express"), transfers, ("business_type", "pirate")],
            "business_type",
        ),
        (
            vec![("type", "express"), transfers, ("colour", "red")],
            "colour",
        ),
    ] {
        let (status, body) = api(&sandbox, Method::POST, "/v1/accounts", &form, None).await;
        assert_eq!(
            (status, body["error"]["param"].as_str()),
            (400, Some(param)),
            "{body}"
        );
    }
    assert!(sandbox.accounts().is_empty());
    let (status, body) = api(
        &sandbox,
        Method::POST,
        "/v1/accounts",
        &[
            ("type", "express"),
            ("capabilities[card_payments][requested]", "true"),
            transfers,
            ("business_type", "individual"),
        ],
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let account: Account = serde_json::from_value(body).unwrap();
    assert_eq!(account.capabilities["card_payments"], "inactive");
    assert_eq!(
        account.country.as_deref(),
        Some("US"),
        "the default country"
    );
    let due = account.requirements.clone().unwrap();
    for field in [
        "external_account",
        "individual.first_name",
        "individual.last_name",
        "individual.dob.day",
        "individual.ssn_last_4",
        "tos_acceptance.date",
    ] {
        assert!(due.currently_due.contains(&field.to_string()), "{field}");
    }
    assert_eq!(
        due.disabled_reason.as_deref(),
        Some("requirements.past_due")
    );

    let link = processor
        .create_account_link(&account.id, "https://u.example/r", "https://u.example/b")
        .await
        .unwrap();
    assert_eq!(link.object, "account_link");
    assert_eq!(link.expires_at, link.created + 300, "Stripe's few minutes");
    let id = link.url.rsplit('/').next().unwrap();
    assert!(id.starts_with("link_"), "{id}");
    assert_eq!(link.url, format!("{}/connect/onboard/{id}", sandbox.url()));
    let (status, error) = refusal(
        processor
            .create_account_link(&account.id, "ftp://u.example/r", "https://u.example/b")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.param.as_deref(), error.code.as_deref()),
        (400, Some("refresh_url"), Some("url_invalid"))
    );
    let (status, body) = api(
        &sandbox,
        Method::POST,
        "/v1/account_links",
        &[
            ("account", &account.id),
            ("refresh_url", "https://u.example/r"),
            ("return_url", "https://u.example/b"),
            ("type", "account_update"),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("type"))
    );

    // Onboarding activates every capability requested; card payments enable charges.
    let (status, _) = onboard(&processor, &sandbox.url(), &account.id, &[]).await;
    assert_eq!(status, 303);
    let done = processor.retrieve_account(&account.id).await.unwrap();
    assert_eq!(done.capabilities["card_payments"], "active");
    assert!(done.charges_enabled && done.transfers_active());
}

#[tokio::test]
async fn an_onboarding_link_serves_once_then_sends_to_its_refresh_url() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let account = processor.create_account(&carlos(), "k").await.unwrap();
    let link = processor
        .create_account_link(
            &account.id,
            "https://u.example/refresh",
            "https://u.example/back",
        )
        .await
        .unwrap();
    let http = browser();
    // "Finish later": back to the return URL, the account unfinished, the link spent.
    let later = http
        .post(&link.url)
        .form(&[("action", "later")])
        .send()
        .await
        .unwrap();
    assert_eq!(later.status(), 303);
    assert_eq!(later.headers()["location"], "https://u.example/back");
    let unfinished = processor.retrieve_account(&account.id).await.unwrap();
    assert!(!unfinished.details_submitted && !unfinished.transfers_active());
    assert!(
        sandbox.events().is_empty(),
        "nothing changed, nothing announced"
    );
    for attempt in [
        http.get(&link.url).send().await,
        http.post(&link.url)
            .form(&[("first_name", "x")])
            .send()
            .await,
    ] {
        let answer = attempt.unwrap();
        assert_eq!(answer.status(), 303);
        assert_eq!(answer.headers()["location"], "https://u.example/refresh");
    }
    let unknown = http
        .get(format!("{}/connect/onboard/link_nope", sandbox.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    // A fresh link, used once, finishes what "later" left; it then serves no more.
    let (status, back) = onboard(&processor, &sandbox.url(), &account.id, &[]).await;
    assert_eq!(
        (status, back.as_str()),
        (303, "https://utility.example/return")
    );
    assert!(processor
        .retrieve_account(&account.id)
        .await
        .unwrap()
        .transfers_active());
    let events: Vec<String> = sandbox.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(events, [ACCOUNT_UPDATED]);
}

#[tokio::test]
async fn an_expired_onboarding_link_sends_to_its_refresh_url_and_changes_nothing() {
    let sandbox = sandbox_with(None, |c| c.account_link_lifetime = Duration::ZERO).await;
    let processor = processor(&sandbox);
    let account = processor.create_account(&carlos(), "k").await.unwrap();
    let link = processor
        .create_account_link(
            &account.id,
            "https://u.example/refresh",
            "https://u.example/back",
        )
        .await
        .unwrap();
    assert_eq!(link.expires_at, link.created);
    let http = browser();
    let opened = http.get(&link.url).send().await.unwrap();
    assert_eq!(opened.status(), 303);
    assert_eq!(opened.headers()["location"], "https://u.example/refresh");
    let submitted = http
        .post(&link.url)
        .form(&[
            ("first_name", "Jenny"),
            ("last_name", "Rosen"),
            ("dob", "1901-01-01"),
            ("ssn_last_4", "0000"),
            ("routing_number", TEST_ROUTING_NUMBER),
            ("account_number", TEST_ACCOUNT_PAID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(submitted.status(), 303);
    assert_eq!(submitted.headers()["location"], "https://u.example/refresh");
    let account = processor.retrieve_account(&account.id).await.unwrap();
    assert!(!account.details_submitted && !account.transfers_active());
    assert!(sandbox.events().is_empty());
}

#[tokio::test]
async fn transfers_need_an_onboarded_account_replay_by_key_and_reverse_in_part_then_whole() {
    let receiver = Receiver::start(0).await;
    let sandbox = sandbox(Some(&receiver)).await;
    let processor = processor(&sandbox);
    let account = processor.create_account(&carlos(), "k").await.unwrap();

    // Before onboarding: Stripe's capability refusal; to nobody: resource_missing.
    let (status, error) = refusal(
        processor
            .create_transfer(&transfer_to(&account.id, "sale-1"), "t-early")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code.as_deref(), error.param.as_deref()),
        (
            400,
            Some("insufficient_capabilities_for_transfer"),
            Some("destination")
        )
    );
    assert_eq!(
        error.message,
        "Your destination account needs to have at least one of the following capabilities \
         enabled: transfers, crypto_transfers, legacy_payments"
    );
    let (status, error) = refusal(
        processor
            .create_transfer(&transfer_to("acct_nobody", "sale-1"), "t-nobody")
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (status, error.code.as_deref(), error.param.as_deref()),
        (400, Some("resource_missing"), Some("destination"))
    );
    assert_eq!(error.message, "No such destination: 'acct_nobody'");
    let (status, body) = api(
        &sandbox,
        Method::POST,
        "/v1/transfers",
        &[
            ("amount", "0"),
            ("currency", "usd"),
            ("destination", &account.id),
        ],
        None,
    )
    .await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("amount"))
    );
    assert!(sandbox.transfers().is_empty());

    onboard(&processor, &sandbox.url(), &account.id, &[]).await;
    let made = processor
        .create_transfer(&transfer_to(&account.id, "sale-1"), "sale-key-1")
        .await
        .unwrap();
    assert!(made.id.starts_with("tr_"));
    assert_eq!(
        (made.amount, made.amount_reversed, made.reversed),
        (150, 0, false)
    );
    assert_eq!(made.destination.as_deref(), Some(account.id.as_str()));
    assert_eq!(made.description.as_deref(), Some("carlos sells 15 k"));
    // The same key and request: the same transfer; another request under it: refused.
    let replay = processor
        .create_transfer(&transfer_to(&account.id, "sale-1"), "sale-key-1")
        .await
        .unwrap();
    assert_eq!(replay, made);
    let (_, conflict) = refusal(
        processor
            .create_transfer(&transfer_to(&account.id, "sale-2"), "sale-key-1")
            .await
            .unwrap_err(),
    );
    assert_eq!(conflict.kind, "idempotency_error");
    assert_eq!(sandbox.transfers().len(), 1);
    let found = processor
        .find_transfer(made.created - 10, "sale", "sale-1")
        .await
        .unwrap();
    assert_eq!(found.map(|t| t.id), Some(made.id.clone()));
    assert!(processor
        .find_transfer(made.created + 10, "sale", "sale-1")
        .await
        .unwrap()
        .is_none());
    let created = made.created.to_string();
    let (status, mine) = api(
        &sandbox,
        Method::GET,
        "/v1/transfers",
        &[("destination", &account.id), ("created[lte]", &created)],
        None,
    )
    .await;
    assert_eq!(status, 200);
    let mine: List<Transfer> = serde_json::from_value(mine).unwrap();
    assert_eq!(mine.data, std::slice::from_ref(&made));
    let (_, elsewhere) = api(
        &sandbox,
        Method::GET,
        "/v1/transfers",
        &[("destination", "acct_other")],
        None,
    )
    .await;
    assert_eq!(elsewhere["data"], serde_json::json!([]));

    // Reversed in part (replayed under its key), then the rest; more than is left is refused.
    let part = processor
        .reverse_transfer(&made.id, Some(50), "rev-1")
        .await
        .unwrap();
    assert!(part.id.starts_with("trr_"), "{}", part.id);
    assert_eq!(
        (part.amount, part.transfer.as_str()),
        (50, made.id.as_str())
    );
    let again = processor
        .reverse_transfer(&made.id, Some(50), "rev-1")
        .await
        .unwrap();
    assert_eq!(again, part, "the same key: the same reversal");
    assert_eq!(
        processor
            .retrieve_transfer(&made.id)
            .await
            .unwrap()
            .amount_reversed,
        50,
        "nothing more reversed"
    );
    let (status, error) = refusal(
        processor
            .reverse_transfer(&made.id, Some(101), "rev-2")
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.param.as_deref()), (400, Some("amount")));
    assert!(error.message.contains("($1.00)"), "{}", error.message);
    let rest = processor
        .reverse_transfer(&made.id, None, "rev-3")
        .await
        .unwrap();
    assert_eq!(rest.amount, 100);
    let now = processor.retrieve_transfer(&made.id).await.unwrap();
    assert_eq!((now.amount_reversed, now.reversed), (150, true));
    let (status, error) = refusal(
        processor
            .reverse_transfer(&made.id, None, "rev-4")
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    assert!(
        error.message.contains("fully reversed"),
        "{}",
        error.message
    );

    let events = eventually("the transfer's events", || {
        let events: Vec<_> = receiver
            .delivered()
            .into_iter()
            .filter(|e| e.kind.starts_with("transfer."))
            .collect();
        (events.len() >= 3).then_some(events)
    })
    .await;
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [TRANSFER_CREATED, TRANSFER_REVERSED, TRANSFER_REVERSED]
    );
    assert_eq!(events[0].data_object::<Transfer>().unwrap(), made);
    let reversed: Vec<(i64, bool)> = events[1..]
        .iter()
        .map(|e| e.data_object::<Transfer>().unwrap())
        .map(|t| (t.amount_reversed, t.reversed))
        .collect();
    assert_eq!(
        reversed,
        [(50, false), (150, true)],
        "the transfer as it was then"
    );
}

#[tokio::test]
async fn the_dashboard_shows_accounts_and_reverses_a_transfer_with_the_api_s_rules() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let account = processor.create_account(&carlos(), "k").await.unwrap();
    let http = browser();
    let before = dashboard(&sandbox).await;
    assert!(before.contains("id=\"accounts\"") && before.contains(&account.id));
    assert!(before.contains(">onboarding<"), "not onboarded yet");
    onboard(&processor, &sandbox.url(), &account.id, &[]).await;
    let made = processor
        .create_transfer(&transfer_to(&account.id, "sale-1"), "k1")
        .await
        .unwrap();
    let page = dashboard(&sandbox).await;
    assert!(page.contains("id=\"transfers\"") && page.contains(&made.id));
    assert!(page.contains("••6789") && page.contains("carlos@example.com"));
    assert!(page.contains("resident=carlos") && page.contains(">enabled<"));
    assert!(page.contains(&format!("id=\"reverse-{}\"", made.id)));
    assert!(page.contains(&format!("id=\"reverse-amount-{}\"", made.id)));

    let reverse = format!("{}/dashboard/transfers/{}/reverse", sandbox.url(), made.id);
    let refused = http
        .post(&reverse)
        .form(&[("amount", "999")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    let html = refused.text().await.unwrap();
    assert!(
        html.contains("id=\"error\"") && html.contains("not yet reversed"),
        "{html}"
    );
    assert_eq!(sandbox.transfers()[0].amount_reversed, 0);
    let part = http
        .post(&reverse)
        .form(&[("amount", "40")])
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 303);
    assert_eq!(part.headers()["location"], "/");
    assert_eq!(sandbox.transfers()[0].amount_reversed, 40);
    let rest = http
        .post(&reverse)
        .form(&[("amount", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 303);
    let transfer = processor.retrieve_transfer(&made.id).await.unwrap();
    assert_eq!((transfer.amount_reversed, transfer.reversed), (150, true));
    let kinds: Vec<String> = sandbox.events().into_iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds
            .iter()
            .filter(|kind| kind.as_str() == TRANSFER_REVERSED)
            .count(),
        2,
        "{kinds:?}"
    );
    assert!(!dashboard(&sandbox)
        .await
        .contains(&format!("id=\"reverse-{}\"", made.id)));
    let again = http
        .post(&reverse)
        .form(&[("amount", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400, "nothing left to reverse");
}
