//! The grid in memory: what `deu serve` answers the pages and the API from, so that a page
//! view costs the cluster nothing however many meters the grid has.
//!
//! The index follows the chain; it never decides anything. At start (and after any
//! reconnect) it loads the grid's accounts with three `getProgramAccounts` calls (the
//! program's accounts naming the grid, the coin accounts of its mint, sliced to their amount)
//! and the grid's own account; from then on one websocket keeps it current
//! (`programSubscribe` for both programs, `accountSubscribe` for the grid, `slotSubscribe`
//! for the barrier below), and a full reload every [`RECONCILE_EVERY`] catches what
//! subscriptions do not tell (closed accounts) or lost. Each account keeps the slot it was
//! seen at, and an older sight never replaces a newer one, so a reload racing a notification
//! keeps the newer state. The cluster's clock is read once a second.
//!
//! Several servers behind a load balancer each keep their own index from the chain: nothing
//! here is shared or saved. An answer reflects the chain as the subscription told it (within
//! milliseconds); after this server's own writes, [`Index::catch_up`] waits until the index
//! has heard a slot past the one the cluster answered after the write, so a page reloaded
//! after an action shows it.

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use anchor_lang::prelude::Pubkey;
use anchor_lang::{AccountDeserialize, Discriminator};
use base64::{prelude::BASE64_STANDARD, Engine};
use energy_utility_sdk::accounts::{Epoch, Grid, Meter, Resident, Sale};
use energy_utility_sdk::{pda, Client};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use solana_rpc_client_api::request::RpcRequest;
use tokio::sync::watch;

/// How often the whole grid is read again (closed accounts, anything a subscription missed).
pub const RECONCILE_EVERY: Duration = Duration::from_secs(300);
/// How often the cluster's clock is read.
const CLOCK_EVERY: Duration = Duration::from_secs(1);
/// How long [`Index::catch_up`] waits for the subscription before answering from what it has.
const CATCH_UP_WITHIN: Duration = Duration::from_secs(3);
/// An index that has heard nothing from the cluster for this long answers no page: what it
/// holds may no longer be true.
const STALE_AFTER: Duration = Duration::from_secs(3);
/// The longest pause between attempts to reconnect the subscription.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// SPL Token account layout: the mint at 0, the amount at 64, 165 bytes in all.
const TOKEN_ACCOUNT_LEN: u64 = 165;
const TOKEN_AMOUNT_AT: usize = 64;

/// An account as last seen, with the slot it was seen at.
#[derive(Clone)]
struct Seen<T> {
    slot: u64,
    value: T,
}

/// Everything the index holds, behind one lock.
#[derive(Default)]
struct Book {
    grid: Option<Seen<Grid>>,
    meters: HashMap<Pubkey, Seen<Meter>>,
    residents: HashMap<Pubkey, Seen<Resident>>,
    sales: HashMap<Pubkey, Seen<Sale>>,
    epochs: HashMap<u64, (Pubkey, Seen<Epoch>)>,
    /// Coin amounts of the grid's token accounts (residents', the pool, the treasury).
    coins: HashMap<Pubkey, Seen<u64>>,
    /// Meters by owner, sales by resident: kept as accounts come and go.
    owned: HashMap<Pubkey, BTreeSet<Pubkey>>,
    sales_of: HashMap<Pubkey, BTreeSet<Pubkey>>,
    /// Meters with something coming (a proposed change, a producer not earning yet).
    notable: BTreeSet<Pubkey>,
    /// When each address last changed (`version` at the time): what cached histories check.
    touched: HashMap<Pubkey, u64>,
    /// Residents whose counters say fewer sales or meters than the index holds: one was
    /// closed (which no subscription tells), to be checked on the cluster.
    suspects: BTreeSet<Pubkey>,
    /// Bumped by every `touch` (what `touched` stamps); `membership` only when an account
    /// comes, goes or moves on the map (what the ordered lists and map positions depend on).
    version: u64,
    membership: u64,
}

/// Ordered lists and map positions, rebuilt only when membership changes.
pub struct Directory {
    membership: u64,
    /// Meters in registration order, with their map position (0..1 each way).
    pub meters: Vec<(Pubkey, (f64, f64))>,
    /// Residents in registration order.
    pub residents: Vec<Pubkey>,
}

