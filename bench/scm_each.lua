-- Lists every certificate with scm.each; prints the count.
--   lua5.4 bench/scm_each.lua URL TOKEN CONCURRENCY
local scm = require("scm")
local url, token, c = arg[1], arg[2], tonumber(arg[3])
local n = 0
for _ in scm.each({ endpoint = url, token = token, concurrency = c }) do n = n + 1 end
print(n)
