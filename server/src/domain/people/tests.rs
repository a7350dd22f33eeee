//! Every role as inviter × every role invited × places in and out of the inviter's own; the
//! directory, search and masking rules as tables; the people file line by line.

use super::import::{self, PlaceRef};
use super::*;
use crate::domain::fixtures::{ME, actor, building, community, grid, street};
use hehe_protocol::http::PlaceKind;

/// The place of `role`'s kind in each scope: inside the inviter's community (street 1,
/// community 10), in the next community of the same street (11), in another street (2).
fn place_for(role: Role, scope: &str) -> Option<PlacePath> {
    let (s, c) = match scope {
        "own community" => (1, 10),
        "next community" => (1, 11),
        "other street" => (2, 20),
        _ => unreachable!(),
    };
    place_kind_for(role).map(|kind| match kind {
        PlaceKind::Street => street(s),
        PlaceKind::Community => community(s, c),
        PlaceKind::Grid => grid(s, c, c * 10),
        _ => building(s, c, c * 10, c * 100),
    })
}

// Rows: the inviter; columns: the role invited, in `Role::ALL` order (resident, building lead,
// grid worker, community official, street chief, ops, admin); one table per scope.
const OWN_COMMUNITY: [(Role, [u8; 7]); 7] = [
    (Role::Resident, [0, 0, 0, 0, 0, 0, 0]),
    (Role::BuildingLead, [0, 0, 0, 0, 0, 0, 0]),
    (Role::GridWorker, [0, 0, 0, 0, 0, 0, 0]),
    (Role::CommunityOfficial, [1, 1, 1, 0, 0, 0, 0]),
    (Role::StreetChief, [1, 1, 1, 1, 0, 0, 0]),
    (Role::Ops, [0, 0, 0, 0, 0, 0, 0]),
    (Role::Admin, [1, 1, 1, 1, 1, 1, 1]),
];
const NEXT_COMMUNITY: [(Role, [u8; 7]); 7] = [
    (Role::Resident, [0, 0, 0, 0, 0, 0, 0]),
    (Role::BuildingLead, [0, 0, 0, 0, 0, 0, 0]),
    (Role::GridWorker, [0, 0, 0, 0, 0, 0, 0]),
    (Role::CommunityOfficial, [0, 0, 0, 0, 0, 0, 0]),
    (Role::StreetChief, [1, 1, 1, 1, 0, 0, 0]),
    (Role::Ops, [0, 0, 0, 0, 0, 0, 0]),
    (Role::Admin, [1, 1, 1, 1, 1, 1, 1]),
];
const OTHER_STREET: [(Role, [u8; 7]); 7] = [
    (Role::Resident, [0, 0, 0, 0, 0, 0, 0]),
    (Role::BuildingLead, [0, 0, 0, 0, 0, 0, 0]),
    (Role::GridWorker, [0, 0, 0, 0, 0, 0, 0]),
    (Role::CommunityOfficial, [0, 0, 0, 0, 0, 0, 0]),
    (Role::StreetChief, [0, 0, 0, 0, 0, 0, 0]),
    (Role::Ops, [0, 0, 0, 0, 0, 0, 0]),
    (Role::Admin, [1, 1, 1, 1, 1, 1, 1]),
];

#[test]
fn the_whole_invite_matrix() {
    for (scope, table) in [
        ("own community", OWN_COMMUNITY),
        ("next community", NEXT_COMMUNITY),
        ("other street", OTHER_STREET),
    ] {
        for (who, row) in table {
            let a = actor(who);
            for (role, want) in Role::ALL.into_iter().zip(row) {
                let place = place_for(role, scope);
                let expected = if want == 1 {
                    Ok(())
                } else {
                    Err(InviteRefusal::NotAllowed)
                };
                assert_eq!(
                    may_invite(&a, role, place.as_ref()),
                    expected,
                    "{who} invites {role} in {scope}"
                );
            }
        }
    }
}

