-- The CPU (user + sys, os.clock) of one listing of every certificate:
-- scm.each dropping the certificates as they come ("each"), scm.each
-- keeping them all in a table of the caller's ("keep"), or scm.all.
-- Prints the count, the CPU of the listing alone and that of the whole
-- process (start-up included), in seconds.
--   lua5.4 bench/all_cpu.lua URL TOKEN each|keep|all
local scm = require("scm")
local url, token, how = arg[1], arg[2], arg[3]
local opts = { endpoint = url, token = token }
local n = 0
local t1 = os.clock()
if how == "all" then
  n = #assert(scm.all(opts))
elseif how == "keep" then
  local kept = {}
  for cert in scm.each(opts) do kept[#kept + 1] = cert end
  n = #kept
else
  for _ in scm.each(opts) do n = n + 1 end
end
local t2 = os.clock()
print(n, t2 - t1, t2) -- os.clock(): CPU since the process started
