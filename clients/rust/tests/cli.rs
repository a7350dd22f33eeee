//! The `hehe` binary against a real server started in this process (SQLite in a temporary
//! directory, the demo neighbourhood seeded), each account with its own config directory.

use hehe_server::config::Config;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::sync::oneshot;

const PASSWORD: &str = "hehe-demo";
const WAIT: Duration = Duration::from_secs(15);

/// A server on its own thread and runtime, so the tests can block on subprocesses.
struct Server {
    url: String,
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    dir: tempfile::TempDir,
}

impl Server {
    fn start() -> Server {
        Server::start_with(|_| {})
    }

    fn start_with(tweak: fn(&mut Config)) -> Server {
        let dir = tempfile::tempdir().expect("temporary directory");
        let any = "127.0.0.1:0".parse().expect("address");
        let (addr, stop, thread) = serve(dir.path(), any, tweak);
        Server {
            url: format!("http://{addr}"),
            addr,
            stop: Some(stop),
            thread: Some(thread),
            dir,
        }
    }

    fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Stops the server and starts it again on the same address and data.
    fn restart(&mut self) {
        self.stop();
        let (_, stop, thread) = serve(self.dir.path(), self.addr, |_| {});
        self.stop = Some(stop);
        self.thread = Some(thread);
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs a server on `dir` at `addr` (port 0: any) until told to stop; returns once it is ready.
fn serve(
    dir: &Path,
    addr: SocketAddr,
    tweak: fn(&mut Config),
) -> (SocketAddr, oneshot::Sender<()>, std::thread::JoinHandle<()>) {
    let mut config = Config::with_data_dir(dir);
    config.seed_demo = true;
    tweak(&mut config);
    let (address, bound) = mpsc::channel::<SocketAddr>();
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
            address.send(listener.local_addr().expect("address")).ok();
            hehe_server::run(config, listener, async move {
                let _ = stopped.await;
            })
            .await
            .expect("the server runs");
        });
    });
    let addr = bound.recv_timeout(WAIT).expect("the server binds");
    let deadline = Instant::now() + WAIT;
    while !ready(addr) {
        assert!(Instant::now() < deadline, "the server did not become ready");
        std::thread::sleep(Duration::from_millis(25));
    }
    (addr, stop, thread)
}

/// `GET /readyz` answers 200.
fn ready(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect(addr) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.starts_with("HTTP/1.1 200")
}

/// The binary, speaking to `server` with the config directory `home`.
fn hehe(server: &str, home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hehe"));
    command
        .env("HEHE_SERVER", server)
        .env("XDG_CONFIG_HOME", home)
        .env("HOME", home)
        .env_remove("HEHE_TOKEN");
    command
}

/// Runs to the end with `stdin` as its input.
fn run(mut command: Command, stdin: &str) -> Output {
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    wait(child)
}

/// Waits for a child, killing it after [`WAIT`].
fn wait(mut child: Child) -> Output {
    let deadline = Instant::now() + WAIT;
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let output = child.wait_with_output().expect("output");
            panic!("the binary did not finish: {}", text(&output));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(output: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Runs and expects success; the JSON it printed.
fn ok_json(command: Command) -> Value {
    let output = run(command, "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&output)))
}

/// One account's config directory, logged in.
fn account(server: &Server, root: &Path, username: &str) -> std::path::PathBuf {
    let home = root.join(username);
    let mut login = hehe(&server.url, &home);
    login.args(["login", username, "--password-stdin"]);
    let output = run(login, &format!("{PASSWORD}\n"));
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    home
}

fn act(server: &Server, home: &Path, issue: i64, action: &[&str]) -> Output {
    let mut command = hehe(&server.url, home);
    command
        .args(["--json", "issue", "act", &issue.to_string()])
        .args(action);
    run(command, "")
}

/// Starts `hehe tail` in the background; its stderr lines arrive on the receiver.
fn spawn_tail(server: &Server, home: &Path, args: &[&str]) -> (Child, mpsc::Receiver<String>) {
    let mut tail = hehe(&server.url, home);
    tail.arg("tail")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut tail = tail.spawn().expect("tail starts");
    let (line, lines) = mpsc::channel::<String>();
    let stderr = tail.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = line.send(l);
        }
    });
    (tail, lines)
}

