-- scm.resty.cache: one listing shared by every request and timer of an
-- nginx. all(opts, cache) gives what scm.resty.all(opts) gives, from a
-- copy kept in a lua_shared_dict for `ttl` seconds; when the copy is
-- older, one caller in the whole nginx lists again while the others wait
-- for it (a shared-dict lock across workers, a semaphore within one),
-- and when that listing fails the old copy is served, up to
-- `stale_if_error` seconds past its ttl, with the err alongside.
local scm = require("scm")
local semaphore = require("ngx.semaphore")
local json = require("cjson.safe").new() -- our own settings, not the caller's

local ngx = ngx
local now, update_time, sleep = ngx.now, ngx.update_time, ngx.sleep
local exiting = ngx.worker.exiting
local spawn, kill = ngx.thread.spawn, ngx.thread.kill
local concat, sort = table.concat, table.sort
local min = math.min

local M = {}

local FORMAT = 1 -- of a stored entry; another value is ignored (a listing)
-- The lock of a listing in flight lives LOCK_TTL seconds and is renewed
-- every LOCK_RENEW while the listing goes on: a listing killed with its
-- worker (a reload) or its timer holds up the others that long at most.
local LOCK_TTL, LOCK_RENEW = 5, 1

-- Options that change how a listing is made, not what it gives: left out
-- of the key, so that callers differing only in these share one copy.
local TRANSPORT = {
  timeout = true, connect_timeout = true, deadline = true, retries = true,
  concurrency = true, limit = true, max_body = true, user_agent = true,
  verify = true, cafile = true, allow_http = true, ssl_server_name = true,
  pool_size = true, backlog = true, keepalive_timeout = true, ssl_session_reuse = true,
}

-- ---- options of the cache ---------------------------------------------

local function bad(name, rule, got)
  error(("scm.resty.cache: %s must be %s (got %s)"):format(name, rule, got), 3)
end

local function seconds(c, name, default, least)
  local v = c[name]
  if v == nil then return default end
  if type(v) ~= "number" or v ~= v or v < least or v >= math.huge then
    bad(name, ("a number >= %s"):format(least), type(v) == "number" and tostring(v) or type(v))
  end
  return v
end

local KNOWN = { dict = true, ttl = true, stale_if_error = true, error_ttl = true, wait = true, key = true }

local function settings(c)
  if c ~= nil and type(c) ~= "table" then bad("the cache settings", "a table", type(c)) end
  c = c or {}
  for name in pairs(c) do
    if not KNOWN[name] then
      error(("scm.resty.cache: unknown setting %q (dict, ttl, stale_if_error, error_ttl, wait, key)")
        :format(tostring(name)), 3)
    end
  end
  local name = c.dict == nil and "scm_cache" or c.dict
  if type(name) ~= "string" then bad("dict", "the name of a lua_shared_dict", type(name)) end
  local dict = ngx.shared[name]
  if not dict then
    error(("scm.resty.cache: dict: no lua_shared_dict named %q (add `lua_shared_dict %s 10m;` "
      .. "to the http block)"):format(name, name), 3)
  end
  if c.key ~= nil and (type(c.key) ~= "string" or c.key == "") then
    bad("key", "a non-empty string", type(c.key) == "string" and '""' or type(c.key))
  end
  local ttl = seconds(c, "ttl", 300, 0)
  return {
    dict = dict,
    ttl = ttl,
    stale_if_error = seconds(c, "stale_if_error", 3600, 0),
    error_ttl = seconds(c, "error_ttl", min(10, ttl), 0),
    wait = seconds(c, "wait", 60, 0),
    key = c.key,
  }
end

-- ---- the key ------------------------------------------------------------

local function hex(s)
  return (s:gsub(".", function(ch) return ("%02x"):format(ch:byte()) end))
end

