import { createHash } from 'node:crypto';

// The Lua the Redis store runs: each script is one atomic step on the server (Redis runs a script
// to the end before any other command), which is how the store gets compare-and-swap, index
// upkeep beside the write, and owner-checked locks. Keys are built from the prefix in ARGV, so a
// script never touches another app's keys. Every script that changes an entry publishes its key
// on `<prefix>changes` in the same step, so a near cache hears of each write once it is applied.

/**
 * Shared Lua: an entry's connection index lives in the hash `<prefix>ix:<key>`, which names the
 * sorted sets the key is in, so a replace or delete removes exactly the stale index entries.
 */
const LUA_INDEX = `
local function unindex(p, k)
  local ix = p .. 'ix:' .. k
  local sets = redis.call('HGET', ix, 'sets')
  if not sets then return end
  for _, set in ipairs(cjson.decode(sets)) do redis.call('ZREM', set, k) end
  redis.call('ZREM', p .. 'due', k)
  redis.call('DEL', ix)
end
local function reindex(p, k, a)
  local id, at, sets = ARGV[a], ARGV[a + 1], ARGV[a + 2]
  for _, set in ipairs(cjson.decode(sets)) do redis.call('ZADD', set, id, k) end
  if at ~= '' then redis.call('ZADD', p .. 'due', at, k) end
  redis.call('HSET', p .. 'ix:' .. k, 'id', id, 'sets', sets, 'sc', ARGV[a + 3], 'su', ARGV[a + 4], 'se', ARGV[a + 5])
end
`;

/** ARGV: prefix, key, value, px ('' = none), then the index (see `indexArgs`) or nothing. */
const INSERT = `${LUA_INDEX}
local p, k = ARGV[1], ARGV[2]
local vk = p .. 'v:' .. k
local written
if ARGV[4] ~= '' then
  written = redis.call('SET', vk, ARGV[3], 'NX', 'PX', ARGV[4])
else
  written = redis.call('SET', vk, ARGV[3], 'NX')
end
if not written then return 0 end
redis.call('ZADD', p .. 'keys', 0, k)
unindex(p, k)
if #ARGV > 4 then reindex(p, k, 5) end
redis.call('PUBLISH', p .. 'changes', k)
return 1
`;

/** ARGV: prefix, key, expected, next, then the index or nothing (keep the index as it is). */
const REPLACE = `${LUA_INDEX}
local p, k = ARGV[1], ARGV[2]
local vk = p .. 'v:' .. k
if redis.call('GET', vk) ~= ARGV[3] then return 0 end
redis.call('SET', vk, ARGV[4], 'KEEPTTL')
if #ARGV > 4 then
  unindex(p, k)
  reindex(p, k, 5)
end
redis.call('PUBLISH', p .. 'changes', k)
return 1
`;

/** ARGV: prefix, key, '1' when an expected value follows, expected. */
const DELETE = `${LUA_INDEX}
local p, k = ARGV[1], ARGV[2]
local vk = p .. 'v:' .. k
local current = redis.call('GET', vk)
if current and ARGV[3] == '1' and current ~= ARGV[4] then return 0 end
redis.call('DEL', vk)
redis.call('ZREM', p .. 'keys', k)
unindex(p, k)
if not current then return 0 end
redis.call('PUBLISH', p .. 'changes', k)
return 1
`;

/**
 * A page of keys in byte order from the lexicographic set of all keys, with their values. Keys
 * whose value expired (PX) are dropped from the set and the indexes on the way. At most
 * \`budget\` keys are looked at per call, so one call never holds the server long.
 * ARGV: prefix, from, to (ZRANGEBYLEX bounds), limit, budget. Returns done, last key seen, then
 * key, value pairs.
 */
const SCAN = `${LUA_INDEX}
local p = ARGV[1]
local keys = p .. 'keys'
local from, to = ARGV[2], ARGV[3]
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {'0', ''}
local found, seen = 0, 0
while found < limit and seen < budget do
  local batch = redis.call('ZRANGEBYLEX', keys, from, to, 'LIMIT', 0, 100)
  for _, k in ipairs(batch) do
    seen = seen + 1
    from = '(' .. k
    out[2] = k
    local v = redis.call('GET', p .. 'v:' .. k)
    if v then
      out[#out + 1] = k
      out[#out + 1] = v
      found = found + 1
    else
      redis.call('ZREM', keys, k)
      unindex(p, k)
    end
    if found >= limit or seen >= budget then return out end
  end
  if #batch < 100 then
    out[1] = '1'
    return out
  end
end
return out
`;

/**
 * Connection records from the candidate set (scored by id) after a score, that are in every
 * required set, in one of the any-of sets (when given) and, when a search is given, whose
 * lower-cased connection id, end user id or email contains it.
 * ARGV: prefix, candidate set, from ('(' .. id or '-inf'), limit, budget, n, n required sets,
 * m, m any-of sets, search, direction ('asc' or 'desc': then `from` is '+inf' or '(' .. id and
 * the walk goes down). Returns done, last score seen, then key, value pairs.
 */
