//! Output in one place: text for people, one JSON value per command for scripts. Every result
//! is one typed view (`Serialize` for JSON, `Display` for text), built once and shown either way.

use std::fmt::{self, Display};

use serde::Serialize;

use crate::context::Format;

pub struct Output {
    format: Format,
}

impl Output {
    pub fn new(format: Format) -> Self {
        Self { format }
    }

    /// Prints a command's result: its JSON (with `--output json`) or its text. A result is one
    /// typed view, written once and shown either way.
    pub fn show<V: Serialize + Display>(&self, view: &V) {
        match self.format {
            Format::Json => match serde_json::to_string(view) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("the result does not serialize: {e}"),
            },
            Format::Text => println!("{view}"),
        }
    }

    pub fn is_json(&self) -> bool {
        self.format == Format::Json
    }

    /// Progress for long work, on stderr so that stdout stays one result.
    pub fn progress(&self, line: &str) {
        if !self.is_json() {
            tracing::info!(target: "deu", "{line}");
        }
    }
}

/// A view shown as one line of a list (`deu meter list`), where its own `Display` may take
/// several.
pub trait Row {
    fn line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
}

/// A list result: a JSON array of its rows' views, or one line per row (a sentence when there
/// are none).
#[derive(Serialize)]
#[serde(transparent)]
pub struct Rows<V> {
    rows: Vec<V>,
    #[serde(skip)]
    empty: String,
}

impl<V> Rows<V> {
    /// `empty` is the text shown when there are no rows.
    pub fn new(rows: Vec<V>, empty: impl Into<String>) -> Self {
        Self {
            rows,
            empty: empty.into(),
        }
    }
}

impl<V: Row> Display for Rows<V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.rows.is_empty() {
            return f.write_str(&self.empty);
        }
        for (i, row) in self.rows.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            row.line(f)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Pole {
        id: &'static str,
    }

    impl Row for Pole {
        fn line(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "pole {}", self.id)
        }
    }

    #[test]
    fn rows_are_a_json_array_and_one_line_each() {
        let rows = Rows::new(vec![Pole { id: "a" }, Pole { id: "b" }], "no poles");
        assert_eq!(
            serde_json::to_string(&rows).unwrap(),
            r#"[{"id":"a"},{"id":"b"}]"#
        );
        assert_eq!(rows.to_string(), "pole a\npole b");
    }

    #[test]
    fn no_rows_are_an_empty_array_and_a_sentence() {
        let rows: Rows<Pole> = Rows::new(vec![], "no poles");
        assert_eq!(serde_json::to_string(&rows).unwrap(), "[]");
        assert_eq!(rows.to_string(), "no poles");
    }
}
