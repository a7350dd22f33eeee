//! The rules of verification codes: when another may be sent to a number, and whether a code
//! presented may still be checked. Times are Unix ms; the store supplies what happened before.

/// The settings the rules run on (see `infra::sms::SmsConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeRules {
    /// How long a code stays valid.
    pub ttl_ms: i64,
    /// Wrong tries a code survives; the next refusal after the last spends it.
    pub max_attempts: u32,
    /// How long after a code another may be asked for the same number and purpose.
    pub resend_ms: i64,
    /// Codes per number in any `WINDOW_MS`.
    pub per_number: u32,
    /// Codes per client address in any `WINDOW_MS`.
    pub per_address: u32,
}

/// The sliding window the per-number and per-address counts cover: one hour.
pub const WINDOW_MS: i64 = 3_600_000;

/// What the store counted of the codes asked for lately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Recent {
    /// When the last code for this number and purpose was made.
    pub last_same: Option<i64>,
    /// Codes for this number within the window, and when the oldest of them was made.
    pub number: u32,
    pub number_oldest: Option<i64>,
    /// Codes asked from this address within the window, and when the oldest was.
    pub address: u32,
    pub address_oldest: Option<i64>,
}

/// Why no code is sent now; each says when one may be (ms from now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SendRefusal {
    #[error(
        "验证码刚刚发出，请稍候再获取。A code was sent a moment ago: wait before asking again."
    )]
    TooSoon { retry_after_ms: i64 },
    #[error(
        "这个号码一小时内获取验证码的次数已达上限，请稍后再试。\
         This number has had as many codes as it may in an hour: try again later."
    )]
    NumberBusy { retry_after_ms: i64 },
    #[error(
        "您所在网络获取验证码过于频繁，请稍后再试。\
         Too many codes were asked from your network: try again later."
    )]
    AddressBusy { retry_after_ms: i64 },
}

impl SendRefusal {
    pub fn retry_after_ms(self) -> i64 {
        match self {
            SendRefusal::TooSoon { retry_after_ms }
            | SendRefusal::NumberBusy { retry_after_ms }
            | SendRefusal::AddressBusy { retry_after_ms } => retry_after_ms,
        }
    }
}

/// Whether another code may be made now. The resend pause comes first: it is the one a person
/// meets by tapping "send" twice, and says the shortest wait.
pub fn may_send(rules: &CodeRules, recent: &Recent, now: i64) -> Result<(), SendRefusal> {
    if let Some(last) = recent.last_same
        && now < last + rules.resend_ms
    {
        return Err(SendRefusal::TooSoon {
            retry_after_ms: last + rules.resend_ms - now,
        });
    }
    let until_window_frees = |oldest: Option<i64>| (oldest.unwrap_or(now) + WINDOW_MS - now).max(1);
    if recent.number >= rules.per_number {
        return Err(SendRefusal::NumberBusy {
            retry_after_ms: until_window_frees(recent.number_oldest),
        });
    }
    if recent.address >= rules.per_address {
        return Err(SendRefusal::AddressBusy {
            retry_after_ms: until_window_frees(recent.address_oldest),
        });
    }
    Ok(())
}

/// A stored code as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeState {
    pub expires_at: i64,
    pub attempts: u32,
    pub used: bool,
}

/// Why a code presented is not accepted. Every refusal says what to do next; none tells a
/// number with an account from one without (both have a code row, see `app::codes`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefusal {
    #[error(
        "验证码不正确或已失效，请重新获取。The code is wrong or no longer valid: ask for a new one."
    )]
    Missing,
    #[error("验证码已过期，请重新获取。The code has expired: ask for a new one.")]
    Expired,
    #[error("验证码已使用过，请重新获取。The code was used already: ask for a new one.")]
    Used,
    #[error(
        "输错次数过多，此验证码已作废，请重新获取。Too many wrong tries: this code is void, ask for a new one."
    )]
    Exhausted,
    #[error("验证码不正确，还可以再试 {left} 次。The code is wrong: {left} more tries.")]
    Wrong { left: u32 },
}

/// Whether the code may be compared with what was typed at `now`.
pub fn checkable(rules: &CodeRules, code: Option<&CodeState>, now: i64) -> Result<(), CodeRefusal> {
    let code = code.ok_or(CodeRefusal::Missing)?;
    if code.used {
        Err(CodeRefusal::Used)
    } else if code.attempts >= rules.max_attempts {
        Err(CodeRefusal::Exhausted)
    } else if now >= code.expires_at {
        Err(CodeRefusal::Expired)
    } else {
        Ok(())
    }
}

