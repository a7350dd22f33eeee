//! Reaching the real PostgreSQL and Redis the scale-out tests need.
//!
//! Where a service is unreachable, a test prints why and passes without running, unless
//! `HEHE_REQUIRE_SERVICES=1` (set by `.ci/run`), where it fails instead.

#![allow(dead_code)]

use sqlx::{AnyConnection, Connection, Executor};

/// The maintenance database tests create their own databases from.
pub fn postgres_admin_url() -> String {
    std::env::var("HEHE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn services_required() -> bool {
    std::env::var("HEHE_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

/// A fresh, empty PostgreSQL database, dropped when the guard goes.
pub struct TestDatabase {
    pub url: String,
    name: String,
}

impl TestDatabase {
    /// `None` (with a printed reason) when PostgreSQL is unreachable and not required.
    pub async fn create() -> Option<TestDatabase> {
        sqlx::any::install_default_drivers();
        let admin = postgres_admin_url();
        let mut conn = match AnyConnection::connect(&admin).await {
            Ok(conn) => conn,
            Err(e) if !services_required() => {
                eprintln!(
                    "skipped: PostgreSQL at {admin} is unreachable ({e}); set HEHE_REQUIRE_SERVICES=1 to fail instead"
                );
                return None;
            }
            Err(e) => panic!("PostgreSQL at {admin} is required but unreachable: {e}"),
        };
        let name = format!("hehe_test_{:016x}", rand::random::<u64>());
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let base = admin
            .rsplit_once('/')
            .map_or(admin.as_str(), |(base, _)| base);
        Some(TestDatabase {
            url: format!("{base}/{name}"),
            name,
        })
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin, name) = (postgres_admin_url(), self.name.clone());
        // Drop runs outside any runtime's reach; a short-lived thread with its own does it.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(rt) = rt {
                rt.block_on(async move {
                    if let Ok(mut conn) = AnyConnection::connect(&admin).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = conn.execute(sql.as_str()).await;
                    }
                });
            }
        })
        .join();
    }
}

/// The Redis the bus tests use.
pub fn redis_url() -> String {
    std::env::var("HEHE_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A reachable Redis and a key prefix of this test's own, whose keys go with the guard.
pub struct TestRedis {
    pub url: String,
    pub prefix: String,
}

impl TestRedis {
    /// `None` (with a printed reason) when Redis is unreachable and not required.
    pub async fn connect() -> Option<TestRedis> {
        let url = redis_url();
        let reached = async {
            let client = redis::Client::open(url.as_str())?;
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<()>(&mut conn).await
        };
        match reached.await {
            Ok(()) => {}
            Err(e) if !services_required() => {
                eprintln!(
                    "skipped: Redis at {url} is unreachable ({e}); set HEHE_REQUIRE_SERVICES=1 to fail instead"
                );
                return None;
            }
            Err(e) => panic!("Redis at {url} is required but unreachable: {e}"),
        }
        Some(TestRedis {
            url,
            prefix: format!("hehe_test_{:016x}", rand::random::<u64>()),
        })
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        // A blocking connection: Drop cannot await, and this runs once per test.
        let Ok(mut conn) = redis::Client::open(self.url.as_str()).and_then(|c| c.get_connection())
        else {
            return;
        };
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg(format!("{}.*", self.prefix))
            .query(&mut conn)
            .unwrap_or_default();
        if !keys.is_empty() {
            let _ = redis::cmd("DEL").arg(keys).query::<()>(&mut conn);
        }
    }
}

/// A Redis server of the test's own on a free loopback port, without persistence, which the
/// test stops and starts again; killed when dropped.
pub struct OwnRedis {
    port: u16,
    child: Option<std::process::Child>,
}

impl OwnRedis {
    /// `None` (with a printed reason) where `redis-server` cannot run and services are not
    /// required.
    pub async fn start() -> Option<OwnRedis> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut own = OwnRedis { port, child: None };
        match own.launch().await {
            Ok(()) => Some(own),
            Err(e) if std::env::var("HEHE_REQUIRE_SERVICES").is_ok_and(|v| v == "1") => {
                panic!("redis-server is required but would not run: {e}")
            }
            Err(e) => {
                eprintln!("skipped: redis-server would not run ({e})");
                None
            }
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn launch(&mut self) -> Result<(), String> {
        let child = std::process::Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string()])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(std::process::Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?;
        self.child = Some(child);
        let client = redis::Client::open(self.url()).map_err(|e| e.to_string())?;
        for _ in 0..200 {
            if let Ok(mut conn) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<()>(&mut conn)
                    .await
                    .is_ok()
            {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        Err("it did not answer".into())
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.stop();
    }
}
