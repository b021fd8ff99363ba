-- Soak: N scm.list calls in one process (a client, and the module-level
-- function), every one a real request; prints Lua memory and RSS as the
-- calls go. A leak shows as a climb between the later samples.
--   lua5.4 bench/soak.lua URL TOKEN [N]
local scm = require("scm")
local url, token, n = arg[1], arg[2], tonumber(arg[3]) or 10000

local function rss_kib()
  local f = io.open("/proc/self/status")
  local kib = f:read("*a"):match("VmRSS:%s*(%d+)")
  f:close()
  return tonumber(kib)
end

local client = scm.new({ endpoint = url, token = token, limit = 50 })
local every = n / 10
for i = 1, n do
  local page, err
  if i % 2 == 0 then
    page, err = client:list({ offset = (i % 100) * 10 })
  else
    page, err = scm.list({ endpoint = url, token = token, limit = 20, status = "ISSUED" })
  end
  assert(page, tostring(err))
  if i % every == 0 then
    collectgarbage()
    print(("%d %.1f %d"):format(i, collectgarbage("count"), rss_kib()))
  end
end
