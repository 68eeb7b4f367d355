//! Webhook delivery as Stripe does it: each event POSTed on its own, signed afresh at every
//! attempt, retried on anything but 2xx until the retry schedule runs out.

use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, USER_AGENT};

use super::calendar::unix_now;
use super::store::DeliveryState;
use super::{App, DeliveryRecord};
use crate::signature;
use crate::wire::Event;

/// How long one delivery attempt may take before it counts as failed.
pub(crate) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

const STRIPE_USER_AGENT: &str = "Stripe/1.0 (+https://stripe.com/docs/webhooks)";
const JSON_UTF8: &str = "application/json; charset=utf-8";

/// How much of the receiver's answer is kept.
const RESPONSE_CHARS: usize = 300;

/// The `pending_webhooks` of a new event: 1 when there is an endpoint to deliver to.
pub(crate) fn pending(app: &App) -> i64 {
    i64::from(app.config.webhook_url.is_some())
}

/// Starts delivering `event` in the background; without a webhook URL it is only recorded.
pub(crate) fn dispatch(app: &Arc<App>, event: &Event) {
    let Some(url) = app.config.webhook_url.clone() else {
        return;
    };
    // Stripe sends pretty-printed JSON; receivers must verify the bytes, not a re-encoding.
    let body = match serde_json::to_vec_pretty(event) {
        Ok(body) => body,
        Err(e) => {
            eprintln!(
                "sandbox webhook: cannot encode {} ({}): {e}",
                event.id, event.kind
            );
            return;
        }
    };
    app.store()
        .set_delivery_state(&event.id, DeliveryState::Retrying);
    let delivery = Delivery {
        app: app.clone(),
        url,
        event_id: event.id.clone(),
        event_type: event.kind.clone(),
        body,
    };
    app.tasks.spawn(delivery.run());
}

/// One event on its way to the webhook URL.
struct Delivery {
    app: Arc<App>,
    url: String,
    event_id: String,
    event_type: String,
    body: Vec<u8>,
}

impl Delivery {
    async fn run(self) {
        let delays = self.app.config.retry_delays.clone();
        let mut attempt: u32 = 0;
        loop {
            attempt = attempt.saturating_add(1);
            let record = self.attempt(attempt).await;
            let succeeded = record.succeeded;
            let next_delay = if succeeded {
                None
            } else {
                usize::try_from(attempt - 1)
                    .ok()
                    .and_then(|index| delays.get(index))
            };
            {
                let mut store = self.app.store();
                store.deliveries.push(record);
                if succeeded {
                    store.set_delivery_state(&self.event_id, DeliveryState::Delivered);
                } else if next_delay.is_none() {
                    store.set_delivery_state(&self.event_id, DeliveryState::GaveUp);
                }
            }
            let Some(delay) = next_delay else {
                if !succeeded {
                    eprintln!(
                        "sandbox webhook: {} {} given up after {attempt} attempts",
                        self.event_id, self.event_type
                    );
                }
                return;
            };
            tokio::time::sleep(*delay).await;
        }
    }

    async fn attempt(&self, attempt: u32) -> DeliveryRecord {
        let at = unix_now();
        let sent = self
            .app
            .http
            .post(&self.url)
            .header(CONTENT_TYPE, JSON_UTF8)
            .header(USER_AGENT, STRIPE_USER_AGENT)
            .header(
                signature::HEADER,
                signature::sign(&self.app.config.webhook_secret, at, &self.body),
            )
            .body(self.body.clone())
            .send()
            .await;
        let (status, response) = match sent {
            Ok(answer) => {
                let status = answer.status();
                let text = answer.text().await.unwrap_or_default();
                (Some(status.as_u16()), text)
            }
            Err(e) => (None, e.to_string()),
        };
        let succeeded = status.is_some_and(|code| (200..300).contains(&code));
        let shown = status.map_or_else(|| "connection failed".to_string(), |code| code.to_string());
        eprintln!(
            "sandbox webhook: {} {} attempt {attempt} → {shown}",
            self.event_id, self.event_type
        );
        DeliveryRecord {
            event_id: self.event_id.clone(),
            event_type: self.event_type.clone(),
            attempt,
            at,
            status,
            response: response.chars().take(RESPONSE_CHARS).collect(),
            succeeded,
        }
    }
}
