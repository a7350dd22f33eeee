//! The client against scripted fake servers: request/reply pairing, buffering, heartbeat,
//! close codes, positions, and HTTP error mapping. The real server's behaviour is tested in
//! the server crate; these pin down what the client does with each kind of frame.

use futures_util::{SinkExt, StreamExt};
use hehe_client::{ClientError, Connection, HttpClient, Incoming};
use hehe_protocol::http::ApiError;
use hehe_protocol::{
    AccountId, AccountSummary, Channel, ClientMsg, ErrorCode, Event, MeetingId, Member, PlaceId,
    Position, ReplyResult, RequestId, ServerMsg,
};
use std::future::Future;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const HOME: Channel = Channel::Home(PlaceId(12));
const STREET: Channel = Channel::Street(PlaceId(3));
const ROOM: Channel = Channel::Room(MeetingId(7));
const WAIT: Duration = Duration::from_secs(5);

type ServerWs = WebSocketStream<TcpStream>;

/// Serves one WebSocket connection with `script`; returns the URL and the script's task.
async fn fake_ws<F, Fut>(script: F) -> (String, JoinHandle<()>)
where
    F: FnOnce(ServerWs) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.unwrap();
        let ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
        script(ws).await;
    });
    (url, task)
}

async fn read_client(ws: &mut ServerWs) -> ClientMsg {
    loop {
        match ws.next().await.expect("client frame").expect("readable") {
            Message::Text(text) => return serde_json::from_str(text.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame from client: {other:?}"),
        }
    }
}

async fn write(ws: &mut ServerWs, msg: &ServerMsg) {
    ws.send(Message::text(msg.to_json())).await.unwrap();
}

fn id_of(msg: &ClientMsg) -> RequestId {
    msg.request_id().expect("a command").clone()
}

fn member(id: i64, name: &str) -> Member {
    Member {
        account_id: AccountId(id),
        name: name.into(),
        role: None,
    }
}

fn event(channel: Channel, epoch: &str, offset: u64) -> Event {
    Event {
        channel,
        offset,
        epoch: epoch.into(),
        kind: "message".into(),
        time: 1_767_225_600_000 + offset as i64,
        data: serde_json::json!({"n": offset}),
    }
}

/// Reads `auth` and accepts it.
async fn accept_auth(ws: &mut ServerWs) {
    let auth = read_client(ws).await;
    let ClientMsg::Auth { token, version, .. } = &auth else {
        panic!("first frame must be auth, got {auth:?}");
    };
    assert_eq!(token, "tok");
    assert_eq!(*version, Some(hehe_protocol::PROTOCOL_VERSION));
    let result = ReplyResult::Authenticated {
        account: AccountSummary {
            id: AccountId(42),
            username: "wang.fang".into(),
            display_name: "王芳".into(),
        },
        expires_at: 1_767_226_500_000,
        heartbeat_secs: 25,
        protocol: 1,
    };
    let reply = ServerMsg::Reply {
        id: id_of(&auth),
        result,
    };
    write(ws, &reply).await;
}

fn subscribed(channel: Channel, epoch: &str, offset: u64, events: Vec<Event>) -> ReplyResult {
    ReplyResult::Subscribed {
        channel,
        epoch: epoch.into(),
        offset,
        recovered: !events.is_empty(),
        events,
        presence: None,
    }
}

#[tokio::test]
async fn connect_authenticates_and_keeps_the_account() {
    let (url, server) = fake_ws(|mut ws| async move {
        accept_auth(&mut ws).await;
    })
    .await;
    let conn = Connection::connect(&url, "tok").await.unwrap();
    assert_eq!(conn.account().unwrap().username, "wang.fang");
    assert_eq!(conn.heartbeat_secs(), Some(25));
    assert_eq!(conn.expires_at(), Some(1_767_226_500_000));
    server.await.unwrap();
}

#[tokio::test]
async fn frames_before_the_reply_are_buffered_in_order_and_ping_is_answered() {
    let (url, server) = fake_ws(|mut ws| async move {
        accept_auth(&mut ws).await;
        let sub = read_client(&mut ws).await;
        write(&mut ws, &ServerMsg::Event(event(STREET, "e", 7))).await;
        write(&mut ws, &ServerMsg::Ping).await;
        let presence = ServerMsg::Presence {
            channel: ROOM,
            joins: vec![member(1, "a")],
            leaves: vec![],
        };
        write(&mut ws, &presence).await;
        // An error for some other request must not be taken as the answer.
        let other_error = ServerMsg::Error {
            id: Some(RequestId::parse("not-yours").unwrap()),
            code: ErrorCode::Forbidden,
            message: "no".into(),
        };
        write(&mut ws, &other_error).await;
        let reply = ServerMsg::Reply {
            id: id_of(&sub),
            result: subscribed(HOME, "e", 0, vec![]),
        };
        write(&mut ws, &reply).await;
        assert_eq!(read_client(&mut ws).await, ClientMsg::Pong);
    })
    .await;
    let mut conn = Connection::connect(&url, "tok").await.unwrap();
    let sub = conn.subscribe(HOME, None).await.unwrap();
    assert_eq!((sub.channel, sub.offset, sub.recovered), (HOME, 0, false));

    let Incoming::Msg(ServerMsg::Event(first)) = conn.recv_timeout(WAIT).await.unwrap() else {
        panic!("the event comes first");
    };
    assert_eq!(first.offset, 7);
    assert!(matches!(
        conn.recv_timeout(WAIT).await.unwrap(),
        Incoming::Msg(ServerMsg::Presence { .. })
    ));
    assert!(matches!(
        conn.recv_timeout(WAIT).await.unwrap(),
        Incoming::Msg(ServerMsg::Error { .. })
    ));
    server.await.unwrap();
}

#[tokio::test]
async fn an_error_frame_answers_the_request() {
    let (url, server) = fake_ws(|mut ws| async move {
        accept_auth(&mut ws).await;
        let sub = read_client(&mut ws).await;
        let error = ServerMsg::Error {
            id: Some(id_of(&sub)),
            code: ErrorCode::Forbidden,
            message: "you may not read this channel".into(),
        };
        write(&mut ws, &error).await;
    })
    .await;
    let mut conn = Connection::connect(&url, "tok").await.unwrap();
    let err = conn.subscribe(STREET, None).await.unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
    assert!(matches!(err, ClientError::Server { .. }), "{err:?}");
    assert_eq!(conn.position(STREET), None);
    server.await.unwrap();
}

#[tokio::test]
async fn a_close_frame_ends_a_request_and_every_later_recv() {
    let (url, server) = fake_ws(|mut ws| async move {
        accept_auth(&mut ws).await;
        let _post = read_client(&mut ws).await;
        write(&mut ws, &ServerMsg::Event(event(HOME, "e", 1))).await;
        let close = CloseFrame {
            code: CloseCode::from(4001),
            reason: "slow consumer".into(),
        };
        ws.close(Some(close)).await.unwrap();
    })
    .await;
    let mut conn = Connection::connect(&url, "tok").await.unwrap();
    let err = conn.post(HOME, "hi").await.unwrap_err();
    assert_eq!(err.close_code(), Some(4001), "{err:?}");
    // The event that came before the close is still handed out, then the close, for good.
    assert!(matches!(
        conn.recv_timeout(WAIT).await.unwrap(),
        Incoming::Msg(ServerMsg::Event(_))
    ));
    for _ in 0..2 {
        assert_eq!(
            conn.recv_timeout(WAIT).await.unwrap(),
            Incoming::Closed {
                code: Some(4001),
                reason: "slow consumer".into()
            }
        );
    }
    let err = conn.send(&ClientMsg::Ping).await.unwrap_err();
    assert_eq!(err.close_code(), Some(4001));
    server.await.unwrap();
}

#[tokio::test]
async fn a_dropped_socket_reads_as_closed_without_code() {
    let (url, server) = fake_ws(|ws| async move {
        drop(ws);
    })
    .await;
    let mut conn = Connection::open(&url).await.unwrap();
    server.await.unwrap();
    let Incoming::Closed { code, .. } = conn.recv_timeout(WAIT).await.unwrap() else {
        panic!("expected a close");
    };
    assert_eq!(code, None);
}

#[tokio::test]
async fn positions_follow_replies_and_handed_out_events() {
    let (url, server) = fake_ws(|mut ws| async move {
        accept_auth(&mut ws).await;
        let sub = read_client(&mut ws).await;
        let ClientMsg::Subscribe { since, .. } = &sub else {
            panic!("{sub:?}")
        };
        let expected_since = Position {
            epoch: "e".into(),
            offset: 1,
        };
        assert_eq!(since, &Some(expected_since));
        let events = vec![event(HOME, "e", 2), event(HOME, "e", 3)];
        let reply = ServerMsg::Reply {
            id: id_of(&sub),
            result: subscribed(HOME, "e", 3, events),
        };
        write(&mut ws, &reply).await;
        let sub = read_client(&mut ws).await;
        let reply = ServerMsg::Reply {
            id: id_of(&sub),
            result: subscribed(STREET, "s", 10, vec![]),
        };
        write(&mut ws, &reply).await;
        write(&mut ws, &ServerMsg::Event(event(HOME, "e", 4))).await;
        write(&mut ws, &ServerMsg::Event(event(STREET, "s", 11))).await;
        let unsub = read_client(&mut ws).await;
        let reply = ServerMsg::Reply {
            id: id_of(&unsub),
            result: ReplyResult::Unsubscribed { channel: STREET },
        };
        write(&mut ws, &reply).await;
    })
    .await;
    let mut conn = Connection::connect(&url, "tok").await.unwrap();
    let since = Position {
        epoch: "e".into(),
        offset: 1,
    };
    let subs = conn.resume(&[(HOME, since)]).await.unwrap();
    assert_eq!(subs.len(), 1);
    assert!(subs[0].recovered);
    assert_eq!(subs[0].events.len(), 2);
    assert_eq!(conn.position(HOME).unwrap().offset, 3);

    conn.subscribe(STREET, None).await.unwrap();
    assert_eq!(conn.next_event_timeout(WAIT).await.unwrap().offset, 4);
    assert_eq!(conn.position(HOME).unwrap().offset, 4);
    // Not yet handed out, so not yet counted.
    assert_eq!(conn.position(STREET).unwrap().offset, 10);

    conn.unsubscribe(STREET).await.unwrap();
    assert_eq!(conn.position(STREET), None);
    // Buffered before the unsubscribe reply: still handed out, but it does not revive STREET.
    assert_eq!(conn.next_event_timeout(WAIT).await.unwrap().channel, STREET);
    let home_at_4 = Position {
        epoch: "e".into(),
        offset: 4,
    };
    assert_eq!(conn.positions(), vec![(HOME, home_at_4)]);
    server.await.unwrap();
}

#[tokio::test]
async fn next_event_skips_other_frames_and_times_out() {
    let (url, server) = fake_ws(|mut ws| async move {
        accept_auth(&mut ws).await;
        let presence = ServerMsg::Presence {
            channel: ROOM,
            joins: vec![],
            leaves: vec![member(1, "a")],
        };
        write(&mut ws, &presence).await;
        write(&mut ws, &ServerMsg::Pong).await;
        write(&mut ws, &ServerMsg::Event(event(ROOM, "r", 1))).await;
        write(&mut ws, &presence).await;
        // Hold the connection open until the client closes it.
        while let Some(Ok(frame)) = ws.next().await {
            if let Message::Close(frame) = frame {
                assert_eq!(frame.map(|f| u16::from(f.code)), Some(1000));
                break;
            }
        }
    })
    .await;
    let mut conn = Connection::connect(&url, "tok").await.unwrap();
    assert_eq!(conn.next_event_timeout(WAIT).await.unwrap().offset, 1);
    let change = conn.next_presence_timeout(WAIT).await.unwrap();
    assert_eq!(change.leaves, vec![member(1, "a")]);
    let err = conn
        .next_event_timeout(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert_eq!(err, ClientError::Timeout);
    conn.close().await.unwrap();
    assert!(matches!(
        conn.recv_timeout(WAIT).await.unwrap(),
        Incoming::Closed {
            code: Some(1000),
            ..
        }
    ));
    server.await.unwrap();
}

#[tokio::test]
async fn a_request_without_an_answer_times_out() {
    let (url, server) = fake_ws(|mut ws| async move {
        accept_auth(&mut ws).await;
        let _ignored = read_client(&mut ws).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    })
    .await;
    let mut conn = Connection::connect(&url, "tok").await.unwrap();
    conn.set_request_timeout(Duration::from_millis(100));
    let err = conn.presence(ROOM).await.unwrap_err();
    assert_eq!(err, ClientError::Timeout);
    server.await.unwrap();
}

#[tokio::test]
async fn raw_frames_go_out_unchanged() {
    let (url, server) = fake_ws(|mut ws| async move {
        match ws.next().await.unwrap().unwrap() {
            Message::Text(text) => assert_eq!(text.as_str(), "{not json"),
            other => panic!("{other:?}"),
        }
        match ws.next().await.unwrap().unwrap() {
            Message::Binary(bytes) => assert_eq!(&bytes[..], &[1, 2, 3]),
            other => panic!("{other:?}"),
        }
    })
    .await;
    let mut conn = Connection::open(&url).await.unwrap();
    conn.send_text("{not json".into()).await.unwrap();
    conn.send_binary(vec![1, 2, 3]).await.unwrap();
    server.await.unwrap();
}

#[tokio::test]
async fn request_refuses_frames_that_get_no_reply() {
    let (url, server) = fake_ws(|_ws| async move {}).await;
    let mut conn = Connection::open(&url).await.unwrap();
    let err = conn.request(ClientMsg::Ping).await.unwrap_err();
    assert!(matches!(err, ClientError::Unexpected(_)), "{err:?}");
    server.await.unwrap();
}

/// The value of a header in a raw HTTP request head, by lower-case name.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.eq_ignore_ascii_case(name)).then(|| value.trim().to_string())
    })
}

