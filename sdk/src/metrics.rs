//! Prometheus metrics, in the text exposition format (0.0.4), with no dependency a meter's
//! board would not want: counters, gauges and histograms by name and labels, rendered for
//! `GET /metrics`. `deu serve` answers it on its own port; the crank (`deu settle --watch
//! --metrics ADDR`) and the gateway (`deu-gateway run --metrics ADDR`) start [`serve`], a
//! small thread that answers `/metrics` and `/healthz` and nothing else.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Latency buckets, in seconds.
pub const LATENCY_BUCKETS: &[f64] = &[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

#[derive(Default, Clone, Debug)]
struct Histogram {
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

struct Family {
    help: &'static str,
    kind: Kind,
    /// Label set (already rendered `a="b",c="d"`) → value.
    values: BTreeMap<String, f64>,
    histograms: BTreeMap<String, Histogram>,
}

/// A set of metric families; cheap to clone (shared).
#[derive(Clone, Default)]
pub struct Registry {
    families: Arc<Mutex<BTreeMap<&'static str, Family>>>,
}

/// `a="b",c="d"` with values escaped as the format wants.
fn labels(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let v = v
            .replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n");
        let _ = write!(out, "{k}=\"{v}\"");
    }
    out
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    fn with<R>(
        &self,
        name: &'static str,
        help: &'static str,
        kind: Kind,
        f: impl FnOnce(&mut Family) -> R,
    ) -> R {
        let mut families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let family = families.entry(name).or_insert_with(|| Family {
            help,
            kind,
            values: BTreeMap::new(),
            histograms: BTreeMap::new(),
        });
        f(family)
    }

    /// Adds `by` to a counter.
    pub fn count(&self, name: &'static str, help: &'static str, pairs: &[(&str, &str)], by: u64) {
        let key = labels(pairs);
        self.with(name, help, Kind::Counter, |f| {
            *f.values.entry(key).or_insert(0.0) += by as f64;
        });
    }

    /// Sets a gauge.
    pub fn set(&self, name: &'static str, help: &'static str, pairs: &[(&str, &str)], value: f64) {
        let key = labels(pairs);
        self.with(name, help, Kind::Gauge, |f| {
            f.values.insert(key, value);
        });
    }

    /// Records one observation (seconds) in a latency histogram.
    pub fn observe(
        &self,
        name: &'static str,
        help: &'static str,
        pairs: &[(&str, &str)],
        seconds: f64,
    ) {
        let key = labels(pairs);
        self.with(name, help, Kind::Histogram, |f| {
            let h = f.histograms.entry(key).or_insert_with(|| Histogram {
                counts: vec![0; LATENCY_BUCKETS.len()],
                ..Histogram::default()
            });
            for (i, bound) in LATENCY_BUCKETS.iter().enumerate() {
                if seconds <= *bound {
                    h.counts[i] += 1;
                }
            }
            h.sum += seconds;
            h.count += 1;
        });
    }

    /// A counter's or gauge's value (tests and the gateway's own checks).
    pub fn value(&self, name: &str, pairs: &[(&str, &str)]) -> Option<f64> {
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        families.get(name)?.values.get(&labels(pairs)).copied()
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let families = self.families.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out = String::new();
        for (name, family) in families.iter() {
            let _ = writeln!(out, "# HELP {name} {}", family.help);
            let _ = writeln!(out, "# TYPE {name} {}", family.kind.name());
            for (key, value) in &family.values {
                let braces = if key.is_empty() {
                    String::new()
                } else {
                    format!("{{{key}}}")
                };
                let _ = writeln!(out, "{name}{braces} {value}");
            }
            for (key, h) in &family.histograms {
                let sep = if key.is_empty() { "" } else { "," };
                for (bound, count) in LATENCY_BUCKETS.iter().zip(&h.counts) {
                    let _ = writeln!(out, "{name}_bucket{{{key}{sep}le=\"{bound}\"}} {count}");
                }
                let _ = writeln!(out, "{name}_bucket{{{key}{sep}le=\"+Inf\"}} {}", h.count);
                let braces = if key.is_empty() {
                    String::new()
                } else {
                    format!("{{{key}}}")
                };
                let _ = writeln!(out, "{name}_sum{braces} {}", h.sum);
                let _ = writeln!(out, "{name}_count{braces} {}", h.count);
            }
        }
        out
    }
}

/// Answers `GET /metrics` (the registry, after `refresh` updates what is computed at scrape)
/// and `GET /healthz` on `address`, from a thread of its own; returns the bound address.
pub fn serve(
    address: SocketAddr,
    registry: Registry,
    refresh: impl Fn(&Registry) + Send + 'static,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(address)?;
    let bound = listener.local_addr()?;
    std::thread::Builder::new()
        .name("metrics".into())
        .spawn(move || {
            for stream in listener.incoming().flatten() {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
                let mut stream = stream;
                // The request's head, up to its blank line (or 1 KB).
                let mut head = Vec::with_capacity(256);
                let mut chunk = [0u8; 256];
                while head.len() < 1024 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head);
                let path = line.split_whitespace().nth(1).unwrap_or("");
                let (status, kind, body) = match path {
                    "/metrics" => {
                        refresh(&registry);
                        ("200 OK", "text/plain; version=0.0.4", registry.render())
                    }
                    "/healthz" => ("200 OK", "text/plain", "ok\n".to_string()),
                    _ => ("404 Not Found", "text/plain", "not found\n".to_string()),
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        })?;
    Ok(bound)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_gauges_and_histograms() {
        let r = Registry::new();
        r.count(
            "deu_requests_total",
            "Requests.",
            &[("route", "/api/state"), ("status", "200")],
            2,
        );
        r.set("deu_mint_budget_units", "Mint budget.", &[], 5.0);
        r.observe("deu_request_seconds", "Latency.", &[("route", "/a")], 0.02);
        let text = r.render();
        assert!(text.contains("# TYPE deu_requests_total counter\ndeu_requests_total{route=\"/api/state\",status=\"200\"} 2\n"), "{text}");
        assert!(text.contains("deu_mint_budget_units 5\n"));
        assert!(text.contains("deu_request_seconds_bucket{route=\"/a\",le=\"0.01\"} 0\n"));
        assert!(text.contains("deu_request_seconds_bucket{route=\"/a\",le=\"0.025\"} 1\n"));
        assert!(text.contains("deu_request_seconds_count{route=\"/a\"} 1\n"));
        assert_eq!(r.value("deu_mint_budget_units", &[]), Some(5.0));
    }

    #[test]
    fn serves_metrics_and_health_over_http() {
        let r = Registry::new();
        r.count("deu_ticks_total", "Ticks.", &[], 1);
        let addr = serve("127.0.0.1:0".parse().unwrap(), r, |r| {
            r.set("deu_scraped", "Set at scrape.", &[], 1.0)
        })
        .unwrap();
        let get = |path: &str| {
            let mut s = std::net::TcpStream::connect(addr).unwrap();
            s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
                .unwrap();
            let mut out = String::new();
            s.read_to_string(&mut out).unwrap();
            out
        };
        let metrics = get("/metrics");
        assert!(metrics.starts_with("HTTP/1.1 200 OK"));
        assert!(metrics.contains("deu_ticks_total 1\n") && metrics.contains("deu_scraped 1\n"));
        assert!(get("/healthz").ends_with("ok\n"));
        assert!(get("/nope").starts_with("HTTP/1.1 404"));
    }
}
