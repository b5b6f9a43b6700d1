package fleet

import "github.com/redis/go-redis/v9"

// The scripts check every argument before their first write: Redis does not
// roll a script back, so a bad argument must stop it while it has only read.
// Every key they write gets a TTL, so an abandoned dependency leaves nothing
// behind. Numbers are written with %.0f: Lua's default format would round
// microsecond times.

// flushScript records one replica's counts into the dependency's window,
// applies the trip rule (over the whole window, or over its two newest
// buckets so that a sudden outage need not outweigh a window of healthy
// calls), settles a half-open probe and hands out the probe
// lease, then replies with the fleet state (so a missed message is repaired
// by the next flush) and the budget's window totals.
//
// KEYS: state hash, window hash, probe lease.
// ARGV: 1 replica, 2 calls, 3 failures, 4 local breaker open (0/1),
// 5 budget calls, 6 budget retries, 7 wants the probe (0/1), 8 probe result
// (0 none, 1 success, 2 failure), 9 minimum calls, 10 failure rate (ppm),
// 11 quorum minimum, 12 quorum fraction (ppm), 13 open ms, 14 window ms,
// 15 bucket ms, 16 key TTL ms, 17 probe lease ms, 18 channel, 19 dependency
// label, 20 has a breaker (0/1).
//
// A generation is the Redis time (ms) of the change that began it, or one
// more than the previous one if that is larger, so generations keep
// growing even across a Redis that lost its data.
//
// Reply: generation, state (0 closed, 1 open), open until (Redis ms),
// Redis now (ms), probe owner (0/1), active replicas, budget calls, budget
// retries (both over the window).
// checkBounds is the Lua both scripts open with, before their first
// write: every numeric argument listed in the script's local bounds, as
// {index, lowest, highest}, must be an integer within them; it lands in
// a[index].
const checkBounds = `local a = {}
for _, b in ipairs(bounds) do
  local v = tonumber(ARGV[b[1]])
  if v == nil or v ~= math.floor(v) or v < b[2] or v > b[3] then
    return redis.error_reply('fleet: bad argument ' .. b[1])
  end
  a[b[1]] = v
end
`