#[test]
fn an_invite_names_a_place_of_the_roles_kind() {
    let admin = actor(Role::Admin);
    let places = [
        None,
        Some(street(1)),
        Some(community(1, 10)),
        Some(grid(1, 10, 100)),
        Some(building(1, 10, 100, 1000)),
    ];
    for role in Role::ALL {
        for place in &places {
            let fits = place_kind_for(role) == place.map(|p| p.kind());
            let got = may_invite(&admin, role, place.as_ref());
            assert_eq!(got.is_ok(), fits, "{role} at {place:?}");
            if !fits {
                assert_eq!(got, Err(InviteRefusal::WrongPlace));
            }
        }
    }
}

#[test]
fn who_invites_at_all() {
    for role in Role::ALL {
        let expected = matches!(
            role,
            Role::CommunityOfficial | Role::StreetChief | Role::Admin
        );
        assert_eq!(invites_somewhere(&actor(role)), expected, "{role}");
    }
}

#[test]
fn a_role_is_held_at_the_place_of_its_kind_above_the_one_given() {
    let b = building(1, 10, 100, 1000);
    let cases = [
        (Role::Resident, b, Ok(PlaceId(10))),
        (Role::BuildingLead, b, Ok(PlaceId(1000))),
        (Role::GridWorker, b, Ok(PlaceId(100))),
        (Role::CommunityOfficial, b, Ok(PlaceId(10))),
        (Role::StreetChief, b, Ok(PlaceId(1))),
        (Role::Resident, community(1, 10), Ok(PlaceId(10))),
        (
            Role::BuildingLead,
            grid(1, 10, 100),
            Err(InviteRefusal::WrongPlace),
        ),
        (
            Role::GridWorker,
            community(1, 10),
            Err(InviteRefusal::WrongPlace),
        ),
        (Role::Resident, street(1), Err(InviteRefusal::WrongPlace)),
        (Role::Admin, b, Err(InviteRefusal::WrongPlace)),
        (Role::Ops, b, Err(InviteRefusal::WrongPlace)),
    ];
    for (role, given, expected) in cases {
        assert_eq!(place_of_role(role, &given), expected, "{role} at {given:?}");
    }
}

#[test]
fn who_takes_issues_at_a_place() {
    let here = building(1, 10, 100, 1000);
    // (grant, takes issues at a building of grid 100 in community 10)
    let cases = [
        (Role::GridWorker, grid(1, 10, 100), true),
        (Role::GridWorker, grid(1, 10, 101), true),
        (Role::GridWorker, grid(1, 11, 110), false),
        (Role::CommunityOfficial, community(1, 10), true),
        (Role::CommunityOfficial, community(1, 11), false),
        (Role::StreetChief, street(1), true),
        (Role::StreetChief, street(2), false),
        (Role::BuildingLead, building(1, 10, 100, 1000), false),
        (Role::Resident, community(1, 10), false),
    ];
    for (role, scope, expected) in cases {
        let grant = Grant {
            role,
            scope: Some(scope),
        };
        assert_eq!(takes_issues_at(&grant, &here), expected, "{role} {scope:?}");
    }
    for role in [Role::Ops, Role::Admin] {
        let grant = Grant { role, scope: None };
        assert!(!takes_issues_at(&grant, &here), "{role}");
    }
    // At a street: every grid worker of it.
    let worker = Grant {
        role: Role::GridWorker,
        scope: Some(grid(1, 11, 110)),
    };
    assert!(takes_issues_at(&worker, &street(1)));
    assert!(!takes_issues_at(&worker, &street(2)));
}

