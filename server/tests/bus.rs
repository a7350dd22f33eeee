//! The bus conformance suite: what every `Bus` implementation must do. `every_bus!` runs each
//! test on the in-process bus and on the Redis bus (each Redis test under a key prefix of its
//! own), and two Redis buses sharing one Redis stand for two nodes.

mod common;

use common::{OwnRedis, TestRedis};
use hehe_protocol::{AccountId, Channel, MeetingId, Member, PlaceId, Position, ServerMsg};
use hehe_server::live::bus::memory::{HistoryLimits, MemoryBus};
use hehe_server::live::bus::redis::{RedisBus, RedisConfig};
use hehe_server::live::bus::sharded::ShardedBus;
use hehe_server::live::bus::{At, Audience, Bus, DeliveryHandler, Publication};
use hehe_server::live::hub::Frame;
use serde_json::value::RawValue;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records every delivery, as the hub would receive it.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(Channel, Option<u64>, String)>>,
    staff_only: Mutex<Vec<u64>>,
    evicted: Mutex<Vec<(Channel, AccountId)>>,
}

impl DeliveryHandler for Recorder {
    fn deliver(&self, channel: Channel, at: Option<At<'_>>, audience: Audience, frame: &Frame) {
        let offset = at.map(|a| a.offset);
        if audience == Audience::Staff {
            self.staff_only.lock().unwrap().extend(offset);
        }
        self.seen
            .lock()
            .unwrap()
            .push((channel, offset, frame.as_str().to_owned()));
    }

    fn evict(&self, channel: Channel, account: AccountId) {
        self.evicted.lock().unwrap().push((channel, account));
    }
}

impl Recorder {
    fn offsets(&self, channel: Channel) -> Vec<u64> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.0 == channel)
            .filter_map(|d| d.1)
            .collect()
    }
    fn count(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
    fn frames(&self, channel: Channel) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|d| d.0 == channel)
            .map(|d| d.2.clone())
            .collect()
    }

    /// Waits until `done` holds: a bus between nodes delivers after `publish` returns.
    async fn until(&self, what: &str, done: impl Fn(&Self) -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "timed out waiting for {what}"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Waits for `n` numbered deliveries on `channel` and returns their offsets.
    async fn offsets_after(&self, channel: Channel, n: usize) -> Vec<u64> {
        self.until("deliveries", |r| r.offsets(channel).len() >= n)
            .await;
        self.offsets(channel)
    }
}

struct Fixture {
    bus: Arc<dyn Bus>,
    seen: Arc<Recorder>,
}

const LIMITS: HistoryLimits = HistoryLimits {
    size: 10,
    ttl: Duration::from_secs(60),
    meta_ttl: Duration::from_secs(3600),
    idempotency_ttl: Duration::from_secs(60),
};

fn memory(limits: HistoryLimits) -> Fixture {
    let seen = Arc::new(Recorder::default());
    Fixture {
        bus: Arc::new(MemoryBus::new(limits, seen.clone())),
        seen,
    }
}

/// A Redis bus (one node) under the test's prefix.
async fn redis(redis: &TestRedis, limits: HistoryLimits) -> Fixture {
    let seen = Arc::new(Recorder::default());
    let bus = RedisBus::connect(&redis.url, &redis.prefix, limits, seen.clone())
        .await
        .expect("Redis bus");
    Fixture {
        bus: Arc::new(bus),
        seen,
    }
}

/// Two Redis "instances" (two prefixes on the test's Redis) behind one sharded bus.
async fn sharded(redis: &TestRedis, limits: HistoryLimits) -> Fixture {
    let seen = Arc::new(Recorder::default());
    let mut shards: Vec<Arc<dyn Bus>> = Vec::new();
    for shard in ["s0", "s1"] {
        let prefix = format!("{}.{shard}", redis.prefix);
        let bus = RedisBus::connect(&redis.url, &prefix, limits, seen.clone())
            .await
            .expect("Redis bus");
        shards.push(Arc::new(bus));
    }
    Fixture {
        bus: Arc::new(ShardedBus::new(shards)),
        seen,
    }
}

macro_rules! every_bus {
    ($($name:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(async |limits| super::memory(limits)).await;
                }
            )*
        }
        mod on_redis {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(redis) = super::TestRedis::connect().await else {
                        return;
                    };
                    super::$name(async |limits| super::redis(&redis, limits).await).await;
                }
            )*
        }
        mod on_sharded_redis {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(redis) = super::TestRedis::connect().await else {
                        return;
                    };
                    super::$name(async |limits| super::sharded(&redis, limits).await).await;
                }
            )*
        }
    };
}

every_bus!(
    staff_events_keep_their_audience,
    offsets_are_consecutive_and_delivered_in_order,
    an_idempotency_key_publishes_once,
    history_recovers_exactly_or_not_at_all,
    history_is_bounded_by_size,
    history_is_bounded_by_age,
    broadcasts_are_delivered_but_not_kept,
    presence_counts_people_not_connections,
    concurrent_publishes_get_unique_contiguous_offsets,
    many_channels_subscribe_and_unsubscribe_at_once,
);

