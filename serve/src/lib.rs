//! Serving an axum router over TCP with the limits a public server needs, shared by the web
//! app (`deu serve`, `deu demo`) and the sandbox processor:
//!
//! - a **header-read timeout**: a client that opens a connection and sends nothing, or half a
//!   request line, is dropped after [`Limits::header_read`], instead of holding the connection
//!   forever; a kept-alive connection on which nothing moves for that long plus
//!   [`Limits::request`] is closed too;
//! - a **whole-request timeout**: a handler (or a body trickled in byte by byte) that runs past
//!   [`Limits::request`] is answered `408 Request Timeout`;
//! - a **cap on request heads** ([`Limits::max_header_bytes`]): a 400 KB header is refused
//!   before any handler reads it;
//! - a **cap on open connections** ([`Limits::max_connections`]): past it, new connections wait
//!   in the kernel's backlog until one closes;
//! - the **peer's address** for every request, as axum's `ConnectInfo<SocketAddr>`, for per-client
//!   rate limits;
//! - **graceful shutdown**: when `shutdown` resolves, no new connection is accepted and the
//!   server returns once the open ones have finished (or [`Limits::request`] has passed).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::extract::connect_info::ConnectInfo;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// How long a client may take, and how many may be connected at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// From the connection (or the previous request) to the end of a request's headers.
    pub header_read: Duration,
    /// From a request's headers to its whole answer.
    pub request: Duration,
    /// Connections open at once; more wait to be accepted.
    pub max_connections: usize,
    /// The largest request head (request line and headers) read; a larger one is refused
    /// (431) before any handler runs. At least 8 KB.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    /// 10 s for headers, 30 s for a request, 1024 connections, 64 KB of headers.
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(10),
            request: Duration::from_secs(30),
            max_connections: 1024,
            max_header_bytes: 64 * 1024,
        }
    }
}

/// Serves `router` on `listener` with `limits` until `shutdown` resolves, then lets the open
/// connections finish. Errors of one connection (a client gone, a timeout) end that
/// connection only.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let router = router.layer(axum::middleware::from_fn(
        move |request, next: axum::middleware::Next| async move {
            match tokio::time::timeout(limits.request, next.run(request)).await {
                Ok(response) => response,
                Err(_) => (
                    StatusCode::REQUEST_TIMEOUT,
                    [("connection", "close")],
                    "the request took too long\n",
                )
                    .into_response(),
            }
        },
    ));
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(limits.max_header_bytes.max(8 * 1024));
    builder.http2().timer(TokioTimer::new());
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                // Out of file descriptors and the like: wait a moment rather than spin.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let service = TowerToHyperService::new(
            router
                .clone()
                .layer(axum::Extension(ConnectInfo::<SocketAddr>(peer))),
        );
        let (stream, activity) = Watched::new(stream);
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            tokio::select! {
                _ = connection => {}
                () = activity.idle(limits) => {}
            }
            drop(permit);
        });
    }
    drop(listener);
    // The open connections finish what they are doing, bounded by the request timeout.
    let _ = tokio::time::timeout(limits.request, graceful.shutdown()).await;
    Ok(())
}

/// When bytes last moved on a connection, and whether any ever came in.
struct Activity {
    started: Instant,
    /// Milliseconds after `started` of the last read or write.
    last_ms: AtomicU64,
    read_any: AtomicBool,
}

impl Activity {
    fn touch(&self, read: bool) {
        let ms = u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_ms.store(ms, Ordering::Relaxed);
        if read {
            self.read_any.store(true, Ordering::Relaxed);
        }
    }

    /// Resolves once nothing has moved for too long: `header_read` before the first byte,
    /// `header_read + request` after (a request in flight writes its answer within `request`).
    async fn idle(self: Arc<Self>, limits: Limits) {
        loop {
            let limit = match self.read_any.load(Ordering::Relaxed) {
                false => limits.header_read,
                true => limits.header_read + limits.request,
            };
            let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
            let quiet = self.started.elapsed().saturating_sub(last);
            if quiet >= limit {
                return;
            }
            tokio::time::sleep((limit - quiet).min(Duration::from_secs(1))).await;
        }
    }
}

