//! The Lua scripts of the Redis bus: each runs atomically on the Redis that holds the
//! channel's keys (they share a hash tag).

/// Takes the next offset, appends and publishes the envelope, all in one atomic step: that is
/// what makes a channel's pub/sub order equal its offset order on every node.
pub(super) const PUBLISH: &str = r#"
local stream, meta, result = KEYS[1], KEYS[2], KEYS[3]
if ARGV[10] == '1' then
  local cached = redis.call('GET', result)
  if cached then
    local offset, epoch = string.match(cached, '^(%d+):(.*)$')
    if offset then return {tonumber(offset), epoch} end
  end
end
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[2]
  redis.call('HSET', meta, 'e', epoch)
end
local offset = redis.call('HINCRBY', meta, 's', 1)
redis.call('PEXPIRE', meta, ARGV[5])
if offset == 1 then
  redis.call('DEL', stream)
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local head = string.format('%d', offset)
local envelope = head .. ':' .. epoch .. ':' .. ARGV[7] .. ':' .. string.format('%d', now) .. ':' .. ARGV[8] .. '\n' .. ARGV[9]
redis.call('XADD', stream, 'MAXLEN', '~', ARGV[3], head .. '-0', 'd', envelope, 'a', ARGV[7])
redis.call('PEXPIRE', stream, ARGV[4])
redis.call('PUBLISH', ARGV[1], envelope)
if ARGV[10] == '1' then
  redis.call('SET', result, head .. ':' .. epoch, 'PX', ARGV[6])
end
return {offset, epoch}
"#;

/// Where the stream stands (creating its identity if it has none) and, when asked, the
/// entries from an offset on, with Redis's clock to judge their age by.
pub(super) const HISTORY: &str = r#"
local stream, meta = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'e')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', meta, 'e', epoch)
end
local top = tonumber(redis.call('HGET', meta, 's') or '0') or 0
redis.call('PEXPIRE', meta, ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
if ARGV[3] ~= '' then
  local size = tonumber(ARGV[4])
  local from = math.max(tonumber(ARGV[3]), top - size + 1, 1)
  if from <= top then
    local entries = redis.call('XRANGE', stream, string.format('%d', from) .. '-0', '+', 'COUNT', size)
    for _, entry in ipairs(entries) do
      local fields = entry[2]
      for i = 1, #fields, 2 do
        if fields[i] == 'd' then table.insert(out, fields[i + 1]) end
      end
    end
  end
end
return {top, epoch, now, out}
"#;

/// Returns 1 when the connection is the account's first in the channel. Every entry has an
/// expiry time its node keeps pushing forward: a node that dies stops doing so, and whoever
/// sweeps next removes what it left behind.
pub(super) const PRESENCE_JOIN: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[4])
redis.call('ZADD', KEYS[3], now + ttl, ARGV[1])
local first = 0
if redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], ARGV[3], 1) == 1 then first = 1 end
end
for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 2 * ttl) end
return first
"#;

/// Returns 1 when the connection was the account's last in the channel.
pub(super) const PRESENCE_LEAVE: &str = r#"
redis.call('ZREM', KEYS[3], ARGV[1])
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return 0 end
if redis.call('HINCRBY', KEYS[2], ARGV[2], -1) <= 0 then
  redis.call('HDEL', KEYS[2], ARGV[2])
  return 1
end
return 0
"#;

/// Removes the entries whose time ran out, after pushing forward the times of the calling
/// node's own entries (ARGV[3..] in triples: field, member, account), which it puts back when
/// they are missing: a sweep by another node during a partition, or a restarted Redis, must
/// not hide people who are still connected. Returns the accounts that left and those that
/// came back, and with ARGV[2] == '1' everyone present.
pub(super) const PRESENCE_KEEP: &str = r#"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
local back = {}
for i = 3, #ARGV, 3 do
  local field, member, account = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  redis.call('ZADD', KEYS[3], now + ttl, field)
  if redis.call('HSET', KEYS[1], field, member) == 1 then
    if redis.call('HINCRBY', KEYS[2], account, 1) == 1 then table.insert(back, account) end
  end
end
if #ARGV > 2 then
  for _, key in ipairs(KEYS) do redis.call('PEXPIRE', key, 2 * ttl) end
end
local gone = {}
for _, field in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
  redis.call('ZREM', KEYS[3], field)
  local member = redis.call('HGET', KEYS[1], field)
  if member then
    redis.call('HDEL', KEYS[1], field)
    local ok, decoded = pcall(cjson.decode, member)
    if ok and decoded['account_id'] then
      local account = string.format('%d', decoded['account_id'])
      if redis.call('HINCRBY', KEYS[2], account, -1) <= 0 then
        redis.call('HDEL', KEYS[2], account)
        table.insert(gone, account)
      end
    end
  end
end
local present = {}
if ARGV[2] == '1' then present = redis.call('HVALS', KEYS[1]) end
return {gone, back, present}
"#;

/// Removes every connection of one account from a channel's presence, then tells every node
/// to end that account's subscriptions: one step, so no node keeps them after the removal.
/// Returns 1 when the account was present.
pub(super) const EVICT: &str = r#"
local present = redis.call('HDEL', KEYS[2], ARGV[1])
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local ok, member = pcall(cjson.decode, entries[i + 1])
  if ok and tonumber(member['account_id']) == tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], entries[i])
    redis.call('ZREM', KEYS[3], entries[i])
  end
end
redis.call('PUBLISH', ARGV[2], ARGV[3])
return present
"#;
