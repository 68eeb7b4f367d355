//! Logs of the long-running commands (`deu serve`, `deu demo`, the crank, `deu-gateway run`)
//! through `tracing`, on stderr: as plain lines by default (what a person reads in a terminal
//! or `journalctl`), or one JSON object a line with `DEU_LOG_FORMAT=json` (timestamp, level,
//! target, message and fields: what a log shipper wants). `RUST_LOG` filters as usual; the
//! default shows this project's lines (target `deu`) at info and everything else's warnings,
//! but for [`DEFAULT_FILTER`]'s exceptions.

use tracing_subscriber::EnvFilter;

/// The target every line of this project carries.
pub const TARGET: &str = "deu";

/// Without `RUST_LOG`: this project at info, the rest at warn, except `tarpc` (the banks'
/// RPC inside the local cluster), which warns on every call that no OpenTelemetry subscriber
/// is installed, a line a block: its errors only.
pub const DEFAULT_FILTER: &str = "warn,deu=info,tarpc=error";

/// Installs the subscriber (once; later calls do nothing).
pub fn init() {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let json = std::env::var("DEU_LOG_FORMAT").is_ok_and(|v| v.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().with_current_span(false).try_init()
    } else {
        builder
            .without_time()
            .with_target(false)
            .with_level(false)
            .with_ansi(false)
            .try_init()
    };
}
