//! What the app's HTTP tests share: a real local cluster seeded with the demo community, the
//! real sandbox processor, and the app serving both over HTTP, with helpers to post, deliver
//! signed events, read the chain and wait.
#![allow(dead_code)]

pub mod faults;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use anchor_spl::token::Mint;
use energy_utility_app::payments::{PaymentsConfig, WEBHOOK_PATH};
use energy_utility_app::{demo, App, Custody, Payments};
use energy_utility_localnet::{start, Localnet, LocalnetConfig};
use energy_utility_payments::sandbox::{self, Sandbox, SandboxConfig};
use energy_utility_payments::signature;
use energy_utility_sdk::accounts::{Receipt, Resident, Sale, SaleStatus};
use energy_utility_sdk::{pda, Client};
use reqwest::StatusCode;
use serde_json::{json, Value};
use solana_keypair::Keypair;

pub const GRID: &str = "demo";
pub const API_KEY: &str = "sk_test_payments";
/// What the operator shows to read the delivery log in serve mode.
pub const OPERATOR_TOKEN: &str = "operator-token-for-tests";

/// How the app under test is set up.
#[derive(Clone, Copy)]
pub struct Setup {
    /// The demo's custody: the server signs for residents. Without it, as `deu serve`, every
    /// resident signs with their own wallet.
    pub custody: bool,
    /// How long a sandbox payout stays pending.
    pub payout_delay: Duration,
    /// How long the sandbox remembers an idempotency key (Stripe: 24 hours).
    pub idempotency_ttl: Duration,
    /// The payment service reaches the sandbox through a fault injector ([`Service::faults`]).
    pub faults: bool,
    /// The sandbox delivers its events to the service's webhook (off: recorded only, as if
    /// every delivery were lost).
    pub webhooks: bool,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            custody: true,
            payout_delay: Duration::from_millis(300),
            idempotency_ttl: Duration::from_secs(24 * 3600),
            faults: false,
            webhooks: true,
        }
    }
}

pub struct Service {
    pub net: Option<Localnet>,
    pub ledger: PathBuf,
    pub rpc: SocketAddr,
    pub base: String,
    pub http: reqwest::Client,
    pub sandbox: Sandbox,
    /// The fault injector the service reaches the sandbox through, with [`Setup::faults`].
    pub faults: Option<faults::Faults>,
    pub secret: String,
    pub chain: Client,
    pub grid: Pubkey,
    /// Every demo key (the utility's, residents', gateways'), whether the server holds them or not.
    pub keys: Custody,
    /// Whether the server holds the residents' keys (the demo) or they sign themselves.
    pub custody: bool,
}

pub async fn service(name: &str) -> Service {
    service_with(name, Setup::default()).await
}

/// The first form of an HTML page: its action and its inputs' names and values (what a browser
/// submits without typing).
pub fn form_of(html: &str) -> (String, Vec<(String, String)>) {
    let attr = |tag: &str, name: &str| -> Option<String> {
        let key = format!("{name}=\"");
        let start = tag.find(&key)? + key.len();
        let end = tag[start..].find('"')? + start;
        Some(
            tag[start..end]
                .replace("&amp;", "&")
                .replace("&quot;", "\"")
                .replace("&#39;", "'"),
        )
    };
    let form_at = html.find("<form").expect("a form");
    let form_end = html[form_at..].find("</form>").expect("the form's end") + form_at;
    let form_tag_end = html[form_at..].find('>').unwrap() + form_at;
    let action = attr(&html[form_at..form_tag_end], "action").unwrap_or_default();
    let mut fields = Vec::new();
    let mut rest = &html[form_at..form_end];
    while let Some(at) = rest.find("<input") {
        let end = rest[at..].find('>').unwrap() + at;
        let tag = &rest[at..end];
        if let Some(name) = attr(tag, "name") {
            let kind = attr(tag, "type").unwrap_or_default();
            if kind != "checkbox" || tag.contains(" checked") {
                fields.push((name, attr(tag, "value").unwrap_or_default()));
            }
        }
        rest = &rest[end..];
    }
    (action, fields)
}

