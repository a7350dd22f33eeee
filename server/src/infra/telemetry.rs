//! Tracing set-up, shared by the binary and tests (`TEST_LOG=1` shows test logs).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber once; later calls (several servers in one test process) do
/// nothing.
pub fn init(filter: &str, json: bool) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
