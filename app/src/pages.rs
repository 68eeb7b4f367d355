//! The static pages, embedded in the binary so the app runs from anywhere.

use std::sync::Arc;

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::App;

fn page(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, content_type)], body)
}

pub fn routes() -> Router<Arc<App>> {
    const HTML: &str = "text/html; charset=utf-8";
    Router::new()
        .route(
            "/",
            get(|| async { page(HTML, include_str!("../static/index.html")) }),
        )
        .route(
            "/index.html",
            get(|| async { page(HTML, include_str!("../static/index.html")) }),
        )
        .route(
            "/resident.html",
            get(|| async { page(HTML, include_str!("../static/resident.html")) }),
        )
        .route(
            "/meter.html",
            get(|| async { page(HTML, include_str!("../static/meter.html")) }),
        )
        .route(
            "/static/app.js",
            get(|| async {
                page(
                    "text/javascript; charset=utf-8",
                    include_str!("../static/app.js"),
                )
            }),
        )
        .route(
            "/static/wallet.js",
            get(|| async {
                page(
                    "text/javascript; charset=utf-8",
                    include_str!("../static/wallet.js"),
                )
            }),
        )
        .route(
            "/static/icon.svg",
            get(|| async { page("image/svg+xml", include_str!("../static/icon.svg")) }),
        )
        .route(
            "/static/style.css",
            get(|| async {
                page(
                    "text/css; charset=utf-8",
                    include_str!("../static/style.css"),
                )
            }),
        )
}
