-- Lists every certificate with scm.all; prints the count.
--   lua5.4 bench/scm_all.lua URL TOKEN CONCURRENCY
local scm = require("scm")
local url, token, c = arg[1], arg[2], tonumber(arg[3])
local certs = assert(scm.all({ endpoint = url, token = token, concurrency = c }))
print(#certs)
