//! Connected accounts over real HTTP: an Express account opened through the API, finished on the
//! hosted onboarding page (prefilled with Stripe's test data) through a single-use link,
//! `account.updated` delivered; transfers to it (refused before onboarding), found again by
//! metadata, replayed under their idempotency key, and reversed in part then whole.

mod common;

use std::collections::BTreeMap;

use common::{browser, eventually, processor, refusal, sandbox, Receiver};
use energy_utility_payments::client::{NewAccount, NewTransfer, Processor};
use energy_utility_payments::wire::{
    Account, ACCOUNT_UPDATED, TRANSFER_CREATED, TRANSFER_REVERSED,
};

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

/// Opens `processor`'s onboarding link for `account` and submits its form as prefilled (plus
/// `extra` fields); returns the HTTP status and the redirect target.
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
        html.contains("TEST MODE") && html.contains("110000000"),
        "{html}"
    );
    let (action, mut fields) = form_of(&html);
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
    let location = done
        .headers()
        .get("location")
        .map(|l| l.to_str().unwrap().to_string())
        .unwrap_or_default();
    (done.status().as_u16(), location)
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
    assert!(!opened.details_submitted && !opened.payouts_enabled);
    assert_eq!(opened.capabilities["transfers"], "inactive");
    assert!(!opened.transfers_active());
    assert!(opened
        .requirements
        .as_ref()
        .unwrap()
        .currently_due
        .contains(&"external_account".to_string()));
    // The same request again is the same account.
    let again = processor
        .create_account(&carlos(), "open-carlos")
        .await
        .unwrap();
    assert_eq!(again.id, opened.id);
    assert_eq!(sandbox.accounts().len(), 1);

    // A bad account number is named on the page; nothing changes.
    let (status, _) = onboard(
        &processor,
        &sandbox.url(),
        &opened.id,
        &[("account_number", "12")],
    )
    .await;
    assert_eq!(status, 200, "the form again, with the error");
    assert!(
        !processor
            .retrieve_account(&opened.id)
            .await
            .unwrap()
            .details_submitted
    );

    let (status, back) = onboard(&processor, &sandbox.url(), &opened.id, &[]).await;
    assert_eq!(
        (status, back.as_str()),
        (303, "https://utility.example/return")
    );
    let done: Account = processor.retrieve_account(&opened.id).await.unwrap();
    assert!(done.details_submitted && done.payouts_enabled && done.transfers_active());
    assert!(done.requirements.unwrap().currently_due.is_empty());
    let bank = done.external_accounts.as_ref().unwrap().data[0].clone();
    assert_eq!(
        (bank.last4.as_str(), bank.default_for_currency),
        ("6789", Some(true))
    );
    let updated = eventually("account.updated", || {
        receiver.delivered_of(ACCOUNT_UPDATED).pop()
    })
    .await;
    let announced: Account = updated.data_object().unwrap();
    assert_eq!(announced.id, opened.id);
    assert!(announced.transfers_active());
    assert_eq!(announced.metadata["resident"], "carlos");

    // Listed newest first, and found by metadata.
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
    let found = processor.find_account("resident", "carlos").await.unwrap();
    assert_eq!(found.map(|a| a.id), Some(opened.id.clone()));
    // Unknown accounts and bad link requests are Stripe's refusals.
    let (status, error) = refusal(
        processor
            .create_account_link("acct_nobody", "https://x/r", "https://x/b")
            .await
            .unwrap_err(),
    );
    assert_eq!((status, error.param.as_deref()), (400, Some("account")));
    assert_eq!(error.code.as_deref(), Some("resource_missing"));
    let (status, _) = refusal(processor.retrieve_account("acct_nobody").await.unwrap_err());
    assert_eq!(status, 404);
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
    assert!(
        !processor
            .retrieve_account(&account.id)
            .await
            .unwrap()
            .details_submitted
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
    assert_eq!(status, 400);
    assert_eq!(
        error.code.as_deref(),
        Some("insufficient_capabilities_for_transfer")
    );
    assert!(error.message.contains("transfers"), "{}", error.message);
    let (_, error) = refusal(
        processor
            .create_transfer(&transfer_to("acct_nobody", "sale-1"), "t-nobody")
            .await
            .unwrap_err(),
    );
    assert_eq!(error.code.as_deref(), Some("resource_missing"));
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
    // The same key and request: the same transfer; another request under it: refused.
    let replay = processor
        .create_transfer(&transfer_to(&account.id, "sale-1"), "sale-key-1")
        .await
        .unwrap();
    assert_eq!(replay.id, made.id);
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

    // Reversed in part, then the rest; more than is left is refused.
    let part = processor
        .reverse_transfer(&made.id, Some(50), "rev-1")
        .await
        .unwrap();
    assert_eq!(
        (part.amount, part.transfer.as_str()),
        (50, made.id.as_str())
    );
    let (status, _) = refusal(
        processor
            .reverse_transfer(&made.id, Some(101), "rev-2")
            .await
            .unwrap_err(),
    );
    assert_eq!(status, 400);
    let rest = processor
        .reverse_transfer(&made.id, None, "rev-3")
        .await
        .unwrap();
    assert_eq!(rest.amount, 100);
    let now = processor.retrieve_transfer(&made.id).await.unwrap();
    assert_eq!((now.amount_reversed, now.reversed), (150, true));
    assert!(processor
        .reverse_transfer(&made.id, None, "rev-4")
        .await
        .is_err());

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
    let last: energy_utility_payments::wire::Transfer = events[2].data_object().unwrap();
    assert!(last.reversed);
}

#[tokio::test]
async fn the_dashboard_reverses_a_transfer_with_the_same_rules() {
    let sandbox = sandbox(None).await;
    let processor = processor(&sandbox);
    let account = processor.create_account(&carlos(), "k").await.unwrap();
    onboard(&processor, &sandbox.url(), &account.id, &[]).await;
    let made = processor
        .create_transfer(&transfer_to(&account.id, "sale-1"), "k1")
        .await
        .unwrap();
    let http = browser();
    let dashboard = http
        .get(sandbox.url())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(dashboard.contains("id=\"transfers\"") && dashboard.contains(&made.id));
    assert!(dashboard.contains("id=\"accounts\"") && dashboard.contains("••6789"));
    let reverse = format!("{}/dashboard/transfers/{}/reverse", sandbox.url(), made.id);
    let refused = http
        .post(&reverse)
        .form(&[("amount", "999")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);
    assert_eq!(sandbox.transfers()[0].amount_reversed, 0);
    let done = http
        .post(&reverse)
        .form(&[("amount", "")])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert!(sandbox.transfers()[0].reversed);
}
