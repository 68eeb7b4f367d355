//! Request parameters the way Stripe reads them: form-encoded (or query) pairs with bracketed keys
//! such as `metadata[meter]`, where an empty value means "not given" and an unknown key is an error.

use std::collections::BTreeMap;

use axum::http::header::CONTENT_TYPE;
use axum::http::HeaderMap;

use super::error::ApiError;

/// Stripe's metadata limits.
const MAX_METADATA_KEYS: usize = 50;
const MAX_METADATA_KEY_CHARS: usize = 40;
const MAX_METADATA_VALUE_CHARS: usize = 500;

/// The parameters of one request, consumed as they are read; whatever is left over is unknown.
#[derive(Debug)]
pub(crate) struct Params {
    all: BTreeMap<String, String>,
    unread: BTreeMap<String, String>,
}

impl Params {
    /// The parameters of a form-encoded request body.
    pub(crate) fn from_body(headers: &HeaderMap, body: &[u8]) -> Result<Self, ApiError> {
        let content_type = headers
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or("");
        let form_encoded = content_type.is_empty()
            || content_type
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded");
        if !form_encoded && !body.is_empty() {
            return Err(ApiError::invalid_request(format!(
                "Invalid request: the body must be application/x-www-form-urlencoded, not {content_type}."
            )));
        }
        Self::parse(body)
    }

    /// The parameters of a query string.
    pub(crate) fn from_query(query: Option<&str>) -> Result<Self, ApiError> {
        Self::parse(query.unwrap_or("").as_bytes())
    }

    fn parse(encoded: &[u8]) -> Result<Self, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(encoded).map_err(|e| {
            ApiError::invalid_request(format!(
                "Invalid request: cannot decode the parameters ({e})."
            ))
        })?;
        let all: BTreeMap<String, String> = pairs.into_iter().collect();
        Ok(Self {
            unread: all.clone(),
            all,
        })
    }

    /// Every parameter as received, sorted: what an idempotent repeat must match.
    pub(crate) fn all(&self) -> &BTreeMap<String, String> {
        &self.all
    }

    /// Parameters not read yet.
    pub(crate) fn unread_keys(&self) -> impl Iterator<Item = &str> {
        self.unread.keys().map(String::as_str)
    }

    /// A parameter's value; absent and empty are both "not given".
    pub(crate) fn optional(&mut self, key: &str) -> Option<String> {
        self.unread.remove(key).filter(|value| !value.is_empty())
    }

    /// A parameter that must be given.
    pub(crate) fn required(&mut self, key: &str) -> Result<String, ApiError> {
        self.optional(key).ok_or_else(|| ApiError::missing(key))
    }

    /// A whole number that must be given.
    pub(crate) fn required_integer(&mut self, key: &str) -> Result<i64, ApiError> {
        let value = self.required(key)?;
        value
            .parse()
            .map_err(|_| ApiError::invalid_param(key, format!("Invalid integer: {value}")))
    }

    /// The `metadata[<key>]` parameters, within Stripe's limits; empty values are dropped.
    pub(crate) fn metadata(&mut self) -> Result<BTreeMap<String, String>, ApiError> {
        self.metadata_under("metadata")
    }

    /// The `<prefix>[<key>]` parameters (`metadata`, `payment_intent_data[metadata]`), within
    /// Stripe's metadata limits; empty values are dropped.
    pub(crate) fn metadata_under(
        &mut self,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, ApiError> {
        let open = format!("{prefix}[");
        let keys: Vec<String> = self
            .unread
            .keys()
            .filter(|key| key.starts_with(&open) && key.ends_with(']'))
            .cloned()
            .collect();
        let _ = self.optional(prefix); // `metadata=` clears metadata: nothing to clear here
        let mut metadata = BTreeMap::new();
        for param in keys {
            let Some(value) = self.optional(&param) else {
                continue;
            };
            let key = &param[open.len()..param.len() - 1];
            if key.is_empty() || key.contains('[') || key.chars().count() > MAX_METADATA_KEY_CHARS {
                return Err(ApiError::invalid_param(
                    &param,
                    format!("Metadata keys must be 1 to {MAX_METADATA_KEY_CHARS} characters long."),
                ));
            }
            if value.chars().count() > MAX_METADATA_VALUE_CHARS {
                return Err(ApiError::invalid_param(
                    &param,
                    format!("Metadata values can have a maximum length of {MAX_METADATA_VALUE_CHARS} characters."),
                ));
            }
            metadata.insert(key.to_string(), value);
        }
        if metadata.len() > MAX_METADATA_KEYS {
            return Err(ApiError::invalid_param(
                prefix,
                format!("You can specify up to {MAX_METADATA_KEYS} metadata keys."),
            ));
        }
        Ok(metadata)
    }

    /// A required absolute http(s) URL (`success_url`, `return_url`, …).
    pub(crate) fn required_url(&mut self, key: &str) -> Result<String, ApiError> {
        let url = self.required(key)?;
        if url.starts_with("https://") || url.starts_with("http://") {
            Ok(url)
        } else {
            Err(ApiError::invalid_param(key, "Not a valid URL").with_code("url_invalid"))
        }
    }

    /// An optional whole number.
    pub(crate) fn optional_integer(&mut self, key: &str) -> Result<Option<i64>, ApiError> {
        self.optional(key)
            .map(|value| {
                value
                    .parse()
                    .map_err(|_| ApiError::invalid_param(key, format!("Invalid integer: {value}")))
            })
            .transpose()
    }

    /// An optional boolean (`true` / `false`).
    pub(crate) fn optional_bool(&mut self, key: &str) -> Result<Option<bool>, ApiError> {
        self.optional(key)
            .map(|value| match value.as_str() {
                "true" => Ok(true),
                "false" => Ok(false),
                _ => Err(ApiError::invalid_param(
                    key,
                    format!("Invalid boolean: {value}"),
                )),
            })
            .transpose()
    }

    /// Refuses the request if a parameter was not read: the sandbox does not know it.
    pub(crate) fn finish(self) -> Result<(), ApiError> {
        match self.unread.into_keys().next() {
            None => Ok(()),
            Some(key) => Err(ApiError::invalid_param(
                &key,
                format!("Received unknown parameter: {key}"),
            )),
        }
    }
}

