-- Test support: the one way specs start nginx (Debian's nginx with
-- libnginx-mod-http-lua) and talk to it.
--
--   nginx.openresty(o)     the standard OpenResty test server: scm.resty,
--                          spec/ (resty_handlers) and the module built for
--                          LuaJIT on its paths; o.http and o.server are
--                          directives of its http and server blocks
--   nginx.start(conf, vars) a whole nginx.conf template of a spec's own
--   nginx.example(env)     the OpenResty example, started by its own
--                          examples/openresty/run as its README says
--   nginx.launch(o)        what the three share: a port, a wait until it
--                          answers, a stop
--
-- Each gives an Nginx: base ("http://127.0.0.1:PORT"), port, dir (its
-- prefix, a fresh directory), and :get, :log, :pid, :workers, :signal,
-- :stop. Every nginx gets IAM and the metadata service of this process
-- (loopback, see shell.check_isolated), never a real host.
local cjson = require("cjson")
local shell = require("support.shell")

local run, ok, quote = shell.run, shell.ok, shell.quote

local M = {}

M.REPO = run("pwd"):gsub("%s+$", "")

-- ports are drawn at random: seeded apart for each process
math.randomseed(os.time() + tonumber(run("echo $$"):match("%d+")))

local Nginx = {}
Nginx.__index = Nginx

-- Starts an nginx, trying up to 20 random ports: o.start(dir, port) starts
-- it (true when it did), o.ready (default "/ping") is a path that answers
-- once it serves, o.conf its configuration file under the directory
-- (default "nginx.conf"),
-- o.name the temporary directory's name, o.stop(dir) a stop of its own.
function M.launch(o)
  shell.check_isolated()
  local dir = shell.tmpdir(o.name or "scm-nginx")
  for _ = 1, 20 do
    -- below Linux's ephemeral range (32768-60999): never a port an
    -- outgoing connection holds
    local port = math.random(20000, 32767)
    if o.start(dir, port) then
      local n = setmetatable({ dir = dir, port = port, base = "http://127.0.0.1:" .. port,
        conf = dir .. "/" .. (o.conf or "nginx.conf"), stopper = o.stop }, Nginx)
      if shell.wait_for(10, function()
        return ok("curl -sf " .. n.base .. (o.ready or "/ping") .. " >/dev/null 2>&1")
      end) then
        return n
      end
      n:stop(true)
    end
  end
  error("nginx did not start: " .. run("cat " .. quote(dir) .. "/error.log 2>/dev/null || true"))
end

local ISOLATED = { "HUAWEICLOUD_SDK_IAM_ENDPOINT", "HUAWEICLOUD_SDK_METADATA_ENDPOINT" }

-- A private nginx from a template of a whole nginx.conf: @DIR@ (its
-- prefix), @PORT@ (a free port), @REPO@ (this checkout) and @USER@ ("user
-- root;" when run as root) are filled in, and vars' own @NAME@s. It must
-- answer GET /ping. The template's `env` lines for IAM and the metadata
-- service win; those it lacks are this process's.
function M.start(conf, vars)
  local user = run("id -u"):match("^0%s") and "user root;" or ""
  local isolated = {}
  for _, name in ipairs(ISOLATED) do
    if not conf:find("\nenv " .. name .. "=", 1, true) then
      isolated[#isolated + 1] = ("env %s=%s;\n"):format(name, os.getenv(name))
    end
  end
  return M.launch({
    start = function(dir, port)
      local fill = { DIR = dir, REPO = M.REPO, PORT = tostring(port), USER = user }
      for k, v in pairs(vars or {}) do fill[k] = tostring(v) end
      local text = conf:gsub("@(%u+)@", fill)
        :gsub("\nworker_processes", function() return "\n" .. table.concat(isolated) .. "worker_processes" end, 1)
      shell.write_file(dir .. "/nginx.conf", text)
      local q = quote(dir)
      return ok(("nginx -p %s -c %s/nginx.conf -e %s/error.log 2>/dev/null"):format(q, q, q))
    end,
  })
end

local OPENRESTY = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
@USER@
@ENV@worker_processes @WORKERS@;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log @LEVEL@;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path @DIR@/body;
  proxy_temp_path @DIR@/proxy;
  fastcgi_temp_path @DIR@/fastcgi;
  uwsgi_temp_path @DIR@/uwsgi;
  scgi_temp_path @DIR@/scgi;
  lua_package_path "@REPO@/lua/?.lua;@REPO@/spec/?.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;";
  lua_package_cpath "@REPO@/build/luajit/?.so;;";
  client_body_buffer_size 64k;
@HTTP@
  server {
    listen 127.0.0.1:@PORT@;
    location = /ping { content_by_lua_block { ngx.say("pong") } }
@SERVER@
  }
}
]]

