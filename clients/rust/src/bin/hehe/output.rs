//! How things look on stdout: one line per item for people, JSON for machines.

use hehe_protocol::issue::{IssueDetail, IssueEventInfo, IssueSummary, IssueUpdate};
use hehe_protocol::meeting::{MeetingInfo, RoomEventInfo};
use hehe_protocol::{AccountId, Event, Member};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;

/// `println!` that ends the program quietly when nobody reads stdout any more
/// (`hehe tail home:2 | head -1`), where `println!` would panic.
macro_rules! out {
    ($($arg:tt)*) => {
        $crate::output::write_line(format_args!($($arg)*))
    };
}

pub fn write_line(line: fmt::Arguments) {
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_fmt(line)
        .and_then(|()| stdout.write_all(b"\n"))
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Prints a value as one line of JSON.
pub fn json<T: Serialize + ?Sized>(value: &T) {
    // Our types serialize infallibly: every map key is a string.
    out!("{}", serde_json::to_string(value).unwrap_or_default());
}

/// `2026-01-05 10:02:00Z`: Unix ms as UTC, to the second.
pub fn time(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60
    )
}

/// `#7 HH-000007 in_progress yellow grid drainage "Title" → Chen Jie`.
pub fn issue_line(issue: &IssueSummary) -> String {
    let mut line = format!(
        "#{} {} {} {} {} {} {:?}",
        issue.id,
        issue.reference,
        issue.state.as_str(),
        issue.priority.as_str(),
        issue.level.as_str(),
        issue.category,
        issue.title
    );
    if let Some(reason) = issue.closure_reason {
        line.push_str(&format!(" ({})", snake(&reason)));
    }
    if let Some(assignee) = &issue.assignee {
        line.push_str(&format!(
            " -> {} (account {})",
            assignee.name, assignee.account_id
        ));
    }
    if let (Some(due), Some(clock)) = (issue.due_at, issue.due_clock) {
        line.push_str(&format!(", {} due {}", clock.as_str(), time(due)));
    }
    if issue.overdue {
        line.push_str(", overdue");
    }
    line
}

/// A timeline entry: `accepted submitted->accepted by Liu Yang: text`.
pub fn timeline_entry(entry: &IssueEventInfo) -> String {
    let mut line = entry.kind.clone();
    if let (Some(from), Some(to)) = (entry.from, entry.to) {
        line.push_str(&format!(" {}->{}", from.as_str(), to.as_str()));
    }
    if let Some(actor) = &entry.actor {
        line.push_str(&format!(" by {}", actor.name));
    }
    if entry.visibility == hehe_protocol::issue::Visibility::Internal {
        line.push_str(" (internal)");
    }
    if let Some(text) = &entry.text {
        line.push_str(&format!(": {text}"));
    }
    line
}

pub fn issue_detail(detail: &IssueDetail) {
    out!("{}", issue_line(&detail.issue));
    out!("  {}", detail.description.replace('\n', "\n  "));
    if let Some(reporter) = &detail.reporter {
        out!(
            "  reported by {} (account {})",
            reporter.name,
            reporter.account_id
        );
    }
    out!(
        "  place {}, grid {}, community {}; {} report(s), {} follower(s){}",
        detail.issue.place_id,
        detail.issue.grid_id,
        detail.issue.community_id,
        detail.submissions,
        detail.issue.follower_count,
        if detail.following {
            ", you follow it"
        } else {
            ""
        }
    );
    for deadline in detail.deadlines.iter().filter(|d| d.running) {
        out!(
            "  deadline {}: due {}{}",
            deadline.clock.as_str(),
            time(deadline.due_at),
            if deadline.breached { ", missed" } else { "" }
        );
    }
    for photo in &detail.photos {
        out!(
            "  photo {} ({}, {} bytes): {}",
            photo.id,
            photo.kind.as_str(),
            photo.size,
            photo.url
        );
    }
    out!("  timeline:");
    for entry in &detail.timeline {
        out!(
            "    {} {:>3} {}",
            time(entry.time),
            entry.seq,
            timeline_entry(entry)
        );
    }
}

pub fn meeting_line(meeting: &MeetingInfo) -> String {
    format!(
        "#{} room:{} {} {} {:?} (place {}, chair account {}{})",
        meeting.id,
        meeting.id,
        snake(&meeting.kind),
        snake(&meeting.state),
        meeting.title,
        meeting.place_id,
        meeting.chair,
        if meeting.private { ", private" } else { "" }
    )
}

/// Names of the people met so far (from presence), to show ids as names.
#[derive(Debug, Default)]
pub struct Names(HashMap<AccountId, String>);

impl Names {
    pub fn learn(&mut self, member: &Member) {
        self.0.insert(member.account_id, member.name.clone());
    }

    fn of(&self, value: &serde_json::Value) -> String {
        match value.as_i64() {
            Some(id) => match self.0.get(&AccountId(id)) {
                Some(name) => name.clone(),
                None => format!("account {id}"),
            },
            None => value.to_string(),
        }
    }
}

/// One line for an event: when, where, what.
pub fn event_line(event: &Event, names: &Names) -> String {
    format!(
        "{} {} #{} {} {}",
        time(event.time),
        event.channel,
        event.offset,
        event.kind,
        describe(event, names)
    )
}

