//! Working time. Yellow and blue deadlines count working days only (weekends and holidays
//! pause them); red ones count every hour, because a gas smell cannot wait for Monday.

use super::category::DAY;
use hehe_protocol::issue::Priority;
use std::collections::BTreeSet;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    /// Offset of local time from UTC, in ms (China: +8 h).
    pub utc_offset: i64,
    /// Local days (days since 1970-01-01) that are holidays.
    pub holidays: BTreeSet<i64>,
    /// Local days that are working days although they fall on a weekend (调休).
    pub working_weekends: BTreeSet<i64>,
}

impl Default for Calendar {
    fn default() -> Self {
        Self {
            utc_offset: 8 * 3_600_000,
            holidays: BTreeSet::new(),
            working_weekends: BTreeSet::new(),
        }
    }
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian), after H. Hinnant's algorithm.
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a count of days since 1970-01-01 (the inverse of `days_from_civil`).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// Parses `YYYY-MM-DD`.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let year: i64 = parts.next()?.parse().ok()?;
    let month: u32 = parts.next()?.parse().ok()?;
    let day: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    Some(days_from_civil(year, month, day))
}

impl Calendar {
    /// The local date of a moment, `YYYY-MM-DD`, and its hour.
    pub fn local_date(&self, t: i64) -> (String, u32) {
        let (y, m, d) = civil_from_days(self.local_day(t));
        let hour = ((t + self.utc_offset).rem_euclid(DAY) / 3_600_000) as u32;
        (format!("{y:04}-{m:02}-{d:02}"), hour)
    }

    fn local_day(&self, t: i64) -> i64 {
        (t + self.utc_offset).div_euclid(DAY)
    }

    /// Start of a local day, as a UTC timestamp.
    fn day_start(&self, day: i64) -> i64 {
        day * DAY - self.utc_offset
    }

    pub fn is_working_day(&self, day: i64) -> bool {
        // 1970-01-01 was a Thursday: day 0 → weekday 4 (0 = Sunday).
        let weekday = (day + 4).rem_euclid(7);
        let weekend = weekday == 0 || weekday == 6;
        if self.working_weekends.contains(&day) {
            return true;
        }
        !weekend && !self.holidays.contains(&day)
    }

    /// The moment `duration` of working time after `start`.
    pub fn add_working(&self, start: i64, duration: i64) -> i64 {
        let mut t = start;
        let mut left = duration.max(0);
        // Bounded: a year of holidays cannot stop the clock forever.
        for _ in 0..4000 {
            let day = self.local_day(t);
            let day_end = self.day_start(day + 1);
            if self.is_working_day(day) {
                if t + left <= day_end {
                    return t + left;
                }
                left -= day_end - t;
            }
            t = day_end;
        }
        t + left
    }

    /// The deadline of a clock started at `start`: red priorities count every hour.
    pub fn due(&self, start: i64, duration: i64, priority: Priority) -> i64 {
        match priority {
            Priority::Red => start + duration,
            Priority::Yellow | Priority::Blue => self.add_working(start, duration),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::category::HOUR;

    /// Local noon of a date in China, as UTC ms.
    fn noon(y: i64, m: u32, d: u32) -> i64 {
        days_from_civil(y, m, d) * DAY + 12 * HOUR - 8 * HOUR
    }

    #[test]
    fn civil_dates_round_trip_and_local_dates_follow_the_offset() {
        for days in [-800_000, -1, 0, 59, 60, 365, 11_016, 20_000, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{days}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(days_from_civil(2024, 2, 29)), (2024, 2, 29));
        let cal = Calendar::default();
        // 23:30 UTC on 7 Dec is 07:30 on 8 Dec in China.
        let t = days_from_civil(2026, 12, 7) * DAY + 23 * HOUR + 30 * 60_000;
        assert_eq!(cal.local_date(t), ("2026-12-08".to_string(), 7));
    }

    #[test]
    fn civil_days() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(2026, 11, 26), 20_783);
        assert_eq!(parse_day("2026-11-26"), Some(20_783));
        assert_eq!(parse_day("2026-13-01"), None);
        assert_eq!(parse_day("26-11"), None);
    }

    #[test]
    fn weekdays_run_and_weekends_pause() {
        let cal = Calendar::default();
        // 2026-11-27 is a Friday.
        let friday_noon = noon(2026, 11, 27);
        assert!(cal.is_working_day(days_from_civil(2026, 11, 27)));
        assert!(!cal.is_working_day(days_from_civil(2026, 11, 28)));
        assert_eq!(
            cal.add_working(friday_noon, 2 * HOUR),
            friday_noon + 2 * HOUR
        );
        // 24 working hours from Friday noon end on Monday noon.
        assert_eq!(cal.add_working(friday_noon, DAY), noon(2026, 11, 30));
        // A clock started on Saturday starts on Monday at midnight.
        let saturday = noon(2026, 11, 28);
        assert_eq!(
            cal.add_working(saturday, HOUR),
            noon(2026, 11, 30) - 11 * HOUR
        );
        // Red counts the weekend.
        assert_eq!(cal.due(friday_noon, DAY, Priority::Red), noon(2026, 11, 28));
        assert_eq!(
            cal.due(friday_noon, DAY, Priority::Blue),
            noon(2026, 11, 30)
        );
    }

    #[test]
    fn holidays_pause_and_make_up_days_run() {
        let mut cal = Calendar::default();
        let monday = days_from_civil(2026, 11, 30);
        cal.holidays.insert(monday);
        assert_eq!(cal.add_working(noon(2026, 11, 27), DAY), noon(2026, 12, 1));
        cal.working_weekends.insert(days_from_civil(2026, 11, 28));
        assert_eq!(cal.add_working(noon(2026, 11, 27), DAY), noon(2026, 11, 28));
    }

    #[test]
    fn working_time_is_monotonic_and_additive() {
        let cal = Calendar::default();
        let start = noon(2026, 11, 25);
        let mut last = start;
        for hours in 0..200 {
            let due = cal.add_working(start, hours * HOUR);
            assert!(due >= last);
            last = due;
            // Adding in two steps lands where adding at once does.
            let half = cal.add_working(start, hours * HOUR / 2);
            assert_eq!(cal.add_working(half, hours * HOUR - hours * HOUR / 2), due);
        }
    }
}
