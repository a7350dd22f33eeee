//! The WebSocket half of the client: one connection, request/reply pairing, a buffer for frames
//! that arrive while a request waits, automatic heartbeat answers, and per-channel positions to
//! resume from after a reconnect.

use crate::error::{ClientError, Result};
use futures_util::{SinkExt, StreamExt};
use hehe_protocol::MeetingId;
use hehe_protocol::issue::{IssueAction, IssueSummary, NewIssue};
use hehe_protocol::meeting::RoomAction;
use hehe_protocol::{
    AccountSummary, Channel, ClientMsg, Event, IssueId, Member, PROTOCOL_VERSION, Position,
    ReplyResult, RequestId, ServerMsg,
};
use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::error::{Error as WsError, ProtocolError};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode as WsCloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::{
    MaybeTlsStream, WebSocketStream, client_async_with_config, connect_async_with_config,
};

type WsStream = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Largest frame the client accepts. A subscribe reply carries every missed event at once, so
/// it may be far larger than the server's 64 KiB limit on client frames.
pub const MAX_MESSAGE_SIZE: usize = 16 << 20;

/// How long [`Connection::request`] waits for its reply unless changed with
/// [`Connection::set_request_timeout`].
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`Connection::close`] waits for the server to answer the close frame.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How [`Connection::open_with`] opens its socket. The defaults are those of
/// [`Connection::open`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectOptions {
    /// Local address to connect from (port chosen by the system), e.g. `127.0.0.2`.
    pub local_ip: Option<IpAddr>,
    /// Bytes of the WebSocket read buffer, allocated per connection (the library's default is
    /// 128 KiB, too much for tens of thousands of mostly idle connections).
    pub read_buffer_size: Option<usize>,
    /// Bytes gathered before a write to the socket.
    pub write_buffer_size: Option<usize>,
}

/// What [`Connection::recv`] hands out.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A frame from the server (never `ping`: those are answered and swallowed).
    Msg(ServerMsg),
    /// The connection is closed; `code` is the server's close code, if it sent one. Once
    /// closed, every further `recv` returns this again.
    Closed { code: Option<u16>, reason: String },
}

/// The answer to a `subscribe`.
#[derive(Debug, Clone, PartialEq)]
pub struct Subscribed {
    pub channel: Channel,
    /// The stream's position at subscription; live events continue after it.
    pub epoch: String,
    pub offset: u64,
    /// With `since`: whether `events` holds everything missed. When false, reload the channel
    /// over HTTP (`HttpClient::messages`).
    pub recovered: bool,
    /// Missed events, oldest first.
    pub events: Vec<Event>,
    /// Who is present, for channels with presence (`room:`).
    pub presence: Option<Vec<Member>>,
}

impl Subscribed {
    pub fn position(&self) -> Position {
        Position {
            epoch: self.epoch.clone(),
            offset: self.offset,
        }
    }
}

/// The answer to a `post`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub message_id: i64,
    /// Where the message's event sits in the channel's stream.
    pub epoch: String,
    pub offset: u64,
}

/// A `presence` frame: people who came into or left a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceChange {
    pub channel: Channel,
    pub joins: Vec<Member>,
    pub leaves: Vec<Member>,
}

/// Hands out request ids that no other connection of this process uses, and that another
/// process is unlikely to use: the server remembers `post` ids across connections, so a
/// collision would turn a new post into a replay of someone else's.
struct RequestIds {
    prefix: String,
    issued: u64,
}

impl RequestIds {
    fn new() -> Self {
        static CONNECTIONS: AtomicU64 = AtomicU64::new(0);
        let serial = CONNECTIONS.fetch_add(1, Ordering::Relaxed);
        // The random part is fixed-width, so distinct serials always give distinct prefixes.
        let random: u32 = rand::random();
        Self {
            prefix: format!("{random:08x}{serial:x}"),
            issued: 0,
        }
    }

    fn next(&mut self) -> RequestId {
        self.issued += 1;
        RequestId::parse(format!("{}-r{}", self.prefix, self.issued))
            .expect("hex digits, a dash and a number make a valid request id")
    }
}

