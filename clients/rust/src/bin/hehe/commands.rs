//! The one-shot commands: each asks the server once (or twice) and prints the answer.

use crate::args::{ActCommand, ListArgs, RaiseArgs, RoomActCommand};
use crate::error::{CliError, CliResult};
use crate::output;
use crate::session::Session;
use hehe_client::{ClientError, Connection};
use hehe_protocol::credentials::{ResidencyRequest, ResidencyState};
use hehe_protocol::issue::{IssueAction, IssueSummary, NewIssue, PhotoInfo, PhotoKind};
use hehe_protocol::meeting::{NewVote, RoomAction};
use hehe_protocol::{AccountId, Channel, IssueId, MeetingId, PlaceId, RequestId};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::{Command, Stdio};

/// Longest issue title the server takes, in characters.
const TITLE_MAX: usize = 120;

pub async fn login(
    session: &mut Session,
    username: &str,
    password: Option<String>,
    from_stdin: bool,
    json: bool,
) -> CliResult<()> {
    let password = match password {
        Some(password) => password,
        None => read_password(from_stdin)?,
    };
    let tokens = session.http.login(username, &password).await?;
    session.save_login(&tokens)?;
    if json {
        output::json(&tokens.account);
    } else {
        out!(
            "logged in to {} as {} ({}, account {})",
            session.http.base_url(),
            tokens.account.username,
            tokens.account.display_name,
            tokens.account.id
        );
    }
    Ok(())
}

/// The first line of stdin, or, on a terminal, a line typed without echo.
fn read_password(from_stdin: bool) -> CliResult<String> {
    let stdin = std::io::stdin();
    let terminal = stdin.is_terminal() && !from_stdin;
    if terminal {
        eprint!("Password: ");
        // `stty` reads the terminal from its stdin, which it inherits: ours.
        let echo = |on: bool| {
            Command::new("stty")
                .arg(if on { "echo" } else { "-echo" })
                .stdin(Stdio::inherit())
                .status()
                .is_ok_and(|s| s.success())
        };
        let hidden = echo(false);
        let mut line = String::new();
        let read = stdin.lock().read_line(&mut line);
        if hidden {
            echo(true);
        }
        eprintln!();
        read?;
        return Ok(line.trim_end_matches(['\r', '\n']).to_owned());
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(CliError::Usage("no password on stdin".into()));
    }
    Ok(password.to_owned())
}

pub async fn logout(session: &mut Session, everywhere: bool, json: bool) -> CliResult<()> {
    // Signed out on the server first, so the saved tokens stop working wherever a copy went;
    // the local login is forgotten whatever the server said (it may be unreachable, or the
    // session over already).
    if session.has_token() {
        match session.token().await {
            Ok(token) => {
                if let Err(e) = session.http.logout(&token, everywhere).await {
                    eprintln!("hehe: the server did not sign the session out: {e}");
                }
            }
            Err(e) => eprintln!("hehe: the server did not sign the session out: {e}"),
        }
    }
    let had = session.forget()?;
    if json {
        output::json(&serde_json::json!({ "logged_out": had }));
    } else if had {
        out!("logged out of {}", session.http.base_url());
    } else {
        out!("not logged in to {}", session.http.base_url());
    }
    Ok(())
}

pub async fn whoami(session: &mut Session, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let me = session.http.me(&token).await?;
    if json {
        output::json(&me);
        return Ok(());
    }
    out!(
        "{} ({}), account {} on {}",
        me.username,
        me.display_name,
        me.id,
        session.http.base_url()
    );
    for grant in &me.grants {
        let place = match &grant.place {
            Some(p) => format!(
                " of {} {} ({}, {})",
                p.kind.as_str(),
                p.id,
                p.name,
                p.name_zh
            ),
            None => String::new(),
        };
        let channels: Vec<String> = grant.channels.iter().map(|c| c.to_string()).collect();
        out!("  {}{place}: {}", grant.role.as_str(), channels.join(" "));
    }
    Ok(())
}

