//! The command line, as clap reads it.

use clap::{Args, Parser, Subcommand};
use hehe_protocol::Channel;
use hehe_protocol::issue::{PhotoKind, Priority, Resolution, Satisfaction};
use hehe_protocol::meeting::RoomMode;
use serde::de::DeserializeOwned;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "hehe",
    version,
    about = "Command-line client for a Hehe server",
    after_help = "Exit codes: 0 ok, 1 usage or other error, 2 refused by the server (its error \
                  code is printed), 3 cannot reach the server."
)]
pub struct Cli {
    /// The server's origin.
    #[arg(
        long,
        env = "HEHE_SERVER",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub server: String,
    /// An access token to use instead of the login saved by `hehe login` (never refreshed).
    #[arg(long, env = "HEHE_TOKEN", global = true, hide_env_values = true)]
    pub token: Option<String>,
    /// Machine output: JSON, one object per line for streams.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Log in and save the tokens (0600) under $XDG_CONFIG_HOME/hehe or ~/.config/hehe.
    Login {
        username: String,
        /// Read the password from the first line of stdin (the default when stdin is not a
        /// terminal; on a terminal the password is asked for without echo).
        #[arg(long)]
        password_stdin: bool,
        /// The password itself. Visible to other users in `ps`: prefer --password-stdin.
        #[arg(long, conflicts_with = "password_stdin")]
        password: Option<String>,
    },
    /// Sign this login's session out on the server and forget its saved tokens.
    Logout {
        /// Sign out every session of the account, on every device.
        #[arg(long)]
        everywhere: bool,
    },
    /// The account logged in, its roles and places.
    Whoami,
    /// The channels the account may read.
    Channels,
    /// The issue categories, with their codes.
    Categories,
    /// A place with what lies above and under it (to find grids and buildings for issues).
    Place { id: i64 },
    /// Follow a channel and print its events as they arrive.
    Tail(TailArgs),
    /// Post a message to a channel.
    Post { channel: Channel, text: String },
    /// Issues: raise, show, follow, list, act.
    #[command(subcommand)]
    Issue(IssueCommand),
    /// Living rooms of meetings.
    #[command(subcommand)]
    Room(RoomCommand),
    /// The meetings the account may know of.
    Meetings,
    // Residents and credentials.
    /// Residency requests one decides: pending ones, unless --state says otherwise.
    Requests {
        /// Only requests for buildings at or under this place.
        #[arg(long)]
        place: Option<i64>,
        /// `pending`, `approved`, `refused` or `all`.
        #[arg(long, default_value = "pending")]
        state: String,
    },
    /// Approve a residency request: the applicant becomes a resident of its community.
    Approve { id: i64 },
    /// Refuse a residency request; the reason is shown to the applicant.
    Refuse {
        id: i64,
        #[arg(long)]
        reason: String,
    },
    /// Make a one-time password reset code for an account; it is shown only now.
    ResetCode { account: i64 },
    // ---- enrolment ----
    /// The place tree: import streets, communities, compounds, grids and buildings from CSV.
    #[command(subcommand)]
    Places(PlacesCommand),
    // Enrolment (people).
    /// People: import residents and staff from a CSV file.
    #[command(subcommand)]
    People(PeopleCommand),
    /// Invite a person to a role at a place; prints the code and link once.
    Invite(InviteArgs),
    /// The staff who may take an issue at a place, fewest open issues first.
    Staff {
        /// The place's id.
        place: i64,
    },
}

