-- Lists the certificates of an account, soonest expiry first.
--
--   SCM_TOKEN=<IAM token> lua5.4 examples/list.lua           (region ap-southeast-1)
--   HUAWEICLOUD_SDK_AK=... HUAWEICLOUD_SDK_SK=... lua5.4 examples/list.lua
--   SCM_REGION=cn-north-4 SCM_TOKEN=... lua5.4 examples/list.lua
--   SCM_ENDPOINT=http://127.0.0.1:8080 SCM_TOKEN=... lua5.4 examples/list.lua
local scm = require("scm")

local client = scm.new({
  token = os.getenv("SCM_TOKEN"), -- without it: AK/SK from the SDK variables or file
  endpoint = os.getenv("SCM_ENDPOINT"),
  region = os.getenv("SCM_REGION"),
})

-- Every page, side by side once the first has told how many there are.
local certs, err = client:all({ sort_key = "certExpiredTime", sort_dir = "ASC" })
if not certs then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end

-- Days from now until "YYYY-MM-DD HH:MM:SS.0" (taken as UTC).
local function days_left(expire_time)
  local y, m, d, hh, mm, ss = (expire_time or ""):match("(%d+)-(%d+)-(%d+) (%d+):(%d+):(%d+)")
  if not y then return nil end
  local t = os.time({ year = y, month = m, day = d, hour = hh, min = mm, sec = ss })
  local utc_offset = os.time() - os.time(os.date("!*t"))
  return math.floor((t + utc_offset - os.time()) / 86400)
end

local row = "%-16s  %-32s  %-10s  %-19s  %5s\n"
io.write(row:format("ID", "DOMAIN", "STATUS", "EXPIRES (UTC)", "DAYS"))
for _, cert in ipairs(certs) do
  local domain = cert.domain or ""
  if #domain > 32 then domain = domain:sub(1, 29) .. "..." end
  io.write(row:format(cert.id, domain, cert.status or "",
    (cert.expire_time or ""):sub(1, 19), tostring(days_left(cert.expire_time) or "?")))
end
io.write(("%d certificates\n"):format(#certs))
client:close()
