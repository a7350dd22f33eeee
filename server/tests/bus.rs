//! The bus conformance suite: what every `Bus` implementation must do. The in-process bus runs
//! it here; the Redis bus joins through `both_buses!` when it arrives.

use hehe_protocol::{AccountId, Channel, MeetingId, Member, PlaceId, Position, ServerMsg};
use hehe_server::bus::memory::{HistoryLimits, MemoryBus};
use hehe_server::bus::{Audience, Bus, DeliveryHandler, Publication};
use hehe_server::hub::Frame;
use serde_json::value::RawValue;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Records every delivery, as the hub would receive it.
#[derive(Default)]
struct Recorder {
    seen: Mutex<Vec<(Channel, Option<u64>, String)>>,
    staff_only: Mutex<Vec<u64>>,
}

impl DeliveryHandler for Recorder {
    fn deliver(&self, channel: Channel, offset: Option<u64>, audience: Audience, frame: &Frame) {
        if audience == Audience::Staff {
            self.staff_only.lock().unwrap().extend(offset);
        }
        self.seen
            .lock()
            .unwrap()
            .push((channel, offset, frame.as_str().to_owned()));
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

macro_rules! every_bus {
    ($($name:ident),* $(,)?) => {
        mod on_memory {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::memory).await;
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
);

type Make = fn(HistoryLimits) -> Fixture;

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

async fn staff_events_keep_their_audience(make: Make) {
    let f = make(LIMITS);
    let issue = Channel::Issue(hehe_protocol::IssueId(4));
    publish(f.bus.as_ref(), issue, "public").await;
    let note = Publication {
        audience: Audience::Staff,
        ..publication(issue, "internal", None)
    };
    let start = f.bus.publish(note).await.unwrap();
    publish(f.bus.as_ref(), issue, "public again").await;
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

async fn offsets_are_consecutive_and_delivered_in_order(make: Make) {
    let f = make(LIMITS);
    let a = publish(f.bus.as_ref(), HOME, "a").await;
    let b = publish(f.bus.as_ref(), HOME, "b").await;
    let s = publish(f.bus.as_ref(), STREET, "s").await;
    assert_eq!(
        (a.offset, b.offset, s.offset),
        (1, 2, 1),
        "offsets count per channel"
    );
    assert_eq!(a.epoch, b.epoch);
    assert_eq!(f.seen.offsets(HOME), [1, 2]);
    let seen = f.seen.seen.lock().unwrap().clone();
    let event = decode(&seen[1].2);
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

async fn an_idempotency_key_publishes_once(make: Make) {
    let f = make(LIMITS);
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
    assert_eq!(f.seen.offsets(HOME), [1, 2]);
}

async fn history_recovers_exactly_or_not_at_all(make: Make) {
    let f = make(LIMITS);
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

async fn history_is_bounded_by_size(make: Make) {
    let f = make(HistoryLimits { size: 3, ..LIMITS });
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

async fn history_is_bounded_by_age(make: Make) {
    let f = make(HistoryLimits {
        ttl: Duration::from_millis(100),
        ..LIMITS
    });
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

async fn broadcasts_are_delivered_but_not_kept(make: Make) {
    let f = make(LIMITS);
    f.bus
        .broadcast(HOME, Frame::from("{\"type\":\"pong\"}"))
        .await
        .unwrap();
    assert_eq!(f.seen.count(), 1);
    assert_eq!(f.seen.seen.lock().unwrap()[0].1, None);
    assert_eq!(f.bus.history(HOME, None).await.unwrap().top.offset, 0);
}

async fn presence_counts_people_not_connections(make: Make) {
    let f = make(LIMITS);
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

async fn concurrent_publishes_get_unique_contiguous_offsets(make: Make) {
    let f = make(HistoryLimits {
        size: 1000,
        ..LIMITS
    });
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
        f.seen.offsets(HOME),
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
