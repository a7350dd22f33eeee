//! An appraisal (`server/src/domain/appraisal.rs`) from a client's setup and ballots to its
//! published results.
//!
//! A setup that passes `check_setup` is within every bound; a ballot that passes `check_ballot`
//! fits the setup exactly; the checked ballots always reconcile, and their results are scores
//! on 0–100 whose grade shares add up, flagged low exactly below the threshold, with one
//! follow-up item per low score.

#![no_main]

use arbitrary::{Arbitrary, Result, Unstructured};
use hehe_fuzz::any_text;
use hehe_fuzz::domain::appraisal::{
    CheckedAppraisal, Counted, MAX_APPRAISEES, MAX_DIMENSIONS, MAX_SCALE, MAX_TITLE, MAX_WEIGHT,
    Setup, check_ballot, check_setup, follow_ups, reconcile, results,
};
use hehe_protocol::appraisal::{
    BallotStatus, Grade, NewAppraisal, NewAppraisee, NewBallot, NewDimension,
};
use hehe_protocol::{AccountId, PlaceId};
use libfuzzer_sys::fuzz_target;
use std::collections::{BTreeMap, BTreeSet};

const GRADES: [Grade; 3] = [Grade::Satisfied, Grade::Basic, Grade::Unsatisfied];

fuzz_target!(|data: &[u8]| {
    let _ = appraise(&mut Unstructured::new(data));
});

/// Mostly names and numbers the checks accept, sometimes anything.
fn name(u: &mut Unstructured<'_>) -> Result<String> {
    if u.ratio(1, 4)? {
        any_text(u)
    } else {
        Ok(format!("n{}", u.int_in_range(0..=30u8)?))
    }
}

fn weight(u: &mut Unstructured<'_>) -> Result<f64> {
    Ok(match u.int_in_range(0..=3)? {
        0 => f64::arbitrary(u)?,
        1 => *u.choose(&[
            0.0,
            -1.0,
            f64::MIN_POSITIVE,
            5e-324,
            MAX_WEIGHT,
            1000.000001,
            f64::NAN,
        ])?,
        _ => f64::from(u.int_in_range(1..=1000u16)?) / 4.0,
    })
}

fn setup(u: &mut Unstructured<'_>) -> Result<NewAppraisal> {
    let mut appraisees = Vec::new();
    for _ in 0..u.int_in_range(0..=MAX_APPRAISEES + 1)? {
        appraisees.push(NewAppraisee {
            name: name(u)?,
            account_id: if u.arbitrary()? {
                Some(AccountId(u.int_in_range(1..=60)?))
            } else {
                None
            },
            service: if u.ratio(1, 5)? { Some(name(u)?) } else { None },
        });
    }
    let mut dimensions = Vec::new();
    for _ in 0..u.int_in_range(0..=MAX_DIMENSIONS + 1)? {
        dimensions.push(NewDimension {
            name: name(u)?,
            weight: weight(u)?,
            scale: if u.ratio(1, 8)? {
                u.arbitrary()?
            } else {
                u.int_in_range(1..=10)?
            },
        });
    }
    let electorate = (0..u.int_in_range(0..=40)?)
        .map(|_| Ok(AccountId(u.int_in_range(1..=200)?)))
        .collect::<Result<_>>()?;
    Ok(NewAppraisal {
        title: name(u)?,
        place_id: PlaceId(10),
        appraisees,
        dimensions,
        electorate,
        anonymous: u.arbitrary()?,
        low_score_threshold: if u.arbitrary()? {
            Some(weight(u)?.min(150.0))
        } else {
            None
        },
    })
}

/// A ballot shaped like the setup, with now and then a hole, a stray key or a score too high.
fn ballot(u: &mut Unstructured<'_>, setup: &Setup) -> Result<NewBallot> {
    let n = setup.appraisees.len() as u32;
    let m = setup.dimensions.len() as u32;
    let stray = |u: &mut Unstructured<'_>, len: u32| -> Result<u32> {
        Ok(if u.ratio(1, 30)? {
            len + u.int_in_range(0..=2)?
        } else {
            0
        })
    };
    let mut scores = BTreeMap::new();
    let mut grade = BTreeMap::new();
    for a in 0..n {
        if u.ratio(1, 40)? {
            continue;
        }
        let mut row = BTreeMap::new();
        for (d, dimension) in setup.dimensions.iter().enumerate() {
            if u.ratio(1, 40)? {
                continue;
            }
            let top = dimension.scale + u32::from(u.ratio(1, 20)?);
            row.insert(d as u32, u.int_in_range(0..=top)?);
        }
        let extra = stray(u, m)?;
        if extra > 0 {
            row.insert(extra, 0);
        }
        scores.insert(a, row);
        grade.insert(a, *u.choose(&GRADES)?);
    }
    let extra = stray(u, n)?;
    if extra > 0 {
        grade.insert(extra, Grade::Basic);
    }
    Ok(NewBallot {
        request_id: None,
        scores,
        grade,
        comment: if u.ratio(1, 4)? {
            Some(any_text(u)?)
        } else {
            None
        },
    })
}