#[test]
fn directory_search_and_phone_rules_by_role() {
    // Columns as `Role::ALL`. A person placed in community 10 (a resident), one in community
    // 11, one in another street; the directory of grid 100.
    let mine = [community(1, 10)];
    let next = [community(1, 11)];
    let far = [community(2, 20)];
    let own_grid = grid(1, 10, 100);
    let rows: [(&str, [u8; 7]); 8] = [
        ("sees staff of own grid", [0, 0, 1, 1, 1, 0, 1]),
        ("searches people", [0, 0, 1, 1, 1, 0, 1]),
        ("finds own community's", [0, 0, 1, 1, 1, 0, 1]),
        ("finds next community's", [0, 0, 0, 0, 1, 0, 1]),
        ("finds another street's", [0, 0, 0, 0, 0, 0, 1]),
        ("full phone, own community", [0, 0, 0, 1, 1, 0, 1]),
        ("full phone, next community", [0, 0, 0, 0, 1, 0, 1]),
        ("full phone, another street", [0, 0, 0, 0, 0, 0, 1]),
    ];
    let someone = AccountId(99);
    for (name, expected) in rows {
        for (role, want) in Role::ALL.into_iter().zip(expected) {
            let a = actor(role);
            let got = match name {
                "sees staff of own grid" => may_see_staff(&a, &own_grid),
                "searches people" => may_search_people(&a),
                "finds own community's" => may_find_person(&a, someone, &mine),
                "finds next community's" => may_find_person(&a, someone, &next),
                "finds another street's" => may_find_person(&a, someone, &far),
                "full phone, own community" => sees_full_phone(&a, someone, &mine),
                "full phone, next community" => sees_full_phone(&a, someone, &next),
                "full phone, another street" => sees_full_phone(&a, someone, &far),
                _ => unreachable!(),
            };
            assert_eq!(got, want == 1, "{role}: {name}");
        }
    }
    // Everyone finds and reads themselves, grants or none.
    let nobody = Actor {
        id: ME,
        grants: vec![],
    };
    assert!(may_find_person(&nobody, ME, &[]));
    assert!(sees_full_phone(&nobody, ME, &[]));
    assert!(!may_search_people(&nobody));
}

#[test]
fn invite_states() {
    let cases = [
        (None, None, 100, 50, InviteState::Pending),
        (None, None, 100, 100, InviteState::Expired),
        (Some(60), None, 100, 200, InviteState::Accepted),
        (None, Some(60), 100, 200, InviteState::Revoked),
        (None, Some(60), 100, 50, InviteState::Revoked),
    ];
    for (accepted, revoked, expires, now, expected) in cases {
        assert_eq!(invite_state(accepted, revoked, expires, now), expected);
    }
}

#[test]
fn emails() {
    assert_eq!(email(" Wang@Example.CN ").unwrap(), "wang@example.cn");
    for bad in [
        "", "wang", "@x.cn", "a@b", "a@b@c.cn", "a b@c.cn", "a@.cn", "a@c.",
    ] {
        assert_eq!(email(bad), Err(EmailError), "{bad:?}");
    }
}

fn lines(text: &str) -> Vec<import::Line> {
    import::parse(text).expect("a readable file")
}

#[test]
fn a_good_file_reads_every_column_in_any_order() {
    let text = "\u{feff}role,place,name,phone,email,romanised_name\n\
        resident,东湖街道/桂花社区/一网格/3栋,王芳,138 1234 5678,Wang@X.cn,Wang Fang\n\
        网格员,#12,陈杰,+86 139-0000-0000,,\n";
    let got = lines(text);
    assert_eq!(got.len(), 2);
    let first = got[0].as_ref().unwrap();
    assert_eq!(first.line, 2);
    assert_eq!(first.name, "王芳");
    assert_eq!(first.phone.as_str(), "+8613812345678");
    assert_eq!(first.email.as_deref(), Some("wang@x.cn"));
    assert_eq!(first.romanised_name.as_deref(), Some("Wang Fang"));
    assert_eq!(first.role, Role::Resident);
    assert_eq!(
        first.place,
        PlaceRef::Names(vec![
            "东湖街道".into(),
            "桂花社区".into(),
            "一网格".into(),
            "3栋".into()
        ])
    );
    let second = got[1].as_ref().unwrap();
    assert_eq!(second.role, Role::GridWorker);
    assert_eq!(second.place, PlaceRef::Id(PlaceId(12)));
    assert_eq!(second.email, None);
}

