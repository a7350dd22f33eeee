//! The text of a published event: `lt <run> <publisher> <seq> <sent µs> <padding>`. The run tag
//! tells this run's events from older ones still in a channel's history; publisher and number
//! identify the event for the accounting; the send time gives the end-to-end latency.

use hehe_protocol::Event;

/// One event of a run, as read back from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub publisher: usize,
    pub seq: u32,
    pub sent_us: u64,
}

/// The text for event `seq` of `publisher`, padded with `x` to at least `size` bytes.
pub fn encode(run: &str, stamp: Stamp, size: usize) -> String {
    let mut text = format!(
        "lt {run} {} {} {}",
        stamp.publisher, stamp.seq, stamp.sent_us
    );
    if text.len() + 1 < size {
        text.push(' ');
        text.extend(std::iter::repeat_n('x', size - text.len()));
    }
    text
}

/// The stamp of a text of run `run`, or `None` for any other text.
pub fn decode(run: &str, text: &str) -> Option<Stamp> {
    let mut words = text.split(' ');
    if words.next()? != "lt" || words.next()? != run {
        return None;
    }
    Some(Stamp {
        publisher: words.next()?.parse().ok()?,
        seq: words.next()?.parse().ok()?,
        sent_us: words.next()?.parse().ok()?,
    })
}

/// The text an event carries: a room's `said` entry (`data.data.text`) or a posted message
/// (`data.text`). Other events (entries of other kinds, tallies, issues) carry none.
pub fn text_of(event: &Event) -> Option<&str> {
    match event.kind.as_str() {
        "room.event" => event.data.get("data")?.get("text")?.as_str(),
        "message" => event.data.get("text")?.as_str(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_round_trip_and_pad() {
        let stamp = Stamp {
            publisher: 3,
            seq: 42,
            sent_us: 1_767_225_600_000_000,
        };
        let text = encode("ab12", stamp, 200);
        assert_eq!(text.len(), 200);
        assert_eq!(decode("ab12", &text), Some(stamp));
        assert_eq!(decode("other", &text), None);
        let short = encode("ab12", stamp, 0);
        assert_eq!(decode("ab12", &short), Some(stamp));
        assert_eq!(decode("ab12", "hello"), None);
    }
}
