-- Prints the certificates that expire within DAYS days (default 30),
-- soonest first, and exits 1 when there are any: a cron job's check.
--
--   SCM_TOKEN=... lua5.4 examples/expiring.lua 30
--   HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=... SCM_REGION=cn-north-4 lua5.4 examples/expiring.lua
--   SCM_ENDPOINT=http://127.0.0.1:8080 SCM_TOKEN=... lua5.4 examples/expiring.lua 60
local scm = require("scm")

local days = tonumber(arg[1]) or 30

-- Seconds since the epoch of "YYYY-MM-DD HH:MM:SS.0", read as UTC (the
-- API gives no zone).
local function utc_seconds(s)
  local y, m, d, hh, mm, ss = (s or ""):match("^(%d+)-(%d+)-(%d+) (%d+):(%d+):(%d+)")
  if not y then return nil end
  local local_time = os.time({ year = y, month = m, day = d, hour = hh, min = mm, sec = ss })
  return local_time + (os.time() - os.time(os.date("!*t")))
end

local opts = {
  token = os.getenv("SCM_TOKEN"), -- without it: AK/SK from the SDK variables or file
  endpoint = os.getenv("SCM_ENDPOINT"),
  region = os.getenv("SCM_REGION"),
  sort_key = "certExpiredTime",
  sort_dir = "ASC",
  concurrency = 8,
}

local horizon = os.time() + days * 86400
local soon = {}
local ok, err = pcall(function()
  for cert in scm.each(opts) do
    local t = utc_seconds(cert.expire_time)
    if t and t <= horizon then soon[#soon + 1] = { cert = cert, days = (t - os.time()) / 86400 } end
  end
end)
if not ok then
  io.stderr:write("listing failed: ", tostring(err), "\n")
  os.exit(2)
end

for _, s in ipairs(soon) do
  print(("%-16s  %-40s  %s  %s"):format(s.cert.id, s.cert.domain or "?", s.cert.expire_time,
    s.days < 0 and "EXPIRED" or ("%.0f days"):format(s.days)))
end
print(("%d certificates expire within %d days"):format(#soon, days))
os.exit(#soon > 0 and 1 or 0)
