//! Notifications: each person's stored inbox, what they want to be told on which channel, and
//! their browsers' Web Push subscriptions (PROTOCOL.md, "Notifications").

use serde::{Deserialize, Serialize};

/// What a notification is about; the rule that decides who is told is `domain::notify`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotificationKind {
    /// A public step of an issue one reported, follows or said "me too" to.
    IssueUpdate,
    /// An issue one reported was fixed and waits for one's rating.
    IssueToRate,
    /// A new issue in one's community (officials; private ones included).
    IssueNew,
    /// An issue was dispatched to one.
    IssueAssigned,
    /// An issue one was handling was reopened.
    IssueReopened,
    /// One of one's issues nears its deadline.
    IssueDeadlineWarning,
    /// One of one's issues is past its deadline.
    IssueDeadlineBreach,
    /// An issue of one's community or street was escalated.
    IssueEscalated,
    /// A meeting one may attend was scheduled.
    MeetingScheduled,
    /// A meeting one may attend moved to another time.
    MeetingMoved,
    /// A meeting one may attend was cancelled.
    MeetingCancelled,
    /// A meeting one registered for starts soon.
    MeetingStarting,
    /// A meeting one may attend has started.
    MeetingStarted,
    /// A meeting one attended or registered for has ended.
    MeetingEnded,
    /// An appraisal one may vote in has opened.
    AppraisalOpened,
    /// An appraisal one has not voted in closes soon.
    AppraisalClosing,
    /// Staff: the day's open, overdue and new issues of one's places, by email.
    Digest,
}

impl NotificationKind {
    pub const ALL: [NotificationKind; 17] = [
        NotificationKind::IssueUpdate,
        NotificationKind::IssueToRate,
        NotificationKind::IssueNew,
        NotificationKind::IssueAssigned,
        NotificationKind::IssueReopened,
        NotificationKind::IssueDeadlineWarning,
        NotificationKind::IssueDeadlineBreach,
        NotificationKind::IssueEscalated,
        NotificationKind::MeetingScheduled,
        NotificationKind::MeetingMoved,
        NotificationKind::MeetingCancelled,
        NotificationKind::MeetingStarting,
        NotificationKind::MeetingStarted,
        NotificationKind::MeetingEnded,
        NotificationKind::AppraisalOpened,
        NotificationKind::AppraisalClosing,
        NotificationKind::Digest,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationKind::IssueUpdate => "issue_update",
            NotificationKind::IssueToRate => "issue_to_rate",
            NotificationKind::IssueNew => "issue_new",
            NotificationKind::IssueAssigned => "issue_assigned",
            NotificationKind::IssueReopened => "issue_reopened",
            NotificationKind::IssueDeadlineWarning => "issue_deadline_warning",
            NotificationKind::IssueDeadlineBreach => "issue_deadline_breach",
            NotificationKind::IssueEscalated => "issue_escalated",
            NotificationKind::MeetingScheduled => "meeting_scheduled",
            NotificationKind::MeetingMoved => "meeting_moved",
            NotificationKind::MeetingCancelled => "meeting_cancelled",
            NotificationKind::MeetingStarting => "meeting_starting",
            NotificationKind::MeetingStarted => "meeting_started",
            NotificationKind::MeetingEnded => "meeting_ended",
            NotificationKind::AppraisalOpened => "appraisal_opened",
            NotificationKind::AppraisalClosing => "appraisal_closing",
            NotificationKind::Digest => "digest",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A channel beyond the inbox (which always gets every notification).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum NotifyChannel {
    /// Web Push to each of the person's subscribed browsers.
    Push,
    /// The deployment's webhook relay, which sends an SMS or a WeChat message to the person's
    /// phone number.
    Webhook,
    /// Email to the person's address.
    Email,
}

impl NotifyChannel {
    pub const ALL: [NotifyChannel; 3] = [
        NotifyChannel::Push,
        NotifyChannel::Webhook,
        NotifyChannel::Email,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotifyChannel::Push => "push",
            NotifyChannel::Webhook => "webhook",
            NotifyChannel::Email => "email",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// What a notification is about, to open it and to group an inbox by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Subject {
    pub kind: SubjectKind,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    Issue,
    Meeting,
    Appraisal,
    /// A place (a digest of its issues).
    Place,
}

impl SubjectKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SubjectKind::Issue => "issue",
            SubjectKind::Meeting => "meeting",
            SubjectKind::Appraisal => "appraisal",
            SubjectKind::Place => "place",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            SubjectKind::Issue,
            SubjectKind::Meeting,
            SubjectKind::Appraisal,
            SubjectKind::Place,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One entry of a person's inbox; also the data of a `notification.new` event on `user:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Notification {
    pub id: i64,
    pub kind: NotificationKind,
    pub subject: Subject,
    /// In the recipient's language.
    pub title: String,
    pub body: String,
    /// Sent at once even in the recipient's quiet hours.
    pub urgent: bool,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// Unread notifications about one subject: a row of the inbox's conversation list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SubjectUnread {
    pub subject: Subject,
    pub unread: u32,
    pub latest_at: i64,
}

/// `GET /api/me/notifications`: newest first, a page at a time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Inbox {
    pub notifications: Vec<Notification>,
    /// Unread in the whole inbox, not only this page.
    pub unread: u32,
    /// Subjects with unread notifications, the most recent first.
    pub subjects: Vec<SubjectUnread>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<i64>,
}

/// `POST /api/me/notifications/read`: exactly one of `ids`, `subject` and `all`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct MarkRead {
    #[serde(default)]
    pub ids: Vec<i64>,
    #[serde(default)]
    pub subject: Option<Subject>,
    #[serde(default)]
    pub all: bool,
}

