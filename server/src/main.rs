//! `hehe-server`: reads the configuration, starts logging, binds and runs until SIGTERM/Ctrl-C;
//! or, with `create-admin`, makes the first admin of an empty installation and exits.

use clap::{Parser, Subcommand};
use hehe_server::config::Config;
use std::io::{BufRead, IsTerminal};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "hehe-server",
    version,
    about = "Hehe: the live hub for neighbourhood self-government"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Create the first admin of an installation that has none (with HEHE_SEED_DEMO=false, the
    /// only way in), then exit. The password is read from standard input: typed twice at a
    /// terminal without echo, or the first line of a pipe. Refused once an admin exists.
    CreateAdmin {
        /// 3 to 32 lowercase letters, digits, dots, hyphens or underscores.
        #[arg(long)]
        username: String,
        /// The name people see, e.g. 街道管理员.
        #[arg(long, default_value = "管理员 Admin")]
        display_name: String,
    },
}

/// The new admin's password: without echo at a terminal (asked twice), else the first line.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("新管理员的密码 Password for the new admin: ")?;
        let again = rpassword::prompt_password("请再输入一次 The same password again: ")?;
        anyhow::ensure!(
            first == again,
            "两次输入的密码不同，未创建任何账户。The two passwords differ; nothing was created."
        );
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}

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
    let Cli { config, command } = Cli::parse();
    hehe_server::infra::telemetry::init(&config.log, config.log_json);
    if let Some(Command::CreateAdmin {
        username,
        display_name,
    }) = command
    {
        let password = read_password()?;
        let (id, username) =
            hehe_server::create_first_admin(&config, &username, &display_name, &password).await?;
        eprintln!(
            "已创建首位管理员（账户 {id}），请以 {username} 登录。\
             Created the first admin, account {id}: sign in as {username}."
        );
        return Ok(());
    }
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
