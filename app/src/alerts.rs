//! Alerts: a meter's owner sets a low-balance threshold (and an e-mail address); when the
//! meter's free coins fall below it, and when the meter is told to disconnect, one notice per
//! crossing goes out by e-mail (SMTP) and by a signed outbound webhook (which an operator
//! connects to an SMS service). A crossing re-arms when the meter is back above its threshold
//! (or reconnected). What was sent is written down (a JSON file, replaced atomically) before
//! the next crossing is looked at, so a restart sends nothing twice and loses nothing: a
//! channel that failed is retried until it delivers.
//!
//! Who may subscribe: the meter's owner, proven by an ed25519 signature of its wallet over
//! [`Subscription::message`] (a timestamp within 5 minutes, newer than the last one taken); in
//! the demo, its custody acts for the owner.
//!
//! The webhook's body is JSON; its `Deu-Signature: t=<unix>,v1=<hex>` header is
//! HMAC-SHA256(secret, "<t>.<body>"), as Stripe signs its webhooks: a receiver recomputes it
//! with the shared secret and refuses a `t` older than a few minutes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anchor_lang::prelude::Pubkey;
use serde::{Deserialize, Serialize};

use crate::App;

/// How far a subscription's signed time may be from the server's clock.
pub const SIGNED_WITHIN_SECONDS: i64 = 300;

/// Where notices go and how often meters are looked at.
#[derive(Clone, Debug)]
pub struct AlertsConfig {
    /// The state file (subscriptions, crossings, what was delivered).
    pub file: PathBuf,
    /// `host:port` of an SMTP server that relays for this host (no TLS: a local relay).
    pub smtp: Option<String>,
    pub from: String,
    /// The operator's webhook (an SMS gateway's, say) and the secret that signs to it.
    pub webhook: Option<(String, String)>,
    pub every: Duration,
}

/// What an owner asked for one meter.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Subscription {
    pub threshold_units: u64,
    pub email: Option<String>,
    /// The signed time of the request that set it (a later one replaces it).
    pub signed_at: i64,
}

impl Subscription {
    /// The text the owner's wallet signs.
    pub fn message(
        grid: &str,
        meter: &str,
        threshold_units: u64,
        email: &str,
        signed_at: i64,
    ) -> String {
        format!("deu alerts: grid {grid}, meter {meter}, below {threshold_units} units, e-mail {email}, at {signed_at}")
    }
}

/// One notice: what crossed, for whom, and which channels have delivered it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Notice {
    pub id: String,
    pub meter: String,
    /// `low` or `disconnected`.
    pub what: String,
    pub text: String,
    pub email: Option<String>,
    pub emailed: bool,
    pub posted: bool,
}

/// Everything the alerts keep, in the state file.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct State {
    pub subscriptions: BTreeMap<String, Subscription>,
    /// Per meter: the crossings in progress (`low`, `disconnected`): a notice was made for
    /// each and none is made again until it re-arms.
    pub crossed: BTreeMap<String, Vec<String>>,
    pub notices: Vec<Notice>,
    pub sequence: u64,
}

pub struct Alerts {
    pub config: AlertsConfig,
    pub state: tokio::sync::Mutex<State>,
}

impl Alerts {
    /// Loads the state file (a missing one is an empty state).
    pub fn open(config: AlertsConfig) -> anyhow::Result<Self> {
        let state = match std::fs::read(&config.file) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                anyhow::anyhow!("the alerts file {} is damaged: {e}", config.file.display())
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::default(),
            Err(e) => return Err(e.into()),
        };
        Ok(Self {
            config,
            state: tokio::sync::Mutex::new(state),
        })
    }

    /// Writes the state atomically (a temporary file, synced, renamed over the old one).
    fn save(&self, state: &State) -> anyhow::Result<()> {
        let tmp = self.config.file.with_extension("tmp");
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&serde_json::to_vec_pretty(state)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &self.config.file)?;
        Ok(())
    }

    /// Sets `meter`'s subscription (refused when not newer than the one it replaces).
    pub async fn subscribe(&self, meter: &str, sub: Subscription) -> Result<(), String> {
        let mut state = self.state.lock().await;
        if let Some(old) = state.subscriptions.get(meter) {
            if sub.signed_at <= old.signed_at {
                return Err(
                    "this request was signed before the one in force: sign it again".into(),
                );
            }
        }
        // A new threshold is a new watch: whether it is crossed is decided afresh.
        state
            .crossed
            .entry(meter.to_string())
            .or_default()
            .retain(|w| w != "low");
        state.subscriptions.insert(meter.to_string(), sub);
        self.save(&state)
            .map_err(|e| format!("the alerts file could not be written: {e}"))
    }

    /// One look at every subscribed meter: new crossings become notices, crossings over
    /// re-arm; then every notice not yet delivered on a channel is sent on it.
    pub async fn check(&self, app: &App) -> anyhow::Result<()> {
        // The meters as the index holds them: a look costs the cluster nothing.
        if !app.index.ready() {
            return Ok(());
        }
        let grid_address = app.index.grid;
        let mut state = self.state.lock().await;
        let before = serde_json::to_string(&*state)?;
        let ids: Vec<String> = state.subscriptions.keys().cloned().collect();
        for id in ids {
            let address = energy_utility_sdk::pda::meter(&grid_address, &id);
            let Some(meter) = app.index.view().meter(&address).cloned() else {
                continue;
            };
            let sub = state.subscriptions[&id].clone();
            let headroom = meter.headroom_units();
            let low = meter.is_consumer() && headroom < sub.threshold_units as i128;
            let off = meter.is_consumer() && meter.active && !meter.connected;
            for (what, now, text) in [
                (
                    "low",
                    low,
                    format!(
                        "{id}: {} k left to draw on, below the {} k you set",
                        energy_utility_sdk::amounts::format_k(headroom.max(0) as u64),
                        energy_utility_sdk::amounts::format_k(sub.threshold_units)
                    ),
                ),
                (
                    "disconnected",
                    off,
                    format!("{id} is disconnected: fund it to switch it back on"),
                ),
            ] {
                let crossed = state.crossed.entry(id.clone()).or_default();
                let was = crossed.iter().any(|w| w == what);
                if now && !was {
                    crossed.push(what.to_string());
                    state.sequence += 1;
                    let notice = Notice {
                        id: format!("{id}:{what}:{}", state.sequence),
                        meter: id.clone(),
                        what: what.to_string(),
                        text,
                        email: sub.email.clone(),
                        emailed: sub.email.is_none() || self.config.smtp.is_none(),
                        posted: self.config.webhook.is_none(),
                    };
                    state.notices.push(notice);
                } else if !now && was {
                    crossed.retain(|w| w != what);
                }
            }
        }
        // Written down before anything is sent: a crash now sends these after the restart.
        // A look that changed nothing writes nothing.
        if serde_json::to_string(&*state)? != before {
            self.save(&state)?;
        }
        for i in 0..state.notices.len() {
            let notice = state.notices[i].clone();
            if !notice.emailed {
                if let (Some(server), Some(to)) = (&self.config.smtp, &notice.email) {
                    match send_mail(server, &self.config.from, to, &notice) {
                        Ok(()) => state.notices[i].emailed = true,
                        Err(e) => {
                            tracing::warn!(target: "deu", "alerts: e-mail for {} not sent yet: {e}", notice.id)
                        }
                    }
                }
            }
            if !notice.posted {
                if let Some((url, secret)) = &self.config.webhook {
                    match post(url, secret, &notice).await {
                        Ok(()) => state.notices[i].posted = true,
                        Err(e) => {
                            tracing::warn!(target: "deu", "alerts: webhook for {} not sent yet: {e}", notice.id)
                        }
                    }
                }
            }
            if state.notices[i] != notice {
                self.save(&state)?;
            }
        }
        // Delivered everywhere: forgotten (their crossings stay in `crossed`).
        let waiting = state.notices.len();
        state.notices.retain(|n| !(n.emailed && n.posted));
        if state.notices.len() != waiting {
            self.save(&state)?;
        }
        Ok(())
    }
}

