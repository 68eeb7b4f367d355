//! Every authenticated webhook delivery and what became of it: printed as one line, kept in
//! memory for `GET /api/payments/deliveries` (the operator's), and appended as JSON to the
//! delivery log file if set. Deliveries that fail the signature check are counted and printed,
//! never kept: anyone can post them, and nobody may fill the log. What is kept is bounded
//! ([`KEPT`] deliveries, [`MAX_DETAIL_CHARS`] characters of detail each).

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use serde::Serialize;

/// How many deliveries the server keeps in memory.
pub const KEPT: usize = 500;
/// How much of a delivery's detail is kept and printed.
pub const MAX_DETAIL_CHARS: usize = 300;

/// What a delivery did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Result {
    /// Applied on chain now.
    Applied,
    /// Already applied by an earlier delivery: acknowledged, nothing done.
    Duplicate,
    /// Verified, but not an event this service acts on.
    Ignored,
    /// Refused (bad signature, stale, malformed, or a payment the program refuses).
    Rejected,
    /// The chain or a dependency was unavailable: the processor should retry.
    Retry,
}

#[derive(Debug, Clone, Serialize)]
pub struct Delivery {
    /// Unix seconds (this server's clock).
    pub at: i64,
    pub status: u16,
    pub result: Result,
    pub event_id: Option<String>,
    pub event_type: Option<String>,
    pub resident: Option<String>,
    pub detail: String,
    pub signature: Option<String>,
}

pub struct DeliveryLog {
    kept: Mutex<VecDeque<Delivery>>,
    file: Option<PathBuf>,
    /// Deliveries refused for their signature (or its absence): counted, not kept.
    unauthenticated: AtomicU64,
}

/// `text` cut to `max` characters, with an ellipsis when it was longer.
pub fn truncated(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

impl DeliveryLog {
    pub fn new(file: Option<PathBuf>) -> Self {
        Self {
            kept: Mutex::new(VecDeque::new()),
            file,
            unauthenticated: AtomicU64::new(0),
        }
    }

    /// Counts (and prints, cut short) a delivery that failed the signature check.
    pub fn refuse_unauthenticated(&self, detail: &str) {
        self.unauthenticated.fetch_add(1, Ordering::Relaxed);
        crate::metrics().count(
            "deu_webhook_deliveries_total",
            "Payment processor webhook deliveries, by outcome.",
            &[("result", "unauthenticated"), ("status", "400")],
            1,
        );
        tracing::warn!(target: "deu",
            "webhook: unauthenticated delivery refused: {}",
            truncated(detail, MAX_DETAIL_CHARS)
        );
    }

    /// How many deliveries failed the signature check since the server started.
    pub fn unauthenticated(&self) -> u64 {
        self.unauthenticated.load(Ordering::Relaxed)
    }

    pub fn record(&self, mut delivery: Delivery) {
        delivery.detail = truncated(&delivery.detail, MAX_DETAIL_CHARS);
        let result = format!("{:?}", delivery.result).to_lowercase();
        crate::metrics().count(
            "deu_webhook_deliveries_total",
            "Payment processor webhook deliveries, by outcome.",
            &[
                ("result", &result),
                ("status", &delivery.status.to_string()),
            ],
            1,
        );
        tracing::info!(target: "deu",
            "webhook {} {} -> {} {:?}: {}",
            delivery.event_id.as_deref().unwrap_or("-"),
            delivery.event_type.as_deref().unwrap_or("-"),
            delivery.status,
            delivery.result,
            delivery.detail
        );
        if let Some(path) = &self.file {
            let line = serde_json::to_string(&delivery).unwrap_or_default();
            let written = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .and_then(|mut f| writeln!(f, "{line}"));
            if let Err(err) = written {
                tracing::warn!(target: "deu", "webhook: cannot append to {}: {err}", path.display());
            }
        }
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back(delivery);
        }
    }

    /// The kept delivery that applied (or found applied) the checkout `session`, if any.
    pub fn checkout(&self, session: &str) -> Option<Delivery> {
        let kept = self.kept.lock().ok()?;
        kept.iter()
            .rev()
            .find(|d| {
                matches!(d.result, Result::Applied | Result::Duplicate)
                    && d.detail.contains(&format!("checkout {session}"))
            })
            .cloned()
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<Delivery> {
        self.kept
            .lock()
            .map(|kept| kept.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_details_are_cut_and_unsigned_deliveries_only_counted() {
        let log = DeliveryLog::new(None);
        log.refuse_unauthenticated(&"x".repeat(400_000));
        log.refuse_unauthenticated("no header");
        assert_eq!(log.unauthenticated(), 2);
        assert!(log.recent().is_empty());
        log.record(Delivery {
            at: 1,
            status: 200,
            result: Result::Applied,
            event_id: Some("evt_1".into()),
            event_type: None,
            resident: None,
            detail: "é".repeat(1_000),
            signature: None,
        });
        let kept = log.recent();
        assert_eq!(kept[0].detail.chars().count(), MAX_DETAIL_CHARS + 1);
        assert!(kept[0].detail.ends_with('…'));
        assert_eq!(truncated("short", 10), "short");
    }
}
