//! `hehe-loadtest`: see the crate documentation and `loadtest/README.md`.

use clap::Parser;
use hehe_loadtest::cli::{Cli, Command};
use std::io::Write;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    // Logs go to standard error: a worker's standard output carries its protocol.
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HEHE_LOADTEST_LOG")
                .unwrap_or_else(|_| "warn".into()),
        )
        .init();
    // Each connection is an open file: take all the process may have.
    if let Err(e) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(error = %e, "could not raise the open-files limit");
    }
    let cli = Cli::parse();
    if matches!(cli.command, Command::Worker) {
        return match hehe_loadtest::worker::link::child_main().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("worker: {e:#}");
                ExitCode::FAILURE
            }
        };
    }
    if let Command::BaselineServer {
        listen,
        max_secs,
        max_connections,
        read_buffer,
        write_buffer,
    } = cli.command
    {
        let limits = hehe_loadtest::baseline_server::Limits {
            max_secs,
            max_connections,
            read_buffer,
            write_buffer,
        };
        return match hehe_loadtest::baseline_server::main(listen, limits).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("baseline-server: {e:#}");
                ExitCode::from(2)
            }
        };
    }
    if let Command::Chaos(args) = &cli.command {
        return hehe_loadtest::chaos::main(args).await;
    }
    let Some(common) = cli.command.common() else {
        return ExitCode::FAILURE;
    };
    let report = match hehe_loadtest::run(&cli.command).await {
        Ok(report) => report,
        Err(e) => {
            eprintln!("hehe-loadtest: {e:#}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = hehe_loadtest::write_report(common, &report) {
        eprintln!("hehe-loadtest: {e:#}");
        return ExitCode::from(2);
    }
    // The summary is the program's output.
    let _ = std::io::stdout().write_all(report.summary().as_bytes());
    if report.ok || common.report_only {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