-- A canonical text of a value: keys sorted, every value with its type.
local function canonical(v, out)
  local t = type(v)
  if t == "table" then
    local keys = {}
    for k in pairs(v) do keys[#keys + 1] = k end
    sort(keys, function(a, b) return tostring(a) < tostring(b) end)
    out[#out + 1] = "{"
    for _, k in ipairs(keys) do
      canonical(k, out)
      out[#out + 1] = "="
      canonical(v[k], out)
      out[#out + 1] = ";"
    end
    out[#out + 1] = "}"
  elseif t == "string" then
    out[#out + 1] = ("%q"):format(v)
  else
    out[#out + 1] = t .. ":" .. tostring(v)
  end
  return out
end

-- The dict key of a listing: a SHA-1 of every option that can change its
-- result, credentials included (so each account has its copy), so no
-- secret is ever stored or shown in clear.
function M.key(opts)
  local kept = {}
  for k, v in pairs(opts or {}) do
    if not TRANSPORT[k] then kept[k] = v end
  end
  return "scm:all:" .. hex(ngx.sha1_bin(concat(canonical(kept, {}))))
end

-- ---- entries ---------------------------------------------------------------

-- A copy of a listing: { listed_at, duration, total_count, text } where
-- text is the certificates as a JSON array; certs (Lua tables) only where
-- they were at hand. Stored as one line of JSON about the copy, a
-- newline, then text: a caller that serves JSON never decodes it.
local function load(dict, key)
  local value = dict:get(key)
  if not value then return nil end
  local nl = value:find("\n", 1, true)
  local e = nl and json.decode(value:sub(1, nl - 1))
  if type(e) ~= "table" or e.format ~= FORMAT or type(e.listed_at) ~= "number" then return nil end
  e.text = value:sub(nl + 1)
  return e
end

local function store(c, key, e)
  local ok, err = false, "a value JSON cannot hold"
  if e.text then
    local meta = json.encode({ format = FORMAT, listed_at = e.listed_at, duration = e.duration,
      total_count = e.total_count })
    ok, err = c.dict:set(key, meta .. "\n" .. e.text, c.ttl + c.stale_if_error)
  end
  if not ok then
    ngx.log(ngx.ERR, "scm.resty.cache: cannot keep a listing of ", e.total_count,
      " certificates (", e.text and #e.text or "?", " bytes): ", err)
  end
  return ok
end

-- The certificates of a copy as scm.resty.all gives them: tables of the
-- caller's own.
local function certs_of(e)
  local certs = e.certs
  e.certs = nil -- handed out once; later callers decode the text
  if not certs then
    certs = json.decode(e.text)
    if type(certs) ~= "table" then certs = {} end
  end
  certs.total_count = e.total_count
  return certs
end

-- The err of a failed listing, as stored and as given back.
local ERR_FIELDS = { "kind", "status", "code", "message", "request_id", "attempts" }

local function store_failure(c, key, err, at, duration)
  if c.error_ttl <= 0 then return end
  local fields = { at = at, duration = duration }
  for _, f in ipairs(ERR_FIELDS) do fields[f] = err[f] end
  c.dict:set(key .. ":err", json.encode(fields), c.error_ttl)
end

local function load_failure(dict, key)
  local text = dict:get(key .. ":err")
  local f = text and json.decode(text)
  if type(f) ~= "table" then return nil end
  local fields = {}
  for _, name in ipairs(ERR_FIELDS) do fields[name] = f[name] end
  return scm.error(fields), f.at, f.duration
end

-- What every caller is told about the copy it got.
local function describe(c, key, e, source, success)
  local t = now()
  return {
    source = source,          -- "listed" (by this call), "shared" (waited for another), "cache"
    fresh = t - e.listed_at < c.ttl,
    success = success,        -- whether the latest listing succeeded
    listed_at = e.listed_at,  -- epoch seconds when the copy was listed
    timestamp = e.listed_at,  -- (the name scm.metrics reads)
    age = t - e.listed_at,
    duration = e.duration,    -- seconds that listing took
    expires_at = e.listed_at + c.ttl,
    total_count = e.total_count,
    key = key,
  }
end

-- A failure: the copy that is left and the err, or the err alone.
local function failed(c, key, e, err, at, duration, source)
  if e and now() - e.listed_at < c.ttl + c.stale_if_error then
    return e, err, describe(c, key, e, source, false)
  end
  return nil, err, { source = source, fresh = false, success = false, timestamp = at,
    duration = duration, key = key }
end

-- ---- single flight ---------------------------------------------------------

-- Listings in flight in this worker, by key.
local flights = {}

-- Lists, with the cross-worker lock held; keeps the result. Returns
-- entry, err, info, and what the listing raised (a programmer error).
local function list_locked(c, key, opts, old)
  update_time()
  local started = now()
  local ok, certs, err = pcall(require("scm.resty").all, opts)
  update_time()
  local at = now()
  local duration = at - started
  if not ok then return nil, nil, nil, certs end
  if not certs then
    store_failure(c, key, err, at, duration)
    return failed(c, key, old, err, at, duration, "listed")
  end
  c.dict:delete(key .. ":err")
  local list = {}
  for i = 1, #certs do list[i] = certs[i] end
  local e = { listed_at = at, duration = duration, total_count = certs.total_count, certs = certs,
    text = #list == 0 and "[]" or json.encode(list) }
  store(c, key, e)
  return e, nil, describe(c, key, e, "listed", true)
end

local function waited_too_long(c, key, old, what)
  local err = scm.error({ kind = "timeout", message = ("waited %gs for %s"):format(c.wait, what) })
  update_time()
  return failed(c, key, old, err, now(), nil, "shared")
end

local serial = 0

-- Renews a listing's lock while the listing goes on.
local function keep(dict, lock, token)
  while true do
    sleep(LOCK_RENEW)
    if dict:get(lock) ~= token then return end
    dict:set(lock, token, LOCK_TTL)
  end
end

-- Does what get() promises once the copy is missing or old: one caller
-- lists, the others wait for its outcome.
local function refresh(c, key, opts, old)
  local deadline = now() + c.wait
  local flight = flights[key]
  if flight then
    -- another request or timer of this worker is on it
    flight.waiters = flight.waiters + 1
    local ok = flight.sema:wait(c.wait)
    if flight.raised then error(flight.raised, 0) end
    if not ok then return waited_too_long(c, key, old, "the listing in flight in this worker") end
    if flight.entry then
      local e = flight.entry
      return { listed_at = e.listed_at, duration = e.duration, total_count = e.total_count, text = e.text },
        nil, describe(c, key, e, "shared", true)
    end
    return failed(c, key, old, flight.err, flight.at, flight.duration, "shared")
  end

  flight = { sema = semaphore.new(0), waiters = 0 }
  flights[key] = flight
  local started = now()
  local lock = key .. ":lock"
  local e, err, info, raised
  local step = 0.005
  while true do
    serial = serial + 1
    local token = ngx.worker.pid() .. ":" .. serial
    if c.dict:add(lock, token, LOCK_TTL) then
      local keeper = spawn(keep, c.dict, lock, token)
      e, err, info, raised = list_locked(c, key, opts, old)
      kill(keeper)
      if c.dict:get(lock) == token then c.dict:delete(lock) end
      break
    end
    -- another worker lists: wait for its copy or its failure
    sleep(step)
    step = min(step * 2, 0.1)
    local got = load(c.dict, key)
    if got and got.listed_at >= started then
      e, info = got, describe(c, key, got, "shared", true)
      break
    end
    local ferr, at, duration = load_failure(c.dict, key)
    if ferr and at >= started then
      e, err, info = failed(c, key, old, ferr, at, duration, "shared")
      break
    end
    if now() >= deadline or exiting() then
      e, err, info = waited_too_long(c, key, old, "the listing in flight in another worker")
      break
    end
  end

  -- the outcome, for this worker's waiters (strings only: nothing they could change)
  flights[key] = nil
  flight.raised = raised
  if e and info.success and e.text then
    flight.entry = { listed_at = e.listed_at, duration = e.duration, total_count = e.total_count, text = e.text }
  else
    flight.err, flight.at, flight.duration = err, info and info.timestamp, info and info.duration
  end
  if flight.waiters > 0 then flight.sema:post(flight.waiters) end
  if raised then error(raised, 0) end
  return e, err, info
end

-- entry, err, info: the copy, fresh or refreshed.
local function get(opts, cache)
  local c = settings(cache)
  local key = c.key or M.key(opts)
  local e = load(c.dict, key)
  if e and now() - e.listed_at < c.ttl then
    return e, nil, describe(c, key, e, "cache", true)
  end
  -- a listing failed a moment ago: not again before error_ttl
  local err, at, duration = load_failure(c.dict, key)
  if err then return failed(c, key, e, err, at, duration, "cache") end
  return refresh(c, key, opts, e)
end

-- certs, err, info. certs is what scm.resty.all(opts) gives (a sequence
-- with total_count, tables of the caller's own), fresh or from the shared
-- copy; err is nil, or the err of the refresh that failed when an older
-- copy is served, or the err alone (certs nil) when there is none to
-- serve. info says which: { source, fresh, success, listed_at, timestamp,
-- age, duration, expires_at, total_count, key }.
function M.all(opts, cache)
  local e, err, info = get(opts, cache)
  return e and certs_of(e), err, info
end

-- The same as all, with the certificates as the JSON array text the copy
-- is kept as: for a handler that serves them as JSON, nothing to decode
-- or encode per request.
function M.json(opts, cache)
  local e, err, info = get(opts, cache)
  return e and e.text, err, info
end

-- Forgets the copy of a listing: the next call lists again.
function M.purge(opts, cache)
  local c = settings(cache)
  local key = c.key or M.key(opts)
  c.dict:delete(key)
  c.dict:delete(key .. ":err")
end

return M