/// Sends one notice by SMTP (plain, to a relay): HELO, MAIL, RCPT, DATA, QUIT.
fn send_mail(server: &str, from: &str, to: &str, notice: &Notice) -> anyhow::Result<()> {
    if [from, to]
        .iter()
        .any(|a| a.contains(['\r', '\n', '<', '>']))
    {
        anyhow::bail!("an address holds a line break or angle bracket");
    }
    let stream = TcpStream::connect(server)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    let expect = |code: &str, reader: &mut BufReader<TcpStream>| -> anyhow::Result<()> {
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            if !line.starts_with(code) {
                anyhow::bail!("the SMTP server said: {}", line.trim());
            }
            // "250-" continues, "250 " ends.
            if line.as_bytes().get(3) != Some(&b'-') {
                return Ok(());
            }
        }
    };
    expect("220", &mut reader)?;
    for (command, code) in [
        ("HELO deu\r\n".to_string(), "250"),
        (format!("MAIL FROM:<{from}>\r\n"), "250"),
        (format!("RCPT TO:<{to}>\r\n"), "250"),
        ("DATA\r\n".to_string(), "354"),
    ] {
        writer.write_all(command.as_bytes())?;
        expect(code, &mut reader)?;
    }
    let body = notice.text.replace("\n.", "\n..");
    write!(
        writer,
        "From: {from}\r\nTo: {to}\r\nSubject: [deu] {}\r\nX-Deu-Notice: {}\r\n\r\n{body}\r\n.\r\n",
        notice.text, notice.id
    )?;
    expect("250", &mut reader)?;
    writer.write_all(b"QUIT\r\n")?;
    Ok(())
}

/// `t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`: the processor's own scheme
/// (`energy_utility_payments::signature`), so a receiver verifies it the same way.
pub fn signature_header(secret: &str, t: i64, body: &str) -> String {
    energy_utility_payments::signature::sign(secret, t, body.as_bytes())
}

/// Posts one notice to the operator's webhook, signed.
async fn post(url: &str, secret: &str, notice: &Notice) -> anyhow::Result<()> {
    let body = serde_json::json!({
        "id": notice.id, "meter": notice.meter, "what": notice.what, "text": notice.text,
    })
    .to_string();
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs() as i64;
    let response = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "application/json")
        .header("Deu-Signature", signature_header(secret, t, &body))
        .timeout(Duration::from_secs(10))
        .body(body)
        .send()
        .await?;
    if !response.status().is_success() {
        anyhow::bail!("the webhook answered {}", response.status());
    }
    Ok(())
}

/// Checks the meters every `config.every`, for as long as the server runs.
pub fn watch(app: Arc<App>) {
    tokio::spawn(async move {
        loop {
            if let Some(alerts) = app.alerts.get() {
                if let Err(e) = alerts.check(&app).await {
                    tracing::info!(target: "deu", "alerts: {e:#}");
                }
                tokio::time::sleep(alerts.config.every).await;
            } else {
                return;
            }
        }
    });
}

/// Whether `signature` (base58) by `owner` signs `message`.
pub fn signed_by(owner: &Pubkey, message: &str, signature: &str) -> bool {
    let Ok(signature) = signature.parse::<solana_signature::Signature>() else {
        return false;
    };
    signature.verify(owner.as_ref(), message.as_bytes())
}
