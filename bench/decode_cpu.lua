-- CPU per page: scm decoding a 50-certificate page (JSON, nulls removed,
-- integers made integers, shape checked) against a bare cjson.decode of
-- the same body. Prints "scm_seconds cjson_seconds rounds".
--   lua5.4 bench/decode_cpu.lua BODY_FILE ROUNDS
local scm = require("scm")
local cjson = require("cjson")
local f = assert(io.open(arg[1], "rb"))
local body = f:read("*a")
f:close()
local rounds = tonumber(arg[2]) or 20000
assert(#assert(scm.decode(200, body)).certificates == 50)

local function measure(fn)
  collectgarbage()
  local t0 = os.clock()
  for _ = 1, rounds do fn(body) end
  return os.clock() - t0
end
-- alternate, and keep the best of three of each, against noise
local best_scm, best_cjson = math.huge, math.huge
for _ = 1, 3 do
  best_cjson = math.min(best_cjson, measure(cjson.decode))
  best_scm = math.min(best_scm, measure(function(b) return scm.decode(200, b) end))
end
print(("%.6f %.6f %d"):format(best_scm, best_cjson, rounds))