/// A fresh local cluster on its own ledger folder (named after the test).
pub async fn cluster(name: &str) -> (Localnet, PathBuf) {
    let ledger = std::env::temp_dir().join(format!("deu-app-{name}-{}", std::process::id()));
    let net = start(LocalnetConfig::new(
        ledger.clone(),
        true,
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
    ))
    .await
    .expect("start the cluster");
    (net, ledger)
}

/// Sends an HTTP request to the app and reads its answer: the status and the JSON body (null
/// when the body is not JSON).
pub async fn answer(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn service_with(name: &str, setup: Setup) -> Service {
    let (net, ledger) = cluster(&format!("pay-{name}")).await;
    let rpc_url = net.rpc_url();
    let rpc: SocketAddr = rpc_url
        .trim_start_matches("http://")
        .parse()
        .expect("the cluster's address");
    let client = Client::new(&rpc_url, Keypair::new());
    let custody = demo::seed(&client, GRID).await.expect("seed the community");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let secret = format!("whsec_{name}_secret");
    let mut config = SandboxConfig::new(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
        API_KEY,
        setup.webhooks.then(|| format!("{base}{WEBHOOK_PATH}")),
        secret.clone(),
    );
    config.retry_delays = vec![Duration::from_millis(250); 80];
    config.payout_delay = setup.payout_delay;
    config.idempotency_ttl = setup.idempotency_ttl;
    let sandbox = sandbox::start(config).await.expect("start the sandbox");
    let faults = match setup.faults {
        true => Some(faults::Faults::start(&sandbox.url()).await),
        false => None,
    };
    let payments = Payments::connect(
        PaymentsConfig {
            webhook_secret: secret.clone(),
            processor_url: faults
                .as_ref()
                .map_or_else(|| sandbox.url(), |f| f.url.clone()),
            processor_key: API_KEY.into(),
            oracle: custody.utility.insecure_clone(),
            public_url: base.clone(),
            coin_price_cents: None,
            delivery_log: None,
            operator_token: Some(OPERATOR_TOKEN.into()),
        },
        &rpc_url,
        GRID,
    )
    .await
    .expect("connect the payment service");
    let keys = Custody {
        utility: custody.utility.insecure_clone(),
        residents: custody
            .residents
            .iter()
            .map(|(id, k)| (id.clone(), k.insecure_clone()))
            .collect(),
        gateways: custody
            .gateways
            .iter()
            .map(|(id, k)| (id.clone(), k.insecure_clone()))
            .collect(),
    };
    let app = App::new(
        client,
        GRID,
        setup.custody.then_some(custody),
        Some(payments),
    );
    tokio::spawn(energy_utility_app::serve(app, listener));
    let chain = Client::new(&rpc_url, Keypair::new());
    let (grid, _) = chain.grid(GRID).await.unwrap();
    Service {
        net: Some(net),
        ledger,
        rpc,
        base,
        http: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap(),
        sandbox,
        faults,
        secret,
        chain,
        grid,
        keys,
        custody: setup.custody,
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// The PaymentIntent a test checkout event carries: its id with `pi_` for `evt_` (what the
/// purchase's receipt is named after).
pub fn payment_of(event_id: &str) -> String {
    format!("pi_{}", event_id.trim_start_matches("evt_"))
}

pub fn checkout_event(event_id: &str, resident: &str, amount_cents: i64) -> Value {
    json!({
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": now(),
        "livemode": false,
        "pending_webhooks": 1,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": format!("cs_test_{event_id}"),
            "object": "checkout.session",
            "amount_total": amount_cents,
            "currency": "usd",
            "client_reference_id": resident,
            "metadata": {"resident": resident, "grid": GRID},
            "mode": "payment",
            "payment_status": "paid",
            "payment_intent": payment_of(event_id),
            "status": "complete",
            "livemode": false,
            "created": now(),
        }},
    })
}

/// A transfer event as the processor would send it for a transfer this service made for
/// `sale` (`None`: a transfer that names no sale).
pub fn transfer_event(
    kind: &str,
    transfer_id: &str,
    resident: &str,
    amount_cents: i64,
    sale: Option<&Pubkey>,
) -> Value {
    let mut metadata = json!({"resident": resident, "grid": GRID});
    if let Some(sale) = sale {
        metadata["sale"] = json!(sale.to_string());
    }
    let reversed = kind == "transfer.reversed";
    json!({
        "id": format!("evt_{transfer_id}_{}", kind.len()),
        "object": "event",
        "created": now(),
        "livemode": false,
        "type": kind,
        "data": {"object": {
            "id": transfer_id,
            "object": "transfer",
            "amount": amount_cents,
            "amount_reversed": if reversed { amount_cents } else { 0 },
            "reversed": reversed,
            "currency": "usd",
            "metadata": metadata,
            "destination": "acct_test",
            "created": now(),
            "livemode": false,
        }},
    })
}

/// The same event delivered again as the processor resends it: the same id and body.
pub fn event_of(kind: &str, id: &str, object: Value) -> Value {
    json!({
        "id": id,
        "object": "event",
        "created": now(),
        "livemode": false,
        "type": kind,
        "data": {"object": object},
    })
}

impl Service {
    /// A client that signs as the demo resident `id` with their own wallet (serve mode: the
    /// server never holds it).
    pub fn wallet(&self, id: &str) -> Client {
        let key = self.keys.resident(id).expect("a demo resident");
        Client::new(&self.chain.rpc.url(), key.insecure_clone())
    }

    /// The utility's own client: the grid's admin and payment oracle.
    pub fn utility(&self) -> Client {
        Client::new(&self.chain.rpc.url(), self.keys.utility.insecure_clone())
    }

    /// The resident signs a sale of `units` with their own wallet (paid to the payout account
    /// they bound); returns the sale's number.
    pub async fn sign_sale(&self, id: &str, units: u64) -> u32 {
        let wallet = self.wallet(id);
        let (resident, state) = self.chain.resident(&self.grid, id).await.unwrap();
        let (_, grid) = self.chain.grid_at(&self.grid).await.unwrap();
        let sale = pda::sale(&resident, state.index, state.sale_count);
        let request = energy_utility_sdk::fiat::sale_request(units, grid.coin_price_cents)
            .expect("a sale's quote");
        let ix = energy_utility_sdk::instructions::request_withdrawal(
            &wallet.payer(),
            &wallet.payer(),
            &self.grid,
            &resident,
            &sale,
            request,
        );
        wallet
            .send(&[ix], &[])
            .await
            .expect("the resident signs the sale");
        state.sale_count
    }

    /// Sells `usd` dollars' worth of `id`'s coins through the API, as the page does (the
    /// demo's custody signs); returns the sale's number and the API's answer.
    pub async fn sell(&self, id: &str, usd: &str) -> (u32, Value) {
        let (status, sale) = self
            .post("/api/sell", json!({"resident": id, "usd": usd}))
            .await;
        assert_eq!(status, StatusCode::OK, "{sale}");
        (sale["sale"].as_u64().unwrap() as u32, sale)
    }

    /// `id` opens a connected account through `POST /api/connect` and finishes the sandbox's
    /// hosted onboarding with its prefilled test data; returns the account id.
    pub async fn onboard(&self, id: &str) -> String {
        let (status, link) = self.post("/api/connect", json!({"resident": id})).await;
        assert_eq!(status, StatusCode::OK, "{link}");
        let url = link["url"].as_str().expect("an onboarding link");
        assert!(url.starts_with(&self.sandbox.url()), "{url}");
        let back = self.complete_onboarding(url).await;
        assert!(
            back.starts_with(&format!(
                "{}/resident.html?id={id}&connect=return",
                self.base
            )),
            "{back}"
        );
        link["account"].as_str().unwrap().to_string()
    }

    /// Fills the hosted onboarding page at `url` with what it prefills and submits it; returns
    /// where the processor sends the holder back.
    pub async fn complete_onboarding(&self, url: &str) -> String {
        let page = self.http.get(url).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK, "the onboarding page");
        let html = page.text().await.unwrap();
        let (action, fields) = form_of(&html);
        let target = if action.starts_with("http") {
            action
        } else {
            format!("{}{action}", self.sandbox.url())
        };
        let done = self.http.post(&target).form(&fields).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::SEE_OTHER, "onboarding submitted");
        done.headers()["location"].to_str().unwrap().to_string()
    }

    /// `id` onboards and binds the account for their sales (the demo's custody signs through
    /// `POST /api/payout-account`, or in serve mode their own wallet); returns the account id.
    pub async fn get_paid(&self, id: &str) -> String {
        let account = self.onboard(id).await;
        if self.custody {
            let (status, bound) = self
                .post(
                    "/api/payout-account",
                    json!({"resident": id, "account": account}),
                )
                .await;
            assert_eq!(status, StatusCode::OK, "{bound}");
            assert_eq!(bound["pending"], false, "{bound}");
        } else {
            self.bind(id, &account).await;
        }
        account
    }

    /// Binds `account` for `id`'s sales, signed by `id`'s own key.
    pub async fn bind(&self, id: &str, account: &str) {
        let wallet = self.wallet(id);
        let resident = pda::resident(&self.grid, id);
        let ix = energy_utility_sdk::instructions::set_payout_account(
            &wallet.payer(),
            &self.grid,
            &resident,
            account,
        );
        wallet.send(&[ix], &[]).await.expect("the resident binds");
    }

    /// Waits until sale `number` of `id` is in `status`.
    pub async fn until_sale(&self, what: &str, id: &str, number: u32, status: SaleStatus) {
        self.until(what, || async {
            self.sale(id, number).await.unwrap().status == status
        })
        .await;
    }

    pub async fn sale(&self, id: &str, number: u32) -> Option<Sale> {
        let address = self.sale_address(id, number).await;
        self.chain.account(&address).await.unwrap()
    }

    pub async fn sale_address(&self, id: &str, number: u32) -> Pubkey {
        let (resident, state) = self.chain.resident(&self.grid, id).await.unwrap();
        pda::sale(&resident, state.index, number)
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        answer(self.http.get(format!("{}{path}", self.base))).await
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        answer(self.http.post(format!("{}{path}", self.base)).json(&body)).await
    }

    /// GETs `path` until `ready` holds of the answer (a change made behind the server's back,
    /// like the clock moved straight on the cluster, reaches its index within a second or
    /// two), up to 5 s; then the last answer, for the caller's assertion to show.
    pub async fn get_when(
        &self,
        path: &str,
        ready: impl Fn(&Value) -> bool,
    ) -> (StatusCode, Value) {
        let mut last = self.get(path).await;
        for _ in 0..50 {
            if ready(&last.1) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            last = self.get(path).await;
        }
        last
    }

    /// Delivers raw bytes with a given signature header (or none).
    pub async fn deliver_raw(&self, body: Vec<u8>, header: Option<String>) -> (StatusCode, Value) {
        let mut request = self
            .http
            .post(format!("{}{WEBHOOK_PATH}", self.base))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(header) = header {
            request = request.header(signature::HEADER, header);
        }
        answer(request).await
    }

    /// Delivers an event signed as the processor signs it, `age_secs` ago.
    pub async fn deliver(&self, event: &Value, age_secs: i64) -> (StatusCode, Value) {
        let body = serde_json::to_vec(event).unwrap();
        let header = signature::sign(&self.secret, now() - age_secs, &body);
        self.deliver_raw(body, Some(header)).await
    }

    pub async fn resident(&self, id: &str) -> Resident {
        self.chain.resident(&self.grid, id).await.unwrap().1
    }

    pub async fn coins(&self, id: &str) -> u64 {
        let address = pda::resident(&self.grid, id);
        self.chain
            .token_amount(&pda::coins(&address))
            .await
            .unwrap()
    }

    pub async fn supply(&self) -> u64 {
        let mint: Mint = self
            .chain
            .account(&pda::mint(&self.grid))
            .await
            .unwrap()
            .expect("the mint");
        mint.supply
    }

    pub async fn receipt(&self, id: &str) -> Option<Receipt> {
        self.chain
            .account(&pda::receipt(&self.grid, id))
            .await
            .unwrap()
    }

    pub async fn price_cents(&self) -> u64 {
        self.chain.grid(GRID).await.unwrap().1.coin_price_cents
    }

    /// The operator's delivery log (`GET /api/payments/deliveries`).
    async fn delivery_log(&self) -> Value {
        let response = self
            .http
            .get(format!("{}/api/payments/deliveries", self.base))
            .bearer_auth(OPERATOR_TOKEN)
            .send()
            .await
            .unwrap();
        response.json().await.unwrap()
    }

    pub async fn deliveries(&self) -> Vec<Value> {
        let body = self.delivery_log().await;
        body["deliveries"].as_array().cloned().unwrap_or_default()
    }

    /// How many deliveries without a valid signature were refused (counted, not kept).
    pub async fn unauthenticated_deliveries(&self) -> u64 {
        self.delivery_log().await["unauthenticated"]
            .as_u64()
            .unwrap()
    }

    /// Waits until `check` holds, or fails naming `what`.
    pub async fn until<F, Fut>(&self, what: &str, mut check: F)
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = bool>,
    {
        for _ in 0..150 {
            if check().await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!(
            "timed out waiting for {what}; sandbox deliveries: {:?}",
            self.sandbox.deliveries()
        );
    }

    /// `id` buys `usd` dollars of coins on the hosted checkout with `card` and waits until the
    /// purchase is minted; returns its payment id (the PaymentIntent).
    pub async fn buy_by_card(&self, id: &str, usd: &str, card: &str) -> String {
        let (status, order) = self
            .post("/api/buy", json!({"resident": id, "usd": usd}))
            .await;
        assert_eq!(status, StatusCode::OK, "{order}");
        let session = order["session_id"].as_str().unwrap().to_string();
        let paid = self
            .pay(order["checkout_url"].as_str().unwrap(), card)
            .await;
        assert_eq!(paid.status(), StatusCode::SEE_OTHER, "the card is charged");
        let payment = self
            .sandbox
            .checkout_sessions()
            .into_iter()
            .find(|c| c.id == session)
            .and_then(|c| c.payment_intent)
            .expect("a paid session names its PaymentIntent");
        self.until("the purchase minted", || async {
            self.receipt(&payment).await.is_some()
        })
        .await;
        payment
    }

    /// Pays a hosted checkout page with a card, as the browser's form does.
    pub async fn pay(&self, checkout_url: &str, card: &str) -> reqwest::Response {
        self.http
            .post(checkout_url)
            .form(&[
                ("card_number", card),
                ("card_expiry", "12 / 34"),
                ("card_cvc", "123"),
            ])
            .send()
            .await
            .unwrap()
    }
}

/// The demo community served on a free port: its cluster and the app's base URL.
pub async fn demo_served(name: &str) -> (Localnet, String) {
    let (net, _) = cluster(name).await;
    let client = energy_utility_sdk::Client::new(&net.rpc_url(), solana_keypair::Keypair::new());
    let custody = energy_utility_app::demo::seed(&client, "demo")
        .await
        .expect("seed");
    let app = energy_utility_app::App::new(client, "demo", Some(custody), None);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(energy_utility_app::serve(app, listener));
    (net, base)
}
