//! Phone numbers: parsed with libphonenumber's rules (the `phonenumber` crate), stored in E.164
//! (`+8613812345678`) so one person cannot hold two spellings of one number, and shown masked
//! to anyone who is not staff of the person's place.

use std::fmt;

/// A valid phone number in E.164 form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Phone(String);

/// Why a phone number was refused, as a sentence for the person who typed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("请填写手机号码。 Please enter a phone number.")]
    Empty,
    #[error(
        "这不是有效的手机号码，请检查后重填（境外号码请以 + 和国家代码开头）。 \
         This is not a valid phone number: check it (numbers outside China start with + and \
         the country code)."
    )]
    Invalid,
}

impl Phone {
    /// Reads a number as people type it: spaces, dashes and brackets allowed; without a `+` it
    /// is read as a number in mainland China, where Hehe's residents are.
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(PhoneError::Empty);
        }
        // Bounded before parsing: libphonenumber reads at most a few dozen characters anyway.
        if raw.chars().count() > 32 {
            return Err(PhoneError::Invalid);
        }
        let region = if raw.starts_with('+') {
            None
        } else {
            Some(phonenumber::country::Id::CN)
        };
        let number = phonenumber::parse(region, raw).map_err(|_| PhoneError::Invalid)?;
        if !phonenumber::is_valid(&number) {
            return Err(PhoneError::Invalid);
        }
        Ok(Phone(
            number.format().mode(phonenumber::Mode::E164).to_string(),
        ))
    }

    /// A number stored by `parse` (E.164), read back without checking it again.
    pub fn from_stored(e164: String) -> Self {
        Phone(e164)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The number with all but its country code's `+`, its first three and its last four
    /// digits hidden: `+86138****5678`. Enough for its owner to recognise, not to call.
    pub fn masked(&self) -> String {
        let digits: Vec<char> = self.0.chars().collect();
        let keep_tail = 4;
        let keep_head = 6.min(digits.len().saturating_sub(keep_tail));
        digits
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if i < keep_head || i >= digits.len() - keep_tail {
                    *c
                } else {
                    '*'
                }
            })
            .collect()
    }
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_mobiles_are_read_in_any_common_spelling() {
        for raw in [
            "13812345678",
            "138 1234 5678",
            "138-1234-5678",
            "+86 138 1234 5678",
            "+8613812345678",
            " 13812345678 ",
        ] {
            assert_eq!(
                Phone::parse(raw).unwrap().as_str(),
                "+8613812345678",
                "{raw}"
            );
        }
    }

    #[test]
    fn numbers_abroad_need_their_country_code() {
        assert_eq!(
            Phone::parse("+44 20 7946 0958").unwrap().as_str(),
            "+442079460958"
        );
    }

    #[test]
    fn nonsense_is_refused_with_a_sentence() {
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
        assert_eq!(Phone::parse("   "), Err(PhoneError::Empty));
        for raw in ["12345", "abc", "1381234567", "+999 1234", &"1".repeat(200)] {
            assert_eq!(Phone::parse(raw), Err(PhoneError::Invalid), "{raw}");
        }
        assert!(PhoneError::Invalid.to_string().contains("phone number"));
    }

    #[test]
    fn masking_keeps_the_start_and_the_last_four_digits() {
        let phone = Phone::parse("13812345678").unwrap();
        assert_eq!(phone.masked(), "+86138****5678");
        assert!(!phone.masked().contains("1234"));
        let short = Phone::from_stored("+123".into());
        assert_eq!(short.masked(), "+123");
    }
}