var flushScript = redis.NewScript(`
if #KEYS ~= 3 or #ARGV ~= 20 then return redis.error_reply('fleet: wrong argument count') end
local me, ch, id = ARGV[1], ARGV[18], ARGV[19]
if not string.match(me, '^%x+$') or #me > 32 or not string.match(id, '^%x+$') or #id > 32
  or #ch == 0 or #ch > 200 or not string.match(ch, '^[%w:_-]+$') then
  return redis.error_reply('fleet: bad label')
end
local bounds = {{2,0,1e12},{3,0,1e12},{4,0,1},{5,0,1e12},{6,0,1e12},{7,0,1},{8,0,2},{9,1,1e9},
  {10,1,1e6},{11,1,1e6},{12,0,1e6},{13,1,6048e5},{14,1,864e5},{15,1,864e5},{16,1,2592e6},{17,1,864e5},{20,0,1}}
` + checkBounds + `local span = math.floor(a[14] / a[15])
if a[3] > a[2] or span < 1 or span > 60 then return redis.error_reply('fleet: bad window') end

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cur = math.floor(now / a[15])
local oldest = cur - span + 1

local function parse(v)
  local out = {}
  for b, c, f, bc, br, o in string.gmatch(v, '(%d+),(%d+),(%d+),(%d+),(%d+),(%d)') do
    b = tonumber(b)
    if b >= oldest then
      out[#out + 1] = {b, tonumber(c), tonumber(f), tonumber(bc), tonumber(br), tonumber(o)}
    end
  end
  return out
end
local function encode(bs)
  local p = {}
  for i, x in ipairs(bs) do
    p[i] = string.format('%.0f,%.0f,%.0f,%.0f,%.0f,%d', x[1], x[2], x[3], x[4], x[5], x[6])
  end
  return table.concat(p, ';')
end

local tc, tf, rc, rf, tbc, tbr, active, failing = 0, 0, 0, 0, 0, 0, 0, 0
local function tally(bs)
  local c, f, o = 0, 0, 0
  for _, x in ipairs(bs) do
    c = c + x[2]; f = f + x[3]; tbc = tbc + x[4]; tbr = tbr + x[5]
    if x[1] >= cur - 1 then rc = rc + x[2]; rf = rf + x[3] end
    if x[6] == 1 then o = 1 end
  end
  tc = tc + c; tf = tf + f; active = active + 1
  if o == 1 or (f >= 3 and f * 1e6 >= a[10] * c) then failing = failing + 1 end
end

local all = redis.call('HGETALL', KEYS[2])
local mine, stale = {}, {}
for i = 1, #all, 2 do
  local bs = parse(all[i + 1])
  if all[i] == me then mine = bs
  elseif #bs == 0 then stale[#stale + 1] = all[i]
  else tally(bs) end
end
local last = mine[#mine]
if last and last[1] == cur then
  last[2] = last[2] + a[2]; last[3] = last[3] + a[3]; last[4] = last[4] + a[5]; last[5] = last[5] + a[6]
  if a[4] == 1 then last[6] = 1 end
else
  mine[#mine + 1] = {cur, a[2], a[3], a[5], a[6], a[4]}
end
tally(mine)
if #stale > 0 then redis.call('HDEL', KEYS[2], unpack(stale)) end
redis.call('HSET', KEYS[2], me, encode(mine))

local g, s, u, owner = 0, 0, 0, false
if a[20] == 1 then
  local st = redis.call('HMGET', KEYS[1], 'g', 's', 'u')
  g, s, u = tonumber(st[1]) or 0, tonumber(st[2]) or 0, tonumber(st[3]) or 0
  owner = redis.call('GET', KEYS[3])
  local changed = false
  if s == 1 and now >= u and a[8] > 0 and owner == me then
    g, changed, owner = math.max(g + 1, now), true, false
    redis.call('DEL', KEYS[3], KEYS[2])
    if a[8] == 1 then s, u = 0, 0 else u = now + a[13] end
  elseif s == 0 then
    local k = math.max(a[11], math.ceil(a[12] * active / 1e6))
    if k > active then k = active end
    local whole = tc >= a[9] and tf * 1e6 >= a[10] * tc
    local recent = rc >= a[9] and rf * 1e6 >= a[10] * rc
    if (whole or recent) and failing >= k then
      g, s, u, changed = math.max(g + 1, now), 1, now + a[13], true
      redis.call('DEL', KEYS[2])
    end
  end
  if s == 1 and now >= u and a[7] == 1 and not owner then
    redis.call('SET', KEYS[3], me, 'NX', 'PX', a[17])
    owner = me
  end
  redis.call('HSET', KEYS[1], 'g', string.format('%.0f', g), 's', s, 'u', string.format('%.0f', u))
  redis.call('PEXPIRE', KEYS[1], a[16])
  if changed then
    redis.call('PUBLISH', ch, string.format('%s %.0f %d %.0f', id, g, s, u))
  end
end
redis.call('PEXPIRE', KEYS[2], a[16])
return {g, s, u, now, owner == me and 1 or 0, active, tbc, tbr}
`)

// leaseScript is the fleet's GCRA: it takes back refund unused tokens, then
// grants up to want tokens that fit the rate, and records the replica as
// active.
//
// KEYS: bucket (theoretical arrival time, µs), replicas hash.
// ARGV: 1 replica, 2 emission interval (µs per token), 3 burst (tokens),
// 4 want, 5 refund, 6 replica TTL ms.
//
// Reply: tokens granted, µs until the next token if fewer than wanted,
// active replicas.
var leaseScript = redis.NewScript(`
if #KEYS ~= 2 or #ARGV ~= 6 then return redis.error_reply('fleet: wrong argument count') end
local me = ARGV[1]
if not string.match(me, '^%x+$') or #me > 32 then return redis.error_reply('fleet: bad label') end
local bounds = {{2,1,1e12},{3,1,1e9},{4,0,1e9},{5,0,1e9},{6,1,864e5}}
` + checkBounds + `local period, burst, want, refund, ttl = a[2], a[3], a[4], a[5], a[6]

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1e6 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
tat = tat - refund * period
if tat < now then tat = now end
local tau = burst * period
local k = math.floor((now + tau - tat) / period)
if k > want then k = want end
if k < 0 then k = 0 end
tat = tat + k * period
local wait = 0
if k < want then
  wait = tat + period - tau - now
  if wait < 0 then wait = 0 end
end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + ttl)

local nowms = math.floor(now / 1000)
redis.call('HSET', KEYS[2], me, string.format('%.0f', nowms))
local seen, active, stale = redis.call('HGETALL', KEYS[2]), 0, {}
for i = 1, #seen, 2 do
  if tonumber(seen[i + 1]) + ttl < nowms then stale[#stale + 1] = seen[i] else active = active + 1 end
end
if #stale > 0 then redis.call('HDEL', KEYS[2], unpack(stale)) end
redis.call('PEXPIRE', KEYS[2], ttl)
return {k, wait, active}
`)
