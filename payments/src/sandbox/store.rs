//! What the sandbox remembers: sessions and their charges, refunds, disputes, connected
//! accounts and their onboarding links, transfers, payouts, events, delivery attempts and
//! idempotent requests, all in memory.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::calendar::unix_now;
use super::DeliveryRecord;
use crate::wire::{
    Account, Charge, CheckoutSession, Dispute, Event, EventData, Payout, Refund, Transfer,
    TransferReversal, API_VERSION,
};

/// A Checkout Session with what its hosted page shows but Stripe's object does not carry.
#[derive(Debug, Clone)]
pub(crate) struct HostedSession {
    pub(crate) session: CheckoutSession,
    pub(crate) product_name: String,
    /// `payment_intent_data[metadata]`: what the payment's charge will carry.
    pub(crate) payment_metadata: BTreeMap<String, String>,
}

/// A single-use link to the hosted onboarding of one connected account.
#[derive(Debug, Clone)]
pub(crate) struct OnboardingLink {
    pub(crate) id: String,
    pub(crate) account: String,
    pub(crate) refresh_url: String,
    pub(crate) return_url: String,
    pub(crate) expires_at: i64,
    pub(crate) used: bool,
}

impl OnboardingLink {
    /// Whether the link can no longer be opened at `now` (Unix seconds): it was used, or it
    /// expired. Its visitor is then sent to its `refresh_url`.
    pub(crate) fn spent(&self, now: i64) -> bool {
        self.used || now >= self.expires_at
    }
}

/// Where an event's webhook delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DeliveryState {
    /// Not yet acknowledged; another attempt is due.
    Retrying,
    /// A 2xx was received.
    Delivered,
    /// Every attempt failed; no more will be made.
    GaveUp,
}

/// The first answer to an `Idempotency-Key`, replayed for repeats of the same request.
#[derive(Debug, Clone)]
struct IdempotentRequest {
    request: String,
    params: BTreeMap<String, String>,
    response: Value,
    /// When it was first answered: after the key's time to live it is forgotten.
    at: Instant,
}

/// Everything the sandbox has created, oldest first.
#[derive(Debug, Default)]
pub(crate) struct Store {
    pub(crate) sessions: Vec<HostedSession>,
    pub(crate) charges: Vec<Charge>,
    pub(crate) refunds: Vec<Refund>,
    pub(crate) disputes: Vec<Dispute>,
    /// The evidence saved on each dispute (`evidence[uncategorized_text]`), by dispute id.
    pub(crate) evidence: BTreeMap<String, String>,
    pub(crate) accounts: Vec<Account>,
    pub(crate) links: Vec<OnboardingLink>,
    pub(crate) transfers: Vec<Transfer>,
    pub(crate) reversals: Vec<TransferReversal>,
    pub(crate) payouts: Vec<Payout>,
    pub(crate) events: Vec<Event>,
    pub(crate) deliveries: Vec<DeliveryRecord>,
    pub(crate) delivery_states: BTreeMap<String, DeliveryState>,
    idempotent: HashMap<String, IdempotentRequest>,
}

/// What a repeated `Idempotency-Key` means for the request carrying it.
#[derive(Debug, PartialEq)]
pub(crate) enum Replay {
    /// A new key: carry out the request.
    New,
    /// The same request again: answer what was answered the first time.
    Same(Value),
    /// A different request under a used key: refuse it.
    Conflict,
}

impl Store {
    /// The session with this id, marked expired first if its time has run out.
    pub(crate) fn session_mut(&mut self, id: &str) -> Option<&mut HostedSession> {
        let hosted = self.sessions.iter_mut().find(|s| s.session.id == id)?;
        let session = &mut hosted.session;
        let open = session.status.as_deref() == Some("open");
        if open && session.expires_at.is_some_and(|at| unix_now() >= at) {
            session.status = Some("expired".into());
            session.url = None;
        }
        Some(hosted)
    }

    /// The payout with this id.
    pub(crate) fn payout_mut(&mut self, id: &str) -> Option<&mut Payout> {
        self.payouts.iter_mut().find(|p| p.id == id)
    }

    /// The charge with this id.
    pub(crate) fn charge_mut(&mut self, id: &str) -> Option<&mut Charge> {
        self.charges.iter_mut().find(|c| c.id == id)
    }

    /// The charge with this id, to read.
    pub(crate) fn charge(&self, id: &str) -> Option<&Charge> {
        self.charges.iter().find(|c| c.id == id)
    }

    /// The charge of this PaymentIntent.
    pub(crate) fn charge_of(&self, payment_intent: &str) -> Option<&Charge> {
        self.charges
            .iter()
            .find(|c| c.payment_intent.as_deref() == Some(payment_intent))
    }

    /// The dispute with this id.
    pub(crate) fn dispute_mut(&mut self, id: &str) -> Option<&mut Dispute> {
        self.disputes.iter_mut().find(|d| d.id == id)
    }

