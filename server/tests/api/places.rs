//! Places by id, and what a grant over a whole street opens: its communities' home channels and
//! meetings.

use crate::helpers::*;
use hehe_protocol::Channel;
use hehe_protocol::http::{AccountInfo, PlaceDetail, PlaceKind};

async fn get(app: &TestApp, user: &str, path: &str) -> (u16, Vec<u8>) {
    let token = app.login(user).await.access_token;
    app.http.get_bytes(&token, path).await.unwrap()
}

#[tokio::test]
async fn a_place_is_named_with_what_lies_above_and_under_it() {
    let app = spawn_app().await;
    let riverside = app.demo.communities[0];
    let (status, body) = get(&app, "resident", &format!("/api/places/{riverside}")).await;
    assert_eq!(status, 200);
    let detail: PlaceDetail = serde_json::from_slice(&body).unwrap();
    assert_eq!(detail.place.id, riverside);
    assert_eq!(detail.place.name, "Riverside");
    let above: Vec<_> = detail.ancestors.iter().map(|p| p.id).collect();
    assert_eq!(above, [app.demo.street]);
    let under: Vec<_> = detail.children.iter().map(|p| p.id).collect();
    assert_eq!(under, app.demo.grids[..2]);
    assert!(detail.children.iter().all(|p| p.kind == PlaceKind::Grid));

    // A building of her community: grid and community above it, nothing under it.
    let building = app.demo.buildings[3];
    let (status, body) = get(&app, "resident", &format!("/api/places/{building}")).await;
    assert_eq!(status, 200);
    let detail: PlaceDetail = serde_json::from_slice(&body).unwrap();
    let above: Vec<_> = detail.ancestors.iter().map(|p| p.id).collect();
    assert_eq!(above, [app.demo.street, riverside, app.demo.grids[1]]);
    assert!(detail.children.is_empty());

    // Not on her line: the other community, the other street, no such place.
    for place in [
        app.demo.communities[1],
        app.demo.other_street,
        hehe_protocol::PlaceId(999_999),
    ] {
        let (status, _) = get(&app, "resident", &format!("/api/places/{place}")).await;
        assert_eq!(status, 404, "{place}");
    }
    // A building lead sees her grid, but of the buildings under it only her own.
    let (status, body) = get(&app, "lead", &format!("/api/places/{}", app.demo.grids[0])).await;
    assert_eq!(status, 200);
    let detail: PlaceDetail = serde_json::from_slice(&body).unwrap();
    let under: Vec<_> = detail.children.iter().map(|p| p.id).collect();
    assert_eq!(under, [app.demo.buildings[0]]);
    let sibling = app.demo.buildings[1];
    assert_eq!(
        get(&app, "lead", &format!("/api/places/{sibling}")).await.0,
        404
    );

    // The street chief sees the whole street; an admin sees every place; ops none.
    let orchard = app.demo.communities[1];
    assert_eq!(
        get(&app, "chief", &format!("/api/places/{orchard}"))
            .await
            .0,
        200
    );
    let lakeside = app.demo.other_street;
    assert_eq!(
        get(&app, "admin", &format!("/api/places/{lakeside}"))
            .await
            .0,
        200
    );
    assert_eq!(
        get(&app, "ops", &format!("/api/places/{orchard}")).await.0,
        404
    );
}

#[tokio::test]
async fn a_street_chief_gets_every_home_of_the_street_and_its_meetings() {
    let app = spawn_app().await;
    let (status, body) = get(&app, "chief", "/api/me").await;
    assert_eq!(status, 200);
    let me: AccountInfo = serde_json::from_slice(&body).unwrap();
    let channels = &me.grants[0].channels;
    for home in app.demo.communities {
        assert!(channels.contains(&Channel::Home(home)), "{channels:?}");
    }
    assert!(channels.contains(&Channel::Street(app.demo.street)));
    assert!(!channels.contains(&Channel::Home(app.demo.other_community)));

    // The hearing is held for Riverside, a community of the chief's street.
    let (status, body) = get(&app, "chief", "/api/meetings").await;
    assert_eq!(status, 200);
    let meetings: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let ids: Vec<i64> = meetings
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_i64().unwrap())
        .collect();
    assert!(ids.contains(&app.demo.meeting.0), "{ids:?}");
    assert!(!ids.contains(&app.demo.other_meeting.0), "{ids:?}");
    // A resident's grant opens their own community's home only.
    let (_, body) = get(&app, "resident", "/api/me").await;
    let me: AccountInfo = serde_json::from_slice(&body).unwrap();
    let homes: Vec<_> = me.grants[0]
        .channels
        .iter()
        .filter(|c| matches!(c, Channel::Home(_)))
        .collect();
    assert_eq!(homes, [&Channel::Home(app.demo.communities[0])]);
}
