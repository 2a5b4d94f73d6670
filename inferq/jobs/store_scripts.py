"""The Lua scripts of `JobStore`: each change of a job's state is one atomic step in Redis."""

from __future__ import annotations

from inferq.usage.counting import USAGE_LUA

# Changes status only from an allowed one, then records the event and wakes long-pollers, all in
# one step so that no reader sees a status without its event. An ending is published (ARGV[3] is
# the channel, '' for other statuses: nobody waits on them) with the job's hash and, up to 64 KB,
# its scored rows, so a long-poll waiting on it answers without reading them back. An ending
# that a webhook waits for (KEYS[5] given) also marks the job's delivery due in the same step, so
# none is ever lost. A job that ends (ARGV[6] is the in-flight set prefix) leaves its tenant's
# jobs in flight and the deadlines (KEYS[4]) in the same step; the in-flight set's name depends
# on the tenant stored in the hash, so it is built here.
TRANSITION_LUA = """
local function transition(KEYS, ARGV)
  local status = redis.call('HGET', KEYS[1], 'status')
  if not status then return false end
  if not string.find(',' .. ARGV[1] .. ',', ',' .. status .. ',', 1, true) then return status end
  redis.call('HSET', KEYS[1], 'status', ARGV[2])
  redis.call('HINCRBY', KEYS[3], status, -1)
  redis.call('HINCRBY', KEYS[3], ARGV[2], 1)
  if #ARGV > 6 then redis.call('HSET', KEYS[1], unpack(ARGV, 7)) end
  local tenant = redis.call('HGET', KEYS[1], 'tenant')
  if ARGV[6] ~= '' then
    if tenant then redis.call('SREM', ARGV[6] .. tenant, ARGV[4]) end
    redis.call('ZREM', KEYS[4], ARGV[4])
  end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[5], '*', 'status', ARGV[2])
  if ARGV[3] ~= '' then
    local record = cjson.encode(redis.call('HGETALL', KEYS[1]))
    local message = ARGV[4] .. ' ' .. ARGV[2] .. '\\n' .. record
    local result = redis.call('GET', KEYS[1] .. ':result')
    if result and #result <= 65536 then message = message .. '\\n' .. result end
    redis.call('PUBLISH', ARGV[3], message)
  end
  if KEYS[5] and redis.call('HEXISTS', KEYS[1], 'webhook') == 1 then
    redis.call('ZADD', KEYS[5], 'NX', 0, ARGV[4])
  end
  return 'OK'
end
"""
TRANSITION = TRANSITION_LUA + "return transition(KEYS, ARGV)\n"

# Ends a batch of claimed JSON jobs in one call. ARGV[1]: JSON list of {keys, args, cancel?,
# result?, usage?}, each a transition (`cancel` the one to take instead when the job is being
# cancelled); `result`, the ARGV index of the job's scored rows, stored for ARGV[2] seconds
# before the transition publishes them; `usage`, added only when the job's transition happened
# here (a job ended by a batch before is not counted again). ARGV[3]: JSON {ttl, held}, `held`
# the [request id, usage] of each sync request answered, whose usage is added only when its
# entry was still held (KEYS[2]): a request scored twice is counted once. KEYS[1]: the leases,
# dropped for every job; KEYS[3]: the tenants' row totals.
FINISH_INLINE = (
    TRANSITION_LUA
    + USAGE_LUA
    + """
local ids = {}
local usage = cjson.decode(ARGV[3])
local sums = usage_sums()
for _, job in ipairs(cjson.decode(ARGV[1])) do
  if job.result then
    redis.call('SET', job.keys[1] .. ':result', ARGV[job.result], 'EX', ARGV[2])
  end
  local ended = transition(job.keys, job.args)
  if ended == 'cancelling' and job.cancel then ended = transition(job.keys, job.cancel) end
  if ended == 'OK' and job.usage then usage_add(sums, job.usage) end
  ids[#ids + 1] = job.args[4]
end
for _, request in ipairs(usage.held) do
  if redis.call('HDEL', KEYS[2], request[1]) == 1 then usage_add(sums, request[2]) end
end
usage_flush(sums, usage.ttl, KEYS[3])
if #ids > 0 then redis.call('ZREM', KEYS[1], unpack(ids)) end
return #ids
"""
)

# Stores a new job in one step (a function the JSON job submission script shares): its hash and
# input with their TTLs, its first event, the status count, the tenant's job index (pruned of
# records past retention), the deadline and expiry indexes, its priority lane with the batchers'
# doorbell (JSON jobs), the tenant's jobs in flight, and the Idempotency-Key that made it (none
# stored, and 0 returned, when the key was taken first: the admitted job then leaves the
# in-flight set). KEYS: job, input, events, status counts, tenant jobs, deadlines, expiry,
# lane, doorbell, in-flight set[, idempotency key].
# ARGV: id, status, record TTL, input TTL, created ms, prune-before ms, deadline, expiry ('' for
# none), queue?, in flight?, input?, input, idempotency value, doorbell length, then the fields.
CREATE_LUA = """
local function create(KEYS, ARGV)
  if KEYS[11] then
    if redis.call('EXISTS', KEYS[11]) == 1 then
      redis.call('SREM', KEYS[10], ARGV[1])
      return 0
    end
    redis.call('SET', KEYS[11], ARGV[13], 'EX', ARGV[3])
  end
  redis.call('HSET', KEYS[1], unpack(ARGV, 15))
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  if ARGV[11] == '1' then redis.call('SET', KEYS[2], ARGV[12], 'EX', ARGV[4]) end
  redis.call('XADD', KEYS[3], '*', 'status', ARGV[2])
  redis.call('EXPIRE', KEYS[3], ARGV[3])
  redis.call('HINCRBY', KEYS[4], ARGV[2], 1)
  redis.call('ZADD', KEYS[5], ARGV[5], ARGV[1])
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[6])
  if ARGV[7] ~= '' then redis.call('ZADD', KEYS[6], ARGV[7], ARGV[1]) end
  if ARGV[8] ~= '' then redis.call('ZADD', KEYS[7], ARGV[8], ARGV[1]) end
  if ARGV[9] == '1' then
    redis.call('RPUSH', KEYS[8], ARGV[1])
    redis.call('RPUSH', KEYS[9], '1')
    redis.call('LTRIM', KEYS[9], -tonumber(ARGV[14]), -1)
  end
  if ARGV[10] == '1' then redis.call('SADD', KEYS[10], ARGV[1]) end
  return 1
end
"""
CREATE = CREATE_LUA + "return create(KEYS, ARGV)\n"

# A job's hash and its scored rows. One script call costs the client less than a pipeline.
READ_WITH_RESULT = """
return {redis.call('HGETALL', KEYS[1]), redis.call('GET', KEYS[2])}
"""
