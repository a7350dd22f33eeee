//! A node's pub/sub connection: subscribes the channels the node has interest in, hands what
//! arrives to the hub in order, fills holes from the streams and checks positions.

use super::*;

/// This node's pub/sub connection: subscribes what the node has interest in and hands what
/// arrives to the hub, in arrival order.
pub(super) struct Listener {
    pub(super) client: Client,
    /// For reading back from streams what pub/sub did not bring.
    pub(super) conn: ConnectionManager,
    pub(super) position_check: Duration,
    pub(super) handler: Arc<dyn DeliveryHandler>,
    pub(super) keys: Keys,
    pub(super) interest: Interest,
    /// Evicted people are dropped from it, so this node stops renewing their entries.
    pub(super) present: Present,
    pub(super) listening: Arc<AtomicBool>,
}

enum Ended {
    /// The bus is gone.
    Stop,
    /// The connection failed; reconnect.
    Lost,
}

/// The last event this node handed to the hub on a channel: what tells a hole or a repeat in
/// what pub/sub brings.
pub(super) struct Seen {
    pub(super) epoch: String,
    pub(super) last: u64,
}

/// Per channel of local interest. Kept across reconnects, so the first event after an outage
/// reveals what the outage swallowed; dropped with the interest.
pub(super) type Tracked = HashMap<Channel, Seen>;

/// What to do with a numbered event that pub/sub brought.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Next {
    /// The hub already has it.
    Repeat,
    /// Offsets `from..=to` went missing before it: fetch them from the stream first.
    Fill { from: u64, to: u64 },
    /// Deliver it. Also the answer for a channel's first event and a new epoch's, which
    /// restart the count.
    Deliver,
}

pub(super) fn next(seen: Option<&Seen>, epoch: &str, offset: u64) -> Next {
    match seen {
        Some(seen) if seen.epoch == epoch => {
            if offset <= seen.last {
                Next::Repeat
            } else if offset > seen.last.saturating_add(1) {
                Next::Fill {
                    from: seen.last + 1,
                    to: offset - 1,
                }
            } else {
                Next::Deliver
            }
        }
        _ => Next::Deliver,
    }
}

