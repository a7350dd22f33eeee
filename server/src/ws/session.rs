//! One WebSocket connection: a task that owns the socket's reading half and the connection's
//! state, with one `select!` over client frames, heartbeats, token expiry and shutdown. Its
//! writing half runs in `writer`; everything reaches the client through the outbox.

use super::registration::Registration;
use super::writer::write_loop;
use crate::app::channels::{self, Identity};
use crate::app::state::AppState;
use crate::error::{AppError, AppResult};
use crate::live::bus::Audience;
use crate::live::hub::{Frame, Outbox};
use axum::extract::ws::{Message, WebSocket};
use futures_util::StreamExt;
use futures_util::stream::SplitStream;
use hehe_protocol::{
    AccountSummary, Channel, ClientMsg, CloseCode, ErrorCode, Event, PROTOCOL_VERSION, Position,
    ReplyResult, RequestId, ServerMsg, decode_client_msg,
};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tracing::Instrument;

/// Undecodable frames tolerated on one connection before it is closed as a protocol violation.
const MAX_BAD_FRAMES: u32 = 10;

/// The session of a new socket, ready to run. Built outside the future on purpose: what an
/// `async fn` takes as arguments stays in its future for as long as the future lives, and the
/// unsplit socket and the state would stay in every idle connection's task.
pub fn start(socket: WebSocket, state: AppState) -> impl Future<Output = ()> + Send + 'static {
    let conn = state.next_conn_id();
    let span = tracing::info_span!("session", conn, account = tracing::field::Empty);
    let session = Session::new(state, conn);
    let (sink, stream) = socket.split();
    let writer = tokio::spawn(write_loop(
        sink,
        session.outbox.clone(),
        session.state.metrics.clone(),
        session.state.config.close_grace(),
    ));
    session.run(stream, writer).instrument(span)
}

struct Session {
    state: AppState,
    conn: u64,
    outbox: Arc<Outbox>,
    identity: Option<Identity>,
    /// Lists the connection under its account and session, so a logout, a disabled account
    /// or changed grants can close it from any node (see `revocation`).
    live: Option<crate::identity::revocation::LiveGuard>,
    subs: HashMap<Channel, Registration>,
    /// When the access token in force expires.
    expires_at: Option<Instant>,
    /// When anything last arrived from the client.
    last_seen: Instant,
    /// When the last ping went out, while its answer is awaited.
    ping_sent: Option<Instant>,
    bad_frames: u32,
    /// Frames per connection (`HEHE_LIMIT_FRAMES`); none when unlimited.
    frame_limit: Option<crate::infra::limits::FrameLimiter>,
}

/// Why the session loop stopped.
enum End {
    /// We close the connection with this code.
    Close(CloseCode),
    /// The client went away or the writer stopped: nothing left to say.
    Gone,
}

impl Session {
    fn new(state: AppState, conn: u64) -> Self {
        let outbox = Arc::new(Outbox::new(state.config.outbox_bytes));
        let frame_limit = state.limits.frame_limiter();
        Self {
            frame_limit,
            state,
            conn,
            outbox,
            identity: None,
            live: None,
            subs: HashMap::new(),
            expires_at: None,
            last_seen: Instant::now(),
            ping_sent: None,
            bad_frames: 0,
        }
    }

