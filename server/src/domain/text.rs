//! Checked text a person writes, parsed once at the edge.

/// The body of a channel message: trimmed, 1 to `MAX_CHARS` characters, no control characters
/// other than line breaks and tabs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("the text is empty")]
    Empty,
    #[error("the text is longer than 2000 characters")]
    TooLong,
    #[error("the text holds control characters")]
    ControlCharacter,
}

impl MessageText {
    pub const MAX_CHARS: usize = 2000;

    pub fn parse(raw: &str) -> Result<Self, TextError> {
        let text = raw.trim();
        if text.is_empty() {
            return Err(TextError::Empty);
        }
        if text.chars().count() > Self::MAX_CHARS {
            return Err(TextError::TooLong);
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(TextError::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            MessageText::parse("  水管修好了 \n").unwrap().as_str(),
            "水管修好了"
        );
        assert_eq!(MessageText::parse(" \n\t "), Err(TextError::Empty));
        assert_eq!(
            MessageText::parse("a\u{0}b"),
            Err(TextError::ControlCharacter)
        );
        assert!(MessageText::parse(&"字".repeat(2000)).is_ok());
        assert_eq!(
            MessageText::parse(&"字".repeat(2001)),
            Err(TextError::TooLong)
        );
        assert!(MessageText::parse("line one\nline two").is_ok());
    }
}