const HOME: Channel = Channel::Home(PlaceId(1));
const STREET: Channel = Channel::Street(PlaceId(2));

fn publication(channel: Channel, text: &str, key: Option<&str>) -> Publication {
    Publication {
        channel,
        audience: Audience::All,
        kind: "message".into(),
        data: RawValue::from_string(serde_json::json!({ "text": text }).to_string()).unwrap(),
        idempotency_key: key.map(str::to_owned),
    }
}

async fn publish(bus: &dyn Bus, channel: Channel, text: &str) -> Position {
    bus.publish(publication(channel, text, None)).await.unwrap()
}

fn decode(frame: &str) -> hehe_protocol::Event {
    match serde_json::from_str::<ServerMsg>(frame).unwrap() {
        ServerMsg::Event(e) => e,
        other => panic!("not an event: {other:?}"),
    }
}

async fn staff_events_keep_their_audience(make: impl AsyncFn(HistoryLimits) -> Fixture) {
    let f = make(LIMITS).await;
    let issue = Channel::Issue(hehe_protocol::IssueId(4));
    f.bus.subscribe(issue).await.unwrap();
    publish(f.bus.as_ref(), issue, "public").await;
    let note = Publication {
        audience: Audience::Staff,
        ..publication(issue, "internal", None)
    };
    let start = f.bus.publish(note).await.unwrap();
    publish(f.bus.as_ref(), issue, "public again").await;
    f.seen.offsets_after(issue, 3).await;
    assert_eq!(*f.seen.staff_only.lock().unwrap(), [2]);
    let since = Position {
        epoch: start.epoch,
        offset: 0,
    };
    let history = f
        .bus
        .history(issue, Some(&since))
        .await
        .unwrap()
        .events
        .unwrap();
    let audiences: Vec<Audience> = history.iter().map(|(a, _)| *a).collect();
    assert_eq!(audiences, [Audience::All, Audience::Staff, Audience::All]);
}

async fn offsets_are_consecutive_and_delivered_in_order(
    make: impl AsyncFn(HistoryLimits) -> Fixture,
) {
    let f = make(LIMITS).await;
    f.bus.subscribe(HOME).await.unwrap();
    let a = publish(f.bus.as_ref(), HOME, "a").await;
    let b = publish(f.bus.as_ref(), HOME, "b").await;
    let s = publish(f.bus.as_ref(), STREET, "s").await;
    assert_eq!(
        (a.offset, b.offset, s.offset),
        (1, 2, 1),
        "offsets count per channel"
    );
    assert_eq!(a.epoch, b.epoch);
    assert_eq!(f.seen.offsets_after(HOME, 2).await, [1, 2]);
    let event = decode(&f.seen.frames(HOME)[1]);
    assert_eq!(
        (event.channel, event.offset, event.epoch.as_str()),
        (HOME, 2, b.epoch.as_str())
    );
    assert_eq!(
        (event.kind.as_str(), &event.data["text"]),
        ("message", &serde_json::json!("b"))
    );
    assert!(event.time > 0);
}

async fn an_idempotency_key_publishes_once(make: impl AsyncFn(HistoryLimits) -> Fixture) {
    let f = make(LIMITS).await;
    f.bus.subscribe(HOME).await.unwrap();
    let first = f
        .bus
        .publish(publication(HOME, "once", Some("k1")))
        .await
        .unwrap();
    let again = f
        .bus
        .publish(publication(HOME, "once", Some("k1")))
        .await
        .unwrap();
    let other = f
        .bus
        .publish(publication(HOME, "twice", Some("k2")))
        .await
        .unwrap();
    assert_eq!(first, again);
    assert_eq!(other.offset, first.offset + 1);
    // Deliveries keep publish order, so a repeat would have come before the second key's.
    assert_eq!(f.seen.offsets_after(HOME, 2).await, [1, 2]);
}

async fn history_recovers_exactly_or_not_at_all(make: impl AsyncFn(HistoryLimits) -> Fixture) {
    let f = make(LIMITS).await;
    let fresh = f.bus.history(HOME, None).await.unwrap();
    assert_eq!(fresh.top.offset, 0);
    assert_eq!(fresh.events.as_deref().map(<[_]>::len), Some(0));
    for text in ["a", "b", "c", "d"] {
        publish(f.bus.as_ref(), HOME, text).await;
    }
    let epoch = fresh.top.epoch.clone();
    let at = |offset| Position {
        epoch: epoch.clone(),
        offset,
    };

    let reply = f.bus.history(HOME, Some(&at(1))).await.unwrap();
    assert_eq!(reply.top, at(4));
    let texts: Vec<_> = reply
        .events
        .unwrap()
        .iter()
        .map(|(_, fr)| decode(fr.as_str()).data["text"].clone())
        .collect();
    assert_eq!(texts, ["b", "c", "d"]);
    assert_eq!(
        f.bus
            .history(HOME, Some(&at(4)))
            .await
            .unwrap()
            .events
            .map(|e| e.len()),
        Some(0)
    );
    assert!(
        f.bus
            .history(HOME, Some(&at(5)))
            .await
            .unwrap()
            .events
            .is_none(),
        "ahead of the stream"
    );
    let elsewhere = Position {
        epoch: "another".into(),
        offset: 1,
    };
    assert!(
        f.bus
            .history(HOME, Some(&elsewhere))
            .await
            .unwrap()
            .events
            .is_none(),
        "another epoch"
    );
}