/// What the index did, for `/metrics` and the benchmark.
#[derive(Default)]
pub struct Stats {
    pub loads: AtomicU64,
    pub notifications: AtomicU64,
    pub reconnects: AtomicU64,
    /// JSON-RPC requests the index made (loads, clock reads, catch-ups, checks of closures).
    pub requests: AtomicU64,
    pub last_load_ms: AtomicU64,
}

pub struct Index {
    pub grid: Pubkey,
    mint: Pubkey,
    book: RwLock<Book>,
    directory: Mutex<Option<Arc<Directory>>>,
    /// The highest slot the subscription has told of.
    slot: watch::Sender<u64>,
    /// The cluster's unix time, read every second.
    clock: AtomicI64,
    /// Loaded at least once (pages can be answered).
    loaded: watch::Sender<bool>,
    /// The subscription is open and acknowledged.
    following: AtomicBool,
    /// When the cluster last answered the index (a clock read, a load, a notification),
    /// since `started`.
    contact_ms: AtomicU64,
    /// A full read is in flight: the cluster is busy answering it (a local cluster answers
    /// nothing else meanwhile), which is no sign of it being gone.
    loading: AtomicBool,
    started: Instant,
    pub stats: Stats,
}

/// A read of the index: the book under its read lock and the clock.
pub struct View<'a> {
    book: std::sync::RwLockReadGuard<'a, Book>,
    pub now: i64,
}

impl Index {
    pub fn new(grid: Pubkey) -> Arc<Self> {
        Arc::new(Self {
            grid,
            mint: pda::mint(&grid),
            book: RwLock::new(Book::default()),
            directory: Mutex::new(None),
            slot: watch::channel(0).0,
            clock: AtomicI64::new(0),
            loaded: watch::channel(false).0,
            following: AtomicBool::new(false),
            contact_ms: AtomicU64::new(0),
            loading: AtomicBool::new(false),
            started: Instant::now(),
            stats: Stats::default(),
        })
    }

