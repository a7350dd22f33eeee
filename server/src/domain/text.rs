//! Text a person writes, parsed once at the edge: every title, message, reason and minute in
//! Hehe goes through `Text::parse`, so one rule holds everywhere.
//!
//! The rule: surrounding white space is trimmed; what is left must not be empty and must fit the
//! field's length in characters. A body (a description, a message, minutes) may hold line breaks
//! and tabs; a line (a title, a name, an agenda item, a vote's option) holds neither. No text
//! holds any other control character: a NUL cannot even be stored in PostgreSQL, a carriage
//! return rewrites what a log line shows, and an escape sequence restyles a terminal.

/// Whether a field is one line or may run over several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Line,
    Body,
}

/// A text field: its name in messages, its shape and its longest length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub max_chars: usize,
}

impl Field {
    pub const fn line(name: &'static str, max_chars: usize) -> Self {
        Self {
            name,
            shape: Shape::Line,
            max_chars,
        }
    }

    pub const fn body(name: &'static str, max_chars: usize) -> Self {
        Self {
            name,
            shape: Shape::Body,
            max_chars,
        }
    }
}

/// The body of a channel message.
pub const MESSAGE: Field = Field::body("text", 2000);

/// Text that passed the rule: trimmed, not empty, within its field's bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(String);

/// What is wrong with a text, named after its field so a person knows which one to fix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the {field} {problem}")]
pub struct TextError {
    pub field: &'static str,
    pub problem: Problem,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("is empty")]
    Empty,
    #[error("is longer than {0} characters")]
    TooLong(usize),
    #[error("is one line: it may not hold line breaks or tabs")]
    LineBreak,
    #[error("holds control characters")]
    ControlCharacter,
}

impl Text {
    /// Checks a required text.
    pub fn parse(raw: &str, field: &Field) -> Result<Self, TextError> {
        let fail = |problem| TextError {
            field: field.name,
            problem,
        };
        let text = raw.trim();
        if text.is_empty() {
            return Err(fail(Problem::Empty));
        }
        if text.chars().count() > field.max_chars {
            return Err(fail(Problem::TooLong(field.max_chars)));
        }
        let layout = |c: char| c == '\n' || c == '\t';
        if text.chars().any(|c| c.is_control() && !layout(c)) {
            return Err(fail(Problem::ControlCharacter));
        }
        if field.shape == Shape::Line && text.contains(layout) {
            return Err(fail(Problem::LineBreak));
        }
        Ok(Self(text.to_owned()))
    }

    /// Checks a text that may be left out: absent or blank is `None`, anything else must pass
    /// `parse`.
    pub fn optional(raw: Option<&str>, field: &Field) -> Result<Option<Self>, TextError> {
        match raw.map(str::trim) {
            None | Some("") => Ok(None),
            Some(text) => Self::parse(text, field).map(Some),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl From<Text> for String {
    fn from(text: Text) -> Self {
        text.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TITLE: Field = Field::line("title", 10);
    const BODY: Field = Field::body("description", 10);

    fn problem(raw: &str, field: &Field) -> Option<Problem> {
        Text::parse(raw, field).err().map(|e| e.problem)
    }

    /// Every kind of character, in a line and in a body: the whole rule as a table.
    #[test]
    fn one_rule_for_lines_and_bodies() {
        use Problem::*;
        let cases: [(&str, Option<Problem>, Option<Problem>); 16] = [
            // raw, as a line, as a body
            ("ok", None, None),
            ("  ok \n", None, None),
            ("水管修好了", None, None),
            ("", Some(Empty), Some(Empty)),
            (" \n\t ", Some(Empty), Some(Empty)),
            ("a\nb", Some(LineBreak), None),
            ("a\tb", Some(LineBreak), None),
            ("a\r\nb", Some(ControlCharacter), Some(ControlCharacter)),
            ("a\rb", Some(ControlCharacter), Some(ControlCharacter)),
            ("a\u{0}b", Some(ControlCharacter), Some(ControlCharacter)),
            (
                "\u{1b}[31mred",
                Some(ControlCharacter),
                Some(ControlCharacter),
            ),
            ("a\u{7f}", Some(ControlCharacter), Some(ControlCharacter)),
            ("a\u{85}b", Some(ControlCharacter), Some(ControlCharacter)),
            ("字字字字字字字字字字", None, None),
            (
                "字字字字字字字字字字字",
                Some(TooLong(10)),
                Some(TooLong(10)),
            ),
            ("   字字字字字字字字字字   ", None, None),
        ];
        for (raw, line, body) in cases {
            assert_eq!(problem(raw, &TITLE), line, "{raw:?} as a line");
            assert_eq!(problem(raw, &BODY), body, "{raw:?} as a body");
        }
    }

    #[test]
    fn kept_text_is_trimmed_and_keeps_its_inner_layout() {
        let t = Text::parse(" pipe\n\tok ", &BODY).unwrap();
        assert_eq!(t.as_str(), "pipe\n\tok");
        assert_eq!(String::from(t), "pipe\n\tok");
    }

    #[test]
    fn an_optional_text_may_be_absent_or_blank_but_not_wrong() {
        assert_eq!(Text::optional(None, &BODY), Ok(None));
        assert_eq!(Text::optional(Some("  \n "), &BODY), Ok(None));
        assert_eq!(
            Text::optional(Some(" a "), &BODY)
                .unwrap()
                .unwrap()
                .as_str(),
            "a"
        );
        assert_eq!(
            Text::optional(Some("a\u{0}"), &BODY).map_err(|e| e.problem),
            Err(Problem::ControlCharacter)
        );
    }

    #[test]
    fn messages_name_the_field() {
        let e = |raw: &str| Text::parse(raw, &TITLE).unwrap_err().to_string();
        assert_eq!(e(""), "the title is empty");
        assert_eq!(e(&"a".repeat(11)), "the title is longer than 10 characters");
        assert_eq!(
            e("a\nb"),
            "the title is one line: it may not hold line breaks or tabs"
        );
        assert_eq!(e("a\u{0}"), "the title holds control characters");
    }

    #[test]
    fn messages_are_up_to_2000_characters() {
        assert!(Text::parse(&"字".repeat(2000), &MESSAGE).is_ok());
        assert_eq!(
            problem(&"字".repeat(2001), &MESSAGE),
            Some(Problem::TooLong(2000))
        );
        assert!(Text::parse("line one\nline two", &MESSAGE).is_ok());
    }
}
