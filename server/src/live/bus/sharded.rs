//! Several buses (Redis instances) behind one: each channel lives on exactly one shard, chosen
//! by a stable hash of its name, so adding capacity means adding Redis instances. A channel's
//! offsets, history and presence stay on its shard; moving channels when shards are added
//! starts them in a new epoch there, which clients see as `recovered: false`.

use super::{Bus, BusError, ConnId, HistoryReply, Publication};
use crate::live::frame::Frame;
use async_trait::async_trait;
use hehe_protocol::{AccountId, Channel, Member, Position};
use std::sync::Arc;

pub struct ShardedBus {
    shards: Vec<Arc<dyn Bus>>,
}

/// Jump consistent hash (Lamping & Veach): a bucket in `0..buckets` that moves for only about
/// 1/n of the keys when an n-th bucket is added.
pub fn jump_hash(mut key: u64, buckets: u32) -> u32 {
    let (mut b, mut j) = (-1i64, 0i64);
    while j < i64::from(buckets) {
        b = j;
        key = key.wrapping_mul(2_862_933_555_777_941_757).wrapping_add(1);
        j = ((b + 1) as f64 * ((1u64 << 31) as f64 / ((key >> 33) + 1) as f64)) as i64;
    }
    b.max(0) as u32
}

/// A hash of the channel's name that is the same on every node and every build (std's hasher
/// is seeded per process, so it cannot be used here).
fn channel_key(channel: Channel) -> u64 {
    // FNV-1a.
    channel
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

impl ShardedBus {
    /// `shards` must be non-empty and in the same order on every node.
    pub fn new(shards: Vec<Arc<dyn Bus>>) -> Self {
        Self { shards }
    }

    /// The shard a channel lives on.
    pub fn shard_of(&self, channel: Channel) -> usize {
        jump_hash(channel_key(channel), self.shards.len().max(1) as u32) as usize
    }

    fn shard(&self, channel: Channel) -> &dyn Bus {
        self.shards[self
            .shard_of(channel)
            .min(self.shards.len().saturating_sub(1))]
        .as_ref()
    }
}

#[async_trait]
impl Bus for ShardedBus {
    async fn publish(&self, publication: Publication) -> Result<Position, BusError> {
        self.shard(publication.channel).publish(publication).await
    }

    async fn broadcast(&self, channel: Channel, frame: Frame) -> Result<(), BusError> {
        self.shard(channel).broadcast(channel, frame).await
    }

    async fn history(
        &self,
        channel: Channel,
        since: Option<&Position>,
    ) -> Result<HistoryReply, BusError> {
        self.shard(channel).history(channel, since).await
    }

    async fn subscribe(&self, channel: Channel) -> Result<(), BusError> {
        self.shard(channel).subscribe(channel).await
    }

    fn unsubscribe(&self, channel: Channel) {
        self.shard(channel).unsubscribe(channel)
    }

    async fn presence_join(
        &self,
        channel: Channel,
        conn: ConnId,
        member: Member,
    ) -> Result<bool, BusError> {
        self.shard(channel)
            .presence_join(channel, conn, member)
            .await
    }

    async fn presence_leave(
        &self,
        channel: Channel,
        conn: ConnId,
        account: AccountId,
    ) -> Result<bool, BusError> {
        self.shard(channel)
            .presence_leave(channel, conn, account)
            .await
    }

    async fn presence(&self, channel: Channel) -> Result<Vec<Member>, BusError> {
        self.shard(channel).presence(channel).await
    }

    async fn evict(&self, channel: Channel, account: AccountId) -> Result<bool, BusError> {
        self.shard(channel).evict(channel, account).await
    }

    /// Ready only when every shard is: a channel on a dead shard cannot be served.
    async fn ready(&self) -> bool {
        for shard in &self.shards {
            if !shard.ready().await {
                return false;
            }
        }
        true
    }

    fn sweep(&self) {
        for shard in &self.shards {
            shard.sweep();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jump_hash_is_stable_and_moves_few_keys() {
        // One bucket takes every key.
        assert_eq!(jump_hash(0, 1), 0);
        assert_eq!(jump_hash(1, 1), 0);
        for key in 0..1000u64 {
            assert!(jump_hash(key, 7) < 7);
            assert_eq!(jump_hash(key, 7), jump_hash(key, 7));
        }
        // Going from 4 to 5 buckets moves about a fifth of the keys, all to the new bucket.
        let moved: Vec<u64> = (0..10_000u64)
            .filter(|k| jump_hash(*k, 4) != jump_hash(*k, 5))
            .collect();
        assert!((1_500..2_500).contains(&moved.len()), "{}", moved.len());
        assert!(moved.iter().all(|k| jump_hash(*k, 5) == 4));
    }

    #[test]
    fn channels_spread_over_shards_the_same_way_everywhere() {
        let key = channel_key(Channel::Home(hehe_protocol::PlaceId(12)));
        assert_eq!(key, channel_key("home:12".parse().unwrap()));
        let mut counts = [0u32; 3];
        for id in 1..=3000 {
            counts[jump_hash(channel_key(Channel::Room(hehe_protocol::MeetingId(id))), 3)
                as usize] += 1;
        }
        assert!(counts.iter().all(|c| (800..1200).contains(c)), "{counts:?}");
    }
}