-- The standard OpenResty test server; o: http (directives of the http
-- block), server (of the server block), workers (default 1), level
-- (error_log level, default warn), env (NAME = value for `env` lines,
-- over IAM's and the metadata service's), vars (more @NAME@s to fill in
-- http and server).
function M.openresty(o)
  o = o or {}
  if not io.open(M.REPO .. "/build/luajit/scm.so") then
    run("make --no-print-directory LUA=luajit all 2>&1")
  end
  local names, env = {}, {}
  for k, v in pairs(o.env or {}) do
    names[#names + 1] = k
    env[k] = v
  end
  table.sort(names)
  local lines = {}
  for _, k in ipairs(names) do lines[#lines + 1] = ("env %s=%s;\n"):format(k, env[k]) end
  local parts = { ENV = table.concat(lines), WORKERS = tostring(o.workers or 1), LEVEL = o.level or "warn",
    HTTP = o.http or "", SERVER = o.server or "" }
  -- the blocks go in first, so that vars fill their @NAME@s too
  local conf = OPENRESTY:gsub("@(%u+)@", function(name) return parts[name] end)
  return M.start(conf, o.vars)
end

-- The OpenResty example (examples/openresty), started and stopped by its
-- own run script with env (NAME = value) in its environment; it serves
-- once /healthz answers.
function M.example(env)
  local words = {}
  for k, v in pairs(env or {}) do words[#words + 1] = k .. "=" .. quote(v) end
  table.sort(words)
  local script = quote(M.REPO .. "/examples/openresty/run")
  return M.launch({
    name = "scm-example", ready = "/healthz", conf = "conf/nginx.conf",
    start = function(dir, port)
      return ok(("env %s %s start %s %d >/dev/null 2>&1"):format(table.concat(words, " "), script, quote(dir), port))
    end,
    stop = function(dir) run(script .. " stop " .. quote(dir)) end,
  })
end

-- The master's pid, or nil once it is gone.
function Nginx:pid()
  local pid = run("cat " .. quote(self.dir) .. "/nginx.pid 2>/dev/null || true"):match("%d+")
  if pid and ok("kill -0 " .. pid .. " 2>/dev/null") then return pid end
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

-- The error log so far.
function Nginx:log()
  return shell.read_file(self.dir .. "/error.log") or ""
end

-- Sends a signal through nginx -s (quit, reload, reopen).
function Nginx:signal(name)
  local q = quote(self.dir)
  return ok(("nginx -p %s -c %s -e %s/error.log -s %s 2>/dev/null"):format(q, quote(self.conf), q, name))
end

-- Quits nginx, waits up to 10 s for the master to go (then kills it and
-- its workers), and removes the directory unless keep is given.
function Nginx:stop(keep)
  local pid = self:pid()
  if self.stopper then self.stopper(self.dir) else self:signal("quit") end
  shell.wait_for(10, function() return not pid or not ok("kill -0 " .. pid .. " 2>/dev/null") end)
  if pid and ok("kill -0 " .. pid .. " 2>/dev/null") then
    run("pkill -KILL -P " .. pid .. " || true; kill -KILL " .. pid .. " 2>/dev/null || true")
  end
  if not keep then run("rm -rf " .. quote(self.dir)) end
end

-- GET path (POST body, when given); returns the body, the status and
-- curl's total time.
function Nginx:get(path, body, max_time)
  local cmd = ("curl -sS --max-time %d -w '\\n@@%%{http_code} %%{time_total}' "):format(max_time or 60)
  local function fetch(file)
    local p = shell.popen(cmd .. (file and "--data-binary @" .. quote(file) .. " " or "")
      .. quote(self.base .. path) .. " 2>&1")
    local out = p:read("*a")
    p:close()
    return out
  end
  local out = body and shell.with_temp_file(body, fetch) or fetch()
  local text, status, t = out:match("^(.*)\n@@(%d+) ([%d.]+)%s*$")
  return text or out, tonumber(status), tonumber(t)
end

-- GET path (POST body, a string, when given); returns the answer decoded
-- from JSON and the status, or errors with what came back and the end of
-- the error log.
function Nginx:json(path, body, max_time)
  local out, status = self:get(path, body, max_time)
  local decoded_ok, decoded = pcall(cjson.decode, out)
  if not decoded_ok then
    error(("%s: not JSON (%s): %s\n%s"):format(path, tostring(status), out, self:log():sub(-2000)), 2)
  end
  return decoded, status
end

-- POST value, as JSON, to path; returns what Nginx:json does.
function Nginx:post_json(path, value, max_time)
  return self:json(path, cjson.encode(value), max_time)
end

return M