/// The refusal after a wrong try that brought the code to `attempts` wrong tries.
pub fn after_wrong_try(rules: &CodeRules, attempts: u32) -> CodeRefusal {
    match rules.max_attempts.saturating_sub(attempts) {
        0 => CodeRefusal::Exhausted,
        left => CodeRefusal::Wrong { left },
    }
}

/// What a person types is compared after dropping spaces and dashes (`123 456`, `ABCD-2345`)
/// and folding case, so that reading a code aloud or off a slip does not fail.
pub fn normalise(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_uppercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: CodeRules = CodeRules {
        ttl_ms: 600_000,
        max_attempts: 5,
        resend_ms: 60_000,
        per_number: 5,
        per_address: 20,
    };
    const NOW: i64 = 10_000_000;

    #[test]
    fn sending_follows_the_resend_pause_then_the_hourly_counts() {
        let recent = |last_same, number, address| Recent {
            last_same,
            number,
            number_oldest: Some(NOW - 1_000_000),
            address,
            address_oldest: Some(NOW - 3_000_000),
        };
        use SendRefusal::*;
        let table: [(&str, Recent, Result<(), SendRefusal>); 8] = [
            ("nothing before", Recent::default(), Ok(())),
            (
                "one a second ago",
                recent(Some(NOW - 1_000), 1, 1),
                Err(TooSoon {
                    retry_after_ms: 59_000,
                }),
            ),
            (
                "one just before the pause ends",
                recent(Some(NOW - 59_999), 1, 1),
                Err(TooSoon { retry_after_ms: 1 }),
            ),
            (
                "one as the pause ends",
                recent(Some(NOW - 60_000), 1, 1),
                Ok(()),
            ),
            ("four this hour", recent(Some(NOW - 60_000), 4, 4), Ok(())),
            (
                "five this hour",
                recent(Some(NOW - 60_000), 5, 5),
                Err(NumberBusy {
                    retry_after_ms: 2_600_000,
                }),
            ),
            (
                "the address's twentieth",
                recent(Some(NOW - 60_000), 1, 20),
                Err(AddressBusy {
                    retry_after_ms: 600_000,
                }),
            ),
            // Too soon and too many: the shorter wait is said.
            (
                "both",
                recent(Some(NOW - 10_000), 5, 20),
                Err(TooSoon {
                    retry_after_ms: 50_000,
                }),
            ),
        ];
        for (name, recent, expected) in table {
            assert_eq!(may_send(&RULES, &recent, NOW), expected, "{name}");
        }
    }

    #[test]
    fn a_code_is_checkable_until_it_expires_is_used_or_runs_out_of_tries() {
        let code = |expires_at, attempts, used| CodeState {
            expires_at,
            attempts,
            used,
        };
        use CodeRefusal::*;
        let table = [
            ("none", None, Err(Missing)),
            ("fresh", Some(code(NOW + 1, 0, false)), Ok(())),
            ("four wrong tries", Some(code(NOW + 1, 4, false)), Ok(())),
            (
                "five wrong tries",
                Some(code(NOW + 1, 5, false)),
                Err(Exhausted),
            ),
            ("at its expiry", Some(code(NOW, 0, false)), Err(Expired)),
            ("used", Some(code(NOW + 1, 0, true)), Err(Used)),
            ("used and expired", Some(code(NOW - 1, 0, true)), Err(Used)),
        ];
        for (name, state, expected) in table {
            assert_eq!(checkable(&RULES, state.as_ref(), NOW), expected, "{name}");
        }
    }

    #[test]
    fn wrong_tries_count_down_to_void() {
        let left: Vec<CodeRefusal> = (1..=6).map(|n| after_wrong_try(&RULES, n)).collect();
        use CodeRefusal::*;
        assert_eq!(
            left,
            [
                Wrong { left: 4 },
                Wrong { left: 3 },
                Wrong { left: 2 },
                Wrong { left: 1 },
                Exhausted,
                Exhausted
            ]
        );
        assert!(Wrong { left: 2 }.to_string().contains("2 more tries"));
    }

    #[test]
    fn typed_codes_are_normalised() {
        for (typed, expected) in [
            ("123456", "123456"),
            (" 123 456 ", "123456"),
            ("abcd-2345", "ABCD2345"),
            ("", ""),
        ] {
            assert_eq!(normalise(typed), expected, "{typed:?}");
        }
    }

    #[test]
    fn refusals_speak_chinese_first_then_english() {
        for r in [
            CodeRefusal::Missing,
            CodeRefusal::Expired,
            CodeRefusal::Used,
            CodeRefusal::Exhausted,
        ] {
            let s = r.to_string();
            assert!(!s.starts_with(|c: char| c.is_ascii()), "{s}");
            assert!(s.contains("ask for a new one"), "{s}");
        }
    }
}
