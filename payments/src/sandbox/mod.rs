//! The test-mode processor: an HTTP server that speaks Stripe's API, hosts Checkout pages that take
//! Stripe's test cards (one of them disputed after paying), refunds and disputes charges, opens
//! Express connected accounts with a hosted onboarding page, transfers to them and reverses
//! transfers, settles payouts to Stripe's test bank accounts and delivers signed webhooks.
//! Pointing the utility at real Stripe instead is a change of URL and keys, not of code.

mod api;
mod calendar;
mod card;
mod dashboard;
mod hosted;
mod html;
mod onboarding;
mod store;
mod tasks;
mod webhooks;

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use anyhow::Context as _;
use axum::routing::get;
use axum::Router;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::wire::{Account, Charge, CheckoutSession, Dispute, Event, Payout, Refund, Transfer};

pub use api::charges::{DISPUTE_LOSING_EVIDENCE, DISPUTE_WINNING_EVIDENCE};
pub use api::payouts::{TEST_ACCOUNT_CLOSED, TEST_ACCOUNT_NO_ACCOUNT, TEST_ACCOUNT_PAID};
pub use card::{TEST_CARD_DECLINED, TEST_CARD_DISPUTED, TEST_CARD_SUCCEEDS};
pub use onboarding::TEST_ROUTING_NUMBER;

use store::Store;
use tasks::Tasks;

/// Stripe's retry schedule, compressed from days into minutes.
const DEFAULT_RETRY_DELAYS_SECS: [u64; 9] = [1, 2, 4, 8, 16, 30, 60, 120, 300];

/// Stripe keeps an idempotency key for (at least) 24 hours.
const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(24 * 3600);

/// Stripe's account links expire after a few minutes.
const DEFAULT_ACCOUNT_LINK_LIFETIME: Duration = Duration::from_secs(300);

/// How the sandbox listens, authenticates and delivers.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Where to listen; `127.0.0.1:0` picks a free port.
    pub bind: SocketAddr,
    /// The API key clients must send as `Authorization: Bearer …`, e.g. `"sk_test_sandbox"`.
    pub secret_key: String,
    /// Where events are POSTed; `None` records them without sending.
    pub webhook_url: Option<String>,
    /// The `whsec_…` secret that signs deliveries, shared with the receiver.
    pub webhook_secret: String,
    /// The waits between delivery attempts; after the last one the event is given up on.
    pub retry_delays: Vec<Duration>,
    /// How long a payout stays pending before it is paid or fails; also how long after its
    /// payment Stripe's dispute test card is disputed, and a submitted dispute is decided.
    pub payout_delay: Duration,
    /// How long an `Idempotency-Key` is remembered: Stripe prunes keys once they are at least
    /// 24 hours old, and a request repeated after that is carried out anew.
    pub idempotency_ttl: Duration,
    /// How long an account onboarding link can be opened; after that (or once used) it sends its
    /// visitor to its `refresh_url`.
    pub account_link_lifetime: Duration,
}

impl SandboxConfig {
    /// A configuration with the default retry schedule (1 s … 300 s), a 2 s payout delay (also
    /// how long a test card's dispute and a submitted dispute's decision take), idempotency keys
    /// kept for 24 hours and account links valid for 5 minutes.
    pub fn new(
        bind: SocketAddr,
        secret_key: impl Into<String>,
        webhook_url: Option<String>,
        webhook_secret: impl Into<String>,
    ) -> Self {
        Self {
            bind,
            secret_key: secret_key.into(),
            webhook_url,
            webhook_secret: webhook_secret.into(),
            retry_delays: DEFAULT_RETRY_DELAYS_SECS
                .iter()
                .map(|secs| Duration::from_secs(*secs))
                .collect(),
            payout_delay: Duration::from_secs(2),
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
            account_link_lifetime: DEFAULT_ACCOUNT_LINK_LIFETIME,
        }
    }
}

/// One attempt to deliver an event to the webhook URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The event delivered.
    pub event_id: String,
    /// The event's type, e.g. `"payout.paid"`.
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// Unix seconds when the attempt was made (the signature's timestamp).
    pub at: i64,
    /// The receiver's HTTP status; `None` when it could not be reached.
    pub status: Option<u16>,
    /// The first 300 characters of the response body, or the connection error.
    pub response: String,
    /// Whether the receiver answered 2xx.
    pub succeeded: bool,
}