async fn history_is_bounded_by_size(make: impl AsyncFn(HistoryLimits) -> Fixture) {
    let f = make(HistoryLimits { size: 3, ..LIMITS }).await;
    let first = publish(f.bus.as_ref(), HOME, "1").await;
    for i in 2..=5 {
        publish(f.bus.as_ref(), HOME, &i.to_string()).await;
    }
    let at = |offset| Position {
        epoch: first.epoch.clone(),
        offset,
    };
    // 3, 4 and 5 are kept: from offset 2 everything missed is there, from 1 it is not.
    let kept = f
        .bus
        .history(HOME, Some(&at(2)))
        .await
        .unwrap()
        .events
        .unwrap();
    assert_eq!(kept.len(), 3);
    assert!(
        f.bus
            .history(HOME, Some(&at(1)))
            .await
            .unwrap()
            .events
            .is_none()
    );
}

async fn history_is_bounded_by_age(make: impl AsyncFn(HistoryLimits) -> Fixture) {
    let f = make(HistoryLimits {
        ttl: Duration::from_millis(100),
        ..LIMITS
    })
    .await;
    let first = publish(f.bus.as_ref(), HOME, "old").await;
    tokio::time::sleep(Duration::from_millis(250)).await;
    let second = publish(f.bus.as_ref(), HOME, "new").await;
    assert_eq!(
        second.epoch, first.epoch,
        "the stream's identity outlives its events"
    );
    let at = |offset| Position {
        epoch: first.epoch.clone(),
        offset,
    };
    assert!(
        f.bus
            .history(HOME, Some(&at(0)))
            .await
            .unwrap()
            .events
            .is_none()
    );
    assert_eq!(
        f.bus
            .history(HOME, Some(&at(1)))
            .await
            .unwrap()
            .events
            .unwrap()
            .len(),
        1
    );
}

async fn broadcasts_are_delivered_but_not_kept(make: impl AsyncFn(HistoryLimits) -> Fixture) {
    let f = make(LIMITS).await;
    f.bus.subscribe(HOME).await.unwrap();
    f.bus
        .broadcast(HOME, Frame::from("{\"type\":\"pong\"}"))
        .await
        .unwrap();
    f.seen.until("the broadcast", |r| r.count() >= 1).await;
    assert_eq!(f.seen.count(), 1);
    assert_eq!(f.seen.frames(HOME), ["{\"type\":\"pong\"}"]);
    assert_eq!(f.seen.seen.lock().unwrap()[0].1, None);
    assert_eq!(f.bus.history(HOME, None).await.unwrap().top.offset, 0);
}

