//! An issue's deadline clocks: when each one warns and falls due, which ones stop and start as
//! the issue changes, and the mark a missed one leaves for statistics. The time is passed in.

use super::calendar::Calendar;
use super::category::{WARN_PERCENT, limit};
use super::issue::{Issue, running_clocks};
use hehe_protocol::issue::{Clock, IssueState, Priority};

/// A clock to start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NewDeadline {
    pub clock: Clock,
    pub started_at: i64,
    pub warn_at: i64,
    pub due_at: i64,
}

/// What a change does to the clocks: those to stop, then those to start.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClockChanges {
    pub stop: Vec<Clock>,
    pub start: Vec<NewDeadline>,
}

/// `clocks` started at `now` for an issue of `priority`. The warning goes out when a share of
/// the clock's time has passed, counted the same way as the time itself (working time unless
/// the priority is red).
pub fn start(
    calendar: &Calendar,
    clocks: &[Clock],
    priority: Priority,
    now: i64,
) -> Vec<NewDeadline> {
    clocks
        .iter()
        .map(|&clock| {
            let limit = limit(clock, priority);
            NewDeadline {
                clock,
                started_at: now,
                warn_at: calendar.due(now, limit * WARN_PERCENT / 100, priority),
                due_at: calendar.due(now, limit, priority),
            }
        })
        .collect()
}

/// The clocks a newly raised issue starts with.
pub fn first(calendar: &Calendar, priority: Priority, now: i64) -> Vec<NewDeadline> {
    start(
        calendar,
        running_clocks(IssueState::Submitted),
        priority,
        now,
    )
}

/// Which clocks stop and which start when `old` becomes `new`: those the new state does not run
/// stop, those it newly runs start, and all restart when the level, the priority or the count
/// of reopens changed, as each gives the work a fresh deadline.
pub fn changes(calendar: &Calendar, old: &Issue, new: &Issue, now: i64) -> ClockChanges {
    let before = running_clocks(old.state);
    let after = running_clocks(new.state);
    let restart = old.level != new.level
        || old.priority != new.priority
        || old.reopen_count != new.reopen_count;
    let stop = before
        .iter()
        .copied()
        .filter(|c| restart || !after.contains(c))
        .collect();
    let begin: Vec<Clock> = after
        .iter()
        .copied()
        .filter(|c| restart || !before.contains(c))
        .collect();
    ClockChanges {
        stop,
        start: start(calendar, &begin, new.priority, now),
    }
}

