//! Who is told what, on which channel and when: pure rules over facts the app gathers. The
//! store keeps the results (the inbox and the deliveries); the delivery worker sends them.
//!
//! - Issues: the reporter, followers and "me too" residents on every public step (the
//!   reporter is asked for a rating when it is fixed); the assignee on dispatch, reopening,
//!   deadline warning and breach; the community's officials on a new issue (private ones too),
//!   on escalation and on a breach; the street's chiefs on escalation to the street.
//! - Meetings: registered participants and members on every step; the community's people on
//!   scheduling, moving, cancelling and start of a public meeting.
//! - Appraisals: electors when it opens and before it closes (those who have not voted).
//! - Nobody is told of their own action, and each person gets one notification per step: the
//!   most specific kind they qualify for.
//! - Urgent: a red-priority issue dispatched, reopened or past its deadline. Urgent kinds are
//!   sent at once in quiet hours; everything else waits for the quiet hours to end (the inbox
//!   always gets it at once).

use hehe_protocol::issue::{IssueState, Level, Priority, Visibility};
use hehe_protocol::notify::{NotificationKind as Kind, NotifyChannel, Subject, SubjectKind};
use hehe_protocol::{AccountId, IssueId, MeetingId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[cfg(test)]
mod tests;

/// What happened that may tell someone: stored (as JSON) in the transaction of the change,
/// expanded into notifications afterwards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Cause {
    /// Timeline entries `from..=to` of an issue.
    Issue { issue: IssueId, from: i64, to: i64 },
    Meeting {
        meeting: MeetingId,
        step: MeetingStep,
    },
    Appraisal {
        appraisal: MeetingId,
        step: AppraisalStep,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MeetingStep {
    Scheduled,
    Moved,
    Cancelled,
    Starting,
    Started,
    Ended,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppraisalStep {
    Opened,
    Closing,
}

/// One person to tell, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Recipient {
    pub account: AccountId,
    pub kind: Kind,
    pub urgent: bool,
}

/// The people around an issue, as they are when its cause is expanded.
#[derive(Debug, Clone, Default)]
pub struct IssueFacts {
    pub reporter: Option<AccountId>,
    pub assignee: Option<AccountId>,
    pub followers: Vec<AccountId>,
    /// Residents whose own report joined the issue.
    pub me_too: Vec<AccountId>,
    pub officials: Vec<AccountId>,
    pub chiefs: Vec<AccountId>,
    pub priority: Option<Priority>,
}

/// One timeline entry, as the rule needs it.
#[derive(Debug, Clone)]
pub struct IssueStep<'a> {
    pub kind: &'a str,
    pub to: Option<IssueState>,
    pub visibility: Visibility,
    pub actor: Option<AccountId>,
    /// `dispatched`: to whom. `escalated`: to which level.
    pub assignee: Option<AccountId>,
    pub level: Option<Level>,
}

/// How specific a kind is: when someone qualifies twice for one step, the higher one wins.
fn rank(kind: Kind) -> u8 {
    match kind {
        Kind::IssueAssigned | Kind::IssueReopened => 9,
        Kind::IssueDeadlineBreach => 8,
        Kind::IssueDeadlineWarning => 7,
        Kind::IssueToRate => 6,
        Kind::IssueEscalated => 5,
        Kind::IssueNew => 4,
        Kind::MeetingStarting | Kind::AppraisalClosing => 3,
        _ => 1,
    }
}

/// Gathers candidates into one recipient per person (the most specific kind, urgent if any
/// claim was), leaving out the actor; ordered by account for stable results.
struct Gather {
    actor: Option<AccountId>,
    found: BTreeMap<AccountId, (Kind, bool)>,
}

impl Gather {
    fn new(actor: Option<AccountId>) -> Self {
        Self {
            actor,
            found: BTreeMap::new(),
        }
    }

    fn add(&mut self, accounts: impl IntoIterator<Item = AccountId>, kind: Kind, urgent: bool) {
        for account in accounts {
            if Some(account) == self.actor {
                continue;
            }
            let entry = self.found.entry(account).or_insert((kind, urgent));
            if rank(kind) > rank(entry.0) {
                entry.0 = kind;
            }
            entry.1 |= urgent;
        }
    }

    fn done(self) -> Vec<Recipient> {
        self.found
            .into_iter()
            .map(|(account, (kind, urgent))| Recipient {
                account,
                kind,
                urgent,
            })
            .collect()
    }
}

/// Who is told of one issue step.
pub fn issue_recipients(facts: &IssueFacts, step: &IssueStep<'_>) -> Vec<Recipient> {
    let red = facts.priority == Some(Priority::Red);
    let mut g = Gather::new(step.actor);
    let assignee = step.assignee.or(facts.assignee);
    match step.kind {
        "submitted" => g.add(facts.officials.iter().copied(), Kind::IssueNew, false),
        "dispatched" => g.add(step.assignee, Kind::IssueAssigned, red),
        "reopened" => g.add(facts.assignee, Kind::IssueReopened, red),
        "sla_warning" => match facts.assignee {
            Some(a) => g.add([a], Kind::IssueDeadlineWarning, false),
            None => g.add(
                facts.officials.iter().copied(),
                Kind::IssueDeadlineWarning,
                false,
            ),
        },
        "sla_breach" => {
            g.add(assignee, Kind::IssueDeadlineBreach, red);
            g.add(
                facts.officials.iter().copied(),
                Kind::IssueDeadlineBreach,
                red,
            );
        }
        "escalated" => {
            g.add(facts.officials.iter().copied(), Kind::IssueEscalated, false);
            if step.level == Some(Level::Street) {
                g.add(facts.chiefs.iter().copied(), Kind::IssueEscalated, false);
            }
        }
        _ => {}
    }
    if step.visibility == Visibility::Public {
        let residents = facts
            .reporter
            .iter()
            .chain(&facts.followers)
            .chain(&facts.me_too)
            .copied();
        g.add(residents, Kind::IssueUpdate, false);
        if step.to == Some(IssueState::AwaitingRating) {
            g.add(facts.reporter, Kind::IssueToRate, false);
        }
    }
    g.done()
}

/// The people around a meeting.
#[derive(Debug, Clone, Default)]
pub struct MeetingFacts {
    pub private: bool,
    /// Registered participants and members (chair, secretary, parties…).
    pub participants: Vec<AccountId>,
    /// The people of the meeting's community (residents and staff), for public meetings.
    pub community: Vec<AccountId>,
    pub actor: Option<AccountId>,
}

pub fn meeting_recipients(facts: &MeetingFacts, step: MeetingStep) -> Vec<Recipient> {
    let kind = match step {
        MeetingStep::Scheduled => Kind::MeetingScheduled,
        MeetingStep::Moved => Kind::MeetingMoved,
        MeetingStep::Cancelled => Kind::MeetingCancelled,
        MeetingStep::Starting => Kind::MeetingStarting,
        MeetingStep::Started => Kind::MeetingStarted,
        MeetingStep::Ended => Kind::MeetingEnded,
    };
    let mut g = Gather::new(facts.actor);
    g.add(facts.participants.iter().copied(), kind, false);
    let announced = matches!(
        step,
        MeetingStep::Scheduled | MeetingStep::Moved | MeetingStep::Cancelled | MeetingStep::Started
    );
    if announced && !facts.private {
        g.add(facts.community.iter().copied(), kind, false);
    }
    g.done()
}

/// Electors: all of them when it opens; before it closes, those who have not voted.
pub fn appraisal_recipients(
    electors: &[AccountId],
    voted: &[AccountId],
    step: AppraisalStep,
) -> Vec<Recipient> {
    let mut g = Gather::new(None);
    match step {
        AppraisalStep::Opened => g.add(electors.iter().copied(), Kind::AppraisalOpened, false),
        AppraisalStep::Closing => g.add(
            electors.iter().copied().filter(|e| !voted.contains(e)),
            Kind::AppraisalClosing,
            false,
        ),
    }
    g.done()
}

/// Whether a kind goes out on a channel when the person said nothing: Web Push for every kind
/// (the browser asked for it); the paid SMS/WeChat relay only for work that must not wait and
/// for the rating request; email only for digests.
pub fn default_enabled(kind: Kind, channel: NotifyChannel) -> bool {
    match channel {
        NotifyChannel::Push => kind != Kind::Digest,
        NotifyChannel::Webhook => matches!(
            kind,
            Kind::IssueAssigned
                | Kind::IssueReopened
                | Kind::IssueDeadlineBreach
                | Kind::IssueToRate
                | Kind::MeetingStarting
        ),
        NotifyChannel::Email => kind == Kind::Digest,
    }
}

/// A person's choices: quiet hours (minutes after local midnight) and kind × channel switches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Prefs {
    pub quiet: Option<(u16, u16)>,
    pub choices: BTreeMap<(Kind, NotifyChannel), bool>,
}