    async fn run(
        mut self,
        mut stream: SplitStream<WebSocket>,
        mut writer: JoinHandle<Option<CloseCode>>,
    ) {
        let metrics = self.state.metrics.clone();
        metrics.connections.inc();
        let config = self.state.config.clone();
        let shutdown = self.state.shutdown.clone();
        let auth_deadline = Instant::now() + config.auth_timeout();
        let mut next_ping = Instant::now() + config.heartbeat();

        let end = loop {
            // One timer for whichever comes first of the auth deadline, the token's expiry,
            // the pong deadline and the next ping: every timer an idle session holds is
            // memory times the number of connections.
            let deadline = self.next_deadline(auth_deadline, next_ping, &config);
            tokio::select! {
                biased;
                _ = shutdown.cancelled() => break End::Close(CloseCode::SHUTDOWN),
                _ = &mut writer => break End::Gone,
                frame = stream.next() => {
                    self.last_seen = Instant::now();
                    match frame {
                        Some(Ok(Message::Text(text))) => {
                            metrics.frames_in.inc();
                            if let Some(limiter) = &self.frame_limit
                                && self.state.limits.check_frame(limiter).is_err()
                            {
                                break End::Close(CloseCode::RATE_LIMITED);
                            }
                            // Boxed: a command's state lives on the heap only while it runs,
                            // so an idle session's task stays small.
                            if let Some(code) = Box::pin(self.on_text(text.as_str())).await {
                                break End::Close(code);
                            }
                        }
                        Some(Ok(Message::Binary(_))) => break End::Close(CloseCode::PROTOCOL_VIOLATION),
                        // Control frames: tungstenite answers pings; both show the peer is alive.
                        Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                        Some(Ok(Message::Close(_))) | None => break End::Gone,
                        Some(Err(e)) => break if too_big(&e) { End::Close(CloseCode::MESSAGE_TOO_BIG) } else { End::Gone },
                    }
                }
                _ = sleep_until(deadline) => {
                    if let Some(end) = self.on_deadline(auth_deadline, &mut next_ping, &config) {
                        break end;
                    }
                }
            }
        };

        // Stop deliveries before the last frame goes out.
        self.subs.clear();
        if let End::Close(code) = end {
            tracing::debug!(code = code.0, "closing");
            self.outbox.close(code);
            // The writer sends the close frame within the close grace; give it that, then go.
            let limit = config.close_grace() + std::time::Duration::from_millis(500);
            if tokio::time::timeout(limit, &mut writer).await.is_err() {
                writer.abort();
            }
        } else {
            writer.abort();
        }
        metrics.connections.dec();
    }

    /// Queues a frame for the client. A full outbox has already doomed the connection, so a
    /// failed push needs no further handling here.
    fn send(&self, msg: ServerMsg) {
        let _ = self.outbox.push(Frame::from(msg.to_json()));
    }

    fn send_error(&self, id: Option<RequestId>, err: AppError) {
        self.send(ServerMsg::Error {
            id,
            code: err.code,
            message: err.message,
        });
    }

    /// The earliest moment the session must act on its own.
    fn next_deadline(
        &self,
        auth_deadline: Instant,
        next_ping: Instant,
        config: &crate::config::Config,
    ) -> Instant {
        if self.identity.is_none() {
            return auth_deadline;
        }
        let mut at = match self.ping_sent {
            Some(sent) => sent + config.heartbeat_timeout(),
            None => next_ping,
        };
        if let Some(expiry) = self.expires_at {
            at = at.min(expiry);
        }
        at
    }

    /// Whatever fell due: the end of the session, or a ping to send.
    fn on_deadline(
        &mut self,
        auth_deadline: Instant,
        next_ping: &mut Instant,
        config: &crate::config::Config,
    ) -> Option<End> {
        let now = Instant::now();
        if self.identity.is_none() {
            return (now >= auth_deadline).then_some(End::Close(CloseCode::UNAUTHORIZED));
        }
        if self.expires_at.is_some_and(|expiry| now >= expiry) {
            self.send(ServerMsg::Error {
                id: None,
                code: ErrorCode::TokenExpired,
                message: "the access token expired; refresh it and reconnect".into(),
            });
            return Some(End::Close(CloseCode::TOKEN_EXPIRED));
        }
        if let Some(sent) = self.ping_sent {
            if now >= sent + config.heartbeat_timeout() {
                if self.last_seen < sent {
                    return Some(End::Close(CloseCode::HEARTBEAT_TIMEOUT));
                }
                self.ping_sent = None;
            }
        } else if now >= *next_ping {
            self.ping_sent = Some(now);
            self.send(ServerMsg::Ping);
            // As an interval that skips missed ticks: the next ping a period from now.
            *next_ping = now + config.heartbeat();
        }
        None
    }

