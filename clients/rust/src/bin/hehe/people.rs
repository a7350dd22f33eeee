//! Enrolment from the command line: `hehe people import`, `hehe invite`, `hehe staff`.

use crate::args::InviteArgs;
use crate::error::{CliError, CliResult};
use crate::output;
use crate::session::Session;
use hehe_protocol::PlaceId;
use hehe_protocol::people::NewInvite;
use std::path::Path;

/// Sends the file, prints the report; lines refused end the command with exit code 1 (nothing
/// was written then, dry run or not).
pub async fn import(
    session: &mut Session,
    file: &Path,
    dry_run: bool,
    json: bool,
) -> CliResult<()> {
    let csv = std::fs::read_to_string(file)
        .map_err(|e| CliError::Usage(format!("cannot read {}: {e}", file.display())))?;
    let token = session.token().await?;
    let report = session.http.import_people(&token, csv, dry_run).await?;
    if json {
        output::json(&report);
        return crate::commands::refused_exit(report.refused.len());
    }
    output::import(output::Import {
        dry_run: report.dry_run,
        applied: report.applied,
        lines: report.lines,
        unchanged: report.unchanged,
        created: report
            .created
            .iter()
            .map(|p| {
                let how = if p.invited { "invite" } else { "account" };
                (
                    p.line,
                    format!("{how} {} as {} at place {}", p.name, p.role, p.place),
                )
            })
            .collect(),
        refused: report
            .refused
            .iter()
            .map(|r| (r.line, r.code.as_str(), r.message.as_str()))
            .collect(),
    })
}

/// Invites a person; the code and the link are printed once, here.
pub async fn invite(session: &mut Session, args: InviteArgs, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let new = NewInvite {
        role: args.role,
        place: args.place.map(PlaceId),
        display_name: args.name,
        phone: args.phone,
        email: args.email,
        romanised_name: args.romanised_name,
    };
    let created = session.http.create_invite(&token, &new).await?;
    if json {
        output::json(&created);
        return Ok(());
    }
    let invite = &created.invite;
    out!(
        "invite {} for {} as {}, expires {}",
        invite.id,
        invite.display_name,
        invite.role,
        output::time(invite.expires_at)
    );
    out!("code: {}", created.code);
    out!("link: {}{}", session.http.base_url(), created.link);
    Ok(())
}

/// Who may take an issue at a place, and how many open issues each has.
pub async fn staff(session: &mut Session, place: i64, json: bool) -> CliResult<()> {
    let token = session.token().await?;
    let staff = session.http.staff(&token, PlaceId(place)).await?;
    if json {
        output::json(&staff);
        return Ok(());
    }
    for member in &staff {
        out!(
            "{:>3} open  account {}  {}  {} at {} ({})",
            member.open_issues,
            member.account,
            member.display_name,
            member.role,
            member.place.name_zh,
            member.place.id
        );
    }
    Ok(())
}
