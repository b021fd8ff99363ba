-- scm-emulator: a local stand-in for Huawei Cloud SCM's certificate list API.
-- Entry points called from the nginx.conf the launcher writes.
--
-- nginx runs exactly one worker process (worker_processes 1). The data set,
-- the request log and the fault queue are plain Lua tables in that worker, so
-- every request sees the same state with no shared memory or locking; a
-- second worker would have a state of its own.

local api = require "scm_emulator.api"
local control = require "scm_emulator.control"
local settings = require "scm_emulator.settings"

local M = {}

-- init_by_lua, in the nginx master before the worker is forked: a bad setting
-- keeps nginx from starting, and the worker inherits a ready data set.
function M.init()
  local ok, err = settings.load(ngx.config.prefix() .. "conf/emulator.json")
  if not ok then error("scm-emulator: bad settings: " .. err, 0) end
  settings.apply(settings.startup)
  control.regenerate()
end

-- content_by_lua, for every request.
function M.handle()
  local uri = ngx.var.uri
  if uri == "/_emulator" or uri:sub(1, 11) == "/_emulator/" then
    return control.serve()
  end
  return api.serve()
end

return M