    /// Handles one text frame; returns a close code when the connection must end.
    async fn on_text(&mut self, text: &str) -> Option<CloseCode> {
        let msg = match decode_client_msg(text) {
            Ok(msg) => msg,
            Err(e) => {
                self.bad_frames += 1;
                self.send(ServerMsg::Error {
                    id: e.id,
                    code: e.code,
                    message: e.message,
                });
                return (self.bad_frames >= MAX_BAD_FRAMES)
                    .then_some(CloseCode::PROTOCOL_VIOLATION);
            }
        };
        match msg {
            ClientMsg::Ping => self.send(ServerMsg::Pong),
            ClientMsg::Pong => {}
            ClientMsg::Auth { id, token, version } => {
                return self.on_auth(id, &token, version).await;
            }
            other => {
                let Some(identity) = self.identity.clone() else {
                    self.send_error(other.request_id().cloned(), AppError::unauthenticated());
                    return Some(CloseCode::PROTOCOL_VIOLATION);
                };
                self.on_command(&identity, other).await;
            }
        }
        None
    }

    async fn on_auth(
        &mut self,
        id: RequestId,
        token: &str,
        version: Option<u32>,
    ) -> Option<CloseCode> {
        if self.identity.is_some() {
            self.send_error(
                Some(id),
                AppError::new(ErrorCode::AlreadyAuthenticated, "already signed in"),
            );
            return None;
        }
        if version.is_some_and(|v| v != PROTOCOL_VERSION) {
            self.send_error(
                Some(id),
                AppError::new(
                    ErrorCode::UnsupportedVersion,
                    format!("this server speaks version {PROTOCOL_VERSION}"),
                ),
            );
            return Some(CloseCode::UNSUPPORTED_VERSION);
        }
        let claims = match crate::app::sessions::verify_access(&self.state, token) {
            Ok(claims) => claims,
            Err(e) => {
                let code = match e.code {
                    ErrorCode::TokenExpired => CloseCode::TOKEN_EXPIRED,
                    _ => CloseCode::UNAUTHORIZED,
                };
                self.send_error(Some(id), e);
                return Some(code);
            }
        };
        let identity = match channels::identity(&self.state, claims.account()).await {
            Ok(identity) => identity,
            Err(e) => {
                let code = match e.code {
                    ErrorCode::Forbidden => CloseCode::FORBIDDEN,
                    _ => CloseCode::INTERNAL,
                };
                self.send_error(Some(id), e);
                return Some(code);
            }
        };
        tracing::Span::current().record("account", identity.actor.id.0);
        let account = identity.actor.id;
        let live = self.state.revocations.clone();
        self.live = Some(live.register(account, self.conn, &claims.sid, self.outbox.clone()));
        // A logout between the check above and the registration found no connection to close.
        if live.is_revoked(&claims.sid) {
            self.send_error(
                Some(id),
                AppError::new(ErrorCode::InvalidToken, "this session was signed out"),
            );
            return Some(CloseCode::UNAUTHORIZED);
        }
        self.expires_at = Some(expiry_instant(claims.expires_at_ms()));
        self.send(ServerMsg::Reply {
            id,
            result: ReplyResult::Authenticated {
                account: AccountSummary {
                    id: identity.actor.id,
                    username: identity.username.clone(),
                    display_name: identity.display_name.clone(),
                },
                expires_at: claims.expires_at_ms(),
                heartbeat_secs: self.state.config.heartbeat_secs,
                protocol: PROTOCOL_VERSION,
            },
        });
        self.identity = Some(identity);
        None
    }