pub async fn channels(session: &mut Session, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let me = session.http.me(&token).await?;
    let mut channels: Vec<Channel> = Vec::new();
    for channel in me.grants.iter().flat_map(|g| &g.channels) {
        if !channels.contains(channel) {
            channels.push(*channel);
        }
    }
    if json {
        output::json(&channels);
    } else {
        for channel in channels {
            out!("{channel}");
        }
    }
    Ok(())
}

pub async fn categories(session: &mut Session, json: bool) -> CliResult<()> {
    let categories = session.http.categories().await?;
    if json {
        output::json(&categories);
        return Ok(());
    }
    for c in categories {
        let mut notes = Vec::new();
        if c.requires_after_photo {
            notes.push("after photo required");
        }
        if c.requires_verification {
            notes.push("verified");
        }
        out!(
            "{} ({}, {}): {} priority{}{}",
            c.code,
            c.name,
            c.name_zh,
            c.default_priority.as_str(),
            if notes.is_empty() { "" } else { "; " },
            notes.join(", ")
        );
    }
    Ok(())
}

pub async fn place(session: &mut Session, id: i64, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let detail = session.http.place(&token, PlaceId(id)).await?;
    if json {
        output::json(&detail);
        return Ok(());
    }
    let line = |p: &hehe_protocol::http::PlaceInfo| {
        format!("{} {} {} ({})", p.kind.as_str(), p.id, p.name, p.name_zh)
    };
    for (depth, above) in detail.ancestors.iter().enumerate() {
        out!("{}{}", "  ".repeat(depth), line(above));
    }
    let depth = detail.ancestors.len();
    out!("{}{}", "  ".repeat(depth), line(&detail.place));
    for child in &detail.children {
        out!("{}{}", "  ".repeat(depth + 1), line(child));
    }
    Ok(())
}

pub async fn post(
    session: &mut Session,
    channel: Channel,
    text: &str,
    json: bool,
) -> CliResult<()> {
    let token = session.token().await?;
    let ws_url = session.http.ws_url();
    let mut conn = Connection::connect(&ws_url, &token).await?;
    let id = conn.next_request_id();
    let mut posted = conn.post_with_id(id.clone(), channel, text).await;
    let _ = conn.close().await;
    // Lost on the way, or the answer was: the same id again, on a new connection, posts at
    // most once (PROTOCOL.md §6).
    if let Err(ClientError::Closed { .. } | ClientError::Timeout | ClientError::WebSocket(_)) =
        posted
    {
        eprintln!("hehe: no answer to the post; sending it again");
        let mut conn = Connection::connect(&ws_url, &token).await?;
        posted = conn.post_with_id(id, channel, text).await;
        let _ = conn.close().await;
    }
    let posted = posted?;
    if json {
        output::json(&serde_json::json!({
            "channel": channel,
            "message_id": posted.message_id,
            "epoch": posted.epoch,
            "offset": posted.offset,
        }));
    } else {
        out!(
            "posted message {} to {channel} (epoch {}, offset {})",
            posted.message_id,
            posted.epoch,
            posted.offset
        );
    }
    Ok(())
}

/// A fresh request id: the server applies a command once per id and account.
fn request_id() -> RequestId {
    let random: u64 = rand::random();
    RequestId::parse(format!("cli-{random:016x}")).expect("a valid request id")
}

/// The first line of the text, cut to what a title may hold. A title is one line: tabs become
/// spaces, as the server refuses them there.
fn title_of(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
        .replace('\t', " ");
    if line.chars().count() <= TITLE_MAX {
        line
    } else {
        let mut title: String = line.chars().take(TITLE_MAX - 1).collect();
        title.push('…');
        title
    }
}

fn read_photo(path: &Path) -> CliResult<Vec<u8>> {
    std::fs::read(path).map_err(|e| CliError::Usage(format!("reading {}: {e}", path.display())))
}

async fn upload(
    session: &mut Session,
    token: &str,
    issue: IssueId,
    kind: PhotoKind,
    path: &Path,
    keep_location: bool,
) -> CliResult<PhotoInfo> {
    let bytes = read_photo(path)?;
    Ok(session
        .http
        .upload_photo(token, issue, kind.as_str(), bytes, keep_location)
        .await?)
}

