-- UTC calendar arithmetic without os.time(), which would apply the machine's
-- local time zone when converting a date to seconds.

local M = {}

M.DAY = 86400

-- Days since 1970-01-01 for a proleptic Gregorian date (H. Hinnant's
-- days_from_civil), in plain arithmetic so it is exact in doubles.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = math.floor(y / 400)
  local yoe = y - era * 400
  local doy = math.floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + math.floor(yoe / 4) - math.floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

-- "YYYY-MM-DD HH:MM:SS" for epoch seconds, in UTC.
function M.format(epoch)
  return os.date("!%Y-%m-%d %H:%M:%S", epoch)
end

-- The API's expire_time layout: "YYYY-MM-DD HH:MM:SS.0".
function M.format_expire(epoch)
  return M.format(epoch) .. ".0"
end

-- Epoch seconds for "YYYY-MM-DD HH:MM:SS" (UTC), optionally followed by a
-- fraction such as ".0" (as in expire_time). Returns nil for anything else,
-- including impossible dates such as 2023-02-30.
function M.parse(text)
  if type(text) ~= "string" then return nil end
  local y, mo, d, h, mi, s = text:match("^(%d%d%d%d)-(%d%d)-(%d%d) (%d%d):(%d%d):(%d%d)")
  if not y then return nil end
  local rest = text:sub(20)
  if rest ~= "" and not rest:match("^%.%d+$") then return nil end
  y, mo, d, h, mi, s = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(s)
  if mo < 1 or mo > 12 or d < 1 or h > 23 or mi > 59 or s > 59 then return nil end
  local epoch = days_from_civil(y, mo, d) * M.DAY + h * 3600 + mi * 60 + s
  -- Day 31 of a 30-day month rolls over into the next month: reject it.
  if M.format(epoch) ~= text:sub(1, 19) then return nil end
  return epoch
end

-- Today at 00:00:00 UTC.
function M.today()
  local now = os.time()
  return now - now % M.DAY
end

return M
