//! What an account's own fields must be: a username people can type and read out, a password
//! long enough to resist guessing, a display name on one line. Passwords are checked only when
//! set; the ones already stored are never judged again.

use super::text::{Field, Text, TextError};

pub const USERNAME_CHARS: std::ops::RangeInclusive<usize> = 3..=32;
/// Long rather than complicated: length is what slows guessing (NIST SP 800-63B).
pub const PASSWORD_CHARS: std::ops::RangeInclusive<usize> = 10..=128;
pub const DISPLAY_NAME: Field = Field::line("display name", 64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRefusal {
    #[error(
        "用户名须为 3 到 32 个小写字母、数字、点、连字符或下划线，并以字母或数字开头。\
         A username is 3 to 32 lowercase letters, digits, dots, hyphens or underscores, \
         starting with a letter or digit."
    )]
    Username,
    #[error(
        "密码须为 10 到 128 个字符，且不能全是空格。\
         A password is 10 to 128 characters, not only spaces."
    )]
    Password,
    #[error(transparent)]
    DisplayName(#[from] TextError),
    #[error(
        "拼音名只能包含拉丁字母、空格、连字符、撇号和点，最多 64 个字符。\
         A romanised name is Latin letters, spaces, hyphens, apostrophes and dots, at most 64 \
         characters."
    )]
    RomanisedName,
}

/// A username, as stored: lowercase ASCII letters, digits, `.`, `-`, `_`, starting with a
/// letter or digit. Uppercase is folded, so `Wang.Fang` and `wang.fang` are one account.
pub fn username(raw: &str) -> Result<String, AccountRefusal> {
    let name = raw.trim().to_ascii_lowercase();
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c);
    let starts_well = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    if USERNAME_CHARS.contains(&name.chars().count()) && starts_well && name.chars().all(allowed) {
        Ok(name)
    } else {
        Err(AccountRefusal::Username)
    }
}

/// A new password: kept exactly as typed (no trimming: spaces are characters like others).
pub fn password(raw: &str) -> Result<&str, AccountRefusal> {
    let length = raw.chars().count();
    if PASSWORD_CHARS.contains(&length) && !raw.trim().is_empty() && !raw.contains(['\n', '\r']) {
        Ok(raw)
    } else {
        Err(AccountRefusal::Password)
    }
}

pub fn display_name(raw: &str) -> Result<Text, AccountRefusal> {
    Ok(Text::parse(raw, &DISPLAY_NAME)?)
}

/// A romanised name (`Wang Fang`, `Lü Xiaoming`): Latin letters, with spaces, hyphens,
/// apostrophes and dots between. Empty means none.
pub fn romanised_name(raw: &str) -> Result<Option<String>, AccountRefusal> {
    let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if name.is_empty() {
        return Ok(None);
    }
    // Latin letters: ASCII and the Latin-1 and Latin Extended-A/B blocks (ü, ǚ, é).
    let latin =
        |c: char| c.is_alphabetic() && (c.is_ascii() || ('\u{C0}'..='\u{24F}').contains(&c));
    let allowed = |c: char| latin(c) || " -'.".contains(c);
    if name.chars().count() <= 64 && name.chars().all(allowed) && name.chars().any(latin) {
        Ok(Some(name))
    } else {
        Err(AccountRefusal::RomanisedName)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        for good in ["admin", "wang.fang", "li-wei_2", "007", "Wang.Fang "] {
            assert!(username(good).is_ok(), "{good:?}");
        }
        assert_eq!(username(" Wang.Fang ").unwrap(), "wang.fang");
        for bad in [
            "",
            "ab",
            ".admin",
            "-x-",
            "王芳",
            "a b c",
            "admin@x",
            &"a".repeat(33),
        ] {
            assert_eq!(username(bad), Err(AccountRefusal::Username), "{bad:?}");
        }
    }

    #[test]
    fn passwords() {
        for good in [
            "correct horse",
            "0123456789",
            "  padded   pw  ",
            &"密".repeat(10),
        ] {
            assert!(password(good).is_ok(), "{good:?}");
        }
        for bad in [
            "short",
            "123456789",
            "          ",
            "line\nbreak!!",
            &"x".repeat(129),
        ] {
            assert_eq!(password(bad), Err(AccountRefusal::Password), "{bad:?}");
        }
        assert_eq!(password(" keep  me  ").unwrap(), " keep  me  ");
    }

    #[test]
    fn display_names_are_one_line() {
        assert_eq!(display_name(" 王芳 ").unwrap().as_str(), "王芳");
        assert!(display_name("").is_err());
        assert!(display_name("王\n芳").is_err());
        assert!(display_name(&"名".repeat(65)).is_err());
    }

    #[test]
    fn romanised_names_are_latin_letters() {
        for (raw, expected) in [
            ("Wang Fang", Some("Wang Fang")),
            ("  Lü   Xiaoming ", Some("Lü Xiaoming")),
            ("O'Neil-Smith Jr.", Some("O'Neil-Smith Jr.")),
            ("", None),
            ("   ", None),
        ] {
            assert_eq!(romanised_name(raw).unwrap().as_deref(), expected, "{raw:?}");
        }
        for bad in ["王芳", "Wang2", "--", "Wang\tFang\u{7}", &"a".repeat(65)] {
            assert_eq!(
                romanised_name(bad),
                Err(AccountRefusal::RomanisedName),
                "{bad:?}"
            );
        }
    }
}