/// Answers one HTTP request with `status` and `body`; the task returns the request as text.
async fn fake_http(status: &'static str, body: &'static str) -> (HttpClient, JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.unwrap();
        let mut request = Vec::new();
        let mut chunk = [0u8; 4096];
        loop {
            let n = tcp.read(&mut chunk).await.unwrap();
            request.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8_lossy(&request).to_string();
            if let Some(end) = text.find("\r\n\r\n") {
                let length = header(&text[..end], "content-length")
                    .map(|v| v.parse::<usize>().unwrap())
                    .unwrap_or(0);
                if request.len() >= end + 4 + length {
                    break;
                }
            }
            if n == 0 {
                break;
            }
        }
        let response = format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
             connection: close\r\n\r\n{body}",
            body.len()
        );
        tcp.write_all(response.as_bytes()).await.unwrap();
        tcp.shutdown().await.unwrap();
        String::from_utf8_lossy(&request).to_string()
    });
    (HttpClient::new(base), task)
}

#[tokio::test]
async fn http_errors_carry_the_api_error() {
    let (http, server) = fake_http(
        "401 Unauthorized",
        r#"{"code":"invalid_credentials","message":"wrong username or password"}"#,
    )
    .await;
    let err = http.login("wang.fang", "nope").await.unwrap_err();
    let expected = ClientError::Api {
        status: 401,
        error: ApiError {
            code: ErrorCode::InvalidCredentials,
            message: "wrong username or password".into(),
        },
    };
    assert_eq!(err, expected);
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /api/auth/login "), "{request}");
    assert!(request.contains(r#""username":"wang.fang""#), "{request}");
}

#[tokio::test]
async fn http_errors_without_an_api_error_name_the_status() {
    let (http, server) = fake_http("502 Bad Gateway", "upstream down").await;
    let err = http.me("tok").await.unwrap_err();
    let ClientError::Http(message) = &err else {
        panic!("{err:?}")
    };
    assert!(message.contains("502"), "{message}");
    let request = server.await.unwrap();
    assert!(request.starts_with("GET /api/me "), "{request}");
    assert_eq!(
        header(&request, "authorization").as_deref(),
        Some("Bearer tok")
    );
}

#[tokio::test]
async fn messages_sends_channel_and_paging() {
    let (http, server) = fake_http("200 OK", r#"{"messages":[]}"#).await;
    let page = http
        .messages("tok", HOME, Some(9017), Some(50))
        .await
        .unwrap();
    assert!(page.messages.is_empty());
    assert_eq!(page.next_before, None);
    let request = server.await.unwrap();
    assert!(
        request.starts_with("GET /api/channels/home:12/messages?before=9017&limit=50 "),
        "{request}"
    );
}

#[tokio::test]
async fn a_bad_success_body_is_a_decode_error() {
    let (http, server) = fake_http("200 OK", r#"{"nope":true}"#).await;
    let err = http.refresh("refresh-tok").await.unwrap_err();
    assert!(matches!(err, ClientError::Decode(_)), "{err:?}");
    let request = server.await.unwrap();
    assert!(request.starts_with("POST /api/auth/refresh "), "{request}");
    assert!(
        request.contains(r#"{"refresh_token":"refresh-tok"}"#),
        "{request}"
    );
}

#[tokio::test]
async fn get_text_returns_any_status() {
    let (http, server) = fake_http("503 Service Unavailable", "not ready").await;
    assert_eq!(
        http.get_text("/readyz").await.unwrap(),
        (503, "not ready".to_string())
    );
    server.await.unwrap();
}

#[tokio::test]
async fn a_refused_handshake_is_a_websocket_error() {
    let (http, server) = fake_http("404 Not Found", "").await;
    let err = Connection::open(&http.ws_url()).await.unwrap_err();
    assert!(matches!(err, ClientError::WebSocket(_)), "{err:?}");
    server.await.unwrap();
}