/// Waits for the tail's notice that it follows its channel (again).
fn wait_following(lines: &mpsc::Receiver<String>) {
    loop {
        let l = lines
            .recv_timeout(WAIT)
            .expect("the tail says when it follows the channel");
        if l.contains("following") {
            return;
        }
    }
}

fn post(server: &Server, home: &Path, channel: &str, message: &str) {
    let mut post = hehe(&server.url, home);
    post.args(["post", channel, message]);
    let posted = run(post, "");
    assert_eq!(posted.status.code(), Some(0), "{}", text(&posted));
}

/// The JSON lines a finished tail printed.
fn tailed(tail: Child) -> Vec<Value> {
    let output = wait(tail);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect()
}

#[test]
fn a_session_of_an_official_a_resident_and_a_worker() {
    let server = Server::start();
    let root = tempfile::tempdir().expect("temporary directory");

    // Logging in saves the tokens where only their owner reads them.
    let official = account(&server, root.path(), "official");
    let saved = official.join("hehe").join("credentials.json");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&saved)
            .expect("credentials saved")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "credentials are private");
    }
    let mut wrong = hehe(&server.url, &root.path().join("nobody"));
    wrong.args(["login", "official", "--password-stdin"]);
    let refused = run(wrong, "not the password\n");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("invalid_credentials"));

    // The channels the official reads, from /api/me.
    let mut channels = hehe(&server.url, &official);
    channels.args(["channels", "--json"]);
    let channels = ok_json(channels);
    let home_channel = channels
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(Value::as_str)
        .find(|c| c.starts_with("home:"))
        .expect("a home channel")
        .to_owned();

    // A tail in the background prints what a post sends.
    let (tail, lines) = spawn_tail(
        &server,
        &official,
        &[&home_channel, "--count", "1", "--json"],
    );
    wait_following(&lines);
    let said = "Water is off 9-11 tomorrow";
    post(&server, &official, &home_channel, said);
    let events = tailed(tail);
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "event");
    assert_eq!(events[0]["channel"], home_channel.as_str());
    assert_eq!(events[0]["kind"], "message");
    assert_eq!(events[0]["data"]["text"], said);

    // A resident raises an issue; the official accepts and dispatches it to the worker, who
    // acknowledges it.
    let resident = account(&server, root.path(), "resident");
    let worker = account(&server, root.path(), "worker");
    let mut whoami = hehe(&server.url, &worker);
    whoami.args(["whoami", "--json"]);
    let worker_id = ok_json(whoami)["id"].as_i64().expect("an account id");
    // The resident's community, from `whoami`, and a grid of it, from `place`.
    let mut whoami = hehe(&server.url, &resident);
    whoami.args(["whoami", "--json"]);
    let community = ok_json(whoami)["grants"][0]["place"]["id"]
        .as_i64()
        .expect("a community");
    let mut place = hehe(&server.url, &resident);
    place.args(["place", &community.to_string(), "--json"]);
    let grid = ok_json(place)["children"]
        .as_array()
        .expect("children")
        .iter()
        .find(|p| p["kind"] == "grid")
        .and_then(|p| p["id"].as_i64())
        .expect("a grid")
        .to_string();
    let mut raise = hehe(&server.url, &resident);
    raise.args([
        "issue",
        "raise",
        "--category",
        "clutter",
        "--place",
        &grid,
        "--text",
        "Boxes in stairwell 2 block the fire escape",
        "--json",
    ]);
    let raised = ok_json(raise);
    assert_eq!(raised["issue"]["state"], "submitted");
    assert_eq!(
        raised["issue"]["title"],
        "Boxes in stairwell 2 block the fire escape"
    );
    let issue = raised["issue"]["id"].as_i64().expect("an issue id");

    let state = |output: Output| -> String {
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
        let answer: Value = serde_json::from_slice(&output.stdout).expect("JSON");
        answer["issue"]["state"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    assert_eq!(
        state(act(&server, &official, issue, &["accept"])),
        "accepted"
    );
    let to = worker_id.to_string();
    assert_eq!(
        state(act(&server, &official, issue, &["dispatch", "--to", &to])),
        "dispatched"
    );
    assert_eq!(
        state(act(&server, &worker, issue, &["acknowledge"])),
        "in_progress"
    );

    // Refusals exit 2 with the stable code: a resident may not accept, and an issue in
    // progress cannot be accepted again.
    let forbidden = act(&server, &resident, issue, &["accept"]);
    assert_eq!(forbidden.status.code(), Some(2), "{}", text(&forbidden));
    assert!(String::from_utf8_lossy(&forbidden.stderr).contains("forbidden"));
    let conflict = act(&server, &official, issue, &["accept"]);
    assert_eq!(conflict.status.code(), Some(2), "{}", text(&conflict));
    assert!(String::from_utf8_lossy(&conflict.stderr).contains("conflict"));

    // The issue shows its timeline.
    let mut show = hehe(&server.url, &resident);
    show.args(["issue", "show", &issue.to_string(), "--json"]);
    let detail = ok_json(show);
    let kinds: Vec<&str> = detail["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|e| e["kind"].as_str())
        .collect();
    assert_eq!(
        kinds,
        ["submitted", "accepted", "dispatched", "acknowledged"]
    );

    // Saying something in a room that has not started is refused, after entering it.
    let mut meetings = hehe(&server.url, &official);
    meetings.args(["meetings", "--json"]);
    let meeting = ok_json(meetings)[0]["id"].as_i64().expect("a meeting");
    let mut join = hehe(&server.url, &official);
    join.args([
        "room",
        "join",
        &meeting.to_string(),
        "--say",
        "hello",
        "--count",
        "1",
    ]);
    let joined = run(join, "");
    assert_eq!(joined.status.code(), Some(2), "{}", text(&joined));
    assert!(String::from_utf8_lossy(&joined.stderr).contains("conflict"));
    // Once its chair starts it, what is said there is printed.
    let chief = account(&server, root.path(), "chief");
    let mut start = hehe(&server.url, &chief);
    start.args(["room", "act", &meeting.to_string(), "start"]);
    let started = run(start, "");
    assert_eq!(started.status.code(), Some(0), "{}", text(&started));
    let mut join = hehe(&server.url, &official);
    join.args([
        "room",
        "join",
        &meeting.to_string(),
        "--say",
        "hello",
        "--count",
        "1",
    ])
    .arg("--json");
    let joined = run(join, "");
    assert_eq!(joined.status.code(), Some(0), "{}", text(&joined));
    let frames: Vec<Value> = String::from_utf8_lossy(&joined.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(frames[0]["type"], "presence", "{frames:?}");
    let said = frames.last().expect("a frame");
    assert_eq!(said["kind"], "room.event", "{frames:?}");
    assert_eq!(said["data"]["kind"], "said");
    assert_eq!(said["data"]["data"]["text"], "hello");

    // Logging out signs the session out on the server, so a copy of its token stops working,
    // and forgets the tokens; then commands ask to log in.
    let saved: Value = serde_json::from_slice(
        &std::fs::read(official.join("hehe").join("credentials.json")).expect("saved login"),
    )
    .expect("JSON");
    let copy = saved["servers"][&server.url]["access_token"]
        .as_str()
        .expect("a saved access token")
        .to_owned();
    let mut whoami = hehe(&server.url, &official);
    whoami.args(["--token", &copy, "whoami"]);
    assert_eq!(
        run(whoami, "").status.code(),
        Some(0),
        "the copy works before"
    );
    let mut logout = hehe(&server.url, &official);
    logout.arg("logout");
    let out = run(logout, "");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let mut whoami = hehe(&server.url, &official);
    whoami.args(["--token", &copy, "whoami"]);
    let refused = run(whoami, "");
    assert_ne!(refused.status.code(), Some(0), "{}", text(&refused));
    let mut whoami = hehe(&server.url, &official);
    whoami.arg("whoami");
    let anonymous = run(whoami, "");
    assert_eq!(anonymous.status.code(), Some(1), "{}", text(&anonymous));
    assert!(String::from_utf8_lossy(&anonymous.stderr).contains("hehe login"));
}

#[test]
fn an_unreachable_server_exits_3_and_bad_usage_1() {
    // A port nobody listens on: bound, then let go.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let home = tempfile::tempdir().expect("temporary directory");
    for args in [
        &["whoami", "--token", "x"][..],
        &["tail", "home:2", "--token", "x"],
        &["post", "home:2", "hello", "--token", "x"],
    ] {
        let mut command = hehe(&url, home.path());
        command.args(args);
        let output = run(command, "");
        assert_eq!(output.status.code(), Some(3), "{args:?}: {}", text(&output));
        assert!(String::from_utf8_lossy(&output.stderr).contains("cannot reach"));
    }
    let mut login = hehe(&url, home.path());
    login.args(["login", "official", "--password-stdin"]);
    assert_eq!(run(login, "hehe-demo\n").status.code(), Some(3));

    let mut bad = hehe(&url, home.path());
    bad.args(["issue", "act", "1", "frobnicate"]);
    assert_eq!(run(bad, "").status.code(), Some(1));
    let mut bad_channel = hehe(&url, home.path());
    bad_channel.args(["tail", "nowhere:1"]);
    assert_eq!(run(bad_channel, "").status.code(), Some(1));
}

#[test]
fn a_tail_reconnects_when_the_server_restarts() {
    let mut server = Server::start();
    let root = tempfile::tempdir().expect("temporary directory");
    let official = account(&server, root.path(), "official");
    let (tail, lines) = spawn_tail(&server, &official, &["home:2", "--count", "2", "--json"]);
    wait_following(&lines);
    post(&server, &official, "home:2", "before the restart");
    // The server closes every connection with 4000 on its way down; the tail comes back.
    server.restart();
    wait_following(&lines);
    post(&server, &official, "home:2", "after the restart");
    let texts: Vec<Value> = tailed(tail)
        .iter()
        .map(|e| e["data"]["text"].clone())
        .collect();
    assert_eq!(texts, ["before the restart", "after the restart"]);
}

#[test]
fn a_tail_keeps_its_connection_as_its_token_is_replaced() {
    let server = Server::start_with(|config| config.access_token_ttl_secs = 3);
    let root = tempfile::tempdir().expect("temporary directory");
    let official = account(&server, root.path(), "official");
    let (tail, lines) = spawn_tail(&server, &official, &["home:2", "--count", "2", "--json"]);
    wait_following(&lines);
    post(&server, &official, "home:2", "while the first token holds");
    // Past the first token's expiry, and the next one's.
    std::thread::sleep(Duration::from_secs(5));
    post(&server, &official, "home:2", "on the third token");
    assert_eq!(tailed(tail).len(), 2);
    // Nothing but the first subscription: no close 4003, no reconnect.
    let notices: Vec<String> = lines.try_iter().collect();
    assert!(notices.is_empty(), "{notices:?}");
}

/// The code of the latest message to `to` that the server wrote to its SMS file.
fn code_in_file(file: &Path, to: &str) -> String {
    let deadline = Instant::now() + WAIT;
    loop {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let found = text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|m| m["to"] == to)
            .find_map(|m| m["code"].as_str().map(str::to_owned));
        if let Some(code) = found {
            return code;
        }
        assert!(
            Instant::now() < deadline,
            "no code for {to} in {}",
            file.display()
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

#[test]
fn an_official_lists_approves_and_refuses_sign_ups_and_makes_a_reset_code() {
    let server = Server::start_with(|c| {
        c.sms.sms_file = c.data_dir.join("sms.jsonl").display().to_string();
    });
    let sms_file = server.dir.path().join("sms.jsonl");
    let root = tempfile::tempdir().expect("temporary directory");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let http = hehe_client::HttpClient::new(server.url.clone());

    // Two residents sign up with codes the server wrote to its SMS file.
    let riverside_building = runtime.block_on(async {
        let official = http.login("official", PASSWORD).await.expect("login");
        let me = http.me(&official.access_token).await.expect("me");
        let community = me.grants[0].place.as_ref().expect("a place").id;
        let place = http
            .place(&official.access_token, community)
            .await
            .expect("place");
        let grid = place.children[0].id;
        let grid = http
            .place(&official.access_token, grid)
            .await
            .expect("grid");
        grid.children[0].id
    });
    let mut applicants = Vec::new();
    for local in ["13812340001", "13812340002"] {
        let tokens = runtime.block_on(async {
            http.request_code(local, hehe_protocol::credentials::CodePurpose::Signup)
                .await
                .expect("a code");
            let code = code_in_file(&sms_file, &format!("+86{local}"));
            http.sign_up(&hehe_protocol::credentials::SignupRequest {
                phone: local.into(),
                code,
                password: "a long password".into(),
                display_name: "新居民".into(),
                romanised_name: None,
                building: riverside_building,
            })
            .await
            .expect("signed up")
        });
        applicants.push(tokens.account);
    }

    let official = account(&server, root.path(), "official");
    let mut list = hehe(&server.url, &official);
    list.args(["--json", "requests"]);
    let listed = ok_json(list);
    let ids: Vec<i64> = listed
        .as_array()
        .expect("a list")
        .iter()
        .map(|r| r["id"].as_i64().expect("an id"))
        .collect();
    assert_eq!(ids.len(), 2, "{listed}");
    let mut plain = hehe(&server.url, &official);
    plain.arg("requests");
    let output = run(plain, "");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        printed.contains("pending") && printed.contains("+86138****0001"),
        "{printed}"
    );

    // Newest first: the second applicant's is refused, the first's approved.
    let mut refuse = hehe(&server.url, &official);
    refuse.args([
        "--json",
        "refuse",
        &ids[0].to_string(),
        "--reason",
        "请补充门牌号 Add your flat number",
    ]);
    let refused = ok_json(refuse);
    assert_eq!(refused["state"], "refused");
    assert_eq!(refused["reason"], "请补充门牌号 Add your flat number");
    let mut approve = hehe(&server.url, &official);
    approve.args(["--json", "approve", &ids[1].to_string()]);
    assert_eq!(ok_json(approve)["state"], "approved");
    let mut again = hehe(&server.url, &official);
    again.args(["approve", &ids[1].to_string()]);
    let output = run(again, "");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("conflict"));
    let mut decided = hehe(&server.url, &official);
    decided.args(["--json", "requests", "--state", "all"]);
    assert_eq!(ok_json(decided).as_array().map(Vec::len), Some(2));

    // A reset code for the approved resident, shown once, sets a password.
    let resident = &applicants[0];
    let mut make = hehe(&server.url, &official);
    make.args(["--json", "reset-code", &resident.id.to_string()]);
    let made = ok_json(make);
    let code = made["code"].as_str().expect("a code").to_owned();
    runtime.block_on(async {
        http.reset_password(&hehe_protocol::credentials::ResetRequest {
            phone: None,
            username: Some(resident.username.clone()),
            code,
            new_password: "a brand new password".into(),
        })
        .await
        .expect("reset");
        http.login(&resident.username, "a brand new password")
            .await
            .expect("login with the new password");
    });

    // A resident decides nothing.
    let neighbour = account(&server, root.path(), "resident");
    let mut list = hehe(&server.url, &neighbour);
    list.arg("requests");
    let output = run(list, "");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("forbidden"));
    let mut bad = hehe(&server.url, &official);
    bad.args(["requests", "--state", "maybe"]);
    assert_eq!(run(bad, "").status.code(), Some(1));
}

#[test]
fn places_are_imported_from_csv_with_a_dry_run_first() {
    let server = Server::start();
    let root = tempfile::tempdir().expect("temporary directory");
    let official = account(&server, root.path(), "official");
    let file = root.path().join("places.csv");
    std::fs::write(
        &file,
        "street,community,compound,grid,building,units,floors\n\
         和合街道,滨河社区,金桂小区,金桂一网格,1栋,2,18\n\
         和合街道,滨河社区,金桂小区,金桂一网格,2栋,,\n",
    )
    .expect("write the file");
    let import = |dry_run: bool| {
        let mut command = hehe(&server.url, &official);
        command.args(["places", "import"]).arg(&file);
        if dry_run {
            command.arg("--dry-run");
        }
        run(command, "")
    };

    // A dry run says what it would create; nothing is.
    let output = import(true);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("line 2: would create compound 和合街道/滨河社区/金桂小区"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 lines: 4 would create, 0 unchanged, 0 refused (dry run"),
        "{stdout}"
    );

    // Imported, then imported again: nothing left to create.
    let output = import(false);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("4 created"));
    let mut again = hehe(&server.url, &official);
    again.args(["--json", "places", "import"]).arg(&file);
    let report = ok_json(again);
    assert_eq!(report["created"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["unchanged"], 2);

    // A line outside his community: refused with its code, nothing imported, exit 1.
    std::fs::write(
        &file,
        "street,community,compound,grid,building\n\
         和合街道,滨河社区,金桂小区,金桂一网格,3栋\n\
         和合街道,果园社区,,果园一网格,1栋\n",
    )
    .expect("write the file");
    let output = import(false);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("line 3: refused outside_scope:"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("nothing imported"));
    let mut check = hehe(&server.url, &official);
    check.args(["places", "import", "--dry-run"]).arg(&file);
    let output = run(check, "");
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("would create building"),
        "3栋 was not created: {}",
        text(&output)
    );

    // No such file: a usage error.
    let mut missing = hehe(&server.url, &official);
    missing.args(["places", "import", "/nonexistent/places.csv"]);
    assert_eq!(run(missing, "").status.code(), Some(1));
}
#[test]
fn an_official_imports_people_invites_staff_and_reads_the_directory() {
    let server = Server::start();
    let root = tempfile::tempdir().expect("temporary directory");
    let official = account(&server, root.path(), "official");
    let file = root.path().join("people.csv");
    std::fs::write(
        &file,
        "name,phone,place,role\n\
         王小明,138 0000 0001,和合街道/滨河社区/滨河社区第1网格/滨河社区1号楼,resident\n\
         赵网格,13800000003,和合街道/滨河社区/滨河社区第2网格,grid_worker\n",
    )
    .expect("write the file");
    let path = file.to_str().expect("a UTF-8 path");

    // A dry run says what it would do and writes nothing.
    let mut dry = hehe(&server.url, &official);
    dry.args(["people", "import", path, "--dry-run"]);
    let output = run(dry, "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains("line 2: would create account 王小明 as resident"),
        "{said}"
    );
    assert!(
        said.contains("line 3: would create invite 赵网格 as grid_worker"),
        "{said}"
    );
    assert!(said.contains("dry run, nothing written"), "{said}");

    let mut apply = hehe(&server.url, &official);
    apply.args(["--json", "people", "import", path]);
    let report = ok_json(apply);
    assert_eq!(report["applied"], true);
    assert_eq!(report["created"].as_array().map(Vec::len), Some(2));
    let mut again = hehe(&server.url, &official);
    again.args(["--json", "people", "import", path]);
    let report = ok_json(again);
    assert_eq!(
        (
            report["created"].as_array().map(Vec::len),
            report["unchanged"].as_u64()
        ),
        (Some(0), Some(2))
    );

    // A refused line: printed with its code, exit 1, nothing written.
    let bad = root.path().join("bad.csv");
    std::fs::write(
        &bad,
        "name,phone,place,role\n某人,13800000009,和合街道/没有的社区,resident\n",
    )
    .expect("write the file");
    let mut refused = hehe(&server.url, &official);
    refused.args(["people", "import", bad.to_str().expect("a UTF-8 path")]);
    let output = run(refused, "");
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("line 2: refused unknown_place"));
    assert!(String::from_utf8_lossy(&output.stderr).contains("1 lines refused"));

    // An invite prints its code and link once.
    let mut invite = hehe(&server.url, &official);
    invite.args([
        "invite",
        "--role",
        "grid_worker",
        "--place",
        "3",
        "--name",
        "新人",
        "--phone",
        "13900000001",
    ]);
    let output = run(invite, "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    let code = said
        .lines()
        .find_map(|l| l.strip_prefix("code: "))
        .expect("the code is printed");
    assert_eq!(code.len(), 32);
    assert!(
        said.contains(&format!("link: {}/#/invite/{code}", server.url)),
        "{said}"
    );
    // Above the official's role: refused by the server, exit 2.
    let mut above = hehe(&server.url, &official);
    above.args([
        "invite",
        "--role",
        "street_chief",
        "--place",
        "1",
        "--name",
        "街长",
    ]);
    let output = run(above, "");
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("forbidden"));

    // The directory of Riverside grid 1 (place 3): everyone with no open issue yet.
    let mut staff = hehe(&server.url, &official);
    staff.args(["staff", "3"]);
    let output = run(staff, "");
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let said = String::from_utf8_lossy(&output.stdout);
    assert!(
        said.contains("  0 open") && said.contains("Chen Jie 陈杰  grid_worker"),
        "{said}"
    );
    let resident = account(&server, root.path(), "resident");
    let mut staff = hehe(&server.url, &resident);
    staff.args(["staff", "3"]);
    assert_eq!(run(staff, "").status.code(), Some(2));
}