impl Listener {
    pub(super) async fn run(self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut delay = RETRY_MIN;
        let mut tracked = Tracked::new();
        loop {
            match self.connect().await {
                Ok((sink, stream, subscribed)) => {
                    delay = RETRY_MIN;
                    self.listening.store(true, Ordering::Release);
                    let ended = self
                        .serve(sink, stream, subscribed, &mut commands, &mut tracked)
                        .await;
                    self.listening.store(false, Ordering::Release);
                    match ended {
                        Ended::Stop => return,
                        Ended::Lost => {
                            tracing::warn!("Redis pub/sub connection lost; reconnecting")
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot reach Redis pub/sub; retrying"),
            }
            // While there is no connection, subscribing fails at once: callers learn of the
            // outage instead of waiting on it.
            let pause = tokio::time::sleep(delay);
            tokio::pin!(pause);
            loop {
                tokio::select! {
                    _ = &mut pause => break,
                    command = commands.recv() => match command {
                        None => return,
                        Some(Command::Subscribe(_, reply)) => {
                            let _ = reply.send(Err("Redis pub/sub is reconnecting".into()));
                        }
                        Some(Command::Unsubscribe(name)) => self.forget(&name, &mut tracked),
                    },
                }
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    fn forget(&self, name: &str, tracked: &mut Tracked) {
        if let Some(channel) = self.keys.channel_of(name) {
            tracked.remove(&channel);
        }
    }

    /// Opens the connection and subscribes every channel of local interest again.
    async fn connect(&self) -> Result<(PubSubSink, PubSubStream, HashSet<String>), String> {
        let pubsub = tokio::time::timeout(CONNECT_TIMEOUT, self.client.get_async_pubsub())
            .await
            .map_err(|_| "connect timed out".to_owned())?
            .map_err(|e| e.to_string())?;
        let (mut sink, stream) = pubsub.split();
        let names: HashSet<String> = lock(&self.interest)
            .keys()
            .map(|c| self.keys.client(*c))
            .collect();
        if !names.is_empty() {
            let list: Vec<&String> = names.iter().collect();
            tokio::time::timeout(PROBE_TIMEOUT, sink.subscribe(list))
                .await
                .map_err(|_| "SUBSCRIBE timed out".to_owned())?
                .map_err(|e| e.to_string())?;
        }
        Ok((sink, stream, names))
    }

    async fn serve(
        &self,
        mut sink: PubSubSink,
        mut stream: PubSubStream,
        mut subscribed: HashSet<String>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        tracked: &mut Tracked,
    ) -> Ended {
        let mut probe = tokio::time::interval(PROBE_EVERY);
        probe.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        probe.tick().await;
        // The first tick is not skipped: after a reconnect, what the outage swallowed at the
        // end of a channel is found at once rather than one interval later.
        let mut check = tokio::time::interval(self.position_check);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                message = stream.next() => match message {
                    Some(message) => self.dispatch(&message, tracked).await,
                    None => return Ended::Lost,
                },
                command = commands.recv() => {
                    let Some(first) = command else { return Ended::Stop };
                    // Whatever else is already queued goes with it: a reconnect storm's
                    // thousands of subscribes become a few SUBSCRIBE commands.
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match commands.try_recv() {
                            Ok(command) => batch.push(command),
                            Err(_) => break,
                        }
                    }
                    if self.apply(batch, &mut sink, &mut subscribed, tracked).await.is_err() {
                        return Ended::Lost;
                    }
                }
                _ = probe.tick() => {
                    let ping = sink.ping::<redis::Value>();
                    if !matches!(tokio::time::timeout(PROBE_TIMEOUT, ping).await, Ok(Ok(_))) {
                        return Ended::Lost;
                    }
                }
                _ = check.tick() => self.check_positions(tracked).await,
            }
        }
    }

    /// Carries out queued commands in their order, each run of subscribes (or unsubscribes) as
    /// one Redis command. Err when the connection failed; every waiting caller has its answer.
    async fn apply(
        &self,
        batch: Vec<Command>,
        sink: &mut PubSubSink,
        subscribed: &mut HashSet<String>,
        tracked: &mut Tracked,
    ) -> Result<(), ()> {
        let mut batch = batch.into_iter().peekable();
        while let Some(command) = batch.next() {
            match command {
                Command::Subscribe(name, reply) => {
                    let mut replies = vec![reply];
                    let mut names = vec![name];
                    while let Some(Command::Subscribe(..)) = batch.peek() {
                        if let Some(Command::Subscribe(name, reply)) = batch.next() {
                            names.push(name);
                            replies.push(reply);
                        }
                    }
                    let fresh: Vec<&String> = names
                        .iter()
                        .filter(|n| !subscribed.contains(*n))
                        .collect::<HashSet<_>>()
                        .into_iter()
                        .collect();
                    let outcome = if fresh.is_empty() {
                        Ok(())
                    } else {
                        match tokio::time::timeout(PROBE_TIMEOUT, sink.subscribe(&fresh)).await {
                            Ok(Ok(())) => Ok(()),
                            Ok(Err(e)) => Err(e.to_string()),
                            Err(_) => Err("SUBSCRIBE timed out".to_owned()),
                        }
                    };
                    let failed = outcome.is_err();
                    if !failed {
                        subscribed.extend(fresh.into_iter().cloned());
                    }
                    for reply in replies {
                        let _ = reply.send(outcome.clone());
                    }
                    if failed {
                        self.abandon(batch, tracked);
                        return Err(());
                    }
                }
                Command::Unsubscribe(name) => {
                    let mut names = vec![name];
                    while let Some(Command::Unsubscribe(_)) = batch.peek() {
                        if let Some(Command::Unsubscribe(name)) = batch.next() {
                            names.push(name);
                        }
                    }
                    for name in &names {
                        self.forget(name, tracked);
                    }
                    let gone: Vec<String> =
                        names.into_iter().filter(|n| subscribed.remove(n)).collect();
                    if !gone.is_empty() {
                        let done = tokio::time::timeout(PROBE_TIMEOUT, sink.unsubscribe(&gone));
                        if !matches!(done.await, Ok(Ok(()))) {
                            self.abandon(batch, tracked);
                            return Err(());
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// What is left of a batch when the connection failed: subscribers learn of the outage,
    /// unsubscribes need no Redis command on the next connection, which subscribes afresh.
    fn abandon(&self, rest: impl Iterator<Item = Command>, tracked: &mut Tracked) {
        for command in rest {
            match command {
                Command::Subscribe(_, reply) => {
                    let _ = reply.send(Err("Redis pub/sub is reconnecting".into()));
                }
                Command::Unsubscribe(name) => self.forget(&name, tracked),
            }
        }
    }

    async fn dispatch(&self, message: &redis::Msg, tracked: &mut Tracked) {
        let Some(channel) = self.keys.channel_of(message.get_channel_name()) else {
            tracing::warn!(
                name = message.get_channel_name(),
                "message on an unknown pub/sub channel"
            );
            return;
        };
        let Ok(text) = std::str::from_utf8(message.get_payload_bytes()) else {
            tracing::warn!(%channel, "skipping a pub/sub message that is not UTF-8");
            return;
        };
        if let Some(account) = text.strip_prefix(EVICTION) {
            match account.parse::<i64>() {
                Ok(id) => {
                    if let Some(entries) = lock(&self.present).get_mut(&channel) {
                        entries.retain(|_, (account, _)| account.0 != id);
                    }
                    self.handler.evict(channel, AccountId(id));
                }
                Err(_) => tracing::warn!(%channel, "skipping a malformed eviction"),
            }
            return;
        }
        if let Some(frame) = text.strip_prefix(EPHEMERAL) {
            self.handler
                .deliver(channel, None, Audience::All, &Frame::from(frame));
            return;
        }
        let Some(envelope) = Envelope::parse(text) else {
            tracing::warn!(%channel, "skipping a malformed pub/sub message");
            return;
        };
        match next(tracked.get(&channel), envelope.epoch, envelope.offset) {
            Next::Repeat => return,
            // Awaited here rather than handed to another task: everything after this event on
            // the connection must wait for the hole to be filled anyway, or the channel's
            // order breaks. It costs one round trip, bounded by `FETCH_TIMEOUT`, and happens
            // only when pub/sub has already lost something.
            Next::Fill { from, to } => self.fill(channel, envelope.epoch, from, to, tracked).await,
            Next::Deliver => {}
        }
        self.hand_over(channel, &envelope, tracked);
    }

    fn hand_over(&self, channel: Channel, envelope: &Envelope<'_>, tracked: &mut Tracked) {
        let at = At {
            offset: envelope.offset,
            epoch: envelope.epoch,
            time: envelope.time,
        };
        self.handler.deliver(
            channel,
            Some(at),
            envelope.audience,
            &envelope.frame(channel),
        );
        match tracked.get_mut(&channel) {
            Some(seen) if seen.epoch == envelope.epoch => seen.last = envelope.offset,
            _ => {
                tracked.insert(
                    channel,
                    Seen {
                        epoch: envelope.epoch.to_owned(),
                        last: envelope.offset,
                    },
                );
            }
        }
    }

    /// Delivers, in order, the entries `from..=to` of `epoch` that the stream still holds.
    /// What it no longer holds (trimmed or expired), or what cannot be read now, stays missing:
    /// the event that revealed the hole is delivered after this all the same, the hub closes
    /// the subscribers that see the hole with 4005, and they resume from their position or
    /// reload, as after any loss.
    async fn fill(&self, channel: Channel, epoch: &str, from: u64, to: u64, tracked: &mut Tracked) {
        let mut conn = self.conn.clone();
        let mut range = redis::cmd("XRANGE");
        range
            .arg(self.keys.stream(channel))
            .arg(format!("{from}-0"))
            .arg(format!("{to}-0"));
        let read = range.query_async::<Vec<(String, HashMap<String, Vec<u8>>)>>(&mut conn);
        let entries = match tokio::time::timeout(FETCH_TIMEOUT, read).await {
            Ok(Ok(entries)) => entries,
            Ok(Err(e)) => {
                tracing::warn!(%channel, error = %e, "cannot read back missed events");
                return;
            }
            Err(_) => {
                tracing::warn!(%channel, "reading back missed events timed out");
                return;
            }
        };
        let mut filled = 0;
        for (_, fields) in &entries {
            let Some(envelope) = fields
                .get("d")
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(Envelope::parse)
            else {
                tracing::warn!(%channel, "skipping a malformed stream entry");
                continue;
            };
            // A stream restarted in another epoch reuses offsets; its entries are not the
            // ones missed.
            if envelope.epoch != epoch
                || next(tracked.get(&channel), epoch, envelope.offset) == Next::Repeat
            {
                continue;
            }
            self.hand_over(channel, &envelope, tracked);
            filled += 1;
        }
        let missing = to - from + 1;
        if filled < missing {
            tracing::warn!(%channel, missing, filled, "missed events are gone from the stream");
        } else {
            tracing::debug!(%channel, filled, "filled a hole in pub/sub deliveries");
        }
    }

    /// Catches a lost last event, which no later event reveals. All channels' tops come in
    /// one pipelined round trip; a failure only waits for the next check. Runs in the read
    /// loop for the same reason as `fill`: what it delivers must not cross what pub/sub
    /// delivers on the same channel.
    async fn check_positions(&self, tracked: &mut Tracked) {
        {
            // An event read just after its channel's unsubscribe starts tracking again for a
            // channel nobody here wants; this is where such leftovers go.
            let interest = lock(&self.interest);
            tracked.retain(|channel, _| interest.contains_key(channel));
        }
        if tracked.is_empty() {
            return;
        }
        let channels: Vec<Channel> = tracked.keys().copied().collect();
        let mut pipe = redis::pipe();
        for channel in &channels {
            pipe.cmd("HMGET")
                .arg(self.keys.meta(*channel))
                .arg("e")
                .arg("s");
        }
        let mut conn = self.conn.clone();
        let read = pipe.query_async::<Vec<(Option<String>, Option<u64>)>>(&mut conn);
        let tops = match tokio::time::timeout(FETCH_TIMEOUT, read).await {
            Ok(Ok(tops)) => tops,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "position check failed; trying again later");
                return;
            }
            Err(_) => {
                tracing::warn!("position check timed out; trying again later");
                return;
            }
        };
        for (channel, top) in channels.into_iter().zip(tops) {
            let (Some(epoch), Some(top)) = top else {
                continue;
            };
            let Some(seen) = tracked.get(&channel) else {
                continue;
            };
            if seen.epoch == epoch && top > seen.last {
                let from = seen.last + 1;
                self.fill(channel, &epoch, from, top, tracked).await;
            }
        }
    }
}
