//! Every webhook delivery and what became of it: printed as one line, kept in memory for
//! `GET /api/payments/deliveries`, and appended as JSON to the delivery log file if set.

use std::collections::VecDeque;
use std::io::Write as _;
use std::path::PathBuf;
use std::sync::Mutex;

use serde::Serialize;

/// How many deliveries the server keeps in memory.
const KEPT: usize = 500;

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
}

impl DeliveryLog {
    pub fn new(file: Option<PathBuf>) -> Self {
        Self {
            kept: Mutex::new(VecDeque::new()),
            file,
        }
    }

    pub fn record(&self, delivery: Delivery) {
        eprintln!(
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
                eprintln!("webhook: cannot append to {}: {err}", path.display());
            }
        }
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() == KEPT {
                kept.pop_front();
            }
            kept.push_back(delivery);
        }
    }

    /// Newest first.
    pub fn recent(&self) -> Vec<Delivery> {
        self.kept
            .lock()
            .map(|kept| kept.iter().rev().cloned().collect())
            .unwrap_or_default()
    }
}
