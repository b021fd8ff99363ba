-- Test support: a private nginx with the Lua module (Debian's nginx and
-- libnginx-mod-http-lua), serving handlers given by a spec, with scm.resty
-- and the module built for LuaJIT on its paths.
local emulator = require("emulator")

local M = {}

local REPO = emulator.run("pwd"):gsub("%s+$", "")
M.REPO = REPO

local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
@USER@
worker_processes @WORKERS@;
env HUAWEICLOUD_SDK_IAM_ENDPOINT=@IAM@;
env HUAWEICLOUD_SDK_METADATA_ENDPOINT=@IAM@/metadata-unset;
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

local Nginx = {}
Nginx.__index = Nginx

-- Starts nginx; o: http (directives of the http block), server (of the
-- server block), workers (default 1), level (error_log level, default warn).
function M.start(o)
  o = o or {}
  if not io.open(REPO .. "/build/luajit/scm.so") then
    emulator.run("make --no-print-directory LUA=luajit all 2>&1")
  end
  local dir = emulator.tmpdir("scm-nginx")
  for _ = 1, 20 do
    local port = math.random(20000, 60000)
    local conf = CONF:gsub("@(%u+)@", {
      DIR = dir, REPO = REPO, PORT = tostring(port), WORKERS = tostring(o.workers or 1),
      IAM = emulator.shared().url,
      LEVEL = o.level or "warn", HTTP = o.http or "", SERVER = o.server or "",
      USER = emulator.run("id -u"):match("^0") and "user root;" or "",
    })
    local f = assert(io.open(dir .. "/nginx.conf", "w"))
    f:write(conf)
    f:close()
    if emulator.ok(("nginx -p %s -c %s/nginx.conf -e %s/error.log 2>/dev/null"):format(
      emulator.quote(dir), emulator.quote(dir), emulator.quote(dir))) then
      local base = "http://127.0.0.1:" .. port
      for _ = 1, 100 do
        if emulator.ok("curl -sf " .. base .. "/ping >/dev/null 2>&1") then
          return setmetatable({ dir = dir, base = base, port = port }, Nginx)
        end
        emulator.run("sleep 0.1")
      end
    end
  end
  error("nginx did not start: " .. emulator.run("cat " .. dir .. "/error.log"))
end

function Nginx:stop()
  local dir = self.dir
  local pid = emulator.run("cat " .. dir .. "/nginx.pid 2>/dev/null || true"):match("%d+")
  emulator.ok(("nginx -p %s -c %s/nginx.conf -e %s/error.log -s quit 2>/dev/null"):format(dir, dir, dir))
  for _ = 1, 100 do
    if not pid or not emulator.ok("kill -0 " .. pid .. " 2>/dev/null") then break end
    emulator.run("sleep 0.1")
  end
  if pid then emulator.ok("kill -9 " .. pid .. " 2>/dev/null") end
  emulator.run("rm -rf " .. emulator.quote(dir))
end

-- GET (or POST body) path; returns the body, the status and curl's time.
function Nginx:get(path, body, max_time)
  local cmd = ("curl -sS --max-time %d -w '\\n@@%%{http_code} %%{time_total}' "):format(max_time or 60)
  local file
  if body then
    file = os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write(body)
    f:close()
    cmd = cmd .. "--data-binary @" .. emulator.quote(file) .. " "
  end
  local p = emulator.popen(cmd .. emulator.quote(self.base .. path) .. " 2>&1")
  local out = p:read("*a")
  p:close()
  if file then os.remove(file) end
  local text, status, t = out:match("^(.*)\n@@(%d+) ([%d.]+)%s*$")
  return text or out, tonumber(status), tonumber(t)
end

function Nginx:log()
  local f = io.open(self.dir .. "/error.log")
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

-- Waits (up to seconds) until fn() is true; returns its last value.
function M.wait_for(seconds, fn)
  local v
  for _ = 1, math.floor(seconds * 10) do
    v = fn()
    if v then return v end
    emulator.run("sleep 0.1")
  end
  return fn()
end

return M