fn describe(event: &Event, names: &Names) -> String {
    let data = &event.data;
    use hehe_protocol::EventKind as K;
    let Some(kind) = K::parse(&event.kind) else {
        return data.to_string();
    };
    match kind {
        K::Message => format!(
            "{}: {}",
            data["author"]["name"].as_str().unwrap_or("?"),
            data["text"].as_str().unwrap_or_default()
        ),
        K::IssueUpdated | K::IssueSummary | K::InboxIssue | K::IssueEscalated => {
            match serde_json::from_value::<IssueUpdate>(data.clone()) {
                Ok(update) => match &update.event {
                    Some(entry) => {
                        format!("{} | {}", issue_line(&update.issue), timeline_entry(entry))
                    }
                    None => issue_line(&update.issue),
                },
                Err(_) => data.to_string(),
            }
        }
        K::RoomEvent => match serde_json::from_value::<RoomEventInfo>(data.clone()) {
            Ok(entry) => room_entry(&entry, names),
            Err(_) => data.to_string(),
        },
        K::RoomTally | K::RoomVoteResult => format!(
            "vote {}: {} ballot(s), counts {}",
            data["vote"], data["ballots"], data["counts"]
        ),
        _ => data.to_string(),
    }
}

fn room_entry(entry: &RoomEventInfo, names: &Names) -> String {
    let d = &entry.data;
    let actor = entry
        .actor
        .map(|id| names.of(&serde_json::Value::from(id.0)))
        .unwrap_or_default();
    let detail = match entry.kind.as_str() {
        "said" => format!(
            "{}: {}",
            names.of(&d["who"]),
            d["text"].as_str().unwrap_or("")
        ),
        "reacted" => format!(
            "{}: {}",
            names.of(&d["who"]),
            d["emoji"].as_str().unwrap_or("")
        ),
        "hand_raised" | "hand_lowered" | "muted" | "unmuted" | "removed" | "readmitted"
        | "entered" => names.of(&d["who"]),
        "floor_given" => names.of(&d["to"]),
        "minutes_appended" | "minutes_published" => d["text"].as_str().unwrap_or("").to_owned(),
        "vote_opened" => format!("{} {}", d["vote"]["question"], d["vote"]["options"]),
        "mode_set" => d["mode"].as_str().unwrap_or("").to_owned(),
        "agenda_item_set" => format!("item {}", d["index"]),
        "vote_cast" | "vote_closed" => format!("vote {}", d["vote"]),
        _ => {
            let mut rest = d.clone();
            if let Some(map) = rest.as_object_mut() {
                map.remove("kind");
            }
            if rest.as_object().is_some_and(|m| m.is_empty()) {
                String::new()
            } else {
                rest.to_string()
            }
        }
    };
    let mut line = format!("{} {}", entry.seq, entry.kind);
    // Someone's own hand or words need no "by".
    let own = entry.actor.is_some_and(|a| d["who"].as_i64() == Some(a.0));
    if !actor.is_empty() && !own {
        line.push_str(&format!(" by {actor}"));
    }
    if !detail.is_empty() {
        line.push_str(&format!(" {detail}"));
    }
    line
}

pub fn members(list: &[Member]) -> String {
    let names: Vec<&str> = list.iter().map(|m| m.name.as_str()).collect();
    if names.is_empty() {
        "nobody".into()
    } else {
        names.join(", ")
    }
}

/// A protocol enum in its wire spelling.
pub fn snake<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

/// What an import's report says, whatever it imported.
pub struct Import<'a> {
    pub dry_run: bool,
    pub applied: bool,
    pub lines: u32,
    pub unchanged: u32,
    /// Each line created (or that would be), already worded: `(line, what)`.
    pub created: Vec<(u32, String)>,
    /// Each line refused: `(line, code, why)`.
    pub refused: Vec<(u32, &'a str, &'a str)>,
}

/// Prints an import's report, the same for places and people; lines refused end the command
/// with exit code 1, since then nothing was written, dry run or not.
pub fn import(report: Import) -> crate::error::CliResult<()> {
    let verb = if report.applied {
        "created"
    } else {
        "would create"
    };
    for (line, what) in &report.created {
        out!("line {line}: {verb} {what}");
    }
    for (line, code, why) in &report.refused {
        out!("line {line}: refused {code}: {why}");
    }
    out!(
        "{} lines: {} {verb}, {} unchanged, {} refused{}",
        report.lines,
        report.created.len(),
        report.unchanged,
        report.refused.len(),
        if report.applied {
            ""
        } else if report.dry_run {
            " (dry run, nothing written)"
        } else {
            " (nothing written)"
        }
    );
    if report.refused.is_empty() {
        Ok(())
    } else {
        Err(crate::error::CliError::Other(format!(
            "{} lines refused: nothing imported",
            report.refused.len()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_dates() {
        assert_eq!(time(0), "1970-01-01 00:00:00Z");
        assert_eq!(time(1_767_225_610_000), "2026-01-01 00:00:10Z");
        assert_eq!(time(951_782_400_000), "2000-02-29 00:00:00Z");
    }
}