/// A clock's bit in an issue's record of missed clocks: once set, it stays.
pub fn clock_bit(clock: Clock) -> i64 {
    match clock {
        Clock::Accept => 1,
        Clock::Acknowledge => 2,
        Clock::Resolve => 4,
        Clock::Rate => 8,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::calendar::days_from_civil;
    use crate::domain::category::{DAY, HOUR, MINUTE};
    use crate::domain::places::PlacePath;
    use hehe_protocol::issue::Level;
    use hehe_protocol::{AccountId, IssueId, PlaceId};
    use std::collections::BTreeSet;

    const CLOCKS: [Clock; 4] = [
        Clock::Accept,
        Clock::Acknowledge,
        Clock::Resolve,
        Clock::Rate,
    ];
    const PRIORITIES: [Priority; 3] = [Priority::Red, Priority::Yellow, Priority::Blue];

    /// Friday 2026-11-27, 12:00 in China.
    fn friday_noon() -> i64 {
        days_from_civil(2026, 11, 27) * DAY + 4 * HOUR
    }

    fn issue(state: IssueState) -> Issue {
        let place = PlacePath::grid(PlaceId(1), PlaceId(10), PlaceId(100));
        Issue {
            id: IssueId(1),
            state,
            priority: Priority::Yellow,
            level: Level::Community,
            place,
            reporter: AccountId(1),
            public: true,
            assignee: None,
            resolution: None,
            closure: None,
            rated: None,
            duplicate_of: None,
            reopen_count: 0,
            return_count: 0,
            has_after_photo: false,
        }
    }

    #[test]
    fn due_and_warning_times() {
        let cal = Calendar::default();
        let now = friday_noon();
        // Clock, priority, due after, warned after: red counts the weekend, the others do not.
        // 24 working hours from Friday noon end on Monday noon; 80 % of them (19.2 h) on Monday
        // at 07:12, after 12 hours on Friday and none at the weekend.
        const MONDAY_0712: i64 = 12 * HOUR + 2 * DAY + 7 * HOUR + 12 * MINUTE;
        let table = [
            (Clock::Acknowledge, Priority::Red, 30 * MINUTE, 24 * MINUTE),
            (Clock::Accept, Priority::Red, HOUR, 48 * MINUTE),
            (Clock::Resolve, Priority::Red, 2 * HOUR, 96 * MINUTE),
            (Clock::Accept, Priority::Yellow, 4 * HOUR, 192 * MINUTE),
            (Clock::Resolve, Priority::Yellow, 3 * DAY, MONDAY_0712),
            (Clock::Accept, Priority::Blue, 3 * DAY, MONDAY_0712),
            (
                Clock::Rate,
                Priority::Red,
                7 * DAY,
                5 * DAY + 14 * HOUR + 24 * MINUTE,
            ),
        ];
        for (clock, priority, due_after, warn_after) in table {
            let [d] = start(&cal, &[clock], priority, now)[..] else {
                panic!("one clock in, one deadline out");
            };
            assert_eq!(d.clock, clock);
            assert_eq!(d.started_at, now);
            assert_eq!(d.due_at - now, due_after, "{clock:?} {priority:?} due");
            assert_eq!(
                d.warn_at - now,
                warn_after,
                "{clock:?} {priority:?} warning"
            );
        }
    }

    #[test]
    fn a_warning_comes_before_its_deadline_and_after_the_start() {
        let cal = Calendar::default();
        for priority in PRIORITIES {
            for d in start(&cal, &CLOCKS, priority, friday_noon()) {
                assert!(d.started_at < d.warn_at && d.warn_at < d.due_at, "{d:?}");
                assert_eq!(
                    d.due_at,
                    cal.due(d.started_at, limit(d.clock, priority), priority)
                );
            }
        }
    }

    #[test]
    fn a_new_issue_runs_the_accept_clock() {
        let cal = Calendar::default();
        let clocks: Vec<Clock> = first(&cal, Priority::Red, 0)
            .iter()
            .map(|d| d.clock)
            .collect();
        assert_eq!(clocks, [Clock::Accept]);
    }

    /// Every state into every state, with and without a restart: what runs after the change is
    /// exactly what the new state runs, and nothing stops that did not run or starts twice.
    #[test]
    fn every_change_leaves_the_new_states_clocks_running() {
        let cal = Calendar::default();
        let now = friday_noon();
        let restarts: [fn(&mut Issue); 4] = [
            |_| {},
            |i| i.level = Level::Street,
            |i| i.priority = Priority::Red,
            |i| i.reopen_count += 1,
        ];
        for from in IssueState::ALL {
            for to in IssueState::ALL {
                for (n, restart) in restarts.iter().enumerate() {
                    let old = issue(from);
                    let mut new = issue(to);
                    restart(&mut new);
                    let ClockChanges { stop, start } = changes(&cal, &old, &new, now);
                    let before: BTreeSet<&str> =
                        running_clocks(from).iter().map(|c| c.as_str()).collect();
                    let after: BTreeSet<&str> =
                        running_clocks(to).iter().map(|c| c.as_str()).collect();
                    let stopped: BTreeSet<&str> = stop.iter().map(|c| c.as_str()).collect();
                    let started: BTreeSet<&str> = start.iter().map(|d| d.clock.as_str()).collect();
                    let case = format!("{from:?} → {to:?}, restart {n}");
                    assert_eq!(stopped.len(), stop.len(), "{case}: stopped twice");
                    assert_eq!(started.len(), start.len(), "{case}: started twice");
                    assert!(
                        stopped.is_subset(&before),
                        "{case}: stops a clock not running"
                    );
                    let running: BTreeSet<&str> = before
                        .difference(&stopped)
                        .chain(&started)
                        .copied()
                        .collect();
                    assert_eq!(running, after, "{case}");
                    if n == 0 {
                        // Without a restart, a clock both states run keeps running untouched.
                        let kept: BTreeSet<&str> = before.intersection(&after).copied().collect();
                        assert!(kept.is_disjoint(&stopped), "{case}");
                        assert!(kept.is_disjoint(&started), "{case}");
                    } else {
                        assert_eq!(stopped, before, "{case}: a restart stops all");
                        assert_eq!(started, after, "{case}: a restart starts all");
                    }
                    for d in &start {
                        assert_eq!(d.started_at, now);
                        assert_eq!(
                            d.due_at,
                            cal.due(now, limit(d.clock, new.priority), new.priority)
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn each_clock_has_a_bit_of_its_own() {
        let bits: Vec<i64> = CLOCKS.iter().map(|&c| clock_bit(c)).collect();
        assert_eq!(bits, [1, 2, 4, 8]);
    }
}
