-- Kept for specs written against it before spec/support/ existed: the
-- standard OpenResty test server is spec/support/nginx.lua's openresty().
local nginx = require("support.nginx")
local shell = require("support.shell")

return { REPO = nginx.REPO, start = nginx.openresty, wait_for = shell.wait_for }
