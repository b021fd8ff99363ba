-- The timer job of the OpenResty example: logs each certificate that
-- expires within EXPIRY_DAYS days (default 30), and a summary line.
local resty = require("scm.resty")

local M = {}

local client
function M.client()
  client = client or resty.new({
    endpoint = os.getenv("SCM_ENDPOINT"),
    region = os.getenv("SCM_REGION"),
    token = os.getenv("SCM_TOKEN"),
  })
  return client
end

-- "YYYY-MM-DD HH:MM:SS.0", taken as UTC, to seconds since the epoch.
local function utc_seconds(s)
  local y, m, d, hh, mm, ss = (s or ""):match("^(%d+)-(%d+)-(%d+) (%d+):(%d+):(%d+)")
  if not y then return nil end
  local t = os.time({ year = y, month = m, day = d, hour = hh, min = mm, sec = ss })
  return t + (os.time() - os.time(os.date("!*t")))
end

function M.check(premature)
  if premature then return end
  local days = tonumber(os.getenv("EXPIRY_DAYS")) or 30
  local horizon = ngx.time() + days * 86400
  local n = 0
  local certs, err = M.client():all({ sort_key = "certExpiredTime", sort_dir = "ASC" })
  if not certs then
    ngx.log(ngx.ERR, "scm expiry check failed: ", tostring(err))
    return
  end
  for _, cert in ipairs(certs) do
    local t = utc_seconds(cert.expire_time)
    if t and t <= horizon then
      n = n + 1
      ngx.log(ngx.WARN, ("certificate %s (%s) expires %s UTC"):format(cert.id,
        cert.domain or "?", cert.expire_time))
    end
  end
  ngx.log(ngx.NOTICE, ("scm expiry check: %d of %d certificates expire within %d days")
    :format(n, #certs, days))
end

return M