    async fn on_command(&mut self, identity: &Identity, msg: ClientMsg) {
        let id = msg.request_id().cloned();
        let result = match msg {
            ClientMsg::Refresh { id, token } => self.refresh(identity, id, &token),
            ClientMsg::Subscribe { id, channel, since } => {
                self.subscribe(identity, id, channel, since).await
            }
            ClientMsg::Unsubscribe { id, channel } => match self.subs.remove(&channel) {
                Some(_) => {
                    self.send(ServerMsg::Reply {
                        id,
                        result: ReplyResult::Unsubscribed { channel },
                    });
                    Ok(())
                }
                None => Err(AppError::new(
                    ErrorCode::NotSubscribed,
                    "not subscribed to that channel",
                )),
            },
            ClientMsg::Presence { id, channel } => self.presence(identity, id, channel).await,
            ClientMsg::Post { id, channel, text } => {
                match channels::post_message(&self.state, identity, &id, channel, &text).await {
                    Ok(posted) => {
                        self.send(ServerMsg::Reply {
                            id,
                            result: ReplyResult::Posted {
                                channel,
                                message_id: posted.message_id,
                                epoch: posted.position.epoch,
                                offset: posted.position.offset,
                            },
                        });
                        Ok(())
                    }
                    Err(e) => Err(e),
                }
            }
            ClientMsg::SubmitIssue { id, issue } => {
                crate::app::issues::submit(&self.state, identity, &id, issue)
                    .await
                    .map(|issue| {
                        self.send(ServerMsg::Reply {
                            id,
                            result: ReplyResult::Issue {
                                issue: Box::new(issue),
                            },
                        });
                    })
            }
            ClientMsg::IssueAction { id, issue, action } => {
                crate::app::issues::act(&self.state, identity, &id, issue, action)
                    .await
                    .map(|issue| {
                        self.send(ServerMsg::Reply {
                            id,
                            result: ReplyResult::Issue {
                                issue: Box::new(issue),
                            },
                        });
                    })
            }
            ClientMsg::RoomAction {
                id,
                meeting,
                action,
            } => crate::app::meetings::act(&self.state, identity, &id, meeting, action)
                .await
                .map(|seq| {
                    self.send(ServerMsg::Reply {
                        id,
                        result: ReplyResult::RoomDone { meeting, seq },
                    });
                }),
            ClientMsg::Auth { .. } | ClientMsg::Ping | ClientMsg::Pong => Ok(()),
        };
        if let Err(e) = result {
            self.send_error(id, e);
        }
    }

    fn refresh(&mut self, identity: &Identity, id: RequestId, token: &str) -> AppResult<()> {
        let claims = crate::app::sessions::verify_access(&self.state, token)?;
        if claims.account() != identity.actor.id {
            return Err(AppError::new(
                ErrorCode::InvalidToken,
                "the token is for another account",
            ));
        }
        if let Some(live) = &self.live {
            live.set_sid(&claims.sid);
        }
        self.expires_at = Some(expiry_instant(claims.expires_at_ms()));
        self.send(ServerMsg::Reply {
            id,
            result: ReplyResult::Refreshed {
                expires_at: claims.expires_at_ms(),
            },
        });
        Ok(())
    }