/// `usd` when `currency` is USD in any case; the sandbox's balance holds nothing else.
pub(crate) fn usd(param: &str, currency: &str) -> Result<String, ApiError> {
    let currency = currency.to_ascii_lowercase();
    if currency == "usd" {
        Ok(currency)
    } else {
        Err(ApiError::invalid_param(
            param,
            format!("Invalid currency: {currency}. The sandbox supports only usd."),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(encoded: &str) -> Params {
        Params::from_query(Some(encoded)).expect("parses")
    }

    #[test]
    fn reads_bracketed_keys_and_reports_leftovers() {
        let mut p = params("amount=100&metadata%5Bmeter%5D=carlos-house&metadata[a]=&extra=1");
        assert_eq!(p.required_integer("amount").ok(), Some(100));
        let metadata = p.metadata().expect("metadata");
        assert_eq!(
            metadata,
            BTreeMap::from([("meter".into(), "carlos-house".into())])
        );
        let leftover = p.finish().expect_err("extra is unknown");
        let body = format!("{leftover:?}");
        assert!(body.contains("Received unknown parameter: extra"), "{body}");
    }

    #[test]
    fn empty_value_counts_as_missing() {
        let mut p = params("success_url=");
        let missing = p.required("success_url").expect_err("empty is missing");
        assert!(format!("{missing:?}").contains("Missing required param: success_url."));
    }

    #[test]
    fn non_integer_names_the_param() {
        let mut p = params("amount=12.5");
        let invalid = p.required_integer("amount").expect_err("not an integer");
        let debug = format!("{invalid:?}");
        assert!(
            debug.contains("Invalid integer: 12.5") && debug.contains("\"amount\""),
            "{debug}"
        );
    }

    #[test]
    fn overlong_metadata_key_is_refused() {
        let key = "k".repeat(41);
        let mut p = params(&format!("metadata[{key}]=v"));
        assert!(p.metadata().is_err());
    }
}
