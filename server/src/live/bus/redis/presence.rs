//! Presence in Redis that outlives no node: each node renews its own entries and sweeps out
//! those whose time ran out, so a node that dies without a word has its people announced gone.

use super::*;

/// This node's own presence entries per channel: field → (account, member JSON), what the
/// keeper renews.
pub(super) type Present = Arc<Mutex<HashMap<Channel, HashMap<String, (AccountId, String)>>>>;

/// Presence entries renewed by one script run.
const RENEW_CHUNK: usize = 500;

/// Renews this node's presence entries and sweeps out expired ones, announcing who left
/// (their node died) or came back (their entry had been swept while this node could not
/// reach Redis).
pub(super) struct Keeper {
    pub(super) conn: ConnectionManager,
    pub(super) keys: Keys,
    pub(super) interest: Interest,
    pub(super) present: Present,
    pub(super) ttl: Duration,
    pub(super) script: Script,
}

impl Keeper {
    pub(super) async fn run(self: Arc<Self>, stop: tokio_util::sync::CancellationToken) {
        let mut tick = tokio::time::interval(self.ttl / 3);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tick.tick() => {}
            }
            // Channels with people of this node's, and channels with presence it delivers:
            // whoever listens to a room keeps its presence honest. (Inboxes, homes and streets
            // keep none; a node delivers tens of thousands of them.)
            let mut channels: HashSet<Channel> = lock(&self.present).keys().copied().collect();
            channels.extend(
                lock(&self.interest)
                    .keys()
                    .copied()
                    .filter(|c| c.has_presence()),
            );
            for channel in channels {
                if stop.is_cancelled() {
                    return;
                }
                if let Err(e) = self.renew(channel).await {
                    tracing::debug!(%channel, error = %e, "presence not renewed");
                }
            }
        }
    }

    pub(super) fn forget(&self, channel: Channel, matches: impl Fn(&str, AccountId) -> bool) {
        let mut present = lock(&self.present);
        if let Some(entries) = present.get_mut(&channel) {
            entries.retain(|field, (account, _)| !matches(field, *account));
            if entries.is_empty() {
                present.remove(&channel);
            }
        }
    }

    /// Sweeps out the expired entries of `channel` and returns everyone present after it.
    /// Renews nothing: a read comes with every subscribe, and renewing a crowd's entries at
    /// each arrival would cost the square of the crowd.
    pub(super) async fn sweep(&self, channel: Channel) -> Result<Vec<Vec<u8>>, BusError> {
        self.keep(channel, &[], true).await
    }

    /// Renews this node's entries of `channel`, a bounded number per script so that a big
    /// room's renewal never holds Redis up for long, and sweeps out expired ones.
    async fn renew(&self, channel: Channel) -> Result<(), BusError> {
        let mine: Vec<(String, AccountId, String)> = lock(&self.present)
            .get(&channel)
            .map(|entries| {
                entries
                    .iter()
                    .map(|(field, (account, json))| (field.clone(), *account, json.clone()))
                    .collect()
            })
            .unwrap_or_default();
        if mine.is_empty() {
            self.keep(channel, &[], false).await?;
        }
        for chunk in mine.chunks(RENEW_CHUNK) {
            self.keep(channel, chunk, false).await?;
        }
        Ok(())
    }

    /// One run of the keeping script: `mine` renewed (and put back where missing), expired
    /// entries swept out and announced; with `list`, everyone present after it.
    async fn keep(
        &self,
        channel: Channel,
        mine: &[(String, AccountId, String)],
        list: bool,
    ) -> Result<Vec<Vec<u8>>, BusError> {
        let mut invocation = self.script.prepare_invoke();
        invocation
            .key(self.keys.presence(channel))
            .key(self.keys.presence_counts(channel))
            .key(self.keys.presence_expiry(channel))
            .arg(millis(self.ttl))
            .arg(if list { "1" } else { "0" });
        for (field, account, json) in mine {
            invocation.arg(field).arg(json).arg(account.0);
        }
        let mut conn = self.conn.clone();
        let (gone, back, present): (Vec<i64>, Vec<i64>, Vec<Vec<u8>>) = invocation
            .invoke_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if !gone.is_empty() || !back.is_empty() {
            let joins = back
                .iter()
                .filter_map(|id| {
                    let json = &mine.iter().find(|(_, a, _)| a.0 == *id)?.2;
                    serde_json::from_str::<Member>(json).ok()
                })
                .collect();
            let leaves = gone
                .into_iter()
                .map(|id| crate::live::presence::gone(AccountId(id)))
                .collect();
            let frame = hehe_protocol::ServerMsg::Presence {
                channel,
                joins,
                leaves,
            };
            redis::cmd("PUBLISH")
                .arg(self.keys.client(channel))
                .arg(format!("{EPHEMERAL}{}", frame.to_json()))
                .query_async::<()>(&mut conn)
                .await
                .map_err(unavailable)?;
        }
        Ok(present)
    }
}
