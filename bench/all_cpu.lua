-- The CPU (user + sys, os.clock) one listing of every certificate takes,
-- with scm.each (certificates dropped as they come) or scm.all (all kept,
-- in the array it returns); prints the count and the seconds.
--   lua5.4 bench/all_cpu.lua URL TOKEN each|all
local scm = require("scm")
local url, token, how = arg[1], arg[2], arg[3]
local opts = { endpoint = url, token = token }
local n = 0
local t0 = os.clock()
if how == "all" then
  n = #assert(scm.all(opts))
else
  for _ in scm.each(opts) do n = n + 1 end
end
print(n, os.clock() - t0)