async fn presence_counts_people_not_connections(make: impl AsyncFn(HistoryLimits) -> Fixture) {
    let f = make(LIMITS).await;
    let room = Channel::Room(MeetingId(7));
    let member = |id, name: &str| Member {
        account_id: AccountId(id),
        name: name.into(),
        role: None,
    };
    assert!(
        f.bus
            .presence_join(room, 1, member(10, "Wang"))
            .await
            .unwrap()
    );
    assert!(
        !f.bus
            .presence_join(room, 2, member(10, "Wang"))
            .await
            .unwrap(),
        "second device"
    );
    assert!(
        f.bus
            .presence_join(room, 3, member(11, "Li"))
            .await
            .unwrap()
    );
    let names: Vec<_> = f
        .bus
        .presence(room)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.name)
        .collect();
    assert_eq!(names, ["Wang", "Li"]);
    assert!(
        !f.bus.presence_leave(room, 1, AccountId(10)).await.unwrap(),
        "one device left"
    );
    assert!(
        f.bus.presence_leave(room, 2, AccountId(10)).await.unwrap(),
        "gone"
    );
    assert!(
        !f.bus.presence_leave(room, 2, AccountId(10)).await.unwrap(),
        "a leave counts once"
    );
    assert_eq!(f.bus.presence(room).await.unwrap().len(), 1);
    assert!(
        f.bus
            .presence(Channel::Room(MeetingId(8)))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn concurrent_publishes_get_unique_contiguous_offsets(
    make: impl AsyncFn(HistoryLimits) -> Fixture,
) {
    let f = make(HistoryLimits {
        size: 1000,
        ..LIMITS
    })
    .await;
    f.bus.subscribe(HOME).await.unwrap();
    let mut tasks = Vec::new();
    for t in 0..8 {
        let bus = f.bus.clone();
        tasks.push(tokio::spawn(async move {
            let mut offsets = Vec::new();
            for i in 0..50 {
                offsets.push(
                    publish(bus.as_ref(), HOME, &format!("{t}-{i}"))
                        .await
                        .offset,
                );
            }
            offsets
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_unstable();
    assert_eq!(all, (1..=400).collect::<Vec<_>>());
    assert_eq!(
        f.seen.offsets_after(HOME, 400).await,
        (1..=400).collect::<Vec<_>>(),
        "delivered in offset order"
    );
}

#[tokio::test]
async fn the_memory_bus_forgets_idle_channels() {
    let seen = Arc::new(Recorder::default());
    let bus = MemoryBus::new(
        HistoryLimits {
            meta_ttl: Duration::from_millis(50),
            ..LIMITS
        },
        seen,
    );
    let first = bus.publish(publication(HOME, "x", None)).await.unwrap();
    assert_eq!(bus.stream_count(), 1);
    tokio::time::sleep(Duration::from_millis(120)).await;
    bus.sweep();
    assert_eq!(bus.stream_count(), 0);
    let next = bus.publish(publication(HOME, "y", None)).await.unwrap();
    assert_ne!(
        next.epoch, first.epoch,
        "a forgotten channel starts a new epoch"
    );
    assert_eq!(next.offset, 1);
}

#[tokio::test]
async fn two_redis_nodes_share_a_channel_by_interest() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let (a, b) = (redis(&shared, LIMITS).await, redis(&shared, LIMITS).await);
    a.bus.subscribe(HOME).await.unwrap();
    let first = publish(a.bus.as_ref(), HOME, "before b cared").await;
    assert_eq!(a.seen.offsets_after(HOME, 1).await, [1]);

    b.bus.subscribe(HOME).await.unwrap();
    let second = publish(b.bus.as_ref(), HOME, "from b").await;
    let third = publish(a.bus.as_ref(), HOME, "from a").await;
    assert_eq!((second.offset, third.offset), (2, 3));
    assert_eq!(
        (second.epoch.as_str(), third.epoch.as_str()),
        (first.epoch.as_str(), first.epoch.as_str()),
        "one stream identity across nodes"
    );
    assert_eq!(a.seen.offsets_after(HOME, 3).await, [1, 2, 3]);
    // Pub/sub keeps publish order: had offset 1 reached b, it would have come before 2.
    assert_eq!(b.seen.offsets_after(HOME, 2).await, [2, 3]);
    assert_eq!(
        b.seen.frames(HOME),
        a.seen.frames(HOME)[1..],
        "both nodes encode the same frames"
    );

    let at = |offset| Position {
        epoch: first.epoch.clone(),
        offset,
    };
    for node in [&a, &b] {
        let reply = node.bus.history(HOME, Some(&at(1))).await.unwrap();
        assert_eq!(reply.top, at(3));
        let frames: Vec<String> = reply
            .events
            .expect("recovered")
            .into_iter()
            .map(|(_, frame)| frame.as_str().to_owned())
            .collect();
        assert_eq!(frames, b.seen.frames(HOME));
    }

    // Once b has no interest, HOME stops reaching it while STREET (subscribed after the
    // unsubscribe, so after it on b's connection) still does.
    b.bus.unsubscribe(HOME);
    b.bus.subscribe(STREET).await.unwrap();
    publish(a.bus.as_ref(), HOME, "after b left").await;
    publish(a.bus.as_ref(), STREET, "street").await;
    assert_eq!(b.seen.offsets_after(STREET, 1).await, [1]);
    assert_eq!(b.seen.offsets(HOME), [2, 3]);
    assert_eq!(a.seen.offsets_after(HOME, 4).await, [1, 2, 3, 4]);
}

#[tokio::test]
async fn redis_presence_is_shared_between_nodes() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let (a, b) = (redis(&shared, LIMITS).await, redis(&shared, LIMITS).await);
    let room = Channel::Room(MeetingId(5));
    let wang = Member {
        account_id: AccountId(10),
        name: "Wang".into(),
        role: None,
    };
    // The same connection number on two nodes is two connections.
    assert!(a.bus.presence_join(room, 1, wang.clone()).await.unwrap());
    assert!(!b.bus.presence_join(room, 1, wang.clone()).await.unwrap());
    assert_eq!(b.bus.presence(room).await.unwrap(), vec![wang]);
    assert!(!a.bus.presence_leave(room, 1, AccountId(10)).await.unwrap());
    assert!(b.bus.presence_leave(room, 1, AccountId(10)).await.unwrap());
    assert!(a.bus.presence(room).await.unwrap().is_empty());
    // The pub/sub listener connects in the background; readiness waits for it.
    for node in [&a, &b] {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !node.bus.ready().await {
            assert!(tokio::time::Instant::now() < deadline, "never ready");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

#[tokio::test]
async fn a_redis_node_resubscribes_after_losing_redis() {
    let Some(mut server) = OwnRedis::start().await else {
        return;
    };
    let own = TestRedis {
        url: server.url(),
        prefix: "hehe".into(),
    };
    let f = redis(&own, LIMITS).await;
    f.bus.subscribe(HOME).await.unwrap();
    publish(f.bus.as_ref(), HOME, "before").await;
    f.seen.offsets_after(HOME, 1).await;

    server.stop();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while f.bus.ready().await {
        assert!(tokio::time::Instant::now() < deadline, "still ready");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.launch().await.expect("restarted");

    // Nobody subscribes again: the node's interest in HOME is restored by itself. The new
    // server kept nothing, so the stream starts over in a new epoch.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let _ = f.bus.publish(publication(HOME, "after", None)).await;
        if f.seen.offsets(HOME).len() > 1 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "never delivered again"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let frames = f.seen.frames(HOME);
    assert_ne!(decode(&frames[0]).epoch, decode(&frames[1]).epoch);
    assert!(f.bus.ready().await);
}

/// A Redis bus (one node) checking positions as often as `every`.
async fn redis_checking(redis: &TestRedis, every: Duration) -> Fixture {
    redis_with(
        redis,
        RedisConfig {
            position_check_interval: every,
            ..RedisConfig::default()
        },
    )
    .await
}

/// A Redis bus (one node) with settings of the test's own.
async fn redis_with(redis: &TestRedis, config: RedisConfig) -> Fixture {
    let seen = Arc::new(Recorder::default());
    let bus = RedisBus::connect_with(&redis.url, &redis.prefix, LIMITS, config, seen.clone())
        .await
        .expect("Redis bus");
    Fixture {
        bus: Arc::new(bus),
        seen,
    }
}

/// Writes straight into Redis what the bus's publish script writes, to stage what pub/sub can
/// do: lose a message, or bring one twice. Mirrors the bus's key and envelope layout.
struct Backdoor {
    conn: redis::aio::MultiplexedConnection,
    prefix: String,
}

impl Backdoor {
    async fn open(redis: &TestRedis) -> Backdoor {
        let client = redis::Client::open(redis.url.as_str()).unwrap();
        Backdoor {
            conn: client.get_multiplexed_async_connection().await.unwrap(),
            prefix: redis.prefix.clone(),
        }
    }

    fn envelope(epoch: &str, offset: u64, text: &str) -> String {
        let data = serde_json::json!({ "text": text });
        format!("{offset}:{epoch}:a:1700000000000:message\n{data}")
    }

    /// Takes the channel's next offset and appends the event, without publishing it.
    async fn append_unpublished(&mut self, channel: Channel, epoch: &str, text: &str) -> u64 {
        let meta = format!("{}.meta.{{{channel}}}", self.prefix);
        let stream = format!("{}.stream.{{{channel}}}", self.prefix);
        let offset: u64 = redis::cmd("HINCRBY")
            .arg(&meta)
            .arg("s")
            .arg(1)
            .query_async(&mut self.conn)
            .await
            .unwrap();
        redis::cmd("XADD")
            .arg(&stream)
            .arg(format!("{offset}-0"))
            .arg("d")
            .arg(Self::envelope(epoch, offset, text))
            .arg("a")
            .arg("a")
            .query_async::<()>(&mut self.conn)
            .await
            .unwrap();
        offset
    }

    /// Publishes an envelope to the nodes without taking an offset or keeping it.
    async fn publish_only(&mut self, channel: Channel, epoch: &str, offset: u64, text: &str) {
        redis::cmd("PUBLISH")
            .arg(format!("{}.client.{{{channel}}}", self.prefix))
            .arg(Self::envelope(epoch, offset, text))
            .query_async::<()>(&mut self.conn)
            .await
            .unwrap();
    }
}

fn texts(frames: &[String]) -> Vec<String> {
    frames
        .iter()
        .map(|f| {
            decode(f).data["text"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_redis_node_fills_a_hole_from_the_stream() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    // No position check during the test: only the next event can reveal the hole.
    let f = redis_checking(&shared, Duration::from_secs(3600)).await;
    let mut backdoor = Backdoor::open(&shared).await;
    f.bus.subscribe(HOME).await.unwrap();
    let first = publish(f.bus.as_ref(), HOME, "one").await;
    assert_eq!(f.seen.offsets_after(HOME, 1).await, [1]);

    let lost = backdoor
        .append_unpublished(HOME, &first.epoch, "never published")
        .await;
    assert_eq!(lost, 2);
    let third = publish(f.bus.as_ref(), HOME, "three").await;
    assert_eq!(third.offset, 3);
    assert_eq!(f.seen.offsets_after(HOME, 3).await, [1, 2, 3]);
    assert_eq!(
        texts(&f.seen.frames(HOME)),
        ["one", "never published", "three"]
    );
}

#[tokio::test]
async fn a_redis_node_delivers_what_is_gone_from_the_stream_anyway() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let f = redis_checking(&shared, Duration::from_secs(3600)).await;
    let mut backdoor = Backdoor::open(&shared).await;
    f.bus.subscribe(HOME).await.unwrap();
    let first = publish(f.bus.as_ref(), HOME, "one").await;
    f.seen.offsets_after(HOME, 1).await;
    // The offset is taken but the entry never reaches the stream, as if trimmed away: the
    // hole stays, and the hub (not this bus) closes its subscribers over it.
    let meta = format!("{}.meta.{{{HOME}}}", shared.prefix);
    redis::cmd("HINCRBY")
        .arg(&meta)
        .arg("s")
        .arg(1)
        .query_async::<()>(&mut backdoor.conn)
        .await
        .unwrap();
    let third = publish(f.bus.as_ref(), HOME, "three").await;
    assert_eq!((third.epoch, third.offset), (first.epoch, 3));
    assert_eq!(f.seen.offsets_after(HOME, 2).await, [1, 3]);
}

#[tokio::test]
async fn a_redis_node_finds_a_lost_last_event_by_checking_positions() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let f = redis_checking(&shared, Duration::from_millis(100)).await;
    let mut backdoor = Backdoor::open(&shared).await;
    f.bus.subscribe(HOME).await.unwrap();
    let first = publish(f.bus.as_ref(), HOME, "one").await;
    assert_eq!(f.seen.offsets_after(HOME, 1).await, [1]);

    // Nothing follows it on pub/sub: only the position check can notice.
    backdoor
        .append_unpublished(HOME, &first.epoch, "lost tail")
        .await;
    assert_eq!(f.seen.offsets_after(HOME, 2).await, [1, 2]);
    assert_eq!(texts(&f.seen.frames(HOME)), ["one", "lost tail"]);

    // And later checks find nothing more to deliver.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(f.seen.offsets(HOME), [1, 2]);
}

#[tokio::test]
async fn a_redis_node_drops_repeated_events() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let f = redis_checking(&shared, Duration::from_millis(100)).await;
    let mut backdoor = Backdoor::open(&shared).await;
    f.bus.subscribe(HOME).await.unwrap();
    let first = publish(f.bus.as_ref(), HOME, "one").await;
    publish(f.bus.as_ref(), HOME, "two").await;
    assert_eq!(f.seen.offsets_after(HOME, 2).await, [1, 2]);

    backdoor
        .publish_only(HOME, &first.epoch, 1, "one again")
        .await;
    backdoor
        .publish_only(HOME, &first.epoch, 2, "two again")
        .await;
    // A later event proves the repeats were read (pub/sub keeps order) and dropped.
    publish(f.bus.as_ref(), HOME, "three").await;
    assert_eq!(f.seen.offsets_after(HOME, 3).await, [1, 2, 3]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(texts(&f.seen.frames(HOME)), ["one", "two", "three"]);
}

#[tokio::test]
async fn a_redis_node_starts_counting_again_in_a_new_epoch() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let f = redis_checking(&shared, Duration::from_secs(3600)).await;
    let mut backdoor = Backdoor::open(&shared).await;
    f.bus.subscribe(HOME).await.unwrap();
    publish(f.bus.as_ref(), HOME, "one").await;
    publish(f.bus.as_ref(), HOME, "two").await;
    f.seen.offsets_after(HOME, 2).await;
    // Offset 1 of another epoch is not a repeat of this one's.
    backdoor.publish_only(HOME, "newepoch", 1, "fresh").await;
    assert_eq!(f.seen.offsets_after(HOME, 3).await, [1, 2, 1]);
}

#[tokio::test]
async fn a_failed_position_check_changes_nothing_and_checks_go_on() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let f = redis_checking(&shared, Duration::from_millis(100)).await;
    let mut backdoor = Backdoor::open(&shared).await;
    for channel in [HOME, STREET] {
        f.bus.subscribe(channel).await.unwrap();
    }
    let first = publish(f.bus.as_ref(), HOME, "one").await;
    publish(f.bus.as_ref(), STREET, "street").await;
    f.seen.offsets_after(HOME, 1).await;
    f.seen.offsets_after(STREET, 1).await;

    // A meta key of the wrong type makes every check fail, for all channels at once.
    let street_meta = format!("{}.meta.{{{STREET}}}", shared.prefix);
    redis::pipe()
        .cmd("DEL")
        .arg(&street_meta)
        .cmd("SET")
        .arg(&street_meta)
        .arg("not a hash")
        .query_async::<()>(&mut backdoor.conn)
        .await
        .unwrap();
    backdoor
        .append_unpublished(HOME, &first.epoch, "lost tail")
        .await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(f.seen.offsets(HOME), [1], "nothing comes of a failed check");

    redis::cmd("DEL")
        .arg(&street_meta)
        .query_async::<()>(&mut backdoor.conn)
        .await
        .unwrap();
    assert_eq!(f.seen.offsets_after(HOME, 2).await, [1, 2]);
}

#[tokio::test]
async fn channels_spread_over_the_shards() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let seen = Arc::new(Recorder::default());
    let shard = |suffix: &'static str| {
        let (url, prefix, seen) = (
            shared.url.clone(),
            format!("{}.{suffix}", shared.prefix),
            seen.clone(),
        );
        async move {
            Arc::new(
                RedisBus::connect(&url, &prefix, LIMITS, seen)
                    .await
                    .expect("shard"),
            ) as Arc<dyn Bus>
        }
    };
    let (s0, s1) = (shard("s0").await, shard("s1").await);
    let sharded = ShardedBus::new(vec![s0.clone(), s1.clone()]);
    // Publish on a few channels; each one's stream exists on its own shard only.
    let channels: Vec<Channel> = (1..=8).map(|i| Channel::Home(PlaceId(i))).collect();
    for channel in &channels {
        sharded
            .publish(publication(*channel, "x", None))
            .await
            .unwrap();
    }
    let mut used = [0; 2];
    for channel in &channels {
        let on = sharded.shard_of(*channel);
        used[on] += 1;
        let (here, there) = if on == 0 { (&s0, &s1) } else { (&s1, &s0) };
        assert_eq!(here.history(*channel, None).await.unwrap().top.offset, 1);
        assert_eq!(there.history(*channel, None).await.unwrap().top.offset, 0);
    }
    assert!(used[0] > 0 && used[1] > 0, "{used:?}");
}

#[tokio::test]
async fn an_eviction_reaches_every_node_and_empties_presence() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let (a, b) = (redis(&shared, LIMITS).await, redis(&shared, LIMITS).await);
    let room = Channel::Room(MeetingId(9));
    b.bus.subscribe(room).await.unwrap();
    let li = Member {
        account_id: AccountId(11),
        name: "Li".into(),
        role: None,
    };
    let wang = Member {
        account_id: AccountId(10),
        name: "Wang".into(),
        role: None,
    };
    a.bus.presence_join(room, 1, li.clone()).await.unwrap();
    b.bus.presence_join(room, 2, li.clone()).await.unwrap();
    b.bus.presence_join(room, 3, wang.clone()).await.unwrap();
    assert!(
        a.bus.evict(room, AccountId(11)).await.unwrap(),
        "Li was present"
    );
    // Node b, subscribed, hears of it; presence keeps only Wang.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while b.seen.evicted.lock().unwrap().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "eviction never arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(*b.seen.evicted.lock().unwrap(), [(room, AccountId(11))]);
    assert_eq!(a.bus.presence(room).await.unwrap(), vec![wang]);
    assert!(
        !a.bus.evict(room, AccountId(11)).await.unwrap(),
        "gone already"
    );
    // Li's later leaves find nothing to remove.
    assert!(!b.bus.presence_leave(room, 2, AccountId(11)).await.unwrap());
}

#[tokio::test]
async fn the_memory_bus_evicts_too() {
    let seen = Arc::new(Recorder::default());
    let bus = MemoryBus::new(LIMITS, seen.clone());
    let room = Channel::Room(MeetingId(9));
    let li = Member {
        account_id: AccountId(11),
        name: "Li".into(),
        role: None,
    };
    bus.presence_join(room, 1, li).await.unwrap();
    assert!(bus.evict(room, AccountId(11)).await.unwrap());
    assert_eq!(*seen.evicted.lock().unwrap(), [(room, AccountId(11))]);
    assert!(bus.presence(room).await.unwrap().is_empty());
    assert!(!bus.evict(room, AccountId(11)).await.unwrap());
}

/// A reconnect storm: hundreds of channels subscribed at once (the Redis bus gathers them into
/// a few SUBSCRIBE commands), then half of them dropped at once.
async fn many_channels_subscribe_and_unsubscribe_at_once(
    make: impl AsyncFn(HistoryLimits) -> Fixture,
) {
    let f = make(LIMITS).await;
    let channels: Vec<Channel> = (1..=300)
        .map(|i| Channel::Home(PlaceId(1000 + i)))
        .collect();
    let subscribed =
        futures_util::future::join_all(channels.iter().map(|c| f.bus.subscribe(*c))).await;
    assert!(subscribed.iter().all(Result::is_ok), "{subscribed:?}");
    for channel in &channels {
        publish(f.bus.as_ref(), *channel, "one").await;
    }
    f.seen
        .until("one event on every channel", |r| r.count() >= 300)
        .await;
    for channel in &channels {
        assert_eq!(f.seen.offsets(*channel), [1], "{channel}");
    }

    // Half dropped and taken again at once: the Redis bus's batch then holds unsubscribes
    // followed by subscribes of the same channels, which must leave them subscribed.
    let (dropped, _) = channels.split_at(150);
    for channel in dropped {
        f.bus.unsubscribe(*channel);
    }
    let again = futures_util::future::join_all(dropped.iter().map(|c| f.bus.subscribe(*c))).await;
    assert!(again.iter().all(Result::is_ok), "{again:?}");
    for channel in &channels {
        publish(f.bus.as_ref(), *channel, "two").await;
    }
    f.seen
        .until("a second event on every channel", |r| r.count() >= 600)
        .await;
    for channel in &channels {
        assert_eq!(f.seen.offsets(*channel), [1, 2], "{channel}");
    }
}

fn member(id: i64, name: &str) -> Member {
    Member {
        account_id: AccountId(id),
        name: name.into(),
        role: None,
    }
}

/// The presence frames a recorder received on `channel`, as (joined ids, left ids).
fn presence_frames(seen: &Recorder, channel: Channel) -> Vec<(Vec<i64>, Vec<i64>)> {
    seen.frames(channel)
        .iter()
        .filter_map(|f| match serde_json::from_str::<ServerMsg>(f).ok()? {
            ServerMsg::Presence { joins, leaves, .. } => Some((
                joins.iter().map(|m| m.account_id.0).collect(),
                leaves.iter().map(|m| m.account_id.0).collect(),
            )),
            _ => None,
        })
        .collect()
}

fn short_presence() -> RedisConfig {
    RedisConfig {
        presence_ttl: Duration::from_millis(300),
        ..RedisConfig::default()
    }
}

#[tokio::test]
async fn a_dead_nodes_people_leave_presence_when_their_time_runs_out() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let a = redis_with(&shared, short_presence()).await;
    let b = redis_with(&shared, short_presence()).await;
    let room = Channel::Room(MeetingId(21));
    b.bus.subscribe(room).await.unwrap();
    a.bus
        .presence_join(room, 1, member(10, "Wang"))
        .await
        .unwrap();
    // Li is on both nodes: losing one node must not make her leave.
    a.bus
        .presence_join(room, 2, member(11, "Li"))
        .await
        .unwrap();
    b.bus
        .presence_join(room, 3, member(11, "Li"))
        .await
        .unwrap();

    // Renewed while their node lives: still there after several lifetimes of an entry.
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let ids = |members: Vec<Member>| members.iter().map(|m| m.account_id.0).collect::<Vec<_>>();
    assert_eq!(ids(b.bus.presence(room).await.unwrap()), [10, 11]);
    assert!(presence_frames(&b.seen, room).is_empty(), "nobody left yet");

    drop(a); // as a crash: no leave is ever sent
    b.seen
        .until("Wang's leave", |r| !presence_frames(r, room).is_empty())
        .await;
    assert_eq!(presence_frames(&b.seen, room), [(vec![], vec![10])]);
    assert_eq!(ids(b.bus.presence(room).await.unwrap()), [11]);
    // Li's own leave from b is still her last one.
    assert!(b.bus.presence_leave(room, 3, AccountId(11)).await.unwrap());
    assert!(b.bus.presence(room).await.unwrap().is_empty());
}

#[tokio::test]
async fn reading_presence_sweeps_out_the_dead_even_where_no_node_listens() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let a = redis_with(&shared, short_presence()).await;
    let b = redis_with(&shared, short_presence()).await;
    let room = Channel::Room(MeetingId(22));
    a.bus
        .presence_join(room, 1, member(10, "Wang"))
        .await
        .unwrap();
    drop(a);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(b.bus.presence(room).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_node_puts_back_its_people_when_their_entries_were_lost() {
    let Some(shared) = TestRedis::connect().await else {
        return;
    };
    let a = redis_with(&shared, short_presence()).await;
    let room = Channel::Room(MeetingId(23));
    a.bus.subscribe(room).await.unwrap();
    a.bus
        .presence_join(room, 1, member(10, "Wang"))
        .await
        .unwrap();
    // As after a Redis restart, or a sweep by a node that thought this one dead.
    let client = redis::Client::open(shared.url.as_str()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}.presence*", shared.prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 3, "{keys:?}");
    redis::cmd("DEL")
        .arg(&keys)
        .query_async::<()>(&mut conn)
        .await
        .unwrap();

    a.seen
        .until("Wang announced again", |r| {
            !presence_frames(r, room).is_empty()
        })
        .await;
    assert_eq!(presence_frames(&a.seen, room), [(vec![10], vec![])]);
    assert_eq!(
        a.bus.presence(room).await.unwrap(),
        vec![member(10, "Wang")]
    );
    // An eviction is not undone by renewals.
    assert!(a.bus.evict(room, AccountId(10)).await.unwrap());
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(a.bus.presence(room).await.unwrap().is_empty());
}
