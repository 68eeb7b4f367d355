//! Output in one place: text for people, one JSON object per command for scripts.

use serde_json::Value;

use crate::context::Format;

pub struct Output {
    format: Format,
}

impl Output {
    pub fn new(format: Format) -> Self {
        Self { format }
    }

    /// Prints `json` (with `--output json`) or `text`.
    pub fn print(&self, json: Value, text: impl FnOnce() -> String) {
        match self.format {
            Format::Json => println!("{json}"),
            Format::Text => println!("{}", text()),
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Progress for long work, on stderr so that stdout stays one result.
    pub fn progress(&self, line: &str) {
        if !self.is_json() {
            eprintln!("{line}");
        }
    }
}
