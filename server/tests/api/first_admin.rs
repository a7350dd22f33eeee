//! `hehe-server create-admin` on an installation the demo never seeded: the binary creates the
//! first admin from a password on standard input, the server then lets them in, and a second
//! admin, a short password or a bad username is refused with nothing created.

use hehe_client::HttpClient;
use hehe_protocol::Role;
use hehe_server::config::Config;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

fn create_admin(dir: &Path, username: &str, password: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hehe-server"))
        .args([
            "create-admin",
            "--username",
            username,
            "--display-name",
            "街道管理员",
        ])
        .env("HEHE_DATA_DIR", dir)
        .env("HEHE_SEED_DEMO", "false")
        .env("HEHE_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hehe-server runs");
    let mut stdin = child.stdin.take().expect("stdin");
    writeln!(stdin, "{password}").expect("password written");
    drop(stdin);
    child.wait_with_output().expect("hehe-server ends")
}

fn said(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[tokio::test]
async fn the_first_admin_is_made_from_the_command_line_once() {
    let dir = tempfile::tempdir().unwrap();
    let refused = create_admin(dir.path(), "admin", "too short");
    assert!(!refused.status.success());
    assert!(
        said(&refused).contains("10 to 128 characters"),
        "{}",
        said(&refused)
    );
    assert!(
        said(&refused).contains("密码须为 10 到 128 个字符"),
        "Chinese first"
    );
    let refused = create_admin(dir.path(), "王芳", "a long enough password");
    assert!(!refused.status.success());
    assert!(
        said(&refused).contains("A username is"),
        "{}",
        said(&refused)
    );

    let made = create_admin(dir.path(), "Street.Admin", "a long enough password");
    assert!(made.status.success(), "{}", said(&made));
    assert!(
        said(&made).contains("sign in as street.admin"),
        "{}",
        said(&made)
    );
    let again = create_admin(dir.path(), "another", "a long enough password");
    assert!(!again.status.success());
    assert!(
        said(&again).contains("An admin exists already"),
        "{}",
        said(&again)
    );
    assert!(said(&again).contains("已有管理员"), "{}", said(&again));
    let output = String::from_utf8_lossy(&made.stdout) + String::from_utf8_lossy(&made.stderr);
    assert!(
        !output.contains("a long enough password"),
        "the password is never printed"
    );

    // The server on that data directory, with no demo: the admin signs in, and is audited.
    let mut config = Config::with_data_dir(dir.path());
    config.seed_demo = false;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let http = HttpClient::new(base.clone());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(hehe_server::run(config, listener, async move {
        let _ = stopped.await;
    }));
    let tokens = http
        .login("street.admin", "a long enough password")
        .await
        .expect("the first admin signs in");
    let me = http.me(&tokens.access_token).await.unwrap();
    assert_eq!(me.display_name, "街道管理员");
    assert!(me.grants.iter().any(|g| g.role == Role::Admin), "{me:?}");
    assert!(
        http.login("another", "a long enough password")
            .await
            .is_err(),
        "the refused one was not created"
    );
    let audit: serde_json::Value = reqwest::Client::new()
        .get(format!("{base}/api/audit"))
        .bearer_auth(&tokens.access_token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        audit["entries"][0]["action"], "account.first_admin",
        "{audit}"
    );
    let _ = stop.send(());
    server.await.unwrap().unwrap();
}
