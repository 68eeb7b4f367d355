//! API errors: one clear sentence and the HTTP status that fits it.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use energy_utility_sdk::SdkError;
use serde_json::json;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
}

/// What a caller is told when the cluster does not answer: the cluster's own error names its
/// URL, which may hold an RPC provider's token, so it goes to the server's log only.
pub const CLUSTER_UNAVAILABLE: &str = "the cluster is unavailable; try again in a moment";

impl ApiError {
    /// The plain answer for a cluster that did not answer; `detail` goes to the server's log.
    pub fn cluster_unavailable(detail: &dyn std::fmt::Display) -> Self {
        tracing::warn!(target: "deu", "cluster error: {detail}");
        Self::new(StatusCode::SERVICE_UNAVAILABLE, CLUSTER_UNAVAILABLE)
    }
}

impl From<SdkError> for ApiError {
    fn from(err: SdkError) -> Self {
        let status = match &err {
            SdkError::NotFound { .. } => StatusCode::NOT_FOUND,
            SdkError::Program(_) | SdkError::Transaction(_) => StatusCode::CONFLICT,
            SdkError::Amount(_) | SdkError::Invalid(_) => StatusCode::BAD_REQUEST,
            SdkError::Rpc(_) => return Self::cluster_unavailable(&err),
        };
        Self::new(status, err.to_string())
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(err: anyhow::Error) -> Self {
        match err.downcast::<SdkError>() {
            Ok(sdk) => sdk.into(),
            Err(other) => {
                tracing::warn!(target: "deu", "internal error: {other:#}");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the server failed to answer; the operator can see why in its log",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}
