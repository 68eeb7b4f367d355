//! Only clients the cluster's user runs may call it: what a web page could send is refused.
//!
//! A page the developer visits can make the browser POST to `http://127.0.0.1:8899` as
//! `text/plain` (no preflight), or rebind its own host name to 127.0.0.1; either would let it
//! call `deuAdvanceClock`, `requestAirdrop` or `sendTransaction`. So every call (JSON-RPC over
//! HTTP and the websocket's upgrade) must:
//!
//! - name a **host** the cluster answers to: an IP address, `localhost`, or one of
//!   `--allowed-host` (a rebound name such as `attacker.example` is `421`);
//! - come from **no other site**: a browser's `Origin`, when sent, must be that same host, a
//!   loopback one (a dapp on `http://localhost:3000`), or an allowed host (`403`);
//! - be **JSON** (`Content-Type: application/json`) when it has a body (`415`).
//!
//! Stock clients (`RpcClient`, web3.js, kit, the SDK, `curl -H 'content-type:
//! application/json'`) send no `Origin` and name the host they were given.

use std::net::IpAddr;
use std::sync::Arc;

use axum::{
    extract::{Request, State},
    http::{header, HeaderMap, Method, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
    Json,
};
use serde_json::json;

use crate::rpc::INVALID_REQUEST;

/// The host names the cluster answers to besides IP addresses and `localhost`.
pub(crate) struct Sites {
    allowed: Vec<String>,
}

impl Sites {
    pub fn new(allowed: &[String]) -> Self {
        Self {
            allowed: allowed
                .iter()
                .map(|h| h.trim().trim_end_matches('.').to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// A host (without its port) clients may name.
    fn answers_to(&self, host: &str) -> bool {
        is_local(host) || host.parse::<IpAddr>().is_ok() || self.allowed.iter().any(|h| h == host)
    }
}

/// `localhost`, `*.localhost` (RFC 6761: always loopback) or a loopback address.
fn is_local(host: &str) -> bool {
    host == "localhost"
        || host.ends_with(".localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// The host of a `Host` value or of an origin's authority: lowercase, without its port or
/// an IPv6 address's brackets.
fn host_part(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
        None => authority
            .rsplit_once(':')
            .filter(|(_, port)| port.chars().all(|c| c.is_ascii_digit()))
            .map_or(authority.as_str(), |(host, _)| host)
            .to_string(),
    };
    host.trim_end_matches('.').to_string()
}

/// The host of an `Origin` header (`scheme://host[:port]`); `None` for `null` or garbage.
fn origin_host(origin: &str) -> Option<String> {
    let (_, rest) = origin.split_once("://")?;
    let authority = rest.split('/').next()?;
    (!authority.is_empty()).then(|| host_part(authority))
}

fn refuse(status: StatusCode, message: &str) -> Response {
    let body = json!({
        "jsonrpc": "2.0",
        "error": { "code": INVALID_REQUEST, "message": message },
        "id": null,
    });
    (status, Json(body)).into_response()
}

/// Why a request is refused, if it is.
fn check(sites: &Sites, method: &Method, headers: &HeaderMap) -> Option<Response> {
    let header = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let host = header(header::HOST).map(host_part);
    if let Some(host) = &host {
        if !sites.answers_to(host) {
            return Some(refuse(
                StatusCode::MISDIRECTED_REQUEST,
                "this cluster does not answer to that host name (start it with --allowed-host to add one)",
            ));
        }
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let from = origin.to_str().ok().and_then(origin_host);
        let same_site = from.as_ref().is_some_and(|from| {
            is_local(from)
                || host.as_ref() == Some(from)
                || (sites.answers_to(from) && !is_ip(from))
        });
        if !same_site {
            return Some(refuse(
                StatusCode::FORBIDDEN,
                "a request from a web page of another site: the local cluster answers only its own user's clients",
            ));
        }
    }
    if method == Method::POST {
        let json = header(header::CONTENT_TYPE).is_some_and(|v| {
            v.split(';')
                .next()
                .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("application/json"))
        });
        if !json {
            return Some(refuse(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "send JSON-RPC as Content-Type: application/json",
            ));
        }
    }
    None
}

fn is_ip(host: &str) -> bool {
    host.parse::<IpAddr>().is_ok()
}

/// The middleware in front of JSON-RPC and the websocket.
pub(crate) async fn calls(
    State(sites): State<Arc<Sites>>,
    request: Request,
    next: Next,
) -> Response {
    match check(&sites, request.method(), request.headers()) {
        Some(refusal) => refusal,
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_and_origins() {
        assert_eq!(host_part("LocalHost:8899"), "localhost");
        assert_eq!(host_part("[::1]:8899"), "::1");
        assert_eq!(host_part("example.com."), "example.com");
        assert_eq!(
            origin_host("http://evil.example:80/x").as_deref(),
            Some("evil.example")
        );
        assert_eq!(origin_host("null"), None);
        let sites = Sites::new(&["DevBox.lan".to_string()]);
        assert!(sites.answers_to("devbox.lan"));
        assert!(sites.answers_to("10.0.0.7"));
        assert!(sites.answers_to("app.localhost"));
        assert!(!sites.answers_to("attacker.example"));
        assert!(!sites.answers_to("127.0.0.1.nip.io"));
    }
}
