use super::*;
use crate::domain::access::Grant;
use crate::domain::fixtures::{community, street};
use hehe_protocol::{AccountId, Role};

fn admin() -> Actor {
    Actor {
        id: AccountId(1),
        grants: vec![Grant {
            role: Role::Admin,
            scope: None,
        }],
    }
}

fn official() -> Actor {
    Actor {
        id: AccountId(2),
        grants: vec![Grant {
            role: Role::CommunityOfficial,
            scope: Some(community(1, 10)),
        }],
    }
}

fn chief() -> Actor {
    Actor {
        id: AccountId(3),
        grants: vec![Grant {
            role: Role::StreetChief,
            scope: Some(street(1)),
        }],
    }
}

fn known(id: i64, kind: PlaceKind, parent: Option<i64>, name_zh: &str) -> Known {
    Known {
        id: PlaceId(id),
        kind,
        parent: parent.map(PlaceId),
        name_zh: name_zh.into(),
        archived: false,
        units: None,
        floors: None,
    }
}

/// Street 1 和合街道 with community 10 滨河社区 (grid 100 一网格 with building 1000 1栋) and
/// community 11 果园社区; street 2 湖畔街道.
fn world() -> Vec<Known> {
    use PlaceKind::*;
    vec![
        // Listed children first: the plan must not depend on the order.
        known(1000, Building, Some(100), "1栋"),
        known(100, Grid, Some(10), "一网格"),
        known(10, Community, Some(1), "滨河社区"),
        known(11, Community, Some(1), "果园社区"),
        known(1, Street, None, "和合街道"),
        known(2, Street, None, "湖畔街道"),
    ]
}

const HEADER: &str = "street,community,compound,grid,building,units,floors\n";

fn run(actor: &Actor, csv: &str, known: &[Known]) -> (Parsed, Plan) {
    let parsed = parse(csv.as_bytes()).expect("read");
    let plan = plan(actor, &parsed.lines, known);
    (parsed, plan)
}

fn codes(parsed: &Parsed, plan: &Plan) -> Vec<(u32, String)> {
    parsed
        .refused
        .iter()
        .chain(&plan.refused)
        .map(|r| (r.line, r.code.clone()))
        .collect()
}

#[test]
fn a_new_tree_is_planned_parents_first_and_once() {
    let csv = format!(
        "{HEADER}新街道,新社区,,一网格,1栋,2,6\n新街道,新社区,,一网格,2栋,,\n新街道,新社区,,一网格,2栋,,\n"
    );
    let (parsed, plan) = run(&admin(), &csv, &world());
    assert_eq!(parsed.count, 3);
    assert!(codes(&parsed, &plan).is_empty(), "{:?}", plan.refused);
    let made: Vec<(PlaceKind, &str, u32)> = plan
        .create
        .iter()
        .map(|p| (p.kind, p.path.as_str(), p.line))
        .collect();
    assert_eq!(
        made,
        [
            (PlaceKind::Street, "新街道", 2),
            (PlaceKind::Community, "新街道/新社区", 2),
            (PlaceKind::Grid, "新街道/新社区/一网格", 2),
            (PlaceKind::Building, "新街道/新社区/一网格/1栋", 2),
            (PlaceKind::Building, "新街道/新社区/一网格/2栋", 3),
        ]
    );
    assert_eq!(
        (plan.create[3].units, plan.create[3].floors),
        (Some(2), Some(6))
    );
    // The third line repeats the second.
    assert_eq!(plan.unchanged, 1);
    // Every parent is a known place or one created before it.
    for (i, p) in plan.create.iter().enumerate() {
        if let Some(parent) = p.parent.filter(|p| p.0 < 0) {
            assert!(plan.create[..i].iter().any(|q| q.id == parent));
        }
    }
}

#[test]
fn what_exists_is_unchanged_so_a_second_run_creates_nothing() {
    let csv = format!("{HEADER}和合街道,滨河社区,,一网格,1栋,,\n");
    let (_, plan) = run(&official(), &csv, &world());
    assert_eq!((plan.create.len(), plan.unchanged), (0, 1));

    // Apply a first plan to the known places, and plan the same file again.
    let csv = format!("{HEADER}和合街道,滨河社区,金桂小区,二网格,5栋,,\n");
    let (_, first) = run(&official(), &csv, &world());
    assert_eq!(first.create.len(), 3);
    let mut after = world();
    for (i, p) in first.create.iter().enumerate() {
        let id = 5000 + i as i64;
        let parent = p.parent.map(|q| {
            first
                .create
                .iter()
                .position(|c| c.id == q)
                .map_or(q, |j| PlaceId(5000 + j as i64))
        });
        after.push(Known {
            parent,
            ..known(id, p.kind, None, &p.name_zh)
        });
    }
    let (_, second) = run(&official(), &csv, &after);
    assert_eq!(
        (second.create.len(), second.unchanged),
        (0, 1),
        "{second:?}"
    );
}

