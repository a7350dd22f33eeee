//! Issue categories and their deadline policies.

use hehe_protocol::issue::{CategoryInfo, Clock, Priority};

/// Milliseconds, the unit of every stored time.
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Category {
    pub code: &'static str,
    pub name: &'static str,
    pub name_zh: &'static str,
    pub default_priority: Priority,
    /// Physical work: completing it needs an `after` photo.
    pub requires_after_photo: bool,
    /// Completed work is checked by an official before the reporter is asked to rate.
    pub requires_verification: bool,
    /// Reopens (a "not fixed" rating) after which the next one escalates instead.
    pub reopen_limit: u32,
}

const fn category(
    code: &'static str,
    name: &'static str,
    name_zh: &'static str,
    default_priority: Priority,
    requires_after_photo: bool,
    requires_verification: bool,
) -> Category {
    Category {
        code,
        name,
        name_zh,
        default_priority,
        requires_after_photo,
        requires_verification,
        reopen_limit: 2,
    }
}

pub const CATEGORIES: [Category; 9] = [
    category(
        "drainage",
        "Drainage",
        "排水管道",
        Priority::Yellow,
        true,
        true,
    ),
    category(
        "roof_leak",
        "Roof leak",
        "屋顶漏水",
        Priority::Yellow,
        true,
        true,
    ),
    category(
        "clutter",
        "Clutter in stairwells and garages",
        "楼道车库堆物",
        Priority::Blue,
        true,
        false,
    ),
    category(
        "parking",
        "Parking",
        "停车管理",
        Priority::Blue,
        false,
        false,
    ),
    category("noise", "Noise", "噪音扰民", Priority::Blue, false, false),
    category(
        "safety",
        "Safety hazard",
        "安全隐患",
        Priority::Red,
        true,
        true,
    ),
    category(
        "environment",
        "Environment and sanitation",
        "环境卫生",
        Priority::Blue,
        true,
        false,
    ),
    category(
        "elderly_care",
        "Elderly care",
        "助老服务",
        Priority::Yellow,
        false,
        false,
    ),
    category("other", "Other", "其他", Priority::Blue, false, false),
];

pub fn find(code: &str) -> Option<&'static Category> {
    CATEGORIES.iter().find(|c| c.code == code)
}

impl Category {
    pub fn info(&self) -> CategoryInfo {
        CategoryInfo {
            code: self.code.into(),
            name: self.name.into(),
            name_zh: self.name_zh.into(),
            default_priority: self.default_priority,
            requires_after_photo: self.requires_after_photo,
            requires_verification: self.requires_verification,
        }
    }
}

/// How long each clock runs, in working time (see `calendar`), for a priority.
pub fn limit(clock: Clock, priority: Priority) -> i64 {
    use Priority::*;
    match (clock, priority) {
        (Clock::Accept, Red) => HOUR,
        (Clock::Accept, Yellow) => 4 * HOUR,
        (Clock::Accept, Blue) => DAY,
        (Clock::Acknowledge, Red) => 30 * MINUTE,
        (Clock::Acknowledge, Yellow) => 4 * HOUR,
        (Clock::Acknowledge, Blue) => DAY,
        (Clock::Resolve, Red) => 2 * HOUR,
        (Clock::Resolve, Yellow) => DAY,
        (Clock::Resolve, Blue) => 3 * DAY,
        (Clock::Rate, _) => 7 * DAY,
    }
}

/// The share of a clock after which a warning goes out, in percent.
pub const WARN_PERCENT: i64 = 80;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_found() {
        for c in &CATEGORIES {
            assert_eq!(find(c.code), Some(c));
            assert_eq!(CATEGORIES.iter().filter(|d| d.code == c.code).count(), 1);
        }
        assert_eq!(find("dragons"), None);
    }

    #[test]
    fn more_urgent_means_shorter() {
        for clock in [Clock::Accept, Clock::Acknowledge, Clock::Resolve] {
            assert!(limit(clock, Priority::Red) < limit(clock, Priority::Yellow));
            assert!(limit(clock, Priority::Yellow) < limit(clock, Priority::Blue));
        }
        assert_eq!(limit(Clock::Resolve, Priority::Red), 2 * HOUR);
        assert_eq!(limit(Clock::Resolve, Priority::Yellow), 24 * HOUR);
        assert_eq!(limit(Clock::Resolve, Priority::Blue), 72 * HOUR);
    }
}
