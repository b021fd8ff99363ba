-- scm.resty in a real nginx against slow, hostile and broken upstreams:
-- nothing hangs a request or a timer, every attempt ends at its timeout,
-- bad values never raise, and a failed TLS verification is kind "tls".
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local pki = require("support.pki")
local test_nginx = require("support.nginx")

local HANDLERS = [[
    location ~ ^/t/(list|all|each)$ { content_by_lua_block { require("resty_handlers").call(ngx.var[1]) } }
    location = /break { content_by_lua_block { require("resty_handlers").break_at() } }
    location = /uncaught { content_by_lua_block { require("resty_handlers").uncaught() } }
    location = /timers { content_by_lua_block { require("resty_handlers").timers() } }
    location = /normal { content_by_lua_block { require("resty_handlers").normal() } }
    location = /state { content_by_lua_block { require("resty_handlers").state() } }
]]

describe("scm.resty against hostile upstreams", function()
  local emu, nginx

  setup(function()
    emu = emulator.shared()
    nginx = test_nginx.openresty({
      http = "lua_shared_dict state 1m;\n  lua_max_running_timers 256;",
      server = HANDLERS,
    })
  end)

  teardown(function()
    if nginx then nginx:stop() end
  end)

  before_each(function() emu:reset() end)

  local function call(name, extra, max_time)
    return (nginx:post_json("/t/" .. name, emu:opts(extra), max_time or 60))
  end

  local function json(path, body, max_time) return nginx:json(path, body, max_time) end

  local function json_of(out)
    local ok, decoded = pcall(cjson.decode, out)
    assert(ok, "not JSON: " .. tostring(out))
    return decoded
  end

  local function close_wait()
    local port = emu.url:match(":(%d+)$")
    local out = shell.run(("ss -Htan state close-wait '( dport = :%s )' | wc -l"):format(port))
    return tonumber(out)
  end

  describe("leaving each early", function()
    it("breaking at 51 in a handler ends the request, and no socket is left", function()
      emu:reset({ certs = 200 })
      for _ = 1, 20 do
        local got, status = json("/break?n=51", cjson.encode(emu:opts({ concurrency = 4 })), 10)
        assert.equal(200, status)
        assert.equal(51, got.got)
      end
      assert.is_truthy(shell.wait_for(5, function() return close_wait() == 0 end),
        "sockets left in CLOSE-WAIT: " .. tostring(close_wait()))
    end)

    it("300 timers that break at 51 all end, then a normal timer still fires", function()
      emu:reset({ certs = 200 })
      -- three waves of 100 (nginx runs at most lua_max_running_timers = 256
      -- at once): each wave must end before the next starts
      for wave = 1, 3 do
        local started = json("/timers?n=100", cjson.encode(emu:opts({ concurrency = 4 })))
        assert.equal(100, started.started)
        local state = shell.wait_for(30, function()
          local s = json("/state")
          return s.broke == 100 and s.running == 0 and s
        end)
        assert.is_truthy(state, ("wave %d: timers still running: %s"):format(wave, cjson.encode((json("/state")))))
      end
      local normal = json("/normal")
      assert.is_true(normal.ok, normal.err)
      assert.is_truthy(shell.wait_for(10, function() return json("/state").normal end))
      assert.falsy(nginx:log():find("lua_max_running_timers are not enough", 1, true))
      assert.is_truthy(emu:quiet(), "requests of the abandoned listings still arriving")
    end)

    it("an each error left uncaught logs the err's text, not 'unknown reason'", function()
      local _, status = nginx:get("/uncaught", cjson.encode(emu:opts({ endpoint = "http://127.0.0.1:1",
        retries = 0 })), 10)
      assert.equal(500, status)
      local log = shell.wait_for(5, function()
        local l = nginx:log()
        return l:find("scm: network error", 1, true) and l
      end)
      assert.is_truthy(log, nginx:log():sub(-1500))
      assert.falsy(log:find("unknown reason", 1, true))
    end)
  end)

  describe("every attempt ends at its timeout", function()
    it("a body dripping at 100 B/s", function()
      emu:faults({ { type = "drip", bytes_per_second = 100 } })
      local got = call("list", { timeout = 2, retries = 0 })
      assert.equal("timeout", got.err and got.err.kind, cjson.encode(got))
      assert.is_true(got.elapsed < 3.0, ("took %.2f s"):format(got.elapsed))
    end)

    it("a chunked trailer line every 0.5 s", function()
      emu:faults({ { type = "trailer_drip", interval_ms = 500 } })
      local got = call("list", { timeout = 2, retries = 0 })
      assert.is_truthy(got.err, cjson.encode(got))
      assert.is_truthy(got.err.kind == "timeout" or got.err.kind == "decode", got.err.kind)
      assert.is_true(got.elapsed < 3.0, ("took %.2f s"):format(got.elapsed))
    end)

    it("a 600 MB header line, with worker memory bounded", function()
      local before = json("/state").rss_kb
      emu:faults({ { type = "huge_header", bytes = 600 * 1024 * 1024 } })
      local got = call("list", { timeout = 2, retries = 0 })
      assert.is_truthy(got.err, cjson.encode(got))
      assert.is_truthy(got.err.kind == "timeout" or got.err.kind == "decode", got.err.kind)
      assert.is_true(got.elapsed < 3.0, ("took %.2f s"):format(got.elapsed))
      assert.is_true(got.rss_kb - before < 50 * 1024, ("RSS grew by %d kB"):format(got.rss_kb - before))
    end)

    it("a header line dripping slowly", function()
      emu:faults({ { type = "huge_header", bytes = 100000, bytes_per_second = 50 } })
      local got = call("list", { timeout = 2, retries = 0 })
      assert.equal("timeout", got.err and got.err.kind, cjson.encode(got))
      assert.is_true(got.elapsed < 3.0, ("took %.2f s"):format(got.elapsed))
    end)

  end)

  describe("bad values never raise", function()
    local page = '{"certificates":[],"total_count":0}'
    local cases = {
      { "Retry-After: nan on a 503", "HTTP/1.1 503 Busy\r\nRetry-After: nan\r\nContent-Length: 0", "",
        { "http", 503, 2 } },
      { "Retry-After: -5 on a 503", "HTTP/1.1 503 Busy\r\nRetry-After: -5\r\nContent-Length: 0", "",
        { "http", 503, 2 } },
      { "Retry-After: 1e999 on a 503", "HTTP/1.1 503 Busy\r\nRetry-After: 1e999\r\nContent-Length: 0", "",
        { "http", 503, 2 } },
      { "a huge Retry-After is returned at once", "HTTP/1.1 503 Busy\r\nRetry-After: 99999999999999999999"
        .. "\r\nContent-Length: 0", "", { "http", 503, 1 } },
      { "Content-Length: -5", "HTTP/1.1 200 OK\r\nContent-Length: -5", page, { "decode", 200, 1 } },
      { "Content-Length: nan", "HTTP/1.1 200 OK\r\nContent-Length: nan", page, { "decode", 200, 1 } },
      { "Content-Length: 1e999", "HTTP/1.1 200 OK\r\nContent-Length: 1e999", page, { "decode", 200, 1 } },
      { "a chunk size of -5", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", "-5\r\nabc\r\n0\r\n\r\n",
        { "decode", 200, 1 } },
    }
    for _, c in ipairs(cases) do
      it(c[1], function()
        emu:faults({ { type = "raw", head = c[2], body = c[3], count = 2 } })
        local got = call("list", { retries = 1 })
        assert.is_nil(got.raised)
        assert.is_truthy(got.err, cjson.encode(got))
        assert.same(c[4], { got.err.kind, got.err.status, got.err.attempts })
      end)
    end
  end)

  describe("TLS", function()
    local dir, tls
    setup(function()
      dir = shell.tmpdir("scm-resty-tls")
      -- a server certificate from a CA nginx does not know
      local ca = pki.ca(dir, "ca", "scm-hostile-ca")
      tls = emulator.start(pki.server(dir, "ca"), ca)
    end)
    teardown(function()
      if tls then tls:stop() end
      shell.run("rm -rf " .. shell.quote(dir))
    end)

    it("a certificate nginx does not trust is kind tls, 20 times out of 20", function()
      local kinds = {}
      for i = 1, 20 do
        local out = nginx:get("/t/list", cjson.encode(tls:opts({ retries = 0 })))
        local got = cjson.decode(out)
        kinds[i] = got.err and (got.err.kind .. (got.err.kind ~= "tls" and ": " .. got.err.message or ""))
          or got.raised or "page"
      end
      for i = 1, 20 do assert.equal("tls", kinds[i], table.concat(kinds, ",")) end
      assert.same({}, tls:log())
    end)
  end)

  -- The account id (IAM) and the ECS keys (metadata service) are looked up
  -- through the same exchange as SCM's pages: the same deadline, limits
  -- and errs; IAM with SCM's retry rule, the metadata service with none
  -- and at most 3 s a request, as on the libcurl path.
  describe("the IAM and metadata lookups", function()
    -- opts as given (no token: the lookups need ak/sk or credentials = "ecs")
    local function lookup(o)
      o.endpoint = emu.url
      return json("/t/list", cjson.encode(o))
    end

    local function scm_requests()
      local n = 0
      for _, req in ipairs(emu:log()) do
        if req.path == "/v3/scm/certificates" then n = n + 1 end
      end
      return n
    end

    it("an IAM answer dripping at 10 B/s ends at timeout with kind timeout", function()
      emu:reset({ ak = "HOSTILEDRIPAK", sk = "hostile-drip-secret" })
      emu:faults({ { type = "drip", bytes_per_second = 10, service = "iam" } })
      local got = lookup({ ak = "HOSTILEDRIPAK", sk = "hostile-drip-secret", timeout = 2, retries = 0 })
      assert.is_nil(got.raised)
      assert.equal("timeout", got.err and got.err.kind, cjson.encode(got))
      assert.is_true(got.elapsed < 3.0, ("took %.2f s"):format(got.elapsed))
      assert.equal(0, scm_requests())
    end)

    it("an IAM answer with a 600 MB header line is kind decode, with worker memory bounded", function()
      local before = json("/state").rss_kb
      emu:reset({ ak = "HOSTILEHUGEAK", sk = "hostile-huge-secret" })
      emu:faults({ { type = "huge_header", bytes = 600 * 1024 * 1024, service = "iam" } })
      local got = lookup({ ak = "HOSTILEHUGEAK", sk = "hostile-huge-secret", timeout = 2, retries = 0 })
      assert.is_nil(got.raised)
      assert.equal("decode", got.err and got.err.kind, cjson.encode(got))
      assert.is_true(got.elapsed < 3.0, ("took %.2f s"):format(got.elapsed))
      assert.is_true(got.rss_kb - before < 50 * 1024, ("RSS grew by %d kB"):format(got.rss_kb - before))
      assert.equal(0, scm_requests())
    end)

    it("IAM's failures are retried by SCM's rule", function()
      emu:reset({ ak = "HOSTILERETRYAK", sk = "hostile-retry-secret" })
      emu:faults({ { type = "raw", service = "iam",
        head = "HTTP/1.1 503 Busy\r\nRetry-After: 0\r\nContent-Length: 0\r\nConnection: close" },
        { type = "reset", service = "iam" } })
      local got = lookup({ ak = "HOSTILERETRYAK", sk = "hostile-retry-secret", retries = 2 })
      assert.is_nil(got.err, cjson.encode(got))
      assert.equal(123, got.total_count)
      local iam = 0
      for _, req in ipairs(emu:log()) do
        if req.path == "/v3/auth/domains" then iam = iam + 1 end
      end
      assert.equal(3, iam)
    end)

    it("Content-Length: -5 from IAM is an err, not a raise", function()
      emu:reset({ ak = "HOSTILECLAK", sk = "hostile-cl-secret" })
      emu:faults({ { type = "raw", service = "iam", head = "HTTP/1.1 200 OK\r\nContent-Length: -5",
        body = '{"domains":[{"id":"x"}]}' } })
      local got = lookup({ ak = "HOSTILECLAK", sk = "hostile-cl-secret", retries = 0 })
      assert.is_nil(got.raised)
      assert.equal("decode", got.err and got.err.kind, cjson.encode(got))
      assert.equal(0, scm_requests())
    end)

    for i, which in ipairs({ "session token", "securitykey" }) do
      it("Content-Length: -5 from the metadata service (" .. which .. ") is an err, not a raise", function()
        local faults = { { type = "raw", service = "metadata", head = "HTTP/1.1 200 OK\r\nContent-Length: -5",
          body = "emulator-session-x" } }
        if i == 2 then table.insert(faults, 1, { type = "pass", service = "metadata" }) end
        emu:faults(faults)
        local got = lookup({ credentials = "ecs" })
        assert.is_nil(got.raised)
        assert.equal("decode", got.err and got.err.kind, cjson.encode(got))
        assert.equal(i, #emu:log())
      end)
    end

    it("a metadata service that never answers ends within its 3 s timeout", function()
      emu:faults({ { type = "delay", ms = 20000, service = "metadata" } })
      local got = lookup({ credentials = "ecs", timeout = 10 })
      assert.equal("timeout", got.err and got.err.kind, cjson.encode(got))
      assert.is_true(got.elapsed < 5.0, ("took %.2f s"):format(got.elapsed))
      assert.equal(1, #emu:log()) -- not retried
    end)

    it("a metadata answer dripping at 1 B/s ends within its 3 s timeout", function()
      emu:faults({ { type = "drip", bytes_per_second = 1, service = "metadata" } })
      local got = lookup({ credentials = "ecs", timeout = 10 })
      assert.equal("timeout", got.err and got.err.kind, cjson.encode(got))
      assert.is_true(got.elapsed < 5.0, ("took %.2f s"):format(got.elapsed))
      assert.equal(1, #emu:log()) -- not retried
    end)
  end)

  -- last: the emulator is still sleeping on the abandoned request after it
  describe("a listing's deadline", function()
      it("deadline bounds a whole listing", function()
        emu:reset({ certs = 500, latency_ms = 400 })
        local got = call("all", { concurrency = 1, deadline = 1.5 })
        assert.equal("timeout", got.err and got.err.kind, cjson.encode(got))
        assert.is_true(got.elapsed < 3.0, ("took %.2f s"):format(got.elapsed))
      end)
    end)

  describe("the connection cap", function()
    local capped
    setup(function()
      capped = test_nginx.openresty({
        http = 'init_worker_by_lua_block { require("scm.resty").configure({ max_connections = 2 }) }',
        server = HANDLERS,
      })
    end)
    teardown(function()
      if capped then capped:stop() end
    end)

    it("holds every listing of a worker to max_connections upstream connections", function()
      emu:reset({ certs = 500, latency_ms = 300 })
      local out = capped:get("/t/all", cjson.encode(emu:opts({ concurrency = 8 })))
      assert.equal(500, #cjson.decode(out).ids)
      -- requests arrive at most two at a time, a latency apart
      local log = emu:log()
      for i = 1, #log do
        local near = 0
        for j = 1, #log do
          if log[j].time >= log[i].time and log[j].time < log[i].time + 0.2 then near = near + 1 end
        end
        assert.is_true(near <= 2, ("%d requests within 0.2 s of request %d"):format(near, i))
      end
    end)
    it("counts the IAM lookups against max_connections", function()
      emu:reset({ ak = "HOSTILECAPAK", sk = "hostile-cap-secret" })
      -- each IAM answer 2 s late: all six are in flight before the first
      -- answer keeps the account id, even on a slow machine
      emu:faults({ { type = "delay", ms = 2000, service = "iam", count = 6 } })
      local body = os.tmpname()
      local f = assert(io.open(body, "w"))
      f:write(cjson.encode({ endpoint = emu.url, ak = "HOSTILECAPAK", sk = "hostile-cap-secret" }))
      f:close()
      -- six requests at once, none finding the account id kept yet
      local calls = {}
      for i = 1, 6 do
        calls[i] = emulator.popen(("curl -s --max-time 30 --data-binary @%s %s/t/list"):format(body, capped.base))
      end
      for i = 1, 6 do
        local got = json_of(calls[i]:read("*a"))
        calls[i]:close()
        assert.equal(123, got.total_count, cjson.encode(got))
      end
      os.remove(body)
      local log = {}
      for _, req in ipairs(emu:log()) do
        if req.path == "/v3/auth/domains" then log[#log + 1] = req end
      end
      assert.is_true(#log >= 3, ("%d IAM requests"):format(#log))
      for i = 1, #log do
        local near = 0
        for j = 1, #log do
          if log[j].time >= log[i].time and log[j].time < log[i].time + 0.3 then near = near + 1 end
        end
        assert.is_true(near <= 2, ("%d IAM requests within 0.3 s of request %d"):format(near, i))
      end
    end)
  end)

  describe("a worker told to exit", function()
    it("stops waiting to retry at once", function()
      local own = test_nginx.openresty({ server = HANDLERS .. [[
    location = /retrying { content_by_lua_block { require("resty_handlers").retrying() } }
]] })
      local ok, err = pcall(function()
        emu:faults({ { type = "raw", head = "HTTP/1.1 503 Busy\r\nRetry-After: 20\r\nContent-Length: 0", count = 3 } })
        local started = json_of(own:get("/retrying", cjson.encode(emu:opts({ retries = 2 }))))
        assert.is_true(started.ok)
        assert.is_truthy(shell.wait_for(10, function() return #emu:log() >= 1 end))
        local pid = shell.run("cat " .. own.dir .. "/nginx.pid"):match("%d+")
        local t0 = tonumber(shell.run("date +%s.%N"))
        shell.run(("nginx -p %s -c %s/nginx.conf -e %s/error.log -s quit"):format(own.dir, own.dir, own.dir))
        local gone = shell.wait_for(30, function() return not shell.ok("kill -0 " .. pid .. " 2>/dev/null") end)
        local took = tonumber(shell.run("date +%s.%N")) - t0
        assert.is_truthy(gone)
        assert.is_true(took < 5, ("nginx took %.1f s to quit"):format(took))
        assert.equal(1, #emu:log())
      end)
      own:stop()
      assert(ok, err)
    end)
  end)
end)
