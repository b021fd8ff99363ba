-- The loop a user would write by hand: LuaSocket's http.request and cjson,
-- one page after another, offset += 50 until total_count.
--   lua5.4 bench/luasocket_peer.lua URL TOKEN
local http = require("socket.http")
local ltn12 = require("ltn12")
local cjson = require("cjson")
local url, token = arg[1], arg[2]
local n, offset = 0, 0
local total
repeat
  local chunks = {}
  local _, code = http.request({
    url = ("%s/v3/scm/certificates?limit=50&offset=%d"):format(url, offset),
    headers = { ["X-Auth-Token"] = token },
    sink = ltn12.sink.table(chunks),
  })
  assert(code == 200, code)
  local page = cjson.decode(table.concat(chunks))
  n = n + #page.certificates
  total = page.total_count
  offset = offset + 50
until offset >= total
print(n)