/// A running sandbox processor.
pub struct Sandbox {
    app: Arc<App>,
    stop: oneshot::Sender<()>,
    server: JoinHandle<std::io::Result<()>>,
}

/// What every handler and background task of one sandbox shares.
pub(crate) struct App {
    /// The sandbox's own base URL, used in hosted-page links.
    url: String,
    config: SandboxConfig,
    store: Mutex<Store>,
    tasks: Tasks,
    /// The webhook sender, with its 10 s per-attempt timeout.
    http: reqwest::Client,
}

impl App {
    /// The sandbox's records. A panic elsewhere cannot leave them half-written (every change is a
    /// single push or field update), so a poisoned lock is still safe to use.
    fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Starts a sandbox and returns once it is listening.
pub async fn start(config: SandboxConfig) -> anyhow::Result<Sandbox> {
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("cannot listen on {}", config.bind))?;
    let url = format!("http://{}", reachable(listener.local_addr()?));
    let http = reqwest::Client::builder()
        .timeout(webhooks::ATTEMPT_TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("cannot build the webhook HTTP client")?;
    let app = Arc::new(App {
        url,
        config,
        store: Mutex::new(Store::default()),
        tasks: Tasks::default(),
        http,
    });
    let router = Router::new()
        .route("/", get(dashboard::show))
        .merge(dashboard::routes())
        .merge(hosted::routes())
        .merge(onboarding::routes())
        .merge(api::routes())
        .with_state(app.clone());
    let (stop, stopped) = oneshot::channel::<()>();
    // Timeouts and a connection cap, as any server facing clients it does not control.
    let server = tokio::spawn(energy_utility_serve::serve(
        listener,
        router,
        energy_utility_serve::Limits::default(),
        async {
            let _ = stopped.await;
        },
    ));
    Ok(Sandbox { app, stop, server })
}

impl Sandbox {
    /// The base URL, e.g. `http://127.0.0.1:41234`: the API base for a client and the dashboard.
    pub fn url(&self) -> String {
        self.app.url.clone()
    }

    /// Every event created so far, oldest first.
    pub fn events(&self) -> Vec<Event> {
        self.app.store().events.clone()
    }

    /// Every Checkout Session created so far, as it is now, oldest first.
    pub fn checkout_sessions(&self) -> Vec<CheckoutSession> {
        let store = self.app.store();
        store
            .sessions
            .iter()
            .map(|hosted| hosted.session.clone())
            .collect()
    }

    /// Every payout created so far, as it is now, oldest first.
    pub fn payouts(&self) -> Vec<Payout> {
        self.app.store().payouts.clone()
    }

    /// Every charge (one per paid checkout), as it is now, oldest first.
    pub fn charges(&self) -> Vec<Charge> {
        self.app.store().charges.clone()
    }

    /// Every refund, oldest first.
    pub fn refunds(&self) -> Vec<Refund> {
        self.app.store().refunds.clone()
    }

    /// Every dispute, as it is now, oldest first.
    pub fn disputes(&self) -> Vec<Dispute> {
        self.app.store().disputes.clone()
    }

    /// Every connected account, as it is now, oldest first.
    pub fn accounts(&self) -> Vec<Account> {
        self.app.store().accounts.clone()
    }

    /// Every transfer, as it is now, oldest first.
    pub fn transfers(&self) -> Vec<Transfer> {
        self.app.store().transfers.clone()
    }

    /// Every webhook delivery attempt so far, oldest first.
    pub fn deliveries(&self) -> Vec<DeliveryRecord> {
        self.app.store().deliveries.clone()
    }

    /// Stops serving, lets requests in flight finish, and abandons pending payouts and retries.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        let served = self.server.await.context("the sandbox server task failed");
        self.app.tasks.close();
        served?.context("the sandbox server failed")
    }
}

/// A listening address turned into one a browser on this machine can open.
fn reachable(addr: SocketAddr) -> SocketAddr {
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
        }
        IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
        }
        _ => addr,
    }
}
