-- Build-time test (debian/rules): the module just built loads in this
-- interpreter, reports the release given as argument, and checks options
-- before sending anything.
local scm = require("scm")
print(scm._VERSION)
assert(scm._VERSION == "scm " .. arg[1], "expected scm " .. arg[1] .. ", got " .. scm._VERSION)
local ok, err = pcall(scm.list, { token = "t", sort_dir = "UP" })
assert(not ok and tostring(err):find("sort_dir", 1, true), "a bad sort_dir raises: " .. tostring(err))