#[derive(Debug, Subcommand)]
pub enum PlacesCommand {
    /// Import a CSV file (header street,community,compound,grid,building,units,floors; one
    /// line per building; compound, units, floors and *_en columns optional). Prints what is
    /// (or would be) created and every line refused; exits 1 when any line is refused, and
    /// then nothing is imported.
    Import {
        file: std::path::PathBuf,
        /// Only show what would be created and refused; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum PeopleCommand {
    /// Import people from a CSV file (`name,phone,place,role`, optionally `romanised_name`,
    /// `email`): prints what it creates and every refused line; exits 1 when lines are refused.
    Import {
        file: PathBuf,
        /// Check the file and report, writing nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Debug, Args)]
pub struct InviteArgs {
    /// `resident`, `building_lead`, `grid_worker`, `community_official`, `street_chief` (or,
    /// for admins, `ops` and `admin`, without --place).
    #[arg(long, value_parser = snake_case::<hehe_protocol::Role>)]
    pub role: hehe_protocol::Role,
    /// The place of the role: a grid for a grid worker, a community for an official…
    #[arg(long)]
    pub place: Option<i64>,
    /// The person's name, in Chinese.
    #[arg(long)]
    pub name: String,
    /// Their mobile number; the invite is sent there by SMS when the server has a sender.
    #[arg(long)]
    pub phone: Option<String>,
    #[arg(long)]
    pub email: Option<String>,
    /// Their name in Latin letters.
    #[arg(long)]
    pub romanised_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    /// e.g. `home:2`, `street:1`, `room:1`, `issue:7`, `user:5`.
    pub channel: Channel,
    /// Resume after this offset (with --epoch): print what was missed first.
    #[arg(long, requires = "epoch")]
    pub since_offset: Option<u64>,
    /// The epoch --since-offset belongs to.
    #[arg(long, requires = "since_offset")]
    pub epoch: Option<String>,
    /// Stop after this many events.
    #[arg(long)]
    pub count: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum IssueCommand {
    /// Raise an issue.
    Raise(RaiseArgs),
    /// An issue with its timeline, deadlines and photos.
    Show { id: i64 },
    /// Follow an issue's channel (`issue:<id>`) and print its timeline as it grows.
    Follow {
        id: i64,
        /// Stop after this many events.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Issues the account may see, newest first.
    List(ListArgs),
    /// Act on an issue: accept, dispatch, acknowledge, progress, complete, rate…
    Act {
        /// The issue's id.
        id: i64,
        #[command(subcommand)]
        action: ActCommand,
    },
}

#[derive(Debug, Args)]
pub struct RaiseArgs {
    /// A category code (`hehe categories`), e.g. `drainage`.
    #[arg(long)]
    pub category: String,
    /// The grid or building where the problem is.
    #[arg(long)]
    pub place: i64,
    /// What is wrong.
    #[arg(long)]
    pub text: String,
    /// A short title; by default the first line of --text.
    #[arg(long)]
    pub title: Option<String>,
    /// A photo of the problem (JPEG, PNG or WebP), uploaded as a `before` photo.
    #[arg(long)]
    pub photo: Option<PathBuf>,
    /// Keep the photo's location data (it is stripped otherwise).
    #[arg(long)]
    pub keep_location: bool,
    /// Seen only by the reporter, followers and the staff handling it.
    #[arg(long)]
    pub private: bool,
    /// `red`, `yellow` or `blue`; by default the category's.
    #[arg(long, value_parser = snake_case::<Priority>)]
    pub priority: Option<Priority>,
    /// The account id of the resident the issue is raised for.
    #[arg(long)]
    pub on_behalf_of: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    #[arg(long)]
    pub community: Option<i64>,
    #[arg(long)]
    pub street: Option<i64>,
    #[arg(long)]
    pub grid: Option<i64>,
    /// Dispatched to this account id.
    #[arg(long)]
    pub assignee: Option<i64>,
    /// Only issues the account reported or follows.
    #[arg(long)]
    pub mine: bool,
    /// States, comma-separated: `dispatched,in_progress`.
    #[arg(long)]
    pub state: Option<String>,
    #[arg(long)]
    pub category: Option<String>,
    /// Only ids below this one (the next page).
    #[arg(long)]
    pub before: Option<i64>,
    #[arg(long)]
    pub limit: Option<u32>,
}

/// The actions of PROTOCOL.md §7 `issue_action`, in kebab case.
#[derive(Debug, Subcommand)]
pub enum ActCommand {
    /// Accept a submitted issue (official).
    Accept,
    /// Reject a submitted or accepted issue (official).
    Reject {
        #[arg(long)]
        reason: String,
    },
    /// Merge into another open issue of the community (official).
    Merge {
        #[arg(long)]
        into: i64,
    },
    /// Dispatch to a grid worker or official, by account id (`hehe whoami` shows it).
    Dispatch {
        #[arg(long)]
        to: i64,
    },
    /// The assignee takes the issue on.
    Acknowledge,
    /// Post progress for everyone (or, with --internal, a note for staff only).
    Progress {
        #[arg(long)]
        text: String,
        #[arg(long)]
        internal: bool,
        /// A photo to add first (kind --photo-kind).
        #[arg(long)]
        photo: Option<PathBuf>,
        #[arg(long, value_parser = snake_case::<PhotoKind>, default_value = "evidence")]
        photo_kind: PhotoKind,
    },
    /// The assignee is done.
    Complete {
        /// A note on the work.
        #[arg(long)]
        text: Option<String>,
        /// An `after` photo of the work, added first (some categories require one).
        #[arg(long)]
        photo: Option<PathBuf>,
    },
    /// The assignee sends a mis-dispatched issue back.
    Return {
        #[arg(long)]
        reason: String,
    },
    /// Move the issue one level up.
    Escalate {
        #[arg(long)]
        reason: String,
    },
    /// Declare the issue cannot be fixed (official).
    Unfixable {
        #[arg(long)]
        explanation: String,
        /// `not_fixable` or `not_our_responsibility`.
        #[arg(long, value_parser = snake_case::<Resolution>, default_value = "not_fixable")]
        resolution: Resolution,
    },
    /// The completed work is verified (official).
    VerifyOk,
    /// The completed work is not good enough (official).
    VerifyFail {
        #[arg(long)]
        reason: String,
    },
    /// The reporter rates the result; --not-resolved reopens the issue.
    Rate {
        #[arg(long)]
        not_resolved: bool,
        /// 1 to 5.
        #[arg(long)]
        stars: Option<u8>,
        /// `satisfied`, `basic` or `unsatisfied`.
        #[arg(long, value_parser = snake_case::<Satisfaction>)]
        satisfaction: Option<Satisfaction>,
        /// Required with --not-resolved.
        #[arg(long)]
        comment: Option<String>,
    },
    /// The reporter withdraws the issue.
    Withdraw,
    /// Get the issue's news in your inbox.
    Follow,
    /// Stop getting its news.
    Unfollow,
    /// The same problem, seen by someone else.
    MeToo {
        #[arg(long)]
        note: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoomCommand {
    /// Enter a meeting's living room and print its entries and who comes and goes.
    Join {
        meeting: i64,
        /// Say this in the room once inside, then keep following.
        #[arg(long)]
        say: Option<String>,
        /// Stop after this many events (presence changes do not count).
        #[arg(long)]
        count: Option<u64>,
    },
    /// Act in a meeting's living room (PROTOCOL.md §11.2 says who may do what, and when).
    Act {
        /// The meeting's id.
        meeting: i64,
        #[command(subcommand)]
        action: RoomActCommand,
    },
}

/// The room actions of PROTOCOL.md §7 `room_action`, in kebab case.
#[derive(Debug, Subcommand)]
pub enum RoomActCommand {
    /// The chair publishes a draft meeting.
    Publish,
    /// The chair opens the meeting.
    Start,
    /// The chair ends it.
    End,
    /// The chair calls off a meeting that has not started.
    Cancel,
    /// Say something to the room.
    Say {
        #[arg(long)]
        text: String,
    },
    React {
        #[arg(long)]
        emoji: String,
    },
    RaiseHand,
    LowerHand,
    /// The chair gives the floor: to an account id, or to the hand raised first.
    GiveFloor {
        #[arg(long)]
        to: Option<i64>,
    },
    /// Nobody holds the floor any more.
    TakeFloor,
    Lock,
    Unlock,
    /// `open` or `floor_only`.
    SetMode {
        #[arg(long, value_parser = snake_case::<RoomMode>)]
        mode: RoomMode,
    },
    Mute {
        #[arg(long)]
        who: i64,
    },
    Unmute {
        #[arg(long)]
        who: i64,
    },
    Remove {
        #[arg(long)]
        who: i64,
    },
    Readmit {
        #[arg(long)]
        who: i64,
    },
    /// The agenda item under discussion, counted from 0.
    SetAgendaItem {
        #[arg(long)]
        index: u32,
    },
    /// The chair opens a vote: --option twice or more.
    OpenVote {
        #[arg(long)]
        question: String,
        #[arg(long = "option", required = true)]
        options: Vec<String>,
        #[arg(long)]
        multiple: bool,
        #[arg(long)]
        anonymous: bool,
        #[arg(long)]
        hide_results: bool,
    },
    /// Vote: --choice for each chosen option, by index from 0.
    CastVote {
        #[arg(long)]
        vote: u32,
        #[arg(long = "choice", required = true)]
        choices: Vec<u32>,
    },
    CloseVote {
        #[arg(long)]
        vote: u32,
    },
    AppendMinutes {
        #[arg(long)]
        text: String,
    },
    PublishMinutes {
        #[arg(long)]
        text: String,
    },
}

/// Parses a protocol enum from its wire spelling (`in_progress`, `not_fixable`…).
fn snake_case<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn protocol_enums_parse_from_their_wire_spelling() {
        assert_eq!(snake_case::<Priority>("red"), Ok(Priority::Red));
        assert_eq!(
            snake_case::<Resolution>("not_our_responsibility"),
            Ok(Resolution::NotOurResponsibility)
        );
        assert!(snake_case::<Priority>("purple").is_err());
    }
}
