//! The sandbox API's refusals, answered with Stripe's status codes and error bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::wire::{ApiErrorBody, ApiErrorDetail};

/// A refused API request: an HTTP status and Stripe's `{"error": {...}}` body.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    detail: ApiErrorDetail,
}

impl ApiError {
    fn new(status: StatusCode, kind: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ApiErrorDetail {
                kind: kind.into(),
                message: message.into(),
                code: None,
                param: None,
            },
        }
    }

    /// 400: the request as a whole is wrong.
    pub(crate) fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request_error", message)
    }

    /// 400: one parameter is wrong.
    pub(crate) fn invalid_param(param: &str, message: impl Into<String>) -> Self {
        let mut error = Self::invalid_request(message);
        error.detail.param = Some(param.into());
        error
    }

    /// 400: a required parameter is absent or empty.
    pub(crate) fn missing(param: &str) -> Self {
        Self::invalid_param(param, format!("Missing required param: {param}."))
            .with_code("parameter_missing")
    }

    /// 401: no API key, or not this sandbox's.
    pub(crate) fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_request_error", message)
    }

    /// 404: no object of this kind has this id.
    pub(crate) fn no_such(object: &str, id: &str) -> Self {
        let mut error = Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("No such {object}: '{id}'"),
        );
        error.detail.param = Some("id".into());
        error.with_code("resource_missing")
    }

    /// 400: a parameter names an object that does not exist, e.g. `destination` or `charge`
    /// (`No such destination: 'acct_…'`).
    pub(crate) fn no_such_param(param: &str, object: &str, id: &str) -> Self {
        Self::invalid_param(param, format!("No such {object}: '{id}'"))
            .with_code("resource_missing")
    }

    /// 404: no such endpoint.
    pub(crate) fn unrecognized_url(method: &str, path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "invalid_request_error",
            format!("Unrecognized request URL ({method}: {path})."),
        )
    }

    /// 400: an `Idempotency-Key` reused for a different request.
    pub(crate) fn idempotency_conflict(key: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "idempotency_error",
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were \
                 first used with. Try using a key other than '{key}' if you meant to execute a \
                 different request."
            ),
        )
    }

    /// 500: the sandbox itself failed.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "api_error", message)
    }

    /// The sentence for a human.
    pub(crate) fn message(&self) -> &str {
        &self.detail.message
    }

    /// Adds Stripe's machine-readable reason.
    pub(crate) fn with_code(mut self, code: &str) -> Self {
        self.detail.code = Some(code.into());
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ApiErrorBody { error: self.detail };
        (self.status, Json(body)).into_response()
    }
}
