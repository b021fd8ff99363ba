-- scm.resty with the credentials the official SDKs handle for the user:
-- the account id looked up through IAM, the content keyword, and ECS
-- metadata keys, all over cosockets, on a real nginx against the emulator.
-- The nginx has HUAWEICLOUD_SDK_AK/SK in its environment (a key pair of
-- its own) and IAM and the metadata service at the emulator.
local cjson = require("cjson")
local emulator = require("emulator")

local REPO = emulator.run("pwd"):gsub("%s+$", "")
local ENV_AK, ENV_SK = "RESTYENVAK", "resty-env-secret"

local CONF = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
@USER@
worker_processes 1;
env HUAWEICLOUD_SDK_AK=@AK@;
env HUAWEICLOUD_SDK_SK=@SK@;
env HUAWEICLOUD_SDK_IAM_ENDPOINT=@EMU@;
env HUAWEICLOUD_SDK_METADATA_ENDPOINT=@EMU@/ecs-resty;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path @DIR@/body;
  proxy_temp_path @DIR@/proxy;
  fastcgi_temp_path @DIR@/fastcgi;
  uwsgi_temp_path @DIR@/uwsgi;
  scgi_temp_path @DIR@/scgi;
  lua_package_path "@REPO@/lua/?.lua;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;";
  lua_package_cpath "@REPO@/build/luajit/?.so;;";
  server {
    listen 127.0.0.1:@PORT@;
    location = /ping { content_by_lua_block { ngx.say("pong") } }
    location = /t {
      client_body_buffer_size 64k;
      content_by_lua_block {
        local cjson = require("cjson")
        local resty = require("scm.resty")
        ngx.req.read_body()
        local req = cjson.decode(ngx.req.get_body_data())
        local function err_table(err)
          if type(err) ~= "table" then return { raised = tostring(err) } end
          return { kind = err.kind, status = err.status, code = err.code, message = err.message,
            service = err.service, attempts = err.attempts }
        end
        local out = {}
        for i, step in ipairs(req) do
          local client = step.client and resty.new(step.client) or resty
          local ok, raised = pcall(function()
            if step.call == "list" then
              local page, err
              if client == resty then page, err = resty.list(step.opts) else page, err = client:list(step.opts) end
              out[i] = page and { total_count = page.total_count, n = #page.certificates }
                or { err = err_table(err) }
            elseif step.call == "all" then
              local certs, err
              if client == resty then certs, err = resty.all(step.opts) else certs, err = client:all(step.opts) end
              local ids = {}
              for k, c in ipairs(certs or {}) do ids[k] = c.id end
              out[i] = certs and { total_count = certs.total_count, n = #certs, ids = ids }
                or { err = err_table(err) }
            else
              local ids = {}
              local eok, eerr = pcall(function()
                local iter = client == resty and resty.each(step.opts) or client:each(step.opts)
                for cert in iter do ids[#ids + 1] = cert.id end
              end)
              out[i] = eok and { n = #ids, ids = ids } or { err = err_table(eerr) }
            end
          end)
          if not ok then out[i] = { err = err_table(raised) } end
        end
        ngx.header.content_type = "application/json"
        ngx.say(cjson.encode(out))
      }
    }
  }
}
]]

describe("OpenResty path (scm.resty): account id, content, ECS keys", function()
  local emu, dir, base

  setup(function()
    math.randomseed(os.time() + 10)
    if not io.open(REPO .. "/build/luajit/scm.so") then
      emulator.run("make --no-print-directory LUA=luajit all 2>&1")
    end
    emu = emulator.shared()
    dir = emulator.tmpdir("scm-resty-cred")
    for _ = 1, 20 do
      local port = math.random(20000, 60000)
      local conf = CONF:gsub("@(%u+)@", {
        DIR = dir, REPO = REPO, PORT = tostring(port), EMU = emu.url, AK = ENV_AK, SK = ENV_SK,
        USER = emulator.run("id -u"):match("^0") and "user root;" or "",
      })
      local f = assert(io.open(dir .. "/nginx.conf", "w"))
      f:write(conf)
      f:close()
      if emulator.ok(("nginx -p %s -c %s/nginx.conf -e %s/error.log 2>/dev/null"):format(
        emulator.quote(dir), emulator.quote(dir), emulator.quote(dir))) then
        base = "http://127.0.0.1:" .. port
        for _ = 1, 50 do
          if emulator.ok("curl -sf " .. base .. "/ping >/dev/null 2>&1") then return end
          emulator.run("sleep 0.1")
        end
      end
    end
    error("nginx did not start: " .. emulator.run("cat " .. dir .. "/error.log"))
  end)

  teardown(function()
    if dir then
      local pid = emulator.run("cat " .. dir .. "/nginx.pid 2>/dev/null || true"):match("%d+")
      emulator.ok(("nginx -p %s -c %s/nginx.conf -e %s/error.log -s quit 2>/dev/null"):format(dir, dir, dir))
      for _ = 1, 50 do
        if not pid or not emulator.ok("kill -0 " .. pid .. " 2>/dev/null") then break end
        emulator.run("sleep 0.1")
      end
      emulator.run("rm -rf " .. emulator.quote(dir))
    end
  end)

  before_each(function() emu:reset() end)

  -- Runs the steps ({ call, opts, client = defaults or nil }) in one
  -- request handler; returns their results.
  local function run(steps)
    local file = os.tmpname()
    local f = assert(io.open(file, "w"))
    f:write(cjson.encode(steps))
    f:close()
    local out = emulator.run(("curl -sS --max-time 60 --data-binary @%s %s/t"):format(file, base))
    os.remove(file)
    local ok, decoded = pcall(cjson.decode, out)
    if not ok then error("not JSON: " .. out .. "\n" .. emulator.run("tail -20 " .. dir .. "/error.log")) end
    return decoded
  end

  local function requests_to(path)
    local n, list = 0, {}
    for _, req in ipairs(emu:log()) do
      if req.path:sub(-#path) == path then
        n = n + 1
        list[n] = req
      end
    end
    return n, list
  end

  local function signed_headers(req)
    return req.headers.authorization and req.headers.authorization:match("SignedHeaders=([^,]+)")
  end

  it("env AK/SK alone: one IAM call across list, each, all and a second client", function()
    emu:reset({ ak = ENV_AK, sk = ENV_SK })
    local where = { endpoint = emu.url }
    local got = run({
      { call = "list", opts = where },
      { call = "each", opts = { endpoint = emu.url, limit = 20 } },
      { call = "all", opts = where },
      { call = "all", client = where, opts = { concurrency = 8 } },
      { call = "each", client = where, opts = { limit = 10 } },
    })
    assert.same({ 123, 123, 123, 123, 123 },
      { got[1].total_count, got[2].n, got[3].n, got[4].n, got[5].n })
    assert.equal(1, (requests_to("/v3/auth/domains")))
    local _, list = requests_to("/v3/scm/certificates")
    assert.is_true(#list >= 1 + 7 + 3 + 3 + 13)
    for _, req in ipairs(list) do
      assert.equal(emu:config().domain_id, req.headers["x-domain-id"])
      assert.equal("host;x-domain-id;x-sdk-date", signed_headers(req))
    end
  end)

  it("an IAM 403 is the documented err, and nothing goes to SCM", function()
    emu:reset({ ak = "RESTY403AK", sk = "resty-403-secret" })
    emu:faults({ { type = "status", status = 403, service = "iam", count = 3, content_type = "application/json",
      body = '{"error_code":"IAM.0003","error_msg":"Policy doesn\'t allow iam:users:getUser to be performed."}' } })
    local o = { endpoint = emu.url, ak = "RESTY403AK", sk = "resty-403-secret" }
    local got = run({ { call = "list", opts = o }, { call = "all", opts = o }, { call = "each", opts = o } })
    -- each raises the err as a string (nginx logs only strings)
    assert.matches("iam:users:getUser", got[3].err.raised)
    assert.matches("403 IAM.0003", got[3].err.raised)
    for i = 1, 2 do
      local err = got[i].err
      assert.same({ "api", 403, "IAM.0003", "iam" }, { err.kind, err.status, err.code, err.service })
      assert.matches("iam:users:getUser", err.message)
      assert.matches("set domain_id", err.message)
    end
    assert.equal(0, (requests_to("/v3/scm/certificates")))
    assert.equal(3, (requests_to("/v3/auth/domains")))
  end)

  it("content narrows the listing, and each pages through the narrowed set", function()
    local token = emu:config().token
    local got = run({
      { call = "all", opts = { endpoint = emu.url, token = token } },
      { call = "all", opts = { endpoint = emu.url, token = token, content = "SHOP" } },
      { call = "each", opts = { endpoint = emu.url, token = token, content = "shop", limit = 10 } },
    })
    local names = {}
    for _, c in ipairs(emu:certificates()) do names[c.id] = (c.name .. " " .. c.domain):lower() end
    local expected = 0
    for _, text in pairs(names) do
      if text:find("shop", 1, true) then expected = expected + 1 end
    end
    assert.is_true(expected > 10 and expected < 123)
    assert.equal(expected, got[2].n)
    assert.equal(expected, got[2].total_count)
    assert.same(got[2].ids, got[3].ids)
    for _, id in ipairs(got[3].ids) do assert.truthy(names[id]:find("shop", 1, true)) end
    local pages = 0
    for _, req in ipairs(emu:log()) do
      if req.args.content == "shop" then pages = pages + 1 end
    end
    assert.equal(math.ceil(expected / 10), pages)
  end)

  it("keeps the worker answering while IAM is slow", function()
    emu:reset({ ak = "RESTYSLOWAK", sk = "resty-slow-secret" })
    emu:faults({ { type = "delay", ms = 1500, service = "iam" } })
    local body = os.tmpname()
    local f = assert(io.open(body, "w"))
    f:write(cjson.encode({ { call = "list", opts = { endpoint = emu.url, ak = "RESTYSLOWAK",
      sk = "resty-slow-secret" } } }))
    f:close()
    local bg = emulator.popen(("curl -s --max-time 30 --data-binary @%s %s/t"):format(body, base))
    -- wait until the lookup is in flight
    for _ = 1, 100 do
      if requests_to("/v3/auth/domains") > 0 then break end
      emulator.run("sleep 0.05")
    end
    local times = {}
    for i = 1, 3 do
      times[i] = tonumber(emulator.run(("curl -s -o /dev/null -w '%%{time_total}' %s/ping"):format(base)))
    end
    local got = cjson.decode(bg:read("*a"))
    bg:close()
    os.remove(body)
    assert.equal(123, got[1].total_count)
    for _, t in ipairs(times) do assert.is_true(t < 0.5, ("ping took %.3f s"):format(t)) end
  end)

  -- The worker keeps ECS keys for its life: these run in this order.
  describe("ECS metadata keys", function()
    it("a server without an agency fails at once with the message", function()
      emu:reset({ metadata_agency = false })
      local got = run({ { call = "list", opts = { endpoint = emu.url, credentials = "ecs" } } })
      local err = got[1].err
      assert.same({ "api", 401, "metadata" }, { err.kind, err.status, err.service })
      assert.matches("no agency bound to this server", err.message)
      assert.equal(2, #emu:log())
    end)

    it("lists with the keys, the session token sent where the service wants it", function()
      emu:reset({ metadata_token_required = true, metadata_expires_in = 39 * 60 })
      local got = run({ { call = "all", opts = { endpoint = emu.url, credentials = "ecs" } } })
      assert.equal(123, got[1].n)
      local log = emu:log()
      assert.same({ "PUT", "/ecs-resty/meta-data/latest/api/token" }, { log[1].method, log[1].path })
      assert.matches("^emulator%-session", log[2].headers["x-metadata-token"])
      assert.equal("host;x-sdk-date;x-security-token", signed_headers(log[3]))
      local _, list = requests_to("/v3/scm/certificates")
      for _, req in ipairs(list) do
        assert.matches("Access=EMUTEMPAK", req.headers.authorization)
        assert.equal("host;x-domain-id;x-sdk-date;x-security-token", signed_headers(req))
      end
    end)

    it("fetches fresh keys once fewer than 40 minutes are left", function()
      -- the clock faked through the emulator's expiry, as in account_spec
      local o = { endpoint = emu.url, credentials = "ecs" }
      emu:reset({ metadata_expires_in = 39 * 60 })
      local got = run({ { call = "list", opts = o }, { call = "all", opts = o } })
      assert.same({ 123, 123 }, { got[1].total_count, got[2].n })
      assert.equal(2, (requests_to("/openstack/latest/securitykey")))
      emu:reset({ metadata_expires_in = 6 * 3600 })
      got = run({ { call = "list", opts = o }, { call = "list", opts = o }, { call = "all", client = o } })
      assert.same({ 123, 123, 123 }, { got[1].total_count, got[2].total_count, got[3].n })
      assert.equal(1, (requests_to("/openstack/latest/securitykey")))
    end)
  end)
end)