fn print_issue(issue: &IssueSummary, photo: Option<&PhotoInfo>, json: bool) {
    if json {
        output::json(&serde_json::json!({ "issue": issue, "photo": photo }));
        return;
    }
    out!("{}", output::issue_line(issue));
    if let Some(photo) = photo {
        out!(
            "  photo {} ({}): {}",
            photo.id,
            photo.kind.as_str(),
            photo.url
        );
    }
}

pub async fn raise(session: &mut Session, args: RaiseArgs, json: bool) -> CliResult<()> {
    // Read the photo before raising anything, so a wrong path raises nothing.
    if let Some(path) = &args.photo {
        read_photo(path)?;
    }
    let token = session.token().await?;
    let issue = NewIssue {
        category: args.category,
        title: args.title.unwrap_or_else(|| title_of(&args.text)),
        description: args.text,
        place_id: PlaceId(args.place),
        location: None,
        public: !args.private,
        priority: args.priority,
        on_behalf_of: args.on_behalf_of.map(AccountId),
    };
    let summary = session
        .http
        .submit_issue(&token, &request_id(), &issue)
        .await?;
    let photo = match &args.photo {
        Some(path) => Some(
            upload(
                session,
                &token,
                summary.id,
                PhotoKind::Before,
                path,
                args.keep_location,
            )
            .await?,
        ),
        None => None,
    };
    print_issue(&summary, photo.as_ref(), json);
    Ok(())
}

pub async fn show(session: &mut Session, id: i64, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let detail = session.http.issue(&token, IssueId(id)).await?;
    if json {
        output::json(&detail);
    } else {
        output::issue_detail(&detail);
    }
    Ok(())
}

pub async fn list(session: &mut Session, args: ListArgs, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let mut query: Vec<(&str, String)> = Vec::new();
    let numbers = [
        ("community", args.community),
        ("street", args.street),
        ("grid", args.grid),
        ("assignee", args.assignee),
        ("before", args.before),
    ];
    for (name, value) in numbers {
        if let Some(value) = value {
            query.push((name, value.to_string()));
        }
    }
    if args.mine {
        query.push(("mine", "true".into()));
    }
    if let Some(state) = args.state {
        query.push(("state", state));
    }
    if let Some(category) = args.category {
        query.push(("category", category));
    }
    if let Some(limit) = args.limit {
        query.push(("limit", limit.to_string()));
    }
    let issues = session.http.issues(&token, &query).await?;
    if json {
        output::json(&issues);
    } else {
        for issue in &issues {
            out!("{}", output::issue_line(issue));
        }
    }
    Ok(())
}

pub async fn act(session: &mut Session, id: i64, command: ActCommand, json: bool) -> CliResult<()> {
    let issue = IssueId(id);
    // A photo goes first: `complete` may need the `after` photo already there.
    let photo = match &command {
        ActCommand::Progress {
            photo: Some(path),
            photo_kind,
            ..
        } => Some((*photo_kind, path.clone())),
        ActCommand::Complete {
            photo: Some(path), ..
        } => Some((PhotoKind::After, path.clone())),
        _ => None,
    };
    if let Some((_, path)) = &photo {
        read_photo(path)?;
    }
    let action = match command {
        ActCommand::Accept => IssueAction::Accept,
        ActCommand::Reject { reason } => IssueAction::Reject { reason },
        ActCommand::Merge { into } => IssueAction::Merge {
            into: IssueId(into),
        },
        ActCommand::Dispatch { to } => IssueAction::Dispatch {
            assignee: AccountId(to),
        },
        ActCommand::Acknowledge => IssueAction::Acknowledge,
        ActCommand::Progress { text, internal, .. } => IssueAction::PostUpdate { text, internal },
        ActCommand::Complete { text, .. } => IssueAction::Complete { note: text },
        ActCommand::Return { reason } => IssueAction::Return { reason },
        ActCommand::Escalate { reason } => IssueAction::Escalate { reason },
        ActCommand::Unfixable {
            explanation,
            resolution,
        } => IssueAction::DeclareUnfixable {
            explanation,
            resolution,
        },
        ActCommand::VerifyOk => IssueAction::VerifyOk,
        ActCommand::VerifyFail { reason } => IssueAction::VerifyFail { reason },
        ActCommand::Rate {
            not_resolved,
            stars,
            satisfaction,
            comment,
        } => IssueAction::Rate {
            resolved: !not_resolved,
            satisfaction,
            stars,
            comment,
        },
        ActCommand::Withdraw => IssueAction::Withdraw,
        ActCommand::Follow => IssueAction::Follow,
        ActCommand::Unfollow => IssueAction::Unfollow,
        ActCommand::MeToo { note } => IssueAction::MeToo { note },
    };
    let token = session.token().await?;
    let uploaded = match &photo {
        Some((kind, path)) => Some(upload(session, &token, issue, *kind, path, false).await?),
        None => None,
    };
    let summary = session
        .http
        .issue_action(&token, issue, &request_id(), &action)
        .await?;
    print_issue(&summary, uploaded.as_ref(), json);
    Ok(())
}