    /// Starts following the chain: loads the grid, subscribes at `ws_url`, reads the clock
    /// every second, reloads every [`RECONCILE_EVERY`]. Returns at once; `ready` says when
    /// the first load is in.
    pub fn start(self: &Arc<Self>, rpc_url: &str, ws_url: &str) {
        let client = Arc::new(Client::new(rpc_url, solana_keypair::Keypair::new()));
        tokio::spawn(follow(self.clone(), client.clone(), ws_url.to_string()));
        let index = self.clone();
        let clock_client = client.clone();
        tokio::spawn(async move {
            loop {
                index.read_clock(&clock_client).await;
                tokio::time::sleep(CLOCK_EVERY).await;
            }
        });
        let index = self.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(RECONCILE_EVERY).await;
                if let Err(e) = index.load(&client).await {
                    tracing::warn!(error = %e, "the index could not reload the grid");
                }
            }
        });
    }

    /// What the index holds, in bytes, by its own count: each map's slots at their capacity
    /// (keys, values and hashbrown's control byte), the heap of ids, labels and payout
    /// accounts, the ordered sets at 40 bytes an entry, and the directory. The allocator's
    /// own overhead is not counted.
    pub fn footprint_bytes(&self) -> usize {
        use std::mem::size_of;
        fn slots<K, V>(map: &HashMap<K, V>) -> usize {
            map.capacity() * (size_of::<K>() + size_of::<V>() + 1)
        }
        const SET_ENTRY: usize = 40;
        let view = self.view();
        let book = &view.book;
        let strings = book
            .meters
            .values()
            .map(|m| m.value.id.capacity() + m.value.label.capacity())
            .sum::<usize>()
            + book
                .residents
                .values()
                .map(|r| {
                    r.value.id.capacity()
                        + r.value.payout_account.capacity()
                        + r.value.pending_payout_account.capacity()
                })
                .sum::<usize>()
            + book
                .sales
                .values()
                .map(|s| s.value.destination.capacity() + s.value.payout_id.capacity())
                .sum::<usize>();
        let sets = |sets: &HashMap<Pubkey, BTreeSet<Pubkey>>| {
            slots(sets) + sets.values().map(|s| s.len() * SET_ENTRY).sum::<usize>()
        };
        let directory = self
            .directory
            .lock()
            .ok()
            .and_then(|d| {
                d.as_ref().map(|d| {
                    d.meters.capacity() * size_of::<(Pubkey, (f64, f64))>()
                        + d.residents.capacity() * size_of::<Pubkey>()
                })
            })
            .unwrap_or(0);
        slots(&book.meters)
            + slots(&book.residents)
            + slots(&book.sales)
            + slots(&book.epochs)
            + slots(&book.coins)
            + slots(&book.touched)
            + sets(&book.owned)
            + sets(&book.sales_of)
            + (book.notable.len() + book.suspects.len()) * SET_ENTRY
            + strings
            + directory
    }

    /// Loaded once and answering.
    pub fn ready(&self) -> bool {
        *self.loaded.borrow()
    }

    /// Loaded, and the cluster answered within [`STALE_AFTER`]: what it holds is current.
    pub fn fresh(&self) -> bool {
        let since = self.started.elapsed().as_millis() as u64;
        self.ready()
            && (self.loading.load(Ordering::Relaxed)
                || since.saturating_sub(self.contact_ms.load(Ordering::Relaxed))
                    <= STALE_AFTER.as_millis() as u64)
    }

    fn heard_from_cluster(&self) {
        self.contact_ms
            .store(self.started.elapsed().as_millis() as u64, Ordering::Relaxed);
    }

    /// Whether the subscription is open now.
    pub fn following(&self) -> bool {
        self.following.load(Ordering::Relaxed)
    }

    /// Waits for the first load (at most `within`).
    pub async fn wait_ready(&self, within: Duration) -> bool {
        let mut loaded = self.loaded.subscribe();
        let waited = tokio::time::timeout(within, loaded.wait_for(|l| *l)).await;
        waited.is_ok()
    }

    async fn read_clock(&self, client: &Client) {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        match client.cluster_time().await {
            Ok(now) => {
                self.clock.fetch_max(now, Ordering::Relaxed);
                self.heard_from_cluster();
            }
            Err(e) => tracing::debug!(error = %e, "the index could not read the clock"),
        }
    }

    /// After this server's own write: waits until the index has heard of a slot past the one
    /// the cluster is at now (so the write, confirmed before, is in), and reads the clock
    /// again (the demo moves it). Answers from what it has after [`CATCH_UP_WITHIN`].
    pub async fn catch_up(&self, client: &Client) {
        self.read_clock(client).await;
        if !self.following() {
            // Without a subscription, a write is seen by reading the grid again.
            if let Err(e) = self.load(client).await {
                tracing::warn!(error = %e, "the index could not reload the grid");
            }
            return;
        }
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let Ok(now) = client.rpc.get_slot().await else {
            return;
        };
        let mut heard = self.slot.subscribe();
        if tokio::time::timeout(CATCH_UP_WITHIN, heard.wait_for(|s| *s > now))
            .await
            .is_err()
        {
            tracing::warn!(slot = now, "the index did not hear of a newer slot in time");
        }
    }

    /// Reads the whole grid and merges it in (newer sights win; an account the reload no
    /// longer finds, last seen before it, is gone).
    pub async fn load(&self, client: &Client) -> anyhow::Result<()> {
        self.loading.store(true, Ordering::Relaxed);
        let loaded = self.load_all(client).await;
        self.loading.store(false, Ordering::Relaxed);
        loaded
    }

    async fn load_all(&self, client: &Client) -> anyhow::Result<()> {
        let started = Instant::now();
        let grid_b58 = self.grid.to_string();
        let (program_slot, program) = self
            .program_accounts(
                client,
                &energy_utility_sdk::PROGRAM_ID,
                json!([{"memcmp": {"offset": 8, "bytes": grid_b58}}]),
                None,
            )
            .await?;
        let (coins_slot, coins) = self
            .program_accounts(
                client,
                &anchor_spl::token::ID,
                json!([
                    {"dataSize": TOKEN_ACCOUNT_LEN},
                    {"memcmp": {"offset": 0, "bytes": self.mint.to_string()}}
                ]),
                Some((TOKEN_AMOUNT_AT, 8)),
            )
            .await?;
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let grid_account = client
            .rpc
            .get_account_with_commitment(&self.grid, client.rpc.commitment())
            .await
            .map_err(|e| anyhow::anyhow!("read the grid: {e}"))?;
        let grid_slot = grid_account.context.slot;
        {
            let mut book = self.write();
            // No grid yet: the index answers "not found" until its account appears.
            if let Some(grid) = grid_account.value {
                book.put_grid(grid_slot, &grid.data);
            }
            let mut present = std::collections::HashSet::new();
            for (address, data) in &program {
                present.insert(*address);
                book.put_program_account(*address, program_slot, data);
            }
            book.forget_missing(program_slot, &present);
            let present: std::collections::HashSet<Pubkey> =
                coins.iter().map(|(a, _)| *a).collect();
            for (address, data) in &coins {
                book.put_coins(*address, coins_slot, data);
            }
            for address in missing(&book.coins, coins_slot, &present) {
                book.coins.remove(&address);
                book.touch(address, true);
            }
        }
        self.stats.loads.fetch_add(1, Ordering::Relaxed);
        self.heard_from_cluster();
        self.stats
            .last_load_ms
            .store(started.elapsed().as_millis() as u64, Ordering::Relaxed);
        self.slot.send_modify(|s| *s = (*s).max(program_slot));
        if !self.ready() {
            self.read_clock(client).await;
            self.loaded.send_replace(true);
        }
        Ok(())
    }

    /// `getProgramAccounts` with the context's slot: (slot, [(address, data)]).
    async fn program_accounts(
        &self,
        client: &Client,
        program: &Pubkey,
        filters: Value,
        slice: Option<(usize, usize)>,
    ) -> anyhow::Result<(u64, Vec<(Pubkey, Vec<u8>)>)> {
        self.stats.requests.fetch_add(1, Ordering::Relaxed);
        let mut config = json!({
            "encoding": "base64",
            "commitment": "confirmed",
            "withContext": true,
            "filters": filters,
        });
        if let Some((offset, length)) = slice {
            config["dataSlice"] = json!({"offset": offset, "length": length});
        }
        let answer: Value = client
            .rpc
            .send(
                RpcRequest::GetProgramAccounts,
                json!([program.to_string(), config]),
            )
            .await
            .map_err(|e| anyhow::anyhow!("list the accounts of {program}: {e}"))?;
        let slot = answer["context"]["slot"].as_u64().unwrap_or(0);
        let Some(items) = answer["value"].as_array() else {
            anyhow::bail!("the cluster's account list for {program} has no value");
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let (Some(address), Some(data)) = (
                item["pubkey"]
                    .as_str()
                    .and_then(|a| a.parse::<Pubkey>().ok()),
                data_of(&item["account"]),
            ) else {
                anyhow::bail!("the cluster listed an account this server cannot read");
            };
            out.push((address, data));
        }
        Ok((slot, out))
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Book> {
        self.book
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A read of the index as it is now.
    pub fn view(&self) -> View<'_> {
        View {
            book: self
                .book
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            now: self.clock.load(Ordering::Relaxed),
        }
    }

    /// Meters and residents in registration order, and the map positions; rebuilt only when
    /// one comes, goes or moves.
    pub fn directory(&self) -> Arc<Directory> {
        let view = self.view();
        let mut cached = self
            .directory
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(directory) = cached.as_ref() {
            if directory.membership == view.book.membership {
                return directory.clone();
            }
        }
        let mut meters: Vec<(&Pubkey, &Meter)> = view
            .book
            .meters
            .iter()
            .map(|(a, seen)| (a, &seen.value))
            .collect();
        meters.sort_by_key(|(a, m)| (m.index, **a));
        let positions = positions(meters.iter().map(|(_, m)| *m));
        let mut residents: Vec<(&Pubkey, &Resident)> = view
            .book
            .residents
            .iter()
            .map(|(a, seen)| (a, &seen.value))
            .collect();
        residents.sort_by_key(|(a, r)| (r.index, **a));
        let directory = Arc::new(Directory {
            membership: view.book.membership,
            meters: meters.iter().map(|(a, _)| **a).zip(positions).collect(),
            residents: residents.iter().map(|(a, _)| **a).collect(),
        });
        *cached = Some(directory.clone());
        directory
    }

    /// Checks on the cluster the sales and meters of residents whose counters fell below what
    /// the index holds (a sale cancelled or ended, a meter closed): those gone leave.
    async fn check_suspects(&self, client: &Client) {
        if self.view().book.suspects.is_empty() {
            return;
        }
        let (suspects, addresses) = {
            let mut book = self.write();
            let suspects = std::mem::take(&mut book.suspects);
            let addresses: Vec<Pubkey> = suspects
                .iter()
                .flat_map(|r| {
                    let sales = book.sales_of.get(r).into_iter().flatten();
                    let meters = book.owned.get(r).into_iter().flatten();
                    sales.chain(meters).copied().collect::<Vec<_>>()
                })
                .collect();
            (suspects, addresses)
        };
        if suspects.is_empty() {
            return;
        }
        for chunk in addresses.chunks(100) {
            self.stats.requests.fetch_add(1, Ordering::Relaxed);
            let answer = client
                .rpc
                .get_multiple_accounts_with_commitment(chunk, client.rpc.commitment())
                .await;
            let Ok(answer) = answer else {
                // Checked again at the next reload.
                continue;
            };
            let slot = answer.context.slot;
            let mut book = self.write();
            for (address, account) in chunk.iter().zip(answer.value) {
                let gone = account.is_none_or(|a| a.owner != energy_utility_sdk::PROGRAM_ID);
                if !gone {
                    continue;
                }
                if book.sales.get(address).is_some_and(|s| s.slot <= slot) {
                    book.remove_sale(address);
                }
                if book.meters.get(address).is_some_and(|m| m.slot <= slot) {
                    book.remove_meter(address);
                }
            }
        }
    }

    /// Applies one websocket notification (anything else is ignored).
    fn hear(&self, text: &str, subscriptions: &HashMap<u64, Feed>) {
        let _ = self.apply(text, subscriptions);
    }

    fn apply(&self, text: &str, subscriptions: &HashMap<u64, Feed>) -> Option<()> {
        let message: Value = serde_json::from_str(text).ok()?;
        let params = &message["params"];
        let feed = subscriptions.get(&params["subscription"].as_u64()?)?;
        let result = &params["result"];
        self.stats.notifications.fetch_add(1, Ordering::Relaxed);
        self.heard_from_cluster();
        match feed {
            Feed::Slot => {
                let slot = result["slot"].as_u64()?;
                self.slot.send_modify(|s| *s = (*s).max(slot));
            }
            Feed::Grid => {
                let slot = result["context"]["slot"].as_u64()?;
                let data = data_of(&result["value"])?;
                self.write().put_grid(slot, &data);
            }
            Feed::Program | Feed::Coins => {
                let slot = result["context"]["slot"].as_u64()?;
                let value = &result["value"];
                let address: Pubkey = value["pubkey"].as_str()?.parse().ok()?;
                let data = data_of(&value["account"])?;
                let mut book = self.write();
                if matches!(feed, Feed::Coins) {
                    book.put_coins(address, slot, &data);
                } else {
                    book.put_program_account(address, slot, &data);
                }
            }
        }
        Some(())
    }
}

