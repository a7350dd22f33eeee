//! Shared by the fuzz targets: the server's pure domain rules, and checks of text the rules
//! accepted.
//!
//! `server/src/domain` is compiled into this crate from its source rather than through a
//! dependency on `hehe-server`: that crate pulls in some 340 crates (sqlx, Redis, axum…), which
//! built with sanitizers would take many minutes on CI, while the domain needs only the protocol
//! and serde. The domain promises no I/O; if it ever imports more, this crate stops building.

#[path = "../../../server/src/domain/mod.rs"]
pub mod domain;

/// A person's text as the rules keep it: trimmed, not empty, at most `max` characters, and no
/// control characters but those in `allowed`.
pub fn assert_clean_text(text: &str, max: usize, allowed: &[char], what: &str) {
    assert_eq!(text, text.trim(), "{what}: kept untrimmed");
    assert!(!text.is_empty(), "{what}: kept empty");
    assert!(text.chars().count() <= max, "{what}: longer than {max}");
    assert!(
        text.chars()
            .all(|c| !c.is_control() || allowed.contains(&c)),
        "{what}: kept a control character"
    );
}

use arbitrary::{Arbitrary, Result, Unstructured};

/// Text a person might send: anything at all, or something near the rules' edges (blank,
/// padded, a control character, around the longest allowed length).
pub fn any_text(u: &mut Unstructured<'_>) -> Result<String> {
    Ok(match u.int_in_range(0..=5)? {
        0 => String::new(),
        1 => format!("  {}\n", String::arbitrary(u)?),
        2 => {
            let c = u.choose(&[
                '字', 'a', ' ', '\n', '\t', '\u{0}', '\u{1b}', '\u{85}', '\u{2028}',
            ])?;
            c.to_string().repeat(u.int_in_range(1990..=2010)?)
        }
        3 => format!(
            "ok{}",
            u.choose(&['\u{0}', '\u{7}', '\u{1b}', '\r', '\u{7f}', '\u{9f}'])?
        ),
        _ => String::arbitrary(u)?,
    })
}

pub fn any_optional_text(u: &mut Unstructured<'_>) -> Result<Option<String>> {
    Ok(if u.arbitrary()? {
        Some(any_text(u)?)
    } else {
        None
    })
}