pub async fn room_act(
    session: &mut Session,
    meeting: i64,
    command: RoomActCommand,
    json: bool,
) -> CliResult<()> {
    let action = match command {
        RoomActCommand::Publish => RoomAction::Publish,
        RoomActCommand::Start => RoomAction::Start,
        RoomActCommand::End => RoomAction::End,
        RoomActCommand::Cancel => RoomAction::Cancel,
        RoomActCommand::Say { text } => RoomAction::Say { text },
        RoomActCommand::React { emoji } => RoomAction::React { emoji },
        RoomActCommand::RaiseHand => RoomAction::RaiseHand,
        RoomActCommand::LowerHand => RoomAction::LowerHand,
        RoomActCommand::GiveFloor { to } => RoomAction::GiveFloor {
            to: to.map(AccountId),
        },
        RoomActCommand::TakeFloor => RoomAction::TakeFloor,
        RoomActCommand::Lock => RoomAction::Lock,
        RoomActCommand::Unlock => RoomAction::Unlock,
        RoomActCommand::SetMode { mode } => RoomAction::SetMode { mode },
        RoomActCommand::Mute { who } => RoomAction::Mute {
            who: AccountId(who),
        },
        RoomActCommand::Unmute { who } => RoomAction::Unmute {
            who: AccountId(who),
        },
        RoomActCommand::Remove { who } => RoomAction::Remove {
            who: AccountId(who),
        },
        RoomActCommand::Readmit { who } => RoomAction::Readmit {
            who: AccountId(who),
        },
        RoomActCommand::SetAgendaItem { index } => RoomAction::SetAgendaItem { index },
        RoomActCommand::OpenVote {
            question,
            options,
            multiple,
            anonymous,
            hide_results,
        } => RoomAction::OpenVote {
            vote: NewVote {
                question,
                options,
                multiple,
                anonymous,
                hide_results,
            },
        },
        RoomActCommand::CastVote { vote, choices } => RoomAction::CastVote { vote, choices },
        RoomActCommand::CloseVote { vote } => RoomAction::CloseVote { vote },
        RoomActCommand::AppendMinutes { text } => RoomAction::AppendMinutes { text },
        RoomActCommand::PublishMinutes { text } => RoomAction::PublishMinutes { text },
    };
    let token = session.token().await?;
    let mut conn = Connection::connect(&session.http.ws_url(), &token).await?;
    let seq = conn.room_action(MeetingId(meeting), action).await;
    let _ = conn.close().await;
    let seq = seq?;
    if json {
        output::json(&serde_json::json!({ "meeting": meeting, "seq": seq }));
    } else {
        out!("done in room:{meeting}: log entry {seq}");
    }
    Ok(())
}

pub async fn meetings(session: &mut Session, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let meetings = session.http.meetings(&token).await?;
    if json {
        output::json(&meetings);
    } else {
        for meeting in &meetings {
            out!("{}", output::meeting_line(meeting));
        }
    }
    Ok(())
}

// ---- residents and credentials ----