    async fn subscribe(
        &mut self,
        identity: &Identity,
        id: RequestId,
        channel: Channel,
        since: Option<Position>,
    ) -> AppResult<()> {
        // A subscription the server ended (removal from a meeting) no longer counts.
        if self
            .subs
            .get(&channel)
            .is_some_and(|r| r.sub.as_ref().is_some_and(|s| s.evicted()))
        {
            self.subs.remove(&channel);
        }
        if self.subs.contains_key(&channel) {
            return Err(AppError::new(
                ErrorCode::AlreadySubscribed,
                "already subscribed to that channel",
            ));
        }
        if self.subs.len() >= self.state.config.max_subscriptions {
            return Err(AppError::new(
                ErrorCode::TooManySubscriptions,
                "this connection holds too many subscriptions",
            ));
        }
        let access = channels::authorize_read(&self.state, &identity.actor, channel).await?;
        if let Channel::Room(meeting) = channel {
            crate::app::meetings::enter(&self.state, identity, meeting).await?;
        }

        let (hub, bus) = (&self.state.hub, &self.state.bus);
        bus.subscribe(channel).await?;
        // From here the guard undoes whatever was done, also on an early return.
        let mut registration = Registration {
            channel,
            conn: self.conn,
            sub: None,
            hub: hub.clone(),
            bus: bus.clone(),
            batcher: self.state.presence.clone(),
            presence: None,
            tasks: self.state.sessions.clone(),
        };
        // The join goes out before the hub registers this connection, so nobody is told of
        // their own arrival; the snapshot below, read after registering, includes them.
        if channel.has_presence() {
            let member = identity.member();
            registration.presence = Some(member.clone());
            if bus
                .presence_join(channel, self.conn, member.clone())
                .await?
            {
                self.state.presence.joined(channel, member);
            }
        }
        let sub = hub.register(
            channel,
            self.conn,
            identity.actor.id,
            self.outbox.clone(),
            access.staff,
        );
        registration.sub = Some(sub.clone());
        let presence = match channel.has_presence() {
            true => Some(bus.presence(channel).await?),
            false => None,
        };
        let history = bus.history(channel, since.as_ref()).await?;
        let (recovered, events) = match (since.is_some(), history.events) {
            // Missed events too many for the connection's queue would close it as a slow
            // consumer, and every resume from the same position the same way: recover nothing,
            // and the client reloads over HTTP (recovery is never partial, PROTOCOL.md §5).
            (true, Some(frames)) if history_too_big(&frames, self.state.config.outbox_bytes) => {
                (false, Vec::new())
            }
            (true, Some(frames)) => (true, decode_events(&frames, access.staff)?),
            _ => (false, Vec::new()),
        };
        let reply = ServerMsg::Reply {
            id,
            result: ReplyResult::Subscribed {
                channel,
                epoch: history.top.epoch.clone(),
                offset: history.top.offset,
                recovered,
                events,
                presence,
            },
        };
        hub.go_live(
            &sub,
            history.top.offset,
            &history.top.epoch,
            Frame::from(reply.to_json()),
        );
        self.subs.insert(channel, registration);
        Ok(())
    }

    async fn presence(
        &mut self,
        identity: &Identity,
        id: RequestId,
        channel: Channel,
    ) -> AppResult<()> {
        if !channel.has_presence() {
            return Err(AppError::invalid("this channel keeps no presence"));
        }
        channels::authorize_read(&self.state, &identity.actor, channel).await?;
        if let Channel::Room(meeting) = channel {
            crate::app::meetings::may_be_in(&self.state, identity, meeting).await?;
        }
        let members = self.state.bus.presence(channel).await?;
        self.send(ServerMsg::Reply {
            id,
            result: ReplyResult::Presence { channel, members },
        });
        Ok(())
    }
}

/// Whether missed events would fill more than half a connection's queue of `outbox_bytes`.
fn history_too_big(frames: &[(Audience, Frame)], outbox_bytes: usize) -> bool {
    frames.iter().map(|(_, f)| f.len()).sum::<usize>() > outbox_bytes / 2
}

/// Stored event frames back into events, for the subscribe reply.
fn decode_events(frames: &[(Audience, Frame)], staff: bool) -> AppResult<Vec<Event>> {
    frames
        .iter()
        .filter(|(audience, _)| staff || *audience == Audience::All)
        .map(
            |(_, f)| match serde_json::from_str::<ServerMsg>(f.as_str()) {
                Ok(ServerMsg::Event(event)) => Ok(event),
                _ => {
                    tracing::error!("history holds a frame that is not an event");
                    Err(AppError::new(ErrorCode::Internal, "internal error"))
                }
            },
        )
        .collect()
}

/// A Unix-ms expiry as a timer deadline.
fn expiry_instant(expires_at_ms: i64) -> Instant {
    // Token expiries are real time: the token was checked against the system clock too.
    let left = expires_at_ms - crate::clock::unix_ms();
    Instant::now() + std::time::Duration::from_millis(left.max(0) as u64)
}

/// Whether a read error means the client's frame exceeded the size limit.
fn too_big(e: &axum::Error) -> bool {
    use tokio_tungstenite::tungstenite::Error as WsError;
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if let Some(WsError::Capacity(_)) = err.downcast_ref::<WsError>() {
            return true;
        }
        source = err.source();
    }
    false
}