/// What one subscription feeds.
#[derive(Clone, Copy)]
enum Feed {
    Program,
    Coins,
    Grid,
    Slot,
}

/// Keeps the subscription open: subscribe, load (the subscription covers from here on), then
/// hear until the socket closes; again after a pause that doubles up to [`MAX_BACKOFF`].
async fn follow(index: Arc<Index>, client: Arc<Client>, ws_url: String) {
    let mut backoff = Duration::from_secs(1);
    loop {
        match subscribed(&index, &client, &ws_url).await {
            Ok(()) => tracing::warn!("the cluster closed the index's subscription"),
            Err(e) => tracing::warn!(error = %e, url = %ws_url, "the index's subscription failed"),
        }
        index.following.store(false, Ordering::Relaxed);
        // Without a subscription the index still loads, so pages answer (staler).
        if !index.ready() {
            if let Err(e) = index.load(&client).await {
                tracing::warn!(error = %e, "the index could not load the grid");
            }
        }
        index.stats.reconnects.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

async fn subscribed(index: &Index, client: &Client, ws_url: &str) -> anyhow::Result<()> {
    let (mut socket, _) = tokio_tungstenite::connect_async(ws_url).await?;
    let requests = [
        (
            Feed::Program,
            "programSubscribe",
            json!([energy_utility_sdk::PROGRAM_ID.to_string(), {
                "encoding": "base64",
                "commitment": "confirmed",
                "filters": [{"memcmp": {"offset": 8, "bytes": index.grid.to_string()}}],
            }]),
        ),
        (
            Feed::Coins,
            "programSubscribe",
            json!([anchor_spl::token::ID.to_string(), {
                "encoding": "base64",
                "commitment": "confirmed",
                "dataSlice": {"offset": TOKEN_AMOUNT_AT, "length": 8},
                "filters": [
                    {"dataSize": TOKEN_ACCOUNT_LEN},
                    {"memcmp": {"offset": 0, "bytes": index.mint.to_string()}}
                ],
            }]),
        ),
        (
            Feed::Grid,
            "accountSubscribe",
            json!([index.grid.to_string(), {"encoding": "base64", "commitment": "confirmed"}]),
        ),
        (Feed::Slot, "slotSubscribe", json!([])),
    ];
    for (id, (_, method, params)) in requests.iter().enumerate() {
        let request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        socket
            .send(tokio_tungstenite::tungstenite::Message::text(
                request.to_string(),
            ))
            .await?;
    }
    let mut subscriptions: HashMap<u64, Feed> = HashMap::new();
    let mut early: Vec<String> = Vec::new();
    while subscriptions.len() < requests.len() {
        let Some(message) = socket.next().await else {
            anyhow::bail!("the socket closed before every subscription was acknowledged");
        };
        let message = message?;
        let Ok(text) = message.to_text() else {
            continue;
        };
        let parsed: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        if let Some(error) = parsed.get("error") {
            anyhow::bail!("the cluster refused a subscription: {error}");
        }
        match (parsed["id"].as_u64(), parsed["result"].as_u64()) {
            (Some(id), Some(sub)) => {
                if let Some((feed, _, _)) = requests.get(id as usize) {
                    subscriptions.insert(sub, *feed);
                }
            }
            _ => early.push(text.to_string()),
        }
    }
    for text in early {
        index.hear(&text, &subscriptions);
    }
    index.following.store(true, Ordering::Relaxed);
    // Whatever changed before the subscription began.
    index.load(client).await?;
    while let Some(message) = socket.next().await {
        match message? {
            tokio_tungstenite::tungstenite::Message::Text(text) => {
                index.hear(&text, &subscriptions);
                // Before the next message (a slot that `catch_up` waits for): closures.
                index.check_suspects(client).await;
            }
            tokio_tungstenite::tungstenite::Message::Ping(payload) => {
                socket
                    .send(tokio_tungstenite::tungstenite::Message::Pong(payload))
                    .await?;
            }
            tokio_tungstenite::tungstenite::Message::Close(_) => break,
            _ => {}
        }
    }
    Ok(())
}

/// The accounts of `held` seen at or before `slot` that a reload at `slot` did not list.
fn missing<T>(
    held: &HashMap<Pubkey, Seen<T>>,
    slot: u64,
    present: &std::collections::HashSet<Pubkey>,
) -> Vec<Pubkey> {
    held.iter()
        .filter(|(a, seen)| seen.slot <= slot && !present.contains(*a))
        .map(|(a, _)| *a)
        .collect()
}

/// An account's data from its JSON (`{"data": [base64, "base64"], ...}`).
fn data_of(account: &Value) -> Option<Vec<u8>> {
    let encoded = account["data"].get(0)?.as_str()?;
    BASE64_STANDARD.decode(encoded).ok()
}

fn decode<T: AccountDeserialize>(data: &[u8]) -> Option<T> {
    T::try_deserialize(&mut &data[..]).ok()
}

impl Book {
    fn touch(&mut self, address: Pubkey, membership: bool) {
        self.version += 1;
        if membership {
            self.membership += 1;
        }
        self.touched.insert(address, self.version);
    }

    fn put_grid(&mut self, slot: u64, data: &[u8]) {
        if self.grid.as_ref().is_some_and(|g| g.slot > slot) {
            return;
        }
        if let Some(value) = decode::<Grid>(data) {
            self.grid = Some(Seen { slot, value });
        }
    }

    fn put_coins(&mut self, address: Pubkey, slot: u64, data: &[u8]) {
        if self.coins.get(&address).is_some_and(|c| c.slot > slot) {
            return;
        }
        // Sliced to the amount (8 bytes) or the whole account.
        let amount = match data.len() {
            8 => data.try_into().ok().map(u64::from_le_bytes),
            n if n >= TOKEN_AMOUNT_AT + 8 => data[TOKEN_AMOUNT_AT..TOKEN_AMOUNT_AT + 8]
                .try_into()
                .ok()
                .map(u64::from_le_bytes),
            _ => None,
        };
        if let Some(value) = amount {
            let new = self.coins.insert(address, Seen { slot, value }).is_none();
            self.touch(address, new);
        }
    }

    /// One of the program's accounts naming the grid: meters, residents, sales and epochs are
    /// kept; directory entries, receipts and the rest are not needed by any page.
    fn put_program_account(&mut self, address: Pubkey, slot: u64, data: &[u8]) {
        if data.starts_with(Meter::DISCRIMINATOR) {
            if let Some(meter) = decode::<Meter>(data) {
                self.put_meter(address, slot, meter);
            }
        } else if data.starts_with(Resident::DISCRIMINATOR) {
            if self.residents.get(&address).is_some_and(|r| r.slot > slot) {
                return;
            }
            if let Some(value) = decode::<Resident>(data) {
                let held = |set: Option<&BTreeSet<Pubkey>>| set.map_or(0, BTreeSet::len);
                if held(self.sales_of.get(&address)) > value.open_sales as usize
                    || held(self.owned.get(&address)) > value.meters_owned as usize
                {
                    self.suspects.insert(address);
                }
                let new = self
                    .residents
                    .insert(address, Seen { slot, value })
                    .is_none();
                self.touch(address, new);
            }
        } else if data.starts_with(Sale::DISCRIMINATOR) {
            if self.sales.get(&address).is_some_and(|s| s.slot > slot) {
                return;
            }
            if let Some(value) = decode::<Sale>(data) {
                self.sales_of
                    .entry(value.resident)
                    .or_default()
                    .insert(address);
                let resident = value.resident;
                self.sales.insert(address, Seen { slot, value });
                self.touch(address, false);
                self.touch(resident, false);
            }
        } else if data.starts_with(Epoch::DISCRIMINATOR) {
            if let Some(value) = decode::<Epoch>(data) {
                let number = value.index;
                if self.epochs.get(&number).is_some_and(|(_, e)| e.slot > slot) {
                    return;
                }
                self.epochs.insert(number, (address, Seen { slot, value }));
            }
        }
    }

    fn put_meter(&mut self, address: Pubkey, slot: u64, meter: Meter) {
        let old = self.meters.get(&address);
        if old.is_some_and(|m| m.slot > slot) {
            return;
        }
        let moved = old.is_none_or(|m| {
            m.value.latitude_micro != meter.latitude_micro
                || m.value.longitude_micro != meter.longitude_micro
                || m.value.owner != meter.owner
        });
        if let Some(old) = old {
            if old.value.owner != meter.owner {
                if let Some(set) = self.owned.get_mut(&old.value.owner) {
                    set.remove(&address);
                }
            }
        }
        self.owned.entry(meter.owner).or_default().insert(address);
        if meter.pending_change.is_some() || meter.earns_from_epoch > 0 {
            self.notable.insert(address);
        } else {
            self.notable.remove(&address);
        }
        self.meters.insert(address, Seen { slot, value: meter });
        self.touch(address, moved);
    }

    fn remove_meter(&mut self, address: &Pubkey) {
        if let Some(old) = self.meters.remove(address) {
            if let Some(set) = self.owned.get_mut(&old.value.owner) {
                set.remove(address);
            }
        }
        self.notable.remove(address);
        self.touch(*address, true);
    }

    fn remove_sale(&mut self, address: &Pubkey) {
        if let Some(old) = self.sales.remove(address) {
            if let Some(set) = self.sales_of.get_mut(&old.value.resident) {
                set.remove(address);
            }
            self.touch(old.value.resident, false);
        }
        self.touch(*address, false);
    }

    /// After a reload at `slot`: program accounts it did not list, seen before it, are gone.
    fn forget_missing(&mut self, slot: u64, present: &std::collections::HashSet<Pubkey>) {
        for address in missing(&self.meters, slot, present) {
            self.remove_meter(&address);
        }
        for address in missing(&self.residents, slot, present) {
            self.residents.remove(&address);
            self.touch(address, true);
        }
        for address in missing(&self.sales, slot, present) {
            self.remove_sale(&address);
        }
        self.epochs
            .retain(|_, (address, e)| e.slot > slot || present.contains(address));
    }
}

impl View<'_> {
    /// The grid with its due changes applied (as every instruction reads it now).
    pub fn grid(&self) -> Option<Grid> {
        let mut grid = self.book.grid.as_ref()?.value.clone();
        let _ = grid.roll_changes(self.now);
        Some(grid)
    }

    pub fn meter(&self, address: &Pubkey) -> Option<&Meter> {
        self.book.meters.get(address).map(|m| &m.value)
    }

    pub fn resident(&self, address: &Pubkey) -> Option<&Resident> {
        self.book.residents.get(address).map(|r| &r.value)
    }

    /// Coins in a token account of the grid's mint (0 when there is none).
    pub fn coins(&self, address: &Pubkey) -> u64 {
        self.book.coins.get(address).map_or(0, |c| c.value)
    }

    pub fn epoch(&self, number: u64) -> Option<&Epoch> {
        self.book.epochs.get(&number).map(|(_, e)| &e.value)
    }

    pub fn meter_count(&self) -> usize {
        self.book.meters.len()
    }

    pub fn resident_count(&self) -> usize {
        self.book.residents.len()
    }

    pub fn meters(&self) -> impl Iterator<Item = (&Pubkey, &Meter)> {
        self.book.meters.iter().map(|(a, m)| (a, &m.value))
    }

    /// The meters `owner` owns, in address order.
    pub fn owned_by(&self, owner: &Pubkey) -> Vec<(Pubkey, &Meter)> {
        let mut out: Vec<(Pubkey, &Meter)> = self
            .book
            .owned
            .get(owner)
            .into_iter()
            .flatten()
            .filter_map(|a| self.meter(a).map(|m| (*a, m)))
            .collect();
        out.sort_by_key(|(_, m)| m.index);
        out
    }

    /// The sales of `resident` the chain still holds, oldest first.
    pub fn sales_of(&self, resident: &Pubkey) -> Vec<(u32, Pubkey, &Sale)> {
        let mut out: Vec<(u32, Pubkey, &Sale)> = self
            .book
            .sales_of
            .get(resident)
            .into_iter()
            .flatten()
            .filter_map(|a| {
                self.book
                    .sales
                    .get(a)
                    .map(|s| (s.value.number, *a, &s.value))
            })
            .collect();
        out.sort_by_key(|(n, _, _)| *n);
        out
    }

    /// Meters with something coming: a proposed change, or a producer's first earning epoch.
    pub fn notable(&self) -> Vec<(Pubkey, &Meter)> {
        self.book
            .notable
            .iter()
            .filter_map(|a| self.meter(a).map(|m| (*a, m)))
            .collect()
    }

    /// The resident's id for a wallet-owned address, or the address itself.
    pub fn resident_id(&self, address: &Pubkey) -> String {
        self.resident(address)
            .map_or_else(|| address.to_string(), |r| r.id.clone())
    }

    /// When `address` last changed (0: not since the index started).
    pub fn touched(&self, address: &Pubkey) -> u64 {
        self.book.touched.get(address).copied().unwrap_or(0)
    }
}

/// Map positions: each meter's latitude/longitude scaled into the box that holds them all.
fn positions<'a>(meters: impl Iterator<Item = &'a Meter> + Clone) -> Vec<(f64, f64)> {
    let lats = meters.clone().map(|m| m.latitude_micro as f64);
    let lons = meters.clone().map(|m| m.longitude_micro as f64);
    let (lat_min, lat_max) = lats.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (lon_min, lon_max) = lons.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let scale = |v: f64, lo: f64, hi: f64| {
        if hi > lo {
            0.08 + 0.84 * (v - lo) / (hi - lo)
        } else {
            0.5
        }
    };
    meters
        .map(|m| {
            (
                scale(m.longitude_micro as f64, lon_min, lon_max),
                1.0 - scale(m.latitude_micro as f64, lat_min, lat_max),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An index loaded a minute ago that has heard nothing since.
    fn quiet_index() -> Arc<Index> {
        let mut index = Index::new(Pubkey::new_unique());
        let started = Instant::now() - Duration::from_secs(60);
        Arc::get_mut(&mut index).expect("not shared yet").started = started;
        index.loaded.send_replace(true);
        index.contact_ms.store(0, Ordering::Relaxed);
        index
    }

    #[test]
    fn an_index_the_cluster_stopped_answering_is_stale_unless_a_read_or_a_notification_says_otherwise(
    ) {
        let index = quiet_index();
        assert!(!index.fresh(), "nothing heard for longer than the limit");
        // A full read in flight: the cluster is busy answering it.
        index.loading.store(true, Ordering::Relaxed);
        assert!(index.fresh());
        index.loading.store(false, Ordering::Relaxed);
        assert!(!index.fresh());
        // A notification is contact too.
        let subscriptions = HashMap::from([(7u64, Feed::Slot)]);
        let heard = r#"{"jsonrpc":"2.0","method":"slotNotification","params":{"subscription":7,"result":{"slot":42,"parent":41,"root":41}}}"#;
        index.hear(heard, &subscriptions);
        assert!(index.fresh());
        assert_eq!(*index.slot.borrow(), 42);
        // Not loaded: never fresh.
        let unloaded = Index::new(Pubkey::new_unique());
        assert!(!unloaded.fresh());
    }
}