#[test]
fn each_bad_line_is_refused_with_its_code() {
    let text = "name,phone,place,role\n\
        王芳,13812345678,街/社区,resident\n\
        只有三列,13812345679,街\n\
        ,13812345670,街/社区,resident\n\
        李伟,12345,街/社区,resident\n\
        李伟,13812345671,街/社区,mayor\n\
        李伟,13812345672,街/社区,admin\n\
        李伟,13812345673,街//社区,resident\n\
        李伟,13812345674,a/b/c/d/e/f,resident\n\
        李伟,13812345675,#x,resident\n\
        赵敏,138-1234-5678,街/社区,resident\n";
    let with_emails = "name,phone,place,role,email\n\
        甲,13812345601,街/社区,resident,a@x.cn\n\
        乙,13812345602,街/社区,resident,A@X.cn\n\
        丙,13812345603,街/社区,resident,not-an-address\n";
    let codes: Vec<Option<&str>> = lines(with_emails)
        .iter()
        .map(|l| l.as_ref().err().map(|(_, why)| why.code()))
        .collect();
    assert_eq!(codes, [None, Some("duplicate_email"), Some("bad_email")]);
    let codes: Vec<(u32, &str)> = lines(text)
        .iter()
        .map(|l| match l {
            Ok(p) => (p.line, "ok"),
            Err((line, why)) => (*line, why.code()),
        })
        .collect();
    assert_eq!(
        codes,
        [
            (2, "ok"),
            (3, "malformed_line"),
            (4, "bad_name"),
            (5, "bad_phone"),
            (6, "unknown_role"),
            (7, "unknown_role"),
            (8, "unknown_place"),
            (9, "unknown_place"),
            (10, "unknown_place"),
            (11, "duplicate_phone"),
        ]
    );
    // Every refusal speaks Chinese first and English beside it, and names no one.
    for line in lines(text).into_iter().filter_map(Result::err) {
        let message = line.1.message();
        assert!(!message.is_ascii(), "{message}");
        assert!(
            message.chars().any(|c| c.is_ascii_alphabetic()),
            "{message}"
        );
        assert!(!message.contains("1381234"), "{message}");
    }
}

#[test]
fn whole_file_refusals() {
    use import::FileRefusal;
    assert_eq!(import::parse("").unwrap_err(), FileRefusal::Empty);
    assert_eq!(
        import::parse("name,phone,place\n").unwrap_err(),
        FileRefusal::MissingColumn("role")
    );
    assert_eq!(
        import::parse("name,phone,place,role,age\n").unwrap_err(),
        FileRefusal::UnknownColumn("age".into())
    );
    assert_eq!(
        import::parse("name,phone,place,role,name\n").unwrap_err(),
        FileRefusal::UnknownColumn("name".into())
    );
    let mut big = String::from("name,phone,place,role\n");
    for i in 0..=import::MAX_LINES {
        big.push_str(&format!("人{i},1380000{i:04},街/社区,resident\n"));
    }
    assert_eq!(import::parse(&big).unwrap_err(), FileRefusal::TooManyLines);
}

#[test]
fn roles_places_usernames_and_picks() {
    assert_eq!(import::role("楼道长"), Some(Role::BuildingLead));
    assert_eq!(import::role("Grid_Worker"), Some(Role::GridWorker));
    assert_eq!(import::role("ops"), None);
    assert_eq!(import::place("#0"), None);
    assert_eq!(
        import::place(" 街 / 社区 "),
        Some(PlaceRef::Names(vec!["街".into(), "社区".into()]))
    );
    let phone = crate::domain::phone::Phone::parse("13812345678").unwrap();
    let username = import::username_for(&phone);
    assert_eq!(username, "p8613812345678");
    assert!(crate::domain::account::username(&username).is_ok());
}
