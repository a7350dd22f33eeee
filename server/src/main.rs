//! `hehe-server`: reads the configuration, starts logging, binds and runs until SIGTERM/Ctrl-C.

use clap::Parser;
use hehe_server::config::Config;
use tokio::net::TcpListener;

// mimalloc returns freed memory to the system more readily than glibc's per-thread arenas,
// which matters for a process holding tens of thousands of small, long-lived connections.
#[cfg(not(feature = "dhat-heap"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "dhat-heap")]
#[global_allocator]
static ALLOCATOR: dhat::Alloc = dhat::Alloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // Written when main returns, after a graceful shutdown (SIGTERM or Ctrl-C).
    #[cfg(feature = "dhat-heap")]
    let _profiler = dhat::Profiler::new_heap();
    let config = Config::parse();
    hehe_server::infra::telemetry::init(&config.log, config.log_json);
    // Every connection holds a file; a soft limit left below the hard one (often 1,024)
    // would refuse connections long before memory or CPU run out.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => tracing::info!(limit, "open files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open files limit"),
    }
    let listener = TcpListener::bind(config.listen).await?;
    tracing::info!(addr = %listener.local_addr()?, "listening");
    hehe_server::run(config, listener, hehe_server::shutdown_signal()).await
}
