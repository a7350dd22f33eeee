//! `hehe tail`, `hehe issue follow` and `hehe room join`: follow one channel, printing its
//! events, reconnecting with backoff and resuming from the last position seen.

use crate::error::{CliError, CliResult};
use crate::output::{self, Names};
use crate::session::Session;
use hehe_client::{ClientError, Connection, Incoming};
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{Channel, ClientMsg, CloseCode, ErrorCode, Event, Position, ServerMsg};
use std::time::Duration;
use tokio::time::Instant;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub struct Follow {
    pub channel: Channel,
    /// Resume after this position instead of starting from now.
    pub since: Option<Position>,
    /// Stop after this many events.
    pub count: Option<u64>,
    /// In a room: say this once inside.
    pub say: Option<String>,
    pub json: bool,
}

/// Follows until `count` events were printed, Ctrl-C, or a refusal.
pub async fn follow(session: &mut Session, options: Follow) -> CliResult<()> {
    tokio::select! {
        result = run(session, &options) => result,
        // Ctrl-C ends a tail normally: it is how one stops following.
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// What the reconnecting loop carries over from one connection to the next.
struct Progress {
    position: Option<Position>,
    printed: u64,
    said: bool,
    /// Some connection ever subscribed.
    connected: bool,
    /// The current connection subscribed.
    subscribed: bool,
    names: Names,
}

/// Why a connection ended.
enum Stop {
    /// Reconnect and resume.
    Retry(String),
    /// The server refused for now (`rate_limited`, `unavailable`…): reconnect and resume, or,
    /// if no connection ever got in, report the refusal.
    Refused(ErrorCode, String),
    /// Give up with this error.
    Fatal(CliError),
}

async fn run(session: &mut Session, options: &Follow) -> CliResult<()> {
    let mut progress = Progress {
        position: options.since.clone(),
        printed: 0,
        said: false,
        connected: false,
        subscribed: false,
        names: Names::default(),
    };
    let mut backoff = FIRST_BACKOFF;
    loop {
        // A refusal for now, once in, is one more reason to come back later.
        let ended = match connection(session, options, &mut progress).await {
            Err(Stop::Refused(code, message)) if progress.connected => {
                Err(Stop::Retry(format!("{code}: {message}")))
            }
            other => other,
        };
        match ended {
            Ok(()) => return Ok(()),
            Err(Stop::Fatal(e)) => return Err(e),
            // Never got in: the server is not there, say so instead of waiting for it.
            Err(Stop::Retry(reason)) if !progress.connected => {
                return Err(CliError::Unreachable(reason));
            }
            // Refused before ever getting in: report it rather than insist.
            Err(Stop::Refused(code, message)) => {
                return Err(CliError::Refused { code, message });
            }
            Err(Stop::Retry(reason)) => {
                // A connection that got as far as subscribing starts the backoff over.
                if std::mem::take(&mut progress.subscribed) {
                    backoff = FIRST_BACKOFF;
                }
                // Half the backoff and up to as much again at random, so that clients cut off
                // together do not all come back at once.
                let delay = backoff.mul_f64(0.5 + rand::random::<f64>() / 2.0);
                eprintln!(
                    "hehe: {}: {reason}; reconnecting in {:.1} s",
                    options.channel,
                    delay.as_secs_f64()
                );
                tokio::time::sleep(delay).await;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// One connection: connect, subscribe (from the last position), print until done or dropped.
async fn connection(
    session: &mut Session,
    options: &Follow,
    progress: &mut Progress,
) -> Result<(), Stop> {
    let token = session.token().await.map_err(token_stop)?;
    let ws_url = session.http.ws_url();
    let mut conn = Connection::connect(&ws_url, &token)
        .await
        .map_err(|e| stop(session, e))?;
    let channel = options.channel;
    let asked = progress.position.clone();
    let subscribed = conn
        .subscribe(channel, asked.clone())
        .await
        .map_err(|e| stop(session, e))?;
    progress.connected = true;
    progress.subscribed = true;
    eprintln!(
        "hehe: following {channel} (epoch {}, offset {})",
        subscribed.epoch, subscribed.offset
    );
    if let Some(since) = &asked
        && !subscribed.recovered
    {
        eprintln!(
            "hehe: {channel}: the events after offset {} of epoch {} are no longer held; \
             following from now",
            since.offset, since.epoch
        );
    }
    if let Some(present) = &subscribed.presence {
        for member in present {
            progress.names.learn(member);
        }
        if options.json {
            output::json(&ServerMsg::Presence {
                channel,
                joins: present.clone(),
                leaves: Vec::new(),
            });
        } else {
            out!("{channel} present: {}", output::members(present));
        }
    }
    for event in &subscribed.events {
        if print(event, options, progress) {
            let _ = conn.close().await;
            return Ok(());
        }
    }
    // Whatever the reply's events were, live events continue after its top position.
    progress.position = Some(subscribed.position());
    if options.count == Some(0) {
        let _ = conn.close().await;
        return Ok(());
    }
    if let (Some(text), false, Channel::Room(meeting)) = (&options.say, progress.said, channel) {
        let action = RoomAction::Say { text: text.clone() };
        conn.room_action(meeting, action)
            .await
            .map_err(|e| stop(session, e))?;
        progress.said = true;
    }
    // The client swallows the server's heartbeat pings, so liveness is checked by asking: after
    // a heartbeat interval without a frame, send `ping`; no frame for another interval means
    // the server is gone (PROTOCOL.md §3.2).
    let quiet = Duration::from_secs(conn.heartbeat_secs().unwrap_or(25).max(1));
    let mut pinged = false;
    let mut refresh_at = refresh_due(&conn, session);
    loop {
        let wait = match refresh_at {
            Some(at) => quiet.min(at.saturating_duration_since(Instant::now())),
            None => quiet,
        };
        let incoming = match conn.recv_timeout(wait).await {
            Ok(incoming) => incoming,
            // Replace the token before it expires, keeping the connection (§3.3).
            Err(ClientError::Timeout) if refresh_at.is_some_and(|at| Instant::now() >= at) => {
                session.expire();
                let token = session.token().await.map_err(token_stop)?;
                conn.refresh_token(&token)
                    .await
                    .map_err(|e| stop(session, e))?;
                refresh_at = refresh_due(&conn, session);
                pinged = false;
                continue;
            }
            Err(ClientError::Timeout) if !pinged => {
                conn.send(&ClientMsg::Ping)
                    .await
                    .map_err(|e| stop(session, e))?;
                pinged = true;
                continue;
            }
            Err(ClientError::Timeout) => {
                return Err(Stop::Retry("the server went silent".into()));
            }
            Err(e) => return Err(stop(session, e)),
        };
        pinged = false;
        match incoming {
            Incoming::Msg(ServerMsg::Event(event)) if event.channel == channel => {
                // A gap or a new epoch: resubscribe from the last position to fill it (§5).
                if let Some(last) = &progress.position
                    && (last.epoch != event.epoch
                        || (event.offset > last.offset + 1
                            && !matches!(channel, Channel::Issue(_) | Channel::Street(_))))
                {
                    let _ = conn.close().await;
                    return Err(Stop::Retry(format!(
                        "event {} of epoch {} after offset {} of epoch {}",
                        event.offset, event.epoch, last.offset, last.epoch
                    )));
                }
                if print(&event, options, progress) {
                    let _ = conn.close().await;
                    return Ok(());
                }
            }
            Incoming::Msg(ServerMsg::Presence {
                channel: c,
                joins,
                leaves,
            }) if c == channel => {
                for member in &joins {
                    progress.names.learn(member);
                }
                if options.json {
                    output::json(&ServerMsg::Presence {
                        channel,
                        joins,
                        leaves,
                    });
                } else {
                    let mut line = format!("{} {channel} presence", output::time(now()));
                    if !joins.is_empty() {
                        line.push_str(&format!(" +{}", output::members(&joins)));
                    }
                    if !leaves.is_empty() {
                        line.push_str(&format!(" -{}", output::members(&leaves)));
                    }
                    out!("{line}");
                }
            }
            Incoming::Msg(ServerMsg::Unsubscribed { code, message, .. }) => {
                return Err(Stop::Fatal(CliError::Refused { code, message }));
            }
            Incoming::Msg(_) => {}
            Incoming::Closed { code, reason } => {
                return Err(stop(session, ClientError::Closed { code, reason }));
            }
        }
    }
}

/// When to replace the connection's access token: a minute before it expires (half its time
/// left, if that is less), and never for a token given on the command line.
fn refresh_due(conn: &Connection, session: &Session) -> Option<Instant> {
    if !session.can_refresh() {
        return None;
    }
    let left = conn.expires_at()? - now();
    let early = (left / 2).clamp(0, 60_000);
    let wait = u64::try_from(left - early).unwrap_or(0).max(1_000);
    Some(Instant::now() + Duration::from_millis(wait))
}

fn token_stop(e: CliError) -> Stop {
    match e {
        CliError::Unreachable(reason) => Stop::Retry(reason),
        other => Stop::Fatal(other),
    }
}

/// Prints an event unless it was printed before (a resume can overlap); true when `count`
/// events have now been printed.
fn print(event: &Event, options: &Follow, progress: &mut Progress) -> bool {
    if let Some(last) = &progress.position
        && last.epoch == event.epoch
        && event.offset <= last.offset
    {
        return false;
    }
    progress.position = Some(Position {
        epoch: event.epoch.clone(),
        offset: event.offset,
    });
    if options.json {
        output::json(&ServerMsg::Event(event.clone()));
    } else {
        out!("{}", output::event_line(event, &progress.names));
    }
    progress.printed += 1;
    options.count.is_some_and(|n| progress.printed >= n)
}

/// Whether an error ends the tail or calls for a reconnect (PROTOCOL.md §3.4, §12, §13).
fn stop(session: &mut Session, e: ClientError) -> Stop {
    match e {
        ClientError::Server { code, message }
        | ClientError::Api {
            error: hehe_protocol::http::ApiError { code, message },
            ..
        } => {
            if code == ErrorCode::TokenExpired && session.can_refresh() {
                session.expire();
                Stop::Retry("the access token expired".into())
            } else if code.retryable() {
                Stop::Refused(code, message)
            } else {
                Stop::Fatal(CliError::Refused { code, message })
            }
        }
        ClientError::Closed { code, reason } => {
            let code = code.map(CloseCode);
            if code == Some(CloseCode::TOKEN_EXPIRED) && session.can_refresh() {
                session.expire();
            }
            // 1005 is a close frame without a code, which a proxy may send.
            match code {
                None => Stop::Retry(format!("connection lost: {reason}")),
                Some(c) if c.reconnect() || c.0 == 1005 => {
                    Stop::Retry(format!("closed by the server ({c} {reason})"))
                }
                Some(c) => Stop::Fatal(CliError::Other(format!(
                    "the server closed the connection for good ({c} {reason})"
                ))),
            }
        }
        e @ (ClientError::Http(_) | ClientError::WebSocket(_) | ClientError::Timeout) => {
            Stop::Retry(e.to_string())
        }
        e @ (ClientError::Decode(_) | ClientError::Unexpected(_)) => {
            Stop::Fatal(CliError::Other(e.to_string()))
        }
    }
}

fn now() -> i64 {
    crate::session::now_ms()
}