impl Prefs {
    pub fn enabled(&self, kind: Kind, channel: NotifyChannel) -> bool {
        self.choices
            .get(&(kind, channel))
            .copied()
            .unwrap_or_else(|| default_enabled(kind, channel))
    }
}

/// What a person can be reached on beyond the socket.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reach {
    pub push: bool,
    pub phone: bool,
    pub email: bool,
}

/// Minutes from `now` (minutes after local midnight) to the end of the quiet hours, or 0 when
/// outside them. `start == end` means none.
pub fn quiet_wait(quiet: Option<(u16, u16)>, now: u16) -> u16 {
    let Some((start, end)) = quiet else { return 0 };
    let inside = if start < end {
        (start..end).contains(&now)
    } else if start > end {
        now >= start || now < end
    } else {
        false
    };
    if !inside {
        return 0;
    }
    (end + 1440 - now) % 1440
}

/// The channels one notification goes out on, each with the minutes it waits for quiet hours.
pub fn plan(
    kind: Kind,
    urgent: bool,
    prefs: &Prefs,
    reach: Reach,
    local_minute: u16,
) -> Vec<(NotifyChannel, u16)> {
    let wait = if urgent {
        0
    } else {
        quiet_wait(prefs.quiet, local_minute)
    };
    NotifyChannel::ALL
        .into_iter()
        .filter(|&c| match c {
            NotifyChannel::Push => reach.push,
            NotifyChannel::Webhook => reach.phone,
            NotifyChannel::Email => reach.email,
        })
        .filter(|&c| prefs.enabled(kind, c))
        .map(|c| (c, wait))
        .collect()
}