/// One request on a line: id, state, who, where, when, and why when refused.
fn request_line(r: &ResidencyRequest) -> String {
    let phone = r.phone_masked.as_deref().unwrap_or("-");
    let mut line = format!(
        "#{} {} account {} {} {phone} building {} {} ({}) since {}",
        r.id,
        r.state.as_str(),
        r.account,
        r.display_name,
        r.building.id,
        r.building.name_zh,
        r.building.name,
        output::time(r.created_at),
    );
    if let Some(reason) = &r.reason {
        line.push_str(&format!(": {reason}"));
    }
    line
}

pub async fn requests(
    session: &mut Session,
    place: Option<i64>,
    state: &str,
    json: bool,
) -> CliResult<()> {
    let state = match state {
        "all" => None,
        s => Some(ResidencyState::parse(s).ok_or_else(|| {
            CliError::Usage(format!(
                "--state is pending, approved, refused or all, not {s:?}"
            ))
        })?),
    };
    let token = session.token().await?;
    let list = session
        .http
        .residency_requests(&token, place.map(PlaceId), state)
        .await?;
    if json {
        output::json(&list);
    } else if list.is_empty() {
        out!("no requests");
    } else {
        for r in &list {
            out!("{}", request_line(r));
        }
    }
    Ok(())
}

/// `hehe approve` (no reason) and `hehe refuse` (with one).
pub async fn decide(
    session: &mut Session,
    id: i64,
    reason: Option<&str>,
    json: bool,
) -> CliResult<()> {
    let token = session.token().await?;
    let decided = match reason {
        None => session.http.approve_residency(&token, id).await?,
        Some(reason) => session.http.refuse_residency(&token, id, reason).await?,
    };
    if json {
        output::json(&decided);
    } else {
        out!("{}", request_line(&decided));
    }
    Ok(())
}

pub async fn reset_code(session: &mut Session, account: i64, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let code = session
        .http
        .make_reset_code(&token, AccountId(account))
        .await?;
    if json {
        output::json(&code);
    } else {
        out!(
            "reset code for account {account}: {} (valid until {}; shown only now)",
            code.code,
            output::time(code.expires_at)
        );
    }
    Ok(())
}

// ---- enrolment ----

/// `hehe places import FILE [--dry-run]`: the report, then exit 1 when lines were refused
/// (nothing was imported then).
pub async fn import_places(
    session: &mut Session,
    file: &std::path::Path,
    dry_run: bool,
    json: bool,
) -> CliResult<()> {
    let csv = std::fs::read(file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let token = session.token().await?;
    let report = session.http.import_places(&token, csv, dry_run).await?;
    if json {
        output::json(&report);
        return refused_exit(report.refused.len());
    }
    output::import(output::Import {
        dry_run: report.dry_run,
        applied: report.applied,
        lines: report.lines,
        unchanged: report.unchanged,
        created: report
            .created
            .iter()
            .map(|c| {
                let id = c.id.map(|id| format!(" #{id}")).unwrap_or_default();
                (c.line, format!("{} {}{id}", c.kind, c.path))
            })
            .collect(),
        refused: report
            .refused
            .iter()
            .map(|r| (r.line, r.code.as_str(), r.message.as_str()))
            .collect(),
    })
}

/// With `--json` the report is printed as it is; refused lines still end with exit code 1.
pub fn refused_exit(refused: usize) -> CliResult<()> {
    if refused == 0 {
        Ok(())
    } else {
        Err(CliError::Other(format!(
            "{refused} lines refused: nothing imported"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line_and_fit() {
        assert_eq!(
            title_of("\n  Leak behind building 5 \nmore"),
            "Leak behind building 5"
        );
        assert_eq!(title_of("Leak:\tbuilding 5"), "Leak: building 5");
        let long = "水".repeat(200);
        let title = title_of(&long);
        assert_eq!(title.chars().count(), TITLE_MAX);
        assert!(title.ends_with('…'));
    }

    #[test]
    fn request_ids_are_valid_and_fresh() {
        assert_ne!(request_id(), request_id());
    }
}