/// One WebSocket connection to a Hehe server.
///
/// Frames that arrive while [`request`](Self::request) waits for its reply are kept, in order,
/// and handed out later by [`recv`](Self::recv), [`next_event`](Self::next_event) and
/// [`next_presence`](Self::next_presence). The server's heartbeat `ping` is answered with `pong`
/// whenever the connection reads, so a connection that nobody reads from for longer than the
/// heartbeat timeout is closed by the server (4002).
pub struct Connection {
    ws: WsStream,
    buffer: VecDeque<ServerMsg>,
    closed: Option<(Option<u16>, String)>,
    pong_owed: bool,
    ids: RequestIds,
    account: Option<AccountSummary>,
    expires_at: Option<i64>,
    heartbeat_secs: Option<u64>,
    positions: BTreeMap<Channel, Position>,
    request_timeout: Duration,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("account", &self.account)
            .field("buffered", &self.buffer.len())
            .field("closed", &self.closed)
            .field("positions", &self.positions)
            .finish_non_exhaustive()
    }
}

impl Connection {
    /// Opens a WebSocket without authenticating; the first frame sent should be `auth`.
    pub async fn open(ws_url: &str) -> Result<Self> {
        let config = WebSocketConfig::default()
            .max_message_size(Some(MAX_MESSAGE_SIZE))
            .max_frame_size(Some(MAX_MESSAGE_SIZE));
        // Frames are small and latency matters more than packet count: no Nagle.
        let connecting = connect_async_with_config(ws_url, Some(config), true);
        let (ws, _response) = timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| ClientError::Timeout)?
            .map_err(|e| ClientError::WebSocket(format!("cannot connect to {ws_url}: {e}")))?;
        Ok(Self::over(ws))
    }

    /// Opens a plain `ws://` WebSocket without authenticating, as [`open`](Self::open) does,
    /// with the socket and buffers `options` set. The load test uses it to open tens of
    /// thousands of connections: from several loopback source addresses, since one source
    /// address has only some 28,000 ports towards one server, and with small buffers.
    pub async fn open_with(ws_url: &str, options: &ConnectOptions) -> Result<Self> {
        let cannot = |e: &dyn fmt::Display| {
            ClientError::WebSocket(format!("cannot connect to {ws_url}: {e}"))
        };
        let rest = ws_url
            .strip_prefix("ws://")
            .ok_or_else(|| cannot(&"only ws:// URLs can be opened with options"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let connecting = async {
            let target = tokio::net::lookup_host(authority)
                .await
                .map_err(|e| cannot(&e))?
                .next()
                .ok_or_else(|| cannot(&"the host has no address"))?;
            let socket = if target.is_ipv4() {
                TcpSocket::new_v4()
            } else {
                TcpSocket::new_v6()
            }
            .map_err(|e| cannot(&e))?;
            if let Some(ip) = options.local_ip {
                socket
                    .bind(SocketAddr::new(ip, 0))
                    .map_err(|e| cannot(&format!("binding {ip}: {e}")))?;
            }
            let stream = socket.connect(target).await.map_err(|e| cannot(&e))?;
            stream.set_nodelay(true).map_err(|e| cannot(&e))?;
            let mut config = WebSocketConfig::default()
                .max_message_size(Some(MAX_MESSAGE_SIZE))
                .max_frame_size(Some(MAX_MESSAGE_SIZE));
            if let Some(size) = options.read_buffer_size {
                config = config.read_buffer_size(size);
            }
            if let Some(size) = options.write_buffer_size {
                config = config.write_buffer_size(size);
            }
            client_async_with_config(ws_url, MaybeTlsStream::Plain(stream), Some(config))
                .await
                .map_err(|e| cannot(&e))
        };
        let (ws, _response) = timeout(CONNECT_TIMEOUT, connecting)
            .await
            .map_err(|_| ClientError::Timeout)??;
        Ok(Self::over(ws))
    }

    fn over(ws: WsStream) -> Self {
        Self {
            ws,
            buffer: VecDeque::new(),
            closed: None,
            pong_owed: false,
            ids: RequestIds::new(),
            account: None,
            expires_at: None,
            heartbeat_secs: None,
            positions: BTreeMap::new(),
            request_timeout: REQUEST_TIMEOUT,
        }
    }

    /// Opens a WebSocket and authenticates with an access token.
    pub async fn connect(ws_url: &str, token: &str) -> Result<Self> {
        let mut conn = Self::open(ws_url).await?;
        conn.authenticate(token).await?;
        Ok(conn)
    }

    /// [`open_with`](Self::open_with), then authenticates with an access token.
    pub async fn connect_with(ws_url: &str, options: &ConnectOptions, token: &str) -> Result<Self> {
        let mut conn = Self::open_with(ws_url, options).await?;
        conn.authenticate(token).await?;
        Ok(conn)
    }

    /// Sends `auth` with the current protocol version and waits for `authenticated`.
    pub async fn authenticate(&mut self, token: &str) -> Result<AccountSummary> {
        let id = self.next_request_id();
        let msg = ClientMsg::Auth {
            id,
            token: token.into(),
            version: Some(PROTOCOL_VERSION),
        };
        match self.request(msg).await? {
            ReplyResult::Authenticated { account, .. } => Ok(account),
            other => Err(unexpected("authenticated", &other)),
        }
    }

    /// Who this connection is authenticated as.
    pub fn account(&self) -> Option<&AccountSummary> {
        self.account.as_ref()
    }

    /// When the connection's access token expires (Unix ms), from `authenticated`/`refreshed`.
    pub fn expires_at(&self) -> Option<i64> {
        self.expires_at
    }

    /// The server's heartbeat interval, from `authenticated`.
    pub fn heartbeat_secs(&self) -> Option<u64> {
        self.heartbeat_secs
    }

    /// A request id never used before by any connection of this process.
    pub fn next_request_id(&mut self) -> RequestId {
        self.ids.next()
    }

    /// How long [`request`](Self::request) waits for its reply.
    pub fn set_request_timeout(&mut self, d: Duration) {
        self.request_timeout = d;
    }

    /// Sends a frame without waiting for anything.
    pub async fn send(&mut self, msg: &ClientMsg) -> Result<()> {
        let text = serde_json::to_string(msg).map_err(|e| ClientError::Decode(e.to_string()))?;
        self.send_message(Message::text(text)).await
    }

    /// Sends any text as one frame, valid or not (for testing the server's input checks).
    pub async fn send_text(&mut self, text: String) -> Result<()> {
        self.send_message(Message::text(text)).await
    }

    /// Sends a binary frame, which the protocol forbids (for testing the server).
    pub async fn send_binary(&mut self, bytes: Vec<u8>) -> Result<()> {
        self.send_message(Message::binary(bytes)).await
    }

    /// The next frame: first what is buffered, then from the socket.
    pub async fn recv(&mut self) -> Result<Incoming> {
        // Paid before popping, so a cancelled call (e.g. by a timeout) never loses a frame.
        self.pay_pong().await;
        let incoming = match self.buffer.pop_front() {
            Some(msg) => Incoming::Msg(msg),
            None => self.read_frame().await?,
        };
        match &incoming {
            Incoming::Msg(ServerMsg::Event(event)) => self.track(event),
            // The server ended the subscription: there is nothing to resume.
            Incoming::Msg(ServerMsg::Unsubscribed { channel, .. }) => {
                self.positions.remove(channel);
            }
            _ => {}
        }
        Ok(incoming)
    }

    /// [`recv`](Self::recv), or [`ClientError::Timeout`] after `d`.
    pub async fn recv_timeout(&mut self, d: Duration) -> Result<Incoming> {
        timeout(d, self.recv())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    /// Sends a command and waits for the `reply` or `error` with its id. Other frames that
    /// arrive meanwhile are buffered for `recv`. An `error` answer becomes
    /// [`ClientError::Server`]; a close becomes [`ClientError::Closed`].
    pub async fn request(&mut self, msg: ClientMsg) -> Result<ReplyResult> {
        let Some(id) = msg.request_id().cloned() else {
            return Err(ClientError::Unexpected(format!(
                "a {} frame has no request id, so no reply comes to it",
                msg.type_name()
            )));
        };
        self.send(&msg).await?;
        let deadline = Instant::now() + self.request_timeout;
        loop {
            let incoming = timeout_at(deadline, self.read_frame())
                .await
                .map_err(|_| ClientError::Timeout)??;
            match incoming {
                Incoming::Msg(ServerMsg::Reply {
                    id: answered,
                    result,
                }) if answered == id => {
                    self.note_reply(&result);
                    return Ok(result);
                }
                Incoming::Msg(ServerMsg::Error {
                    id: Some(answered),
                    code,
                    message,
                }) if answered == id => return Err(ClientError::Server { code, message }),
                Incoming::Msg(other) => self.buffer.push_back(other),
                Incoming::Closed { code, reason } => {
                    return Err(ClientError::Closed { code, reason });
                }
            }
        }
    }

    /// Subscribes to a channel, from `since` if given (see [`Subscribed::recovered`]).
    pub async fn subscribe(
        &mut self,
        channel: Channel,
        since: Option<Position>,
    ) -> Result<Subscribed> {
        let id = self.next_request_id();
        let msg = ClientMsg::Subscribe { id, channel, since };
        match self.request(msg).await? {
            ReplyResult::Subscribed {
                channel,
                epoch,
                offset,
                recovered,
                events,
                presence,
            } => Ok(Subscribed {
                channel,
                epoch,
                offset,
                recovered,
                events,
                presence,
            }),
            other => Err(unexpected("subscribed", &other)),
        }
    }

    /// Unsubscribes and forgets the channel's position, so [`positions`](Self::positions) no
    /// longer lists it. Events of the channel already buffered are still handed out.
    pub async fn unsubscribe(&mut self, channel: Channel) -> Result<()> {
        let id = self.next_request_id();
        match self.request(ClientMsg::Unsubscribe { id, channel }).await? {
            ReplyResult::Unsubscribed { .. } => Ok(()),
            other => Err(unexpected("unsubscribed", &other)),
        }
    }

    /// Posts a text message with a fresh request id.
    pub async fn post(&mut self, channel: Channel, text: &str) -> Result<Posted> {
        let id = self.next_request_id();
        self.post_with_id(id, channel, text).await
    }

    /// Posts with a given request id: sending the same id again (also on another connection)
    /// is applied once and answered with the same `Posted`.
    pub async fn post_with_id(
        &mut self,
        id: RequestId,
        channel: Channel,
        text: &str,
    ) -> Result<Posted> {
        let msg = ClientMsg::Post {
            id,
            channel,
            text: text.into(),
        };
        match self.request(msg).await? {
            ReplyResult::Posted {
                message_id,
                epoch,
                offset,
                ..
            } => Ok(Posted {
                message_id,
                epoch,
                offset,
            }),
            other => Err(unexpected("posted", &other)),
        }
    }

    /// Raises an issue with a fresh request id.
    pub async fn submit_issue(&mut self, issue: NewIssue) -> Result<IssueSummary> {
        let id = self.next_request_id();
        self.submit_issue_with_id(id, issue).await
    }

    /// Raises an issue; the same id again (on any connection) is applied once.
    pub async fn submit_issue_with_id(
        &mut self,
        id: RequestId,
        issue: NewIssue,
    ) -> Result<IssueSummary> {
        match self.request(ClientMsg::SubmitIssue { id, issue }).await? {
            ReplyResult::Issue { issue } => Ok(*issue),
            other => Err(unexpected("issue", &other)),
        }
    }

    /// Acts on an issue with a fresh request id.
    pub async fn issue_action(
        &mut self,
        issue: IssueId,
        action: IssueAction,
    ) -> Result<IssueSummary> {
        let id = self.next_request_id();
        self.issue_action_with_id(id, issue, action).await
    }

    /// Acts on an issue; the same id again (on any connection) is applied once.
    pub async fn issue_action_with_id(
        &mut self,
        id: RequestId,
        issue: IssueId,
        action: IssueAction,
    ) -> Result<IssueSummary> {
        match self
            .request(ClientMsg::IssueAction { id, issue, action })
            .await?
        {
            ReplyResult::Issue { issue } => Ok(*issue),
            other => Err(unexpected("issue", &other)),
        }
    }

    /// Acts in a meeting's living room with a fresh request id; returns the log's last seq.
    pub async fn room_action(&mut self, meeting: MeetingId, action: RoomAction) -> Result<u32> {
        let id = self.next_request_id();
        self.room_action_with_id(id, meeting, action).await
    }

    /// Acts in a living room; the same id again (on any connection) is applied once.
    pub async fn room_action_with_id(
        &mut self,
        id: RequestId,
        meeting: MeetingId,
        action: RoomAction,
    ) -> Result<u32> {
        match self
            .request(ClientMsg::RoomAction {
                id,
                meeting,
                action,
            })
            .await?
        {
            ReplyResult::RoomDone { seq, .. } => Ok(seq),
            other => Err(unexpected("room_done", &other)),
        }
    }

    /// Who is present in a channel with presence.
    pub async fn presence(&mut self, channel: Channel) -> Result<Vec<Member>> {
        let id = self.next_request_id();
        match self.request(ClientMsg::Presence { id, channel }).await? {
            ReplyResult::Presence { members, .. } => Ok(members),
            other => Err(unexpected("presence", &other)),
        }
    }

    /// Replaces the connection's access token; returns its expiry (Unix ms).
    pub async fn refresh_token(&mut self, token: &str) -> Result<i64> {
        let id = self.next_request_id();
        let msg = ClientMsg::Refresh {
            id,
            token: token.into(),
        };
        match self.request(msg).await? {
            ReplyResult::Refreshed { expires_at } => Ok(expires_at),
            other => Err(unexpected("refreshed", &other)),
        }
    }

    /// The next event. Frames that are not events (replies, errors without a pending request,
    /// presence, pong) are skipped and dropped, buffered or not; use [`recv`](Self::recv) to
    /// see every frame.
    pub async fn next_event(&mut self) -> Result<Event> {
        loop {
            match self.recv().await? {
                Incoming::Msg(ServerMsg::Event(event)) => return Ok(event),
                Incoming::Msg(_) => {}
                Incoming::Closed { code, reason } => {
                    return Err(ClientError::Closed { code, reason });
                }
            }
        }
    }

    /// [`next_event`](Self::next_event), or [`ClientError::Timeout`] after `d` in all.
    pub async fn next_event_timeout(&mut self, d: Duration) -> Result<Event> {
        timeout(d, self.next_event())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    /// The next `presence` frame. Like [`next_event`](Self::next_event), it drops every other
    /// frame on the way, events included.
    pub async fn next_presence(&mut self) -> Result<PresenceChange> {
        loop {
            match self.recv().await? {
                Incoming::Msg(ServerMsg::Presence {
                    channel,
                    joins,
                    leaves,
                }) => {
                    return Ok(PresenceChange {
                        channel,
                        joins,
                        leaves,
                    });
                }
                Incoming::Msg(_) => {}
                Incoming::Closed { code, reason } => {
                    return Err(ClientError::Closed { code, reason });
                }
            }
        }
    }

    /// [`next_presence`](Self::next_presence), or [`ClientError::Timeout`] after `d` in all.
    pub async fn next_presence_timeout(&mut self, d: Duration) -> Result<PresenceChange> {
        timeout(d, self.next_presence())
            .await
            .map_err(|_| ClientError::Timeout)?
    }

    /// The last position seen on a subscribed channel: set by the subscribe reply, then moved
    /// by every event of the channel handed out.
    pub fn position(&self, channel: Channel) -> Option<Position> {
        self.positions.get(&channel).cloned()
    }

    /// Every subscribed channel's position, ordered by channel: what to pass to
    /// [`resume`](Self::resume) on a new connection.
    pub fn positions(&self) -> Vec<(Channel, Position)> {
        self.positions
            .iter()
            .map(|(c, p)| (*c, p.clone()))
            .collect()
    }

    /// Subscribes to each channel from its position, in order; stops at the first refusal.
    pub async fn resume(&mut self, positions: &[(Channel, Position)]) -> Result<Vec<Subscribed>> {
        let mut replies = Vec::with_capacity(positions.len());
        for (channel, position) in positions {
            replies.push(self.subscribe(*channel, Some(position.clone())).await?);
        }
        Ok(replies)
    }

    /// Sends a normal close (1000) and waits briefly for the server to answer it. Frames that
    /// arrive in that time are kept for `recv`.
    pub async fn close(&mut self) -> Result<()> {
        if self.closed.is_some() {
            return Ok(());
        }
        let frame = CloseFrame {
            code: WsCloseCode::Normal,
            reason: "".into(),
        };
        if let Err(e) = self.ws.close(Some(frame)).await
            && peer_gone(&e).is_none()
        {
            return Err(ClientError::WebSocket(e.to_string()));
        }
        let drain = async {
            while let Some(Ok(message)) = self.ws.next().await {
                match message {
                    Message::Text(text) => match serde_json::from_str::<ServerMsg>(text.as_str()) {
                        Ok(ServerMsg::Ping) | Err(_) => {}
                        Ok(msg) => self.buffer.push_back(msg),
                    },
                    // The server may have closed first, for its own reason: keep that code.
                    Message::Close(Some(frame)) => {
                        self.mark_closed(Some(u16::from(frame.code)), &frame.reason);
                    }
                    _ => {}
                }
            }
        };
        // A server that never answers the close must not hold the caller.
        let _ = timeout(CLOSE_TIMEOUT, drain).await;
        self.mark_closed(Some(u16::from(WsCloseCode::Normal)), "closed by client");
        Ok(())
    }

    /// Reads the socket (not the buffer) up to the next frame worth handing out.
    async fn read_frame(&mut self) -> Result<Incoming> {
        loop {
            if let Some((code, reason)) = &self.closed {
                return Ok(Incoming::Closed {
                    code: *code,
                    reason: reason.clone(),
                });
            }
            self.pay_pong().await;
            match self.ws.next().await {
                None => self.mark_closed(None, "connection ended"),
                Some(Err(e)) => {
                    let reason = e.to_string();
                    let gone = peer_gone(&e);
                    // Tungstenite reports every read error once and is unusable after it.
                    self.mark_closed(None, &reason);
                    if gone.is_none() {
                        return Err(ClientError::WebSocket(reason));
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    let msg: ServerMsg = serde_json::from_str(text.as_str())
                        .map_err(|e| ClientError::Decode(format!("server frame: {e}")))?;
                    if msg == ServerMsg::Ping {
                        self.pong_owed = true;
                        continue;
                    }
                    return Ok(Incoming::Msg(msg));
                }
                Some(Ok(Message::Binary(_))) => {
                    return Err(ClientError::Decode(
                        "the server sent a binary frame; the protocol has none".into(),
                    ));
                }
                Some(Ok(Message::Close(frame))) => match frame {
                    Some(frame) => self.mark_closed(Some(u16::from(frame.code)), &frame.reason),
                    None => self.mark_closed(None, ""),
                },
                // Control frames below the protocol: tungstenite answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
            }
        }
    }

    async fn send_message(&mut self, message: Message) -> Result<()> {
        if let Some((code, reason)) = &self.closed {
            return Err(ClientError::Closed {
                code: *code,
                reason: reason.clone(),
            });
        }
        self.ws
            .send(message)
            .await
            .map_err(|e| match peer_gone(&e) {
                // The connection is not marked closed here: the server's close frame, with the
                // code that says why, may still be waiting to be read.
                Some(reason) => ClientError::Closed { code: None, reason },
                None => ClientError::WebSocket(e.to_string()),
            })
    }

    /// Answers a heartbeat `ping` read earlier. A failure is not reported: it means the
    /// connection is going away, and the next read says how.
    async fn pay_pong(&mut self) {
        if !self.pong_owed {
            return;
        }
        let pong = Message::text(r#"{"type":"pong"}"#);
        if let Err(e) = self.ws.send(pong).await {
            tracing::debug!(error = %e, "could not answer the server's ping");
        }
        self.pong_owed = false;
    }

    fn mark_closed(&mut self, code: Option<u16>, reason: &str) {
        // The first cause wins: a read error after a close frame says nothing new.
        if self.closed.is_none() {
            self.closed = Some((code, reason.to_string()));
        }
    }

    fn note_reply(&mut self, result: &ReplyResult) {
        match result {
            ReplyResult::Authenticated {
                account,
                expires_at,
                heartbeat_secs,
                ..
            } => {
                self.account = Some(account.clone());
                self.expires_at = Some(*expires_at);
                self.heartbeat_secs = Some(*heartbeat_secs);
            }
            ReplyResult::Refreshed { expires_at } => self.expires_at = Some(*expires_at),
            ReplyResult::Subscribed {
                channel,
                epoch,
                offset,
                ..
            } => {
                let position = Position {
                    epoch: epoch.clone(),
                    offset: *offset,
                };
                self.positions.insert(*channel, position);
            }
            ReplyResult::Unsubscribed { channel } => {
                self.positions.remove(channel);
            }
            ReplyResult::Presence { .. }
            | ReplyResult::Posted { .. }
            | ReplyResult::Issue { .. }
            | ReplyResult::RoomDone { .. } => {}
        }
    }

    /// Moves a subscribed channel's position to an event handed out. An older event of the same
    /// epoch (one buffered before a resubscribe) does not move it back.
    fn track(&mut self, event: &Event) {
        let Some(position) = self.positions.get_mut(&event.channel) else {
            return;
        };
        if position.epoch == event.epoch && position.offset >= event.offset {
            return;
        }
        *position = Position {
            epoch: event.epoch.clone(),
            offset: event.offset,
        };
    }
}

/// `Some(reason)` when the error means the peer has closed or dropped the connection.
fn peer_gone(e: &WsError) -> Option<String> {
    use std::io::ErrorKind;
    match e {
        WsError::ConnectionClosed | WsError::AlreadyClosed => Some(e.to_string()),
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => Some(e.to_string()),
        WsError::Io(io)
            if matches!(
                io.kind(),
                ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::BrokenPipe
                    | ErrorKind::UnexpectedEof
            ) =>
        {
            Some(e.to_string())
        }
        _ => None,
    }
}

fn unexpected(wanted: &str, got: &ReplyResult) -> ClientError {
    ClientError::Unexpected(format!("wanted a {wanted} reply, got {got:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn request_ids_are_unique_within_and_across_connections() {
        let mut seen = HashSet::new();
        for _ in 0..50 {
            let mut ids = RequestIds::new();
            for _ in 0..50 {
                let id = ids.next();
                assert!(id.as_str().len() <= RequestId::MAX_LEN);
                assert!(seen.insert(id), "duplicate request id");
            }
        }
    }

    #[test]
    fn request_ids_count_up_behind_a_prefix() {
        let mut ids = RequestIds::new();
        let first = ids.next();
        let second = ids.next();
        assert!(first.as_str().ends_with("-r1"), "{first}");
        assert!(second.as_str().ends_with("-r2"), "{second}");
        assert_eq!(
            first.as_str().trim_end_matches("-r1"),
            second.as_str().trim_end_matches("-r2")
        );
    }

    #[test]
    fn request_ids_use_visible_ascii() {
        let id = RequestIds::new().next();
        assert!(id.as_str().bytes().all(|b| b.is_ascii_graphic()));
    }
}
