//! `hehe`: a command-line client for a Hehe server, for scripts and operations. Log in once,
//! then read channels, post, raise and act on issues and sit in living rooms. The README of
//! `clients/rust` describes every command; `hehe --help` lists them.
//!
//! Exit codes: 0 ok, 1 usage or other error, 2 refused by the server, 3 cannot reach it.

// A command-line tool's output is its stdout: printing there is what this binary is for.
#![allow(clippy::print_stdout)]

#[macro_use]
mod output;
mod args;
mod commands;
mod error;
mod follow;
mod people;
mod session;

use args::{Cli, Command, IssueCommand, PeopleCommand, PlacesCommand, RoomCommand};
use clap::Parser;
use error::CliResult;
use follow::Follow;
use hehe_protocol::{Channel, IssueId, MeetingId, Position};
use session::Session;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // Help and version go to stdout and are no error; usage errors exit 1.
            return ExitCode::from(if e.use_stderr() { 1 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("hehe: cannot start: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hehe: {e}");
            e.exit_code()
        }
    }
}

async fn run(cli: Cli) -> CliResult<()> {
    let json = cli.json;
    let mut session = Session::new(&cli.server, cli.token)?;
    let session = &mut session;
    match cli.command {
        Command::Login {
            username,
            password_stdin,
            password,
        } => commands::login(session, &username, password, password_stdin, json).await,
        Command::Logout { everywhere } => commands::logout(session, everywhere, json).await,
        Command::Whoami => commands::whoami(session, json).await,
        Command::Channels => commands::channels(session, json).await,
        Command::Categories => commands::categories(session, json).await,
        Command::Place { id } => commands::place(session, id, json).await,
        Command::Tail(tail) => {
            let since = match (tail.since_offset, tail.epoch) {
                (Some(offset), Some(epoch)) => Some(Position { epoch, offset }),
                _ => None,
            };
            let options = Follow {
                channel: tail.channel,
                since,
                count: tail.count,
                say: None,
                json,
            };
            follow::follow(session, options).await
        }
        Command::Post { channel, text } => commands::post(session, channel, &text, json).await,
        Command::Issue(IssueCommand::Raise(args)) => commands::raise(session, args, json).await,
        Command::Issue(IssueCommand::Show { id }) => commands::show(session, id, json).await,
        Command::Issue(IssueCommand::Follow { id, count }) => {
            let options = Follow {
                channel: Channel::Issue(IssueId(id)),
                since: None,
                count,
                say: None,
                json,
            };
            follow::follow(session, options).await
        }
        Command::Issue(IssueCommand::List(args)) => commands::list(session, args, json).await,
        Command::Issue(IssueCommand::Act { id, action }) => {
            commands::act(session, id, action, json).await
        }
        Command::Room(RoomCommand::Join {
            meeting,
            say,
            count,
        }) => {
            let options = Follow {
                channel: Channel::Room(MeetingId(meeting)),
                since: None,
                count,
                say,
                json,
            };
            follow::follow(session, options).await
        }
        Command::Room(RoomCommand::Act { meeting, action }) => {
            commands::room_act(session, meeting, action, json).await
        }
        Command::Meetings => commands::meetings(session, json).await,
        Command::Requests { place, state } => {
            commands::requests(session, place, &state, json).await
        }
        Command::Approve { id } => commands::decide(session, id, None, json).await,
        Command::Refuse { id, reason } => commands::decide(session, id, Some(&reason), json).await,
        Command::ResetCode { account } => commands::reset_code(session, account, json).await,
        // ---- enrolment ----
        Command::Places(PlacesCommand::Import { file, dry_run }) => {
            commands::import_places(session, &file, dry_run, json).await
        }
        Command::People(PeopleCommand::Import { file, dry_run }) => {
            people::import(session, &file, dry_run, json).await
        }
        Command::Invite(args) => people::invite(session, args, json).await,
        Command::Staff { place } => people::staff(session, place, json).await,
    }
}