    /// The connected account with this id.
    pub(crate) fn account_mut(&mut self, id: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.id == id)
    }

    /// The transfer with this id.
    pub(crate) fn transfer_mut(&mut self, id: &str) -> Option<&mut Transfer> {
        self.transfers.iter_mut().find(|t| t.id == id)
    }

    /// Records a new event about `object`; it still has to be dispatched to the webhook.
    pub(crate) fn record_event(
        &mut self,
        kind: &str,
        object: Value,
        pending_webhooks: i64,
    ) -> Event {
        let event = Event {
            id: random_id("evt_"),
            object: "event".into(),
            api_version: Some(API_VERSION.into()),
            created: unix_now(),
            livemode: false,
            kind: kind.into(),
            data: EventData { object },
            pending_webhooks,
        };
        self.events.push(event.clone());
        event
    }

    /// Notes how an event's delivery stands; a final outcome clears its pending webhook.
    pub(crate) fn set_delivery_state(&mut self, event_id: &str, state: DeliveryState) {
        self.delivery_states.insert(event_id.to_string(), state);
        if state != DeliveryState::Retrying {
            if let Some(event) = self.events.iter_mut().find(|e| e.id == event_id) {
                event.pending_webhooks = 0;
            }
        }
    }

    /// Looks an `Idempotency-Key` up for `request` (e.g. `"POST /v1/payouts"`) with these params.
    /// A key older than `ttl` has been pruned, as Stripe prunes them: the request is new again.
    pub(crate) fn replay(
        &self,
        key: &str,
        request: &str,
        params: &BTreeMap<String, String>,
        ttl: Duration,
    ) -> Replay {
        match self.idempotent.get(key) {
            None => Replay::New,
            Some(first) if first.at.elapsed() >= ttl => Replay::New,
            Some(first) if first.request == request && &first.params == params => {
                Replay::Same(first.response.clone())
            }
            Some(_) => Replay::Conflict,
        }
    }

    /// Remembers the answer to a request that was carried out under an `Idempotency-Key`.
    pub(crate) fn remember(
        &mut self,
        key: &str,
        request: &str,
        params: BTreeMap<String, String>,
        response: Value,
    ) {
        let first = IdempotentRequest {
            request: request.into(),
            params,
            response,
            at: Instant::now(),
        };
        self.idempotent.insert(key.into(), first);
    }
}

pub(crate) use crate::random_id;

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn event_ids_fit_a_32_byte_payment_id() {
        let id = random_id("evt_");
        assert_eq!(id.len(), 28);
        assert!(id[4..].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(random_id("evt_"), id);
    }

    #[test]
    fn an_onboarding_link_is_spent_once_used_or_expired() {
        let mut link = OnboardingLink {
            id: "link_1".into(),
            account: "acct_1".into(),
            refresh_url: "https://u.example/refresh".into(),
            return_url: "https://u.example/back".into(),
            expires_at: 1_000,
            used: false,
        };
        assert!(!link.spent(999));
        assert!(link.spent(1_000), "expired at expires_at");
        link.used = true;
        assert!(link.spent(0), "used: spent even before it expires");
    }

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn idempotency_key_replays_same_request_and_refuses_another() {
        let mut store = Store::default();
        let params = BTreeMap::from([("amount".to_string(), "100".to_string())]);
        assert_eq!(
            store.replay("k", "POST /v1/payouts", &params, DAY),
            Replay::New
        );
        store.remember(
            "k",
            "POST /v1/payouts",
            params.clone(),
            json!({"id": "po_1"}),
        );
        assert_eq!(
            store.replay("k", "POST /v1/payouts", &params, DAY),
            Replay::Same(json!({"id": "po_1"}))
        );
        let other = BTreeMap::from([("amount".to_string(), "200".to_string())]);
        assert_eq!(
            store.replay("k", "POST /v1/payouts", &other, DAY),
            Replay::Conflict
        );
        assert_eq!(
            store.replay("k", "POST /v1/checkout/sessions", &params, DAY),
            Replay::Conflict
        );
    }

    #[test]
    fn an_idempotency_key_past_its_time_to_live_is_forgotten() {
        let mut store = Store::default();
        let params = BTreeMap::from([("amount".to_string(), "100".to_string())]);
        store.remember(
            "k",
            "POST /v1/payouts",
            params.clone(),
            json!({"id": "po_1"}),
        );
        assert_eq!(
            store.replay("k", "POST /v1/payouts", &params, Duration::ZERO),
            Replay::New,
            "a pruned key: the request is carried out anew"
        );
        let other = BTreeMap::from([("amount".to_string(), "200".to_string())]);
        assert_eq!(
            store.replay("k", "POST /v1/payouts", &other, Duration::ZERO),
            Replay::New,
            "a pruned key no longer conflicts"
        );
    }
}
