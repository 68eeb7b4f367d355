//! Getting paid, over HTTP against the real sandbox processor and a real local cluster: a
//! resident opens a connected account, finishes the processor's hosted onboarding, and binds
//! the account on chain; the processor's `account.updated` is noted; a change of account waits
//! for the grid's payout notice and can be cancelled; nobody binds an account opened for
//! someone else.

mod common;

use std::collections::BTreeMap;

use common::*;
use energy_utility_payments::client::{NewAccount, Processor};
use energy_utility_sdk::views::format_duration;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_resident_onboards_binds_the_account_and_a_change_waits_for_the_notice() {
    let s = service("onboard").await;
    let (status, link) = s.post("/api/connect", json!({"resident": "carlos"})).await;
    assert_eq!(status, StatusCode::OK, "{link}");
    let account = link["account"].as_str().unwrap().to_string();
    assert!(account.starts_with("acct_"), "{link}");

    // Not onboarded yet: not bindable, and the page says so.
    let (status, before) = s.get(&format!("/api/connect/{account}")).await;
    assert_eq!(status, StatusCode::OK, "{before}");
    assert_eq!(
        (
            before["onboarded"].clone(),
            before["transfers_enabled"].clone()
        ),
        (json!(false), json!(false)),
        "{before}"
    );
    let (status, refused) = s
        .post(
            "/api/payout-account",
            json!({"resident": "carlos", "account": account}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("onboarding"),
        "{refused}"
    );
    assert!(s.resident("carlos").await.payout_account.is_empty());

    // The hosted onboarding, then back to Carlos's page.
    let back = s.complete_onboarding(link["url"].as_str().unwrap()).await;
    assert_eq!(
        back,
        format!("{}/resident.html?id=carlos&connect=return", s.base)
    );
    s.until("account.updated noted", || async {
        s.deliveries().await.iter().any(|d| {
            d["event_type"] == "account.updated"
                && d["result"] == "ignored"
                && d["detail"].as_str().unwrap().contains("ready")
        })
    })
    .await;
    let (_, ready) = s.get(&format!("/api/connect/{account}")).await;
    assert_eq!(ready["onboarded"], true, "{ready}");
    assert_eq!(ready["transfers_enabled"], true, "{ready}");
    assert_eq!(ready["resident"], "carlos", "{ready}");
    assert_eq!(ready["bank"]["last4"], "6789", "{ready}");

    // Bound by Carlos (the demo's custody signs): in force at once.
    let (status, bound) = s
        .post(
            "/api/payout-account",
            json!({"resident": "carlos", "account": account}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{bound}");
    assert_eq!(bound["pending"], false, "{bound}");
    assert!(
        bound["message"].as_str().unwrap().contains("••6789"),
        "{bound}"
    );
    assert_eq!(s.resident("carlos").await.payout_account, account);
    let (_, page) = s.get("/api/residents/carlos").await;
    assert_eq!(page["payout_account"], json!(account), "{page}");

    // "Update payout details" reopens the bound account, not another.
    let (status, again) = s.post("/api/connect", json!({"resident": "carlos"})).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["account"], json!(account));

    // A second account of Carlos's: the change waits for the grid's payout notice.
    let processor = Processor::new(&s.sandbox.url(), API_KEY);
    let second = processor
        .create_account(
            &NewAccount {
                country: "US".into(),
                email: None,
                metadata: BTreeMap::from([
                    ("grid".to_string(), GRID.to_string()),
                    ("resident".to_string(), "carlos".to_string()),
                ]),
            },
            "carlos-second",
        )
        .await
        .unwrap();
    let link = processor
        .create_account_link(&second.id, &format!("{}/", s.base), &format!("{}/", s.base))
        .await
        .unwrap();
    s.complete_onboarding(&link.url).await;
    let (status, pending) = s
        .post(
            "/api/payout-account",
            json!({"resident": "carlos", "account": second.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{pending}");
    assert_eq!(pending["pending"], true, "{pending}");
    let notice = energy_utility_app::demo::DEMO_PAYMENT_RULES.payout_notice_seconds;
    assert!(
        pending["message"]
            .as_str()
            .unwrap()
            .contains(&format_duration(notice)),
        "{pending}"
    );
    let now = s.chain.cluster_time().await.unwrap();
    let (_, page) = s.get("/api/residents/carlos").await;
    assert_eq!(page["payout_account"], json!(account), "{page}");
    assert_eq!(page["pending_payout_account"], json!(second.id), "{page}");
    let at = page["payout_change_ts"].as_i64().unwrap();
    assert!(
        (now + notice as i64 - 5..=now + notice as i64).contains(&at),
        "{page}"
    );

    // Carlos did not ask for it: he cancels, and his sales stay paid where they were.
    let (status, cancelled) = s
        .post("/api/payout-account/cancel", json!({"resident": "carlos"}))
        .await;
    assert_eq!(status, StatusCode::OK, "{cancelled}");
    let carlos = s.resident("carlos").await;
    assert_eq!(carlos.payout_account, account);
    assert!(carlos.pending_payout_account.is_empty());
    let (status, nothing) = s
        .post("/api/payout-account/cancel", json!({"resident": "carlos"}))
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{nothing}");

    // Asked again and left alone, the change applies once the notice has passed.
    let (status, _) = s
        .post(
            "/api/payout-account",
            json!({"resident": "carlos", "account": second.id}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    s.chain.advance_clock(notice as i64).await.unwrap();
    let (_, page) = s
        .get_when("/api/residents/carlos", |p| {
            p["payout_account"] == json!(second.id)
        })
        .await;
    assert_eq!(page["payout_account"], json!(second.id), "{page}");
}

#[tokio::test]
async fn nobody_binds_an_account_opened_for_someone_else_and_nothing_changes() {
    let s = service("foreign-account").await;
    let carlos = s.onboard("carlos").await;
    // Danny (the demo signs for him) tries Carlos's account: refused, not opened for Danny.
    let (status, refused) = s
        .post(
            "/api/payout-account",
            json!({"resident": "danny", "account": carlos}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert!(s.resident("danny").await.payout_account.is_empty());

    // An account another product opened on the same processor: not this grid's.
    let processor = Processor::new(&s.sandbox.url(), API_KEY);
    let other = processor
        .create_account(
            &NewAccount {
                country: "US".into(),
                email: None,
                metadata: BTreeMap::new(),
            },
            "other-product",
        )
        .await
        .unwrap();
    let (status, _) = s
        .post(
            "/api/payout-account",
            json!({"resident": "danny", "account": other.id}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = s.get(&format!("/api/connect/{}", other.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // Not an account id at all, or one the processor does not know.
    for bad in ["000123456789", "acct_doesnotexist"] {
        let (status, answer) = s
            .post(
                "/api/payout-account",
                json!({"resident": "danny", "account": bad}),
            )
            .await;
        assert!(
            status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND,
            "{bad}: {status} {answer}"
        );
    }
    // Continuing someone else's onboarding is refused as well.
    let (status, _) = s
        .post(
            "/api/connect",
            json!({"resident": "danny", "account": carlos}),
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(s.resident("danny").await.payout_account.is_empty());
}
