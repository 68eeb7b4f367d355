//! JSON-RPC 2.0 plumbing: errors and parameter parsing.

use std::str::FromStr;

use serde::de::DeserializeOwned;
use serde_json::{json, Value};
use solana_sdk::{hash::Hash, pubkey::Pubkey, signature::Signature};

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;
pub(crate) const INVALID_PARAMS: i64 = -32602;
pub(crate) const INTERNAL_ERROR: i64 = -32603;
/// Solana's "send transaction preflight failure".
pub(crate) const PREFLIGHT_FAILURE: i64 = -32002;
/// Solana's "transaction signature verification failure".
pub(crate) const SIGNATURE_VERIFICATION_FAILURE: i64 = -32003;

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RpcError {
    pub code: i64,
    pub message: String,
    pub data: Option<Value>,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            data: None,
        }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(INVALID_PARAMS, message)
    }

    pub fn internal(message: impl std::fmt::Display) -> Self {
        Self::new(INTERNAL_ERROR, format!("Internal error: {message}"))
    }

    pub fn method_not_found() -> Self {
        Self::new(METHOD_NOT_FOUND, "Method not found")
    }

    pub fn to_json(&self) -> Value {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some(data), Some(object)) = (&self.data, error.as_object_mut()) {
            object.insert("data".to_string(), data.clone());
        }
        error
    }
}

pub(crate) type RpcResult = Result<Value, RpcError>;

/// The positional parameters of a call: absent or null means none.
pub(crate) struct Params(Vec<Value>);

impl Params {
    pub fn new(params: Value) -> Result<Self, RpcError> {
        match params {
            Value::Null => Ok(Self(Vec::new())),
            Value::Array(values) => Ok(Self(values)),
            _ => Err(RpcError::invalid_params(
                "Invalid params: expected an array of positional parameters",
            )),
        }
    }

    fn get(&self, index: usize) -> Option<&Value> {
        self.0.get(index).filter(|v| !v.is_null())
    }

    /// A required parameter.
    pub fn required<T: DeserializeOwned>(&self, index: usize, what: &str) -> Result<T, RpcError> {
        let value = self.get(index).ok_or_else(|| {
            RpcError::invalid_params(format!("Invalid params: missing parameter {what}"))
        })?;
        serde_json::from_value(value.clone())
            .map_err(|e| RpcError::invalid_params(format!("Invalid params: {what}: {e}")))
    }

    /// An optional parameter (absent or null gives `T::default()`).
    pub fn optional<T: DeserializeOwned + Default>(
        &self,
        index: usize,
        what: &str,
    ) -> Result<T, RpcError> {
        match self.get(index) {
            None => Ok(T::default()),
            Some(value) => serde_json::from_value(value.clone())
                .map_err(|e| RpcError::invalid_params(format!("Invalid params: {what}: {e}"))),
        }
    }

    pub fn pubkey(&self, index: usize, what: &str) -> Result<Pubkey, RpcError> {
        parse_pubkey(&self.required::<String>(index, what)?)
    }
}

pub(crate) fn parse_pubkey(text: &str) -> Result<Pubkey, RpcError> {
    Pubkey::from_str(text).map_err(|_| {
        RpcError::invalid_params(format!("Invalid param: {text:?} is not a public key"))
    })
}

pub(crate) fn parse_signature(text: &str) -> Result<Signature, RpcError> {
    Signature::from_str(text).map_err(|_| {
        RpcError::invalid_params(format!("Invalid param: {text:?} is not a signature"))
    })
}

pub(crate) fn parse_hash(text: &str) -> Result<Hash, RpcError> {
    Hash::from_str(text)
        .map_err(|_| RpcError::invalid_params(format!("Invalid param: {text:?} is not a hash")))
}