/// The answer to `MarkRead`, and the data of a `notification.read` event on `user:<id>` (so the
/// person's other devices clear their badges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReadMarked {
    /// How many were unread and are read now.
    pub marked: u32,
    /// Unread left in the inbox.
    pub unread: u32,
    /// What was named, as in `MarkRead` (spelled out, not flattened: `MarkRead` refuses
    /// unknown fields, and its schema would refuse `marked` and `unread`).
    #[serde(default)]
    pub ids: Vec<i64>,
    #[serde(default)]
    pub subject: Option<Subject>,
    #[serde(default)]
    pub all: bool,
}

/// Quiet hours, in the deployment's time zone, as `HH:MM`; `start` after `end` spans midnight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start: String,
    pub end: String,
}

/// One kind on one channel: on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct ChannelChoice {
    pub kind: NotificationKind,
    pub channel: NotifyChannel,
    pub enabled: bool,
}

/// `GET /api/me/notify-prefs`: every kind on every channel (defaults filled in), and what the
/// person can be reached on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NotifyPrefs {
    /// `zh` or `en`: the language notifications are written in.
    pub language: String,
    pub quiet_hours: Option<QuietHours>,
    pub choices: Vec<ChannelChoice>,
    /// Browsers subscribed to Web Push.
    pub push_subscriptions: u32,
    /// Whether the account has a phone number (for the webhook relay) and an email address.
    pub has_phone: bool,
    pub has_email: bool,
}

/// `PATCH /api/me/notify-prefs`: what changes; absent fields stay. `quiet_hours: null` clears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct NotifyPrefsUpdate {
    #[serde(default)]
    pub language: Option<String>,
    /// Absent: unchanged; `null`: no quiet hours.
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<QuietHours>))]
    pub quiet_hours: Option<Option<QuietHours>>,
    #[serde(default)]
    pub choices: Vec<ChannelChoice>,
}

mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<T: Serialize, S: Serializer>(
        value: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// `GET /api/push/key`: the server's VAPID public key (RFC 8292), for
/// `PushManager.subscribe({ applicationServerKey })`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKey {
    /// The uncompressed P-256 point, base64url without padding.
    pub public_key: String,
}

/// `POST /api/me/push-subscriptions`: a browser's `PushSubscription.toJSON()`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushSubscriptionIn {
    pub endpoint: String,
    pub keys: PushKeys,
    /// Browsers send it; ignored.
    #[serde(default, rename = "expirationTime")]
    pub expiration_time: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PushKeys {
    /// The browser's P-256 public key, base64url.
    pub p256dh: String,
    /// The 16-byte authentication secret, base64url.
    pub auth: String,
}

/// `DELETE /api/me/push-subscriptions`: the endpoint to forget.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct PushUnsubscribe {
    pub endpoint: String,
}

/// The state of one send beyond the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    Pending,
    Sent,
    /// Not needed any more: read live first, or the target went away.
    Skipped,
    /// Failed every attempt; an admin may retry it.
    Dead,
}

impl DeliveryState {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Sent => "sent",
            DeliveryState::Skipped => "skipped",
            DeliveryState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            DeliveryState::Pending,
            DeliveryState::Sent,
            DeliveryState::Skipped,
            DeliveryState::Dead,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// One delivery, for the ops listing of dead letters (`GET /api/ops/deliveries?state=dead`).
/// The target is masked: ops see that a send failed, not whom it was for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DeliveryInfo {
    pub id: i64,
    pub channel: NotifyChannel,
    pub kind: NotificationKind,
    pub state: DeliveryState,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub created_at: i64,
    pub next_at: i64,
}
