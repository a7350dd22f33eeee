//! Reading a run's writes back over the HTTP API after recovery: the channel's stored messages
//! and the community's issues, newest first, down to the run's start. Every acknowledged write
//! must be there exactly once, under the id its reply named.

use super::writers::Ack;
use anyhow::Context;
use hehe_client::HttpClient;
use hehe_protocol::Channel;
use std::collections::BTreeMap;

/// Pages read at most per list: 200 a page, far more than a bounded run writes.
const MAX_PAGES: usize = 200;
const PAGE: u32 = 200;

/// This run's writes as stored: text (post) or title (issue) → the ids stored under it.
#[derive(Debug, Default)]
pub struct Found {
    pub messages: BTreeMap<String, Vec<i64>>,
    pub issues: BTreeMap<String, Vec<i64>>,
}

/// Reads this run's messages of `channel` and issues of its community (a home channel).
pub async fn run_writes(
    http: &HttpClient,
    token: &str,
    channel: Channel,
    tag: &str,
    since_ms: i64,
) -> anyhow::Result<Found> {
    let mut found = Found::default();
    let mut before = None;
    for _ in 0..MAX_PAGES {
        let page = http
            .messages(token, channel, before, Some(PAGE))
            .await
            .context("reading the channel's messages")?;
        let mut older = false;
        for m in &page.messages {
            older |= m.time < since_ms;
            if m.text.starts_with(tag) {
                found.messages.entry(m.text.clone()).or_default().push(m.id);
            }
        }
        before = page.next_before;
        if older || before.is_none() {
            break;
        }
    }
    let Channel::Home(community) = channel else {
        return Ok(found);
    };
    let mut before: Option<i64> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![
            ("community", community.0.to_string()),
            ("limit", PAGE.to_string()),
        ];
        if let Some(b) = before {
            query.push(("before", b.to_string()));
        }
        let page = http
            .issues(token, &query)
            .await
            .context("reading the community's issues")?;
        let mut older = false;
        for i in &page {
            older |= i.created_at < since_ms;
            if i.title.starts_with(tag) {
                found
                    .issues
                    .entry(i.title.clone())
                    .or_default()
                    .push(i.id.0);
            }
        }
        before = page.last().map(|i| i.id.0);
        if older || page.len() < PAGE as usize {
            break;
        }
    }
    Ok(found)
}

/// How the acknowledged writes of one kind compare with what is stored.
#[derive(Debug, Default, Clone, Copy)]
pub struct Accounting {
    pub acked: u64,
    /// Acknowledged, but not stored under the id the reply named.
    pub lost: u64,
    /// One write stored more than once.
    pub duplicated: u64,
    /// Stored though no reply came (the reply was lost and the write never retried to the
    /// end): not an error.
    pub unacknowledged: u64,
}

pub fn account(acked: &[Ack], stored: &BTreeMap<String, Vec<i64>>) -> Accounting {
    let mut a = Accounting {
        acked: acked.len() as u64,
        ..Accounting::default()
    };
    let mut acked_texts = std::collections::BTreeSet::new();
    for ack in acked {
        acked_texts.insert(ack.text.as_str());
        if !stored
            .get(&ack.text)
            .is_some_and(|ids| ids.contains(&ack.id))
        {
            a.lost += 1;
        }
    }
    for (text, ids) in stored {
        a.duplicated += ids.len().saturating_sub(1) as u64;
        if !acked_texts.contains(text.as_str()) {
            a.unacknowledged += 1;
        }
    }
    a
}