const FIND = `
local p, candidates, from = ARGV[1], ARGV[2], ARGV[3]
local limit, budget = tonumber(ARGV[4]), tonumber(ARGV[5])
local required, anyOf = {}, {}
local at = 6
for i = 1, tonumber(ARGV[at]) do required[i] = ARGV[at + i] end
at = at + #required + 1
for i = 1, tonumber(ARGV[at]) do anyOf[i] = ARGV[at + i] end
local search = ARGV[at + #anyOf + 1]
local descending = ARGV[at + #anyOf + 2] == 'desc'
local out = {'0', ''}
local found, seen = 0, 0
while found < limit and seen < budget do
  local batch
  if descending then
    batch = redis.call('ZREVRANGEBYSCORE', candidates, from, '-inf', 'WITHSCORES', 'LIMIT', 0, 100)
  else
    batch = redis.call('ZRANGEBYSCORE', candidates, from, '+inf', 'WITHSCORES', 'LIMIT', 0, 100)
  end
  for j = 1, #batch, 2 do
    local k, score = batch[j], batch[j + 1]
    seen = seen + 1
    from = '(' .. score
    out[2] = score
    local match = true
    for _, set in ipairs(required) do
      if not redis.call('ZSCORE', set, k) then match = false break end
    end
    if match and #anyOf > 0 then
      match = false
      for _, set in ipairs(anyOf) do
        if redis.call('ZSCORE', set, k) then match = true break end
      end
    end
    if match and search ~= '' then
      match = false
      for _, text in ipairs(redis.call('HMGET', p .. 'ix:' .. k, 'sc', 'su', 'se')) do
        if text and string.find(text, search, 1, true) then match = true break end
      end
    end
    if match then
      local v = redis.call('GET', p .. 'v:' .. k)
      if v then
        out[#out + 1] = k
        out[#out + 1] = v
        found = found + 1
      end
    end
    if found >= limit or seen >= budget then return out end
  end
  if #batch < 200 then
    out[1] = '1'
    return out
  end
end
return out
`;

/**
 * Keys of the attention set (scored by attentionAt; equal scores in byte order of the key) after
 * a cursor, up to a time. The cursor's own member, when still there with the same score, gives the
 * position directly (ZRANK); otherwise the page starts at the cursor's score and skips the equal
 * scores whose key is not after the cursor's, compared byte by byte (Lua's \`<\` on strings follows
 * the server's locale).
 * ARGV: prefix, before, limit, '1' when a cursor follows, cursor attentionAt, cursor key.
 * Returns key, attentionAt pairs.
 */
const DUE = `
local due = ARGV[1] .. 'due'
local before, limit = tonumber(ARGV[2]), tonumber(ARGV[3])
local function notAfter(a, b)
  for i = 1, math.min(#a, #b) do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y end
  end
  return #a <= #b
end
local start, skipAt, skipKey = 0, nil, nil
if ARGV[4] == '1' then
  local score = redis.call('ZSCORE', due, ARGV[6])
  if score and tonumber(score) == tonumber(ARGV[5]) then
    start = redis.call('ZRANK', due, ARGV[6]) + 1
  else
    start = redis.call('ZCOUNT', due, '-inf', '(' .. ARGV[5])
    skipAt, skipKey = tonumber(ARGV[5]), ARGV[6]
  end
end
local out = {}
local found = 0
while true do
  local batch = redis.call('ZRANGE', due, start, start + 99, 'WITHSCORES')
  for j = 1, #batch, 2 do
    local k, score = batch[j], batch[j + 1]
    local at = tonumber(score)
    if at > before then return out end
    if not (skipAt and at == skipAt and notAfter(k, skipKey)) then
      out[#out + 1] = k
      out[#out + 1] = score
      found = found + 1
      if found >= limit then return out end
    end
  end
  if #batch < 200 then return out end
  start = start + 100
end
`;

/**
 * ARGV: lock key, last-owner key, owner, lease ms. Takes a free lock or extends the caller's own:
 * 1 when it was free (or the caller's), 2 when it was taken from another owner whose lease had run
 * out, 0 when another owner holds it. The lock key expires with its lease, so who held it last is
 * kept beside it for two leases more: the only way to tell a lapsed lease from a free lock.
 */
const CLAIM = `
local current = redis.call('GET', ARGV[1])
if current and current ~= ARGV[3] then return 0 end
local last = redis.call('GET', ARGV[2])
redis.call('SET', ARGV[1], ARGV[3], 'PX', ARGV[4])
redis.call('SET', ARGV[2], ARGV[3], 'PX', 3 * tonumber(ARGV[4]))
if not current and last and last ~= ARGV[3] then return 2 end
return 1
`;

/**
 * ARGV: lock key, last-owner key, owner. Removes the lock only if the caller still holds it; a
 * caller that held it last lets go of that too (it has nothing left to write: the next owner
 * takes a free lock).
 */
const RELEASE = `
if redis.call('GET', ARGV[2]) == ARGV[3] then redis.call('DEL', ARGV[2]) end
if redis.call('GET', ARGV[1]) ~= ARGV[3] then return 0 end
redis.call('DEL', ARGV[1])
return 1
`;

export interface Script {
  source: string;
  sha: string;
}
const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
export const scripts = {
  insert: script(INSERT),
  replace: script(REPLACE),
  delete: script(DELETE),
  scan: script(SCAN),
  find: script(FIND),
  due: script(DUE),
  claim: script(CLAIM),
  release: script(RELEASE),
};
