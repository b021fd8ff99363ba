-- Test support: drives the bundled SCM emulator through its control API.
-- The module under test is never used here; control requests go through
-- the curl command, so what the emulator logs is only what scm sent.
local cjson = require("cjson")

local M = {}

local Emulator = {}
Emulator.__index = Emulator

local function quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs a shell command and returns its output; errors when it fails.
-- Under the sanitizer build LD_PRELOAD carries the ASan runtime for the
-- interpreter; the tools run here (curl, nginx) go without it unless
-- keep_preload says otherwise.
local function run(cmd, keep_preload)
  local full = (keep_preload and "" or "unset LD_PRELOAD; ") .. "{ " .. cmd .. "\n}; echo \"@@$?\""
  local p = assert(io.popen(full, "r"))
  local out = p:read("*a")
  p:close()
  -- Lua 5.1 does not give a command's exit status: the shell prints it
  local text, status = out:match("^(.-)@@(%d+)%s*$")
  if status == "0" then return text end
  error("command failed: " .. cmd .. "\n" .. (text or out), 2)
end

local function tmpdir(name)
  local base = os.getenv("SCM_TEST_TMP") or os.getenv("TMPDIR") or "/tmp"
  return run("mktemp -d " .. quote(base .. "/" .. name .. ".XXXXXX")):gsub("%s+$", "")
end

-- One control request; returns the decoded JSON answer and the status.
function Emulator:control(method, path, body)
  local cmd = { "curl -sS --max-time 20 -X", method, "-w '\\n%{http_code}'" }
  if self.cacert then cmd[#cmd + 1] = "--cacert " .. quote(self.cacert) end
  local file
  if body ~= nil then
    file = os.tmpname()
    local f = assert(io.open(file, "wb"))
    f:write(type(body) == "string" and body or cjson.encode(body))
    f:close()
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

-- Options for scm calls against this emulator, extra ones laid over.
function Emulator:opts(extra)
  local o = { endpoint = self.url, token = self:config().token }
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
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
  local dir = tmpdir("scm-emulator")
  local url = run("emulator/scm-emulator start --dir " .. quote(dir) .. " "
    .. (args or "")):gsub("%s+$", "")
  local e = setmetatable({ url = url, dir = dir, cacert = cacert }, Emulator)
  return e
end

-- No spec may reach a real IAM or the ECS metadata address: both must
-- point at a loopback server (scripts/check points them at the emulator).
function M.check_isolated()
  for _, name in ipairs({ "HUAWEICLOUD_SDK_IAM_ENDPOINT", "HUAWEICLOUD_SDK_METADATA_ENDPOINT" }) do
    local v = os.getenv(name) or ""
    if not v:match("^https?://127%.0%.0%.1[:/]") and not v:match("^https?://localhost[:/]") then
      error(name .. " must point at a loopback server (got '" .. v .. "'): run the specs "
        .. "through make check, or set it to the emulator's URL", 0)
    end
  end
end

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

-- A private nginx with the Lua module, for specs: conf is an nginx.conf
-- template in which @DIR@ (its prefix, a fresh directory), @PORT@ (a free
-- port), @REPO@ (this checkout) and @USER@ ("user root;" when run as
-- root) are filled in, and vars' own @NAME@s. The configuration must
-- answer GET /ping; nginx:stop() ends it and removes the directory.
local Nginx = {}
Nginx.__index = Nginx

function M.nginx(conf, vars)
  M.check_isolated()
  local repo = run("pwd"):gsub("%s+$", "")
  local dir = tmpdir("scm-nginx")
  for _ = 1, 20 do
    local port = math.random(20000, 60000)
    local fill = { DIR = dir, REPO = repo, PORT = tostring(port),
      USER = run("id -u"):match("^0%s") and "user root;" or "" }
    for k, v in pairs(vars or {}) do fill[k] = tostring(v) end
    -- the workers' IAM and metadata addresses: this process's (loopback,
    -- see check_isolated), never a real host
    local isolated = ("env HUAWEICLOUD_SDK_IAM_ENDPOINT=%s;\nenv HUAWEICLOUD_SDK_METADATA_ENDPOINT=%s;\n")
      :format(os.getenv("HUAWEICLOUD_SDK_IAM_ENDPOINT"), os.getenv("HUAWEICLOUD_SDK_METADATA_ENDPOINT"))
    local text = conf:gsub("@(%u+)@", fill):gsub("\nworker_processes", "\n" .. isolated .. "worker_processes", 1)
    local f = assert(io.open(dir .. "/nginx.conf", "w"))
    f:write(text)
    f:close()
    local q = quote(dir)
    if M.ok(("nginx -p %s -c %s/nginx.conf -e %s/error.log 2>/dev/null"):format(q, q, q)) then
      local n = setmetatable({ dir = dir, port = port, base = "http://127.0.0.1:" .. port }, Nginx)
      for _ = 1, 100 do
        if M.ok("curl -sf " .. n.base .. "/ping >/dev/null 2>&1") then return n end
        run("sleep 0.1")
      end
      n:stop(true)
    end
  end
  error("nginx did not start: " .. run("cat " .. quote(dir) .. "/error.log 2>/dev/null || true"))
end

-- The master's pid, or nil once it is gone.
function Nginx:pid()
  local pid = run("cat " .. quote(self.dir) .. "/nginx.pid 2>/dev/null || true"):match("%d+")
  if pid and M.ok("kill -0 " .. pid .. " 2>/dev/null") then return pid end
end

-- The worker processes' pids, sorted.
function Nginx:workers()
  local pid = self:pid()
  local list = {}
  if not pid then return list end
  for w in run("pgrep -P " .. pid .. " || true"):gmatch("%d+") do list[#list + 1] = w end
  table.sort(list)
  return list
end

function Nginx:log()
  return run("cat " .. quote(self.dir) .. "/error.log 2>/dev/null || true")
end

-- Sends a signal through nginx -s (quit, reload, reopen).
function Nginx:signal(name)
  local q = quote(self.dir)
  return M.ok(("nginx -p %s -c %s/nginx.conf -e %s/error.log -s %s 2>/dev/null"):format(q, q, q, name))
end

-- Quits nginx, waits up to 5 s for the master to go (then kills it), and
-- removes the directory unless keep is given.
function Nginx:stop(keep)
  local pid = self:pid()
  self:signal("quit")
  for _ = 1, 50 do
    if not pid or not M.ok("kill -0 " .. pid .. " 2>/dev/null") then break end
    run("sleep 0.1")
  end
  if pid and M.ok("kill -0 " .. pid .. " 2>/dev/null") then
    run("pkill -KILL -P " .. pid .. " || true; kill -KILL " .. pid .. " 2>/dev/null || true")
  end
  if not keep then run("rm -rf " .. quote(self.dir)) end
end

-- Waits until check() gives a true value, polling every `step` seconds
-- (default 0.1) for at most `seconds`; returns that value, or nil.
function M.wait_for(seconds, check, step)
  local deadline = os.time() + seconds
  repeat
    local v = check()
    if v then return v end
    run("sleep " .. (step or 0.1))
  until os.time() > deadline
  return check()
end

-- Runs a shell command; returns its output (errors when it fails).
M.run = run
-- Runs a shell command; true when it exits 0 (whatever the Lua version).
function M.ok(cmd)
  local r = os.execute("unset LD_PRELOAD; " .. cmd)
  return r == true or r == 0
end
-- io.popen for reading, without the sanitizer runtime.
function M.popen(cmd)
  return assert(io.popen("unset LD_PRELOAD; " .. cmd, "r"))
end
M.tmpdir = tmpdir
M.quote = quote

return M