/// `HH:MM` → minutes after midnight.
pub fn parse_clock(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h < 24 && m < 60).then_some(h * 60 + m)
}

pub fn format_clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

/// The language a notification is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Zh,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// The text of one notification: a title naming the subject, a body saying what happened.
pub fn render(kind: Kind, lang: Lang, subject_title: &str, step: Option<&str>) -> (String, String) {
    let zh = lang == Lang::Zh;
    let title = subject_title.to_string();
    let body = match (kind, zh) {
        (Kind::IssueUpdate, true) => format!("进展：{}", step_label(step, Lang::Zh)),
        (Kind::IssueUpdate, false) => format!("Update: {}", step_label(step, Lang::En)),
        (Kind::IssueToRate, true) => "问题已处置，请您评价。".into(),
        (Kind::IssueToRate, false) => "It has been fixed: please rate it.".into(),
        (Kind::IssueNew, true) => "社区有新问题待受理。".into(),
        (Kind::IssueNew, false) => "A new issue in your community awaits acceptance.".into(),
        (Kind::IssueAssigned, true) => "已派单给您，请尽快确认接单。".into(),
        (Kind::IssueAssigned, false) => "Dispatched to you: please acknowledge it.".into(),
        (Kind::IssueReopened, true) => "问题被重新打开，请再次处置。".into(),
        (Kind::IssueReopened, false) => "Reopened: please handle it again.".into(),
        (Kind::IssueDeadlineWarning, true) => "即将超时，请抓紧处理。".into(),
        (Kind::IssueDeadlineWarning, false) => "Its deadline is near.".into(),
        (Kind::IssueDeadlineBreach, true) => "已超时。".into(),
        (Kind::IssueDeadlineBreach, false) => "It is past its deadline.".into(),
        (Kind::IssueEscalated, true) => "问题已上报，待您重新派单。".into(),
        (Kind::IssueEscalated, false) => "Escalated: it waits for you to dispatch it.".into(),
        (Kind::MeetingScheduled, true) => "会议已安排。".into(),
        (Kind::MeetingScheduled, false) => "A meeting was scheduled.".into(),
        (Kind::MeetingMoved, true) => "会议时间有变动。".into(),
        (Kind::MeetingMoved, false) => "The meeting moved.".into(),
        (Kind::MeetingCancelled, true) => "会议已取消。".into(),
        (Kind::MeetingCancelled, false) => "The meeting was cancelled.".into(),
        (Kind::MeetingStarting, true) => "会议即将开始。".into(),
        (Kind::MeetingStarting, false) => "The meeting starts soon.".into(),
        (Kind::MeetingStarted, true) => "会议已开始，点此进入。".into(),
        (Kind::MeetingStarted, false) => "The meeting has started: tap to join.".into(),
        (Kind::MeetingEnded, true) => "会议已结束。".into(),
        (Kind::MeetingEnded, false) => "The meeting has ended.".into(),
        (Kind::AppraisalOpened, true) => "评议已开始，请投票。".into(),
        (Kind::AppraisalOpened, false) => "The appraisal is open: please vote.".into(),
        (Kind::AppraisalClosing, true) => "评议即将结束，您还未投票。".into(),
        (Kind::AppraisalClosing, false) => {
            "The appraisal closes soon and you have not voted.".into()
        }
        (Kind::Digest, true) => "今日问题摘要。".into(),
        (Kind::Digest, false) => "Today's issue digest.".into(),
    };
    (title, body)
}