fn appraise(u: &mut Unstructured<'_>) -> Result<()> {
    let new = setup(u)?;
    let Ok(checked) = check_setup(&new) else {
        return Ok(());
    };
    sound(&new, &checked);
    let setup = &checked.setup;
    let weights = setup.normalised_weights();
    assert!(
        (weights.iter().sum::<f64>() - 1.0).abs() < 1e-9,
        "{weights:?}"
    );

    let mut counted = Vec::new();
    while !u.is_empty() && counted.len() < checked.electorate.len() {
        let b = ballot(u, setup)?;
        let Ok(ok) = check_ballot(setup, &b) else {
            continue;
        };
        let n = setup.appraisees.len();
        assert_eq!(
            b.scores.keys().copied().collect::<Vec<_>>(),
            (0..n as u32).collect::<Vec<_>>()
        );
        assert_eq!((ok.scores.len(), ok.grades.len()), (n, n));
        for row in &ok.scores {
            assert_eq!(row.len(), setup.dimensions.len());
            assert!(
                row.iter()
                    .zip(&setup.dimensions)
                    .all(|(s, d)| *s <= d.scale)
            );
        }
        if let Some(c) = &ok.comment {
            hehe_fuzz::assert_clean_text(c, 1000, &['\n', '\t'], "comment");
        }
        counted.push(Counted {
            scores: ok.scores,
            grades: ok.grades,
            status: if u.ratio(1, 5)? {
                BallotStatus::Void
            } else {
                BallotStatus::Valid
            },
        });
    }

    let issued = checked.electorate.len() as u32;
    let cast = counted.len() as u32;
    let counts = reconcile(setup, issued, cast, &counted).expect("checked ballots reconcile");
    assert_eq!(counts.valid + counts.void, cast);
    assert_eq!(counts.not_returned, issued - cast);
    assert!(reconcile(setup, issued, cast + 1, &counted).is_err());

    let out = results(setup, &counted);
    assert_eq!(out.len(), setup.appraisees.len());
    for r in &out {
        let shares = [r.grades.satisfied, r.grades.basic, r.grades.unsatisfied];
        assert_eq!(shares.iter().map(|s| s.count).sum::<u32>(), counts.valid);
        assert_eq!(r.overall.is_some(), counts.valid > 0);
        if let Some(overall) = r.overall {
            assert!((0.0..=100.0).contains(&overall), "overall {overall}");
            let total: f64 = shares.iter().map(|s| s.share).sum();
            assert!((total - 1.0).abs() <= 0.0002, "shares add up to {total}");
            for d in &r.dimensions {
                assert!(d.score.is_some_and(|s| (0.0..=100.0).contains(&s)), "{d:?}");
            }
        }
        assert_eq!(
            r.low,
            r.overall.is_some_and(|o| o < setup.low_score_threshold)
        );
    }
    let items = follow_ups(&checked.title, setup, &out, AccountId(1), i64::MAX);
    assert_eq!(items.len(), out.iter().filter(|r| r.low).count());
    Ok(())
}

fn sound(new: &NewAppraisal, checked: &CheckedAppraisal) {
    hehe_fuzz::assert_clean_text(&checked.title, MAX_TITLE, &[], "title");
    let setup = &checked.setup;
    assert!((1..=MAX_APPRAISEES).contains(&setup.appraisees.len()));
    assert!((1..=MAX_DIMENSIONS).contains(&setup.dimensions.len()));
    for d in &setup.dimensions {
        assert!(d.weight.is_finite() && d.weight > 0.0 && d.weight <= MAX_WEIGHT);
        assert!((1..=MAX_SCALE).contains(&d.scale));
    }
    let names: BTreeSet<_> = setup.dimensions.iter().map(|d| &d.name).collect();
    assert_eq!(names.len(), setup.dimensions.len());
    let accounts: Vec<_> = setup.appraisees.iter().filter_map(|a| a.account).collect();
    assert_eq!(
        accounts.iter().collect::<BTreeSet<_>>().len(),
        accounts.len()
    );
    assert!(
        setup
            .appraisees
            .iter()
            .all(|a| a.account.is_none() || a.service.is_none())
    );
    assert!((0.0..=100.0).contains(&setup.low_score_threshold));
    assert!(checked.electorate.is_sorted());
    assert_eq!(checked.electorate.len(), new.electorate.len());
}