#[test]
fn each_bad_line_is_refused_with_its_code() {
    let mut archived = world();
    archived.push(Known {
        archived: true,
        ..known(12, PlaceKind::Community, Some(1), "旧社区")
    });
    archived.push(Known {
        units: Some(3),
        ..known(1001, PlaceKind::Building, Some(100), "9栋")
    });
    let long = "楼".repeat(65);
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "no building",
            "和合街道,滨河社区,,一网格,,,".into(),
            "missing_name",
        ),
        (
            "no street",
            ",滨河社区,,一网格,1栋,,".into(),
            "missing_name",
        ),
        (
            "a long name",
            format!("和合街道,滨河社区,,一网格,{long},,"),
            "name_too_long",
        ),
        (
            "a control character",
            "和合街道,滨河社区,,一网格,1\u{1b}栋,,".into(),
            "bad_name",
        ),
        (
            "units zero",
            "和合街道,滨河社区,,一网格,1栋,0,".into(),
            "bad_number",
        ),
        (
            "floors not a number",
            "和合街道,滨河社区,,一网格,1栋,,six".into(),
            "bad_number",
        ),
        (
            "too few fields",
            "和合街道,滨河社区,一网格,1栋".into(),
            "malformed",
        ),
        (
            "an archived parent",
            "和合街道,旧社区,,一网格,1栋,,".into(),
            "archived_parent",
        ),
        (
            "another community",
            "和合街道,果园社区,,一网格,1栋,,".into(),
            "outside_scope",
        ),
        (
            "a new community",
            "和合街道,新社区,,一网格,1栋,,".into(),
            "outside_scope",
        ),
        (
            "a new street",
            "新街道,新社区,,一网格,1栋,,".into(),
            "outside_scope",
        ),
        (
            "a building known elsewhere",
            "和合街道,滨河社区,,二网格,1栋,,".into(),
            "two_parents",
        ),
        (
            "other figures",
            "和合街道,滨河社区,,一网格,9栋,4,".into(),
            "attributes_differ",
        ),
        (
            "a grid named like a compound",
            "和合街道,滨河社区,一网格,二网格,3栋,,".into(),
            "name_taken",
        ),
    ];
    for (name, line, code) in cases {
        let csv = format!("{HEADER}{line}\n");
        let (parsed, plan) = run(&official(), &csv, &archived);
        assert_eq!(codes(&parsed, &plan), [(2, code.to_owned())], "{name}");
        let refusal = parsed.refused.iter().chain(&plan.refused).next().unwrap();
        assert!(
            refusal.message.contains('。') && !refusal.message.starts_with(|c: char| c.is_ascii()),
            "{name}: {}",
            refusal.message
        );
        assert!(plan.create.is_empty(), "{name}");
    }
}

#[test]
fn a_building_under_two_grids_in_one_file_is_refused_on_the_second_line() {
    let csv = format!("{HEADER}和合街道,滨河社区,,一网格,7栋,,\n和合街道,滨河社区,,二网格,7栋,,\n");
    let (parsed, plan) = run(&chief(), &csv, &world());
    assert_eq!(codes(&parsed, &plan), [(3, "two_parents".to_owned())]);
    // The refused line's new grid is not in the plan; the first line's building is.
    let paths: Vec<&str> = plan.create.iter().map(|p| p.path.as_str()).collect();
    assert_eq!(paths, ["和合街道/滨河社区/一网格/7栋"]);
}

#[test]
fn the_header_is_checked_first() {
    for (header, want) in [
        (
            "street,community,grid,building,colour",
            "Unknown column \"colour\"",
        ),
        (
            "street,community,building",
            "The column \"grid\" is missing",
        ),
        (
            "street,community,grid,building,grid",
            "The column \"grid\" appears twice",
        ),
    ] {
        match parse(format!("{header}\n和合街道,滨河社区,一网格,1栋\n").as_bytes()) {
            Err(FileRefusal::Header(why)) => assert!(why.contains(want), "{header}: {why}"),
            other => panic!("{header}: {other:?}"),
        }
    }
    // Any column order, English names, a byte-order mark and spaces around fields are fine.
    let parsed =
        parse("\u{feff}building, grid ,community,street,building_en\n 1栋 ,一网格,滨河社区,和合街道,Block 1\n".as_bytes())
            .unwrap();
    assert!(parsed.refused.is_empty(), "{:?}", parsed.refused);
    let line = &parsed.lines[0];
    assert_eq!(
        line.names[4],
        Some(("1栋".to_owned(), Some("Block 1".to_owned())))
    );
    assert_eq!(line.names[2], None);
}

#[test]
fn files_are_bounded() {
    assert_eq!(
        parse(&vec![b'a'; MAX_BYTES + 1]),
        Err(FileRefusal::TooLarge)
    );
    assert_eq!(parse(&[0xff, 0xfe, b'a']), Err(FileRefusal::NotUtf8));
    for empty in ["", "\u{feff}", " \n\n"] {
        assert_eq!(
            parse(empty.as_bytes()),
            Err(FileRefusal::Empty),
            "{empty:?}"
        );
    }
    let mut csv = HEADER.to_owned();
    for i in 0..=MAX_LINES {
        csv.push_str(&format!("和合街道,滨河社区,,一网格,{i}栋,,\n"));
    }
    assert_eq!(parse(csv.as_bytes()), Err(FileRefusal::TooManyLines));
    for refusal in [
        FileRefusal::TooLarge,
        FileRefusal::TooManyLines,
        FileRefusal::NotUtf8,
        FileRefusal::Empty,
    ] {
        let text = refusal.to_string();
        assert!(text.contains('。') && text.ends_with('.'), "{text}");
    }
}
