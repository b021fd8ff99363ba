-- The Lua of the OpenResty example: one cached listing for /certs,
-- /metrics and the expiry check, and the check itself, which runs once
-- per interval for the whole nginx and logs one summary line.
local cache = require("scm.resty.cache")
local timer = require("scm.resty.timer")

local M = {}

-- What every part of the example lists: the account from the environment,
-- soonest expiry first.
M.OPTS = {
  endpoint = os.getenv("SCM_ENDPOINT"),
  region = os.getenv("SCM_REGION"),
  token = os.getenv("SCM_TOKEN"),
  sort_key = "certExpiredTime",
  sort_dir = "ASC",
  concurrency = 4,
}

-- lua_shared_dict scm_cache (nginx.conf); CACHE_TTL seconds fresh, then
-- served for an hour more while refreshing fails.
M.CACHE = { dict = "scm_cache", ttl = tonumber(os.getenv("CACHE_TTL")) or 300, stale_if_error = 3600 }

-- certs, err, info: see scm.resty.cache.
function M.certs()
  return cache.all(M.OPTS, M.CACHE)
end

-- The same, with the certificates as JSON text, as kept in the cache.
function M.json()
  return cache.json(M.OPTS, M.CACHE)
end

-- "YYYY-MM-DD HH:MM:SS.0", taken as UTC, to seconds since the epoch.
local function utc_seconds(s)
  local y, m, d, hh, mm, ss = (s or ""):match("^(%d+)-(%d+)-(%d+) (%d+):(%d+):(%d+)")
  if not y then return nil end
  local t = os.time({ year = y, month = m, day = d, hour = hh, min = mm, sec = ss })
  return t + (os.time() - os.time(os.date("!*t")))
end

local SOONEST = 3 -- certificates named in the summary line

function M.check()
  local days = tonumber(os.getenv("EXPIRY_DAYS")) or 30
  local certs, err, info = M.certs()
  if not certs then
    ngx.log(ngx.ERR, "scm expiry check failed: ", tostring(err))
    return
  end
  local t = ngx.time()
  local horizon = t + days * 86400
  local expiring = {}
  for _, cert in ipairs(certs) do
    local at = utc_seconds(cert.expire_time)
    if at and at <= horizon then expiring[#expiring + 1] = { cert = cert, at = at } end
  end
  table.sort(expiring, function(a, b) return a.at < b.at end)
  local soonest = {}
  for i = 1, math.min(SOONEST, #expiring) do
    local e = expiring[i]
    soonest[i] = ("%s (%s) in %.1f days"):format(e.cert.domain or "?", e.cert.id or "?", (e.at - t) / 86400)
  end
  ngx.log(#expiring > 0 and ngx.WARN or ngx.NOTICE,
    ("scm expiry check: %d of %d certificates expire within %d days"):format(#expiring, #certs, days),
    #soonest > 0 and "; soonest: " .. table.concat(soonest, ", ") or "",
    err and ("; listing failed, from the copy listed %d s ago: %s"):format(info.age, tostring(err)) or "")
end

-- In init_worker_by_lua, in every worker: the check runs once per
-- CHECK_EVERY seconds for the whole nginx.
function M.start()
  -- at most 8 upstream connections per worker for every listing together
  -- (the cache makes it one listing at a time; the cap holds anyway)
  require("scm.resty").configure({ max_connections = 8 })
  local every = tonumber(os.getenv("CHECK_EVERY")) or 3600
  local ok, err = timer.every(every, M.check, { dict = "scm_timers", name = "expiry-check" })
  if not ok then ngx.log(ngx.ERR, "scm expiry check not started: ", err) end
end

return M