/// A stream that notes its activity.
struct Watched<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> Watched<S> {
    fn new(inner: S) -> (Self, Arc<Activity>) {
        let activity = Arc::new(Activity {
            started: Instant::now(),
            last_ms: AtomicU64::new(0),
            read_any: AtomicBool::new(false),
        });
        (
            Self {
                inner,
                activity: activity.clone(),
            },
            activity,
        )
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Watched<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.touch(true);
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Watched<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch(false);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::ConnectInfo as Peer;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn started(limits: Limits) -> (SocketAddr, tokio::sync::oneshot::Sender<()>) {
        let router = Router::new()
            .route(
                "/peer",
                get(|Peer(peer): Peer<SocketAddr>| async move { peer.ip().to_string() }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(Duration::from_secs(5)).await;
                    "late"
                }),
            );
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(serve(listener, router, limits, async {
            let _ = stopped.await;
        }));
        (addr, stop)
    }

    fn short() -> Limits {
        Limits {
            header_read: Duration::from_millis(300),
            request: Duration::from_millis(500),
            max_connections: 8,
            max_header_bytes: 16 * 1024,
        }
    }

    #[tokio::test]
    async fn a_huge_header_is_refused_before_any_handler() {
        let (addr, _stop) = started(short()).await;
        let answer = reqwest::Client::new()
            .get(format!("http://{addr}/peer"))
            .header("x-junk", "j".repeat(400 * 1024))
            .send()
            .await;
        match answer {
            Ok(answer) => assert_eq!(answer.status().as_u16(), 431),
            // hyper may close the connection while the client still writes: refused too.
            Err(err) => assert!(err.is_request() || err.is_connect(), "{err}"),
        }
        let fine = reqwest::get(format!("http://{addr}/peer")).await.unwrap();
        assert_eq!(fine.status().as_u16(), 200);
    }

    #[tokio::test]
    async fn a_client_that_never_finishes_its_headers_is_dropped_while_others_are_served() {
        let (addr, _stop) = started(short()).await;
        let mut slow = tokio::net::TcpStream::connect(addr).await.unwrap();
        slow.write_all(b"GET /peer HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            .await
            .unwrap();
        // Another client is answered meanwhile, with its address.
        let answer = reqwest::get(format!("http://{addr}/peer")).await.unwrap();
        assert_eq!(answer.text().await.unwrap(), "127.0.0.1");
        // The half request is cut off after the header-read timeout.
        let mut rest = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(3), slow.read_to_end(&mut rest)).await;
        assert!(read.is_ok(), "the connection was closed by the server");
    }

    #[tokio::test]
    async fn a_request_past_its_time_is_answered_408() {
        let (addr, _stop) = started(short()).await;
        let started = std::time::Instant::now();
        let answer = reqwest::get(format!("http://{addr}/slow")).await.unwrap();
        assert_eq!(answer.status().as_u16(), 408);
        assert!(started.elapsed() < Duration::from_secs(3));
    }

    #[tokio::test]
    async fn past_the_connection_cap_new_clients_wait_for_a_free_one() {
        let limits = Limits {
            max_connections: 1,
            ..short()
        };
        let (addr, _stop) = started(limits).await;
        // One idle connection holds the only slot until its header timeout frees it.
        let idle = tokio::net::TcpStream::connect(addr).await.unwrap();
        let started = std::time::Instant::now();
        let answer = reqwest::get(format!("http://{addr}/peer")).await.unwrap();
        assert_eq!(answer.status().as_u16(), 200);
        assert!(
            started.elapsed() >= Duration::from_millis(250),
            "served only once the idle connection was dropped ({:?})",
            started.elapsed()
        );
        drop(idle);
    }
}
