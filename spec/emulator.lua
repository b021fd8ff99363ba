-- Test support: drives the bundled SCM emulator through its control API.
-- The module under test is never used here; control requests go through
-- the curl command, so what the emulator logs is only what scm sent.
-- Shell, files and waiting are spec/support/shell.lua's; nginx is
-- spec/support/nginx.lua's.
local cjson = require("cjson")
local shell = require("support.shell")
local tables = require("support.tables")
local requests = require("support.requests")

local run, quote = shell.run, shell.quote

local M = {}

local Emulator = {}
Emulator.__index = Emulator

-- One control request; returns the decoded JSON answer and the status.
function Emulator:control(method, path, body)
  local cmd = { "curl -sS --max-time 20 -X", method, "-w '\\n%{http_code}'" }
  if self.cacert then cmd[#cmd + 1] = "--cacert " .. quote(self.cacert) end
  local file
  if body ~= nil then
    file = shell.temp_file(type(body) == "string" and body or cjson.encode(body))
    cmd[#cmd + 1] = "-H 'Content-Type: application/json' --data-binary @" .. quote(file)
  end
  cmd[#cmd + 1] = quote(self.url .. "/_emulator/" .. path)
  local out = run(table.concat(cmd, " "))
  if file then os.remove(file) end
  local text, status = out:match("^(.*)\n(%d+)$")
  status = tonumber(status)
  if not status or status >= 300 then
    error(("emulator %s %s: %s"):format(method, path, out), 2)
  end
  return text ~= "" and cjson.decode(text) or nil, status
end

-- Back to the start-up data set with an empty log and no faults; settings
-- given (certs, seed, token, latency_ms, now) replace the start-up ones.
function Emulator:reset(settings)
  return self:control("POST", "reset", settings or {})
end

function Emulator:config() return (self:control("GET", "config")) end
function Emulator:log() return (self:control("GET", "log")) end
function Emulator:clear_log() self:control("DELETE", "log") end
function Emulator:faults(list) return self:control("POST", "faults", list) end
function Emulator:delete(what) return (self:control("POST", "delete", what)) end
function Emulator:certificates() return (self:control("GET", "certificates")) end
function Emulator:put_certificates(list)
  return self:control("PUT", "certificates", list)
end

-- Waits (at most `seconds`, default 10) until no request has arrived for
-- 0.3 s: requests a test abandoned in flight have all come in, and none is
-- left to take a fault the next test queues. True once quiet.
function Emulator:quiet(seconds)
  local last = -1
  return shell.wait_for(seconds or 10, function()
    local n = self:config().log_entries
    if n == last then return true end
    last = n
    return false
  end, 0.3)
end

-- The logged requests whose path ends with path: their number and them.
function Emulator:requests_to(path) return requests.requests_to(self:log(), path) end
-- How many logged requests went to the certificates API.
function Emulator:api_requests() return requests.api_requests(self:log()) end

-- Options for scm calls against this emulator, extra ones laid over.
function Emulator:opts(extra)
  return tables.merge({ endpoint = self.url, token = self:config().token }, extra)
end

function Emulator:stop()
  if self.dir then
    run("emulator/scm-emulator stop --dir " .. quote(self.dir) .. " 2>&1")
    run("rm -rf " .. quote(self.dir))
    self.dir = nil
  end
end

-- A private emulator; args is the start command's option string, cacert
-- the CA that signed its TLS certificate, if it has one.
function M.start(args, cacert)
  M.check_isolated()
  local dir = shell.tmpdir("scm-emulator")
  local url = run("emulator/scm-emulator start --dir " .. quote(dir) .. " "
    .. (args or "")):gsub("%s+$", "")
  local e = setmetatable({ url = url, dir = dir, cacert = cacert }, Emulator)
  return e
end

-- No spec may reach a real IAM or the ECS metadata address.
M.check_isolated = shell.check_isolated

local shared
-- The emulator `make check` started (SCM_EMULATOR_URL), or one started
-- for this process and stopped when it exits.
function M.shared()
  M.check_isolated()
  if shared then return shared end
  local url = os.getenv("SCM_EMULATOR_URL")
  if url then
    shared = setmetatable({ url = url }, Emulator)
  else
    shared = M.start()
    -- stopped when the interpreter closes its state
    local stop = function() shared:stop() end
    local guard
    if newproxy then -- Lua 5.1: only userdata are finalized
      guard = newproxy(true)
      getmetatable(guard).__gc = stop
    else
      guard = setmetatable({}, { __gc = stop })
    end
    M._guard = guard
  end
  return shared
end

-- Kept for specs written against this module before spec/support/
-- existed: the same functions under their old names.
M.run = shell.run
M.popen = shell.popen
M.tmpdir = shell.tmpdir
M.quote = shell.quote

return M
