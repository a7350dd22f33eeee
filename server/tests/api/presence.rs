//! Presence in living rooms: a snapshot on subscribe, then joins and leaves.

use crate::helpers::*;
use hehe_protocol::{Channel, ErrorCode};
use std::time::Duration;

#[tokio::test]
async fn joins_and_leaves_are_announced_once_per_person() {
    let app = spawn_app().await;
    let room = Channel::Room(app.demo.meeting);
    let resident_id = app.demo.account("resident");
    let lead_id = app.demo.account("lead");

    let mut resident = app.connect("resident").await;
    let sub = resident.subscribe(room, None).await.unwrap();
    let present: Vec<_> = sub.presence.unwrap().iter().map(|m| m.account_id).collect();
    assert_eq!(present, [resident_id]);

    let mut lead = app.connect("lead").await;
    let sub = lead.subscribe(room, None).await.unwrap();
    let mut present: Vec<_> = sub.presence.unwrap().iter().map(|m| m.account_id).collect();
    present.sort();
    assert_eq!(present, [resident_id, lead_id]);

    // Joins are gathered for a moment and sent together, so a batch may also repeat what the
    // resident's own snapshot said: the resident's own arrival.
    let change = loop {
        let change = resident.next_presence_timeout(WAIT).await.unwrap();
        if change.joins.iter().any(|m| m.account_id == lead_id) {
            break change;
        }
    };
    assert!(
        change
            .joins
            .iter()
            .all(|m| [resident_id, lead_id].contains(&m.account_id))
    );
    let lead_member = change
        .joins
        .iter()
        .find(|m| m.account_id == lead_id)
        .unwrap();
    assert_eq!(lead_member.role, Some(hehe_protocol::Role::BuildingLead));

    // A second connection of the same person is no new join, and its end no leave.
    let mut lead_phone = app.connect("lead").await;
    lead_phone.subscribe(room, None).await.unwrap();
    lead_phone.close().await.unwrap();
    assert!(
        resident
            .next_presence_timeout(Duration::from_millis(400))
            .await
            .is_err()
    );

    lead.close().await.unwrap();
    let change = resident.next_presence_timeout(WAIT).await.unwrap();
    assert_eq!(
        change
            .leaves
            .iter()
            .map(|m| m.account_id)
            .collect::<Vec<_>>(),
        [lead_id]
    );
    let members = resident.presence(room).await.unwrap();
    assert_eq!(
        members.iter().map(|m| m.account_id).collect::<Vec<_>>(),
        [resident_id]
    );
}

#[tokio::test]
async fn presence_is_kept_only_for_rooms_and_only_shown_to_those_inside() {
    let app = spawn_app().await;
    let mut resident = app.connect("resident").await;
    let home = resident
        .subscribe(Channel::Home(app.demo.communities[0]), None)
        .await
        .unwrap();
    assert!(home.presence.is_none());
    let err = resident
        .presence(Channel::Home(app.demo.communities[0]))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::InvalidRequest));
    let err = resident
        .presence(Channel::Room(app.demo.other_meeting))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(ErrorCode::Forbidden));
}