/// A timeline entry's kind as a resident reads it.
fn step_label(step: Option<&str>, lang: Lang) -> &'static str {
    let zh = lang == Lang::Zh;
    match step.unwrap_or("") {
        "submitted" => {
            if zh {
                "已提交"
            } else {
                "raised"
            }
        }
        "accepted" => {
            if zh {
                "已受理"
            } else {
                "accepted"
            }
        }
        "rejected" => {
            if zh {
                "不予受理"
            } else {
                "not accepted"
            }
        }
        "merged" => {
            if zh {
                "已合并到另一问题"
            } else {
                "merged into another issue"
            }
        }
        "dispatched" => {
            if zh {
                "已派单"
            } else {
                "dispatched to a worker"
            }
        }
        "acknowledged" => {
            if zh {
                "网格员已接单"
            } else {
                "the worker is on it"
            }
        }
        "returned" => {
            if zh {
                "已退回重新派单"
            } else {
                "returned for dispatch"
            }
        }
        "update" => {
            if zh {
                "处置进展更新"
            } else {
                "progress from the site"
            }
        }
        "completed" => {
            if zh {
                "已处置，待核查"
            } else {
                "done, being checked"
            }
        }
        "declared_unfixable" => {
            if zh {
                "暂无法处置"
            } else {
                "cannot be fixed now"
            }
        }
        "verified" => {
            if zh {
                "已核查，待评价"
            } else {
                "checked, awaiting rating"
            }
        }
        "verification_failed" => {
            if zh {
                "核查未通过，继续处置"
            } else {
                "check failed, work goes on"
            }
        }
        "rated" => {
            if zh {
                "已评价"
            } else {
                "rated"
            }
        }
        "withdrawn" => {
            if zh {
                "已撤回"
            } else {
                "withdrawn"
            }
        }
        "me_too" => {
            if zh {
                "又有居民反映"
            } else {
                "another resident reported it"
            }
        }
        "escalated" => {
            if zh {
                "已上报"
            } else {
                "escalated"
            }
        }
        "reopened" => {
            if zh {
                "已重新打开"
            } else {
                "reopened"
            }
        }
        "sla_warning" => {
            if zh {
                "即将超时"
            } else {
                "deadline near"
            }
        }
        "sla_breach" => {
            if zh {
                "已超时"
            } else {
                "past its deadline"
            }
        }
        "closed_not_rated" => {
            if zh {
                "已结案"
            } else {
                "closed"
            }
        }
        _ => {
            if zh {
                "有新进展"
            } else {
                "something changed"
            }
        }
    }
}

/// An issue's state as a person reads it.
pub fn state_label(state: IssueState, lang: Lang) -> &'static str {
    use IssueState::*;
    let (zh, en) = match state {
        Submitted => ("待受理", "awaiting acceptance"),
        Accepted => ("已受理", "accepted"),
        Dispatched => ("已派单", "dispatched"),
        InProgress => ("处置中", "in progress"),
        Escalated => ("已上报", "escalated"),
        Resolved => ("待核查", "awaiting check"),
        AwaitingRating => ("待评价", "awaiting rating"),
        Closed => ("已结案", "closed"),
        Rejected => ("不予受理", "not accepted"),
        Duplicate => ("已合并", "merged"),
    };
    if lang == Lang::Zh { zh } else { en }
}

/// The subject of an issue's notifications.
pub fn issue_subject(id: IssueId) -> Subject {
    Subject {
        kind: SubjectKind::Issue,
        id: id.0,
    }
}

/// Where a notification opens, relative to the web client's root.
pub fn subject_path(subject: Subject) -> String {
    match subject.kind {
        SubjectKind::Issue => format!("/#issue/{}", subject.id),
        SubjectKind::Meeting | SubjectKind::Appraisal => format!("/#meeting/{}", subject.id),
        SubjectKind::Place => "/#notifications".to_string(),
    }
}

/// The delay before a retry: exponential from 30 s, at most an hour, with the jitter the
/// caller draws (0..1) spreading nodes' retries apart.
pub fn backoff_ms(attempts: u32, jitter: f64) -> i64 {
    let base = 30_000f64 * 2f64.powi(attempts.saturating_sub(1).min(12) as i32);
    let capped = base.min(3_600_000.0);
    (capped * (0.75 + 0.5 * jitter.clamp(0.0, 1.0))) as i64
}
