-- scm.resty.cache and scm.resty.timer in a real nginx with 4 workers,
-- against the emulator: one listing shared by every worker, the stale
-- copy with the err when a refresh fails, one timer run per interval for
-- the whole nginx, and a run that ends when its worker exits.
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local test_nginx = require("support.nginx")

local run = shell.run

-- POST /t/cached: the options as JSON, ?ttl=&stale=&error_ttl=&wait= the
-- cache settings; answers what cached_all gave. GET /t/keys: the dict's
-- keys. GET /t/runs: what the timer job recorded.
local HTTP = [[
  lua_shared_dict scm_cache 8m;
  lua_shared_dict jobs 1m;
  init_worker_by_lua_block {
    local interval = tonumber("@INTERVAL@")
    if not interval then return end
    local seconds = tonumber("@SECONDS@") or 0
    local jobs = ngx.shared.jobs
    assert(require("scm.resty.timer").every(interval, function()
      ngx.update_time()
      local n = jobs:incr("runs", 1, 0)
      local running = jobs:incr("running", 1, 0)
      if running > (jobs:get("most") or 0) then jobs:set("most", running) end
      jobs:set("start:" .. n, ngx.now())
      jobs:set("pid:" .. n, ngx.worker.pid())
      ngx.sleep(seconds)
      jobs:incr("running", -1)
      ngx.update_time()
      jobs:set("end:" .. n, ngx.now())
    end, { dict = "jobs", name = "spec" }))
  }
]]

local SERVER = [[
    location = /t/cached {
      client_body_buffer_size 64k;
      content_by_lua_block {
        local cjson = require("cjson")
        ngx.req.read_body()
        local opts = cjson.decode(ngx.req.get_body_data())
        local a = ngx.req.get_uri_args()
        local settings = { ttl = tonumber(a.ttl), stale_if_error = tonumber(a.stale),
          error_ttl = tonumber(a.error_ttl), wait = tonumber(a.wait), key = a.key, dict = a.dict }
        if a.bogus then settings.bogus = 1 end
        if a.purge then require("scm.resty.cache").purge(opts, settings) end
        local ok, certs, err, info = pcall(require("scm.resty").cached_all, opts, settings)
        local out
        if not ok then
          out = { raised = tostring(certs) }
        else
          local ids = {}
          for i, c in ipairs(certs or {}) do ids[i] = c.id end
          out = { ids = certs and ids, total_count = certs and certs.total_count, info = info,
            err = err and { kind = err.kind, status = err.status, text = tostring(err) } }
          -- what a caller does to its certificates is its own business
          if certs then certs[1] = nil end
        end
        ngx.header.content_type = "application/json"
        ngx.say(cjson.encode(out))
      }
    }
    location = /t/keys {
      content_by_lua_block { ngx.say(require("cjson").encode(ngx.shared.scm_cache:get_keys(0))) }
    }
    location = /t/runs {
      content_by_lua_block {
        local jobs = ngx.shared.jobs
        local out = { runs = jobs:get("runs") or 0, most = jobs:get("most") or 0, list = {} }
        for i = 1, out.runs do
          out.list[i] = { start = jobs:get("start:" .. i), finish = jobs:get("end:" .. i),
            pid = jobs:get("pid:" .. i) }
        end
        ngx.say(require("cjson").encode(out))
      }
    }
]]


describe("scm.resty.cache and scm.resty.timer, 4 workers", function()
  local emu, nginx

  local function post(query, opts)
    return shell.with_temp_file(cjson.encode(opts), function(file)
      return cjson.decode(run(("curl -sS --max-time 60 --data-binary @%s '%s/t/cached?%s'")
        :format(file, nginx.base, query or "")))
    end)
  end

  -- the nginx of these specs: 4 workers, the timer job's settings in vars
  local function start(vars)
    return test_nginx.openresty({ workers = 4, level = "notice", http = HTTP, server = SERVER, vars = vars })
  end

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)
  after_each(function()
    if nginx then nginx:stop() end
    nginx = nil
  end)

  describe("cached_all", function()
    before_each(function() nginx = start({ INTERVAL = "", SECONDS = "" }) end)

    it("100 callers at once in 4 workers share one listing", function()
      emu:reset({ latency_ms = 300 })
      assert.is_truthy(shell.wait_for(10, function() return #nginx:workers() == 4 end),
        "workers: " .. #nginx:workers())
      local file = shell.temp_file(cjson.encode(emu:opts({ concurrency = 2 })))
      local out = run(("timeout 120 ab -l -r -s 60 -n 100 -c 100 -p %s -T application/json %s/t/cached 2>&1 || true")
        :format(file, nginx.base))
      os.remove(file)
      assert.equal("100", out:match("Complete requests:%s+(%d+)"), out)
      assert.equal("0", out:match("Failed requests:%s+(%d+)"), out)
      -- 123 certificates: one listing is 3 pages
      assert.equal(3, #emu:log())
      local got = post("", emu:opts({ timeout = 5 }))
      assert.equal(123, #got.ids)
      assert.equal("cache", got.info.source)
      assert.equal(3, #emu:log())
    end)

    it("gives the listing with what it knows about it", function()
      local first = post("ttl=60", emu:opts())
      assert.equal(123, #first.ids)
      assert.equal(123, first.total_count)
      local i = first.info
      assert.same({ "listed", true, true }, { i.source, i.fresh, i.success })
      assert.is_true(i.duration >= 0 and i.duration < 60)
      assert.is_true(math.abs(i.listed_at - os.time()) < 60)
      assert.equal(i.listed_at, i.timestamp)
      assert.equal(i.listed_at + 60, i.expires_at)
      local again = post("ttl=60", emu:opts())
      assert.same(first.ids, again.ids) -- the first caller's changes stayed its own
      assert.same({ "cache", true, first.info.listed_at }, { again.info.source, again.info.fresh,
        again.info.listed_at })
      assert.equal(3, #emu:log())
    end)

    it("serves the stale copy with the err when a refresh fails, then the err alone", function()
      local first = post("ttl=1&error_ttl=0", emu:opts({ retries = 0 }))
      assert.equal(123, #first.ids)
      emu:faults({ { type = "status", status = 503, body = "busy", count = 1000 } })
      local stale = shell.wait_for(20, function()
        local got = post("ttl=1&error_ttl=0", emu:opts({ retries = 0 }))
        return got.err and got
      end, 0.2)
      assert.is_truthy(stale)
      assert.same(first.ids, stale.ids)
      assert.same({ "http", 503 }, { stale.err.kind, stale.err.status })
      assert.same({ false, false, first.info.listed_at }, { stale.info.fresh, stale.info.success,
        stale.info.listed_at })
      -- past stale_if_error (0 s here), nothing to serve: the err alone
      local none = post("ttl=1&stale=0&error_ttl=0&purge=1", emu:opts({ retries = 0 }))
      assert.is_nil(none.ids)
      assert.same({ "http", 503, false }, { none.err.kind, none.err.status, none.info.success })
    end)

    it("remembers a failure for error_ttl instead of listing again at once", function()
      emu:faults({ { type = "status", status = 503, body = "busy", count = 1000 } })
      local got = post("ttl=60&error_ttl=60", emu:opts({ retries = 0 }))
      assert.equal("http", got.err.kind)
      for _ = 1, 5 do assert.equal("http", post("ttl=60&error_ttl=60", emu:opts({ retries = 0 })).err.kind) end
      assert.equal(1, #emu:log())
    end)

    it("keys by what changes the result, with no secret in clear", function()
      local token = emu:config().token
      post("", emu:opts({ timeout = 5, concurrency = 1 }))
      post("", emu:opts({ timeout = 9, concurrency = 3, retries = 0 }))
      assert.equal(3, #emu:log()) -- transport options share one copy
      post("", emu:opts({ status = "ISSUED" }))
      local keys = cjson.decode(run("curl -s " .. nginx.base .. "/t/keys"))
      local lists = 0
      for _, k in ipairs(keys) do
        assert.is_nil(k:find(token, 1, true))
        if k:match("^scm:all:%x+$") then lists = lists + 1 end
      end
      assert.equal(2, lists)
      assert.equal(123, #post("key=mine", emu:opts()).ids)
    end)

    it("raises on bad settings, naming them, and sends nothing", function()
      assert.matches("scm.resty.cache: ttl must be a number >= 0 %(got %-1%)", post("ttl=-1", emu:opts()).raised)
      assert.matches('scm.resty.cache: dict: no lua_shared_dict named "nope"', post("dict=nope", emu:opts()).raised)
      assert.matches('scm.resty.cache: unknown setting "bogus"', post("bogus=1", emu:opts()).raised)
      assert.matches("limit must be 10, 20 or 50", post("", emu:opts({ limit = 30 })).raised)
      assert.same({}, emu:log())
    end)
  end)

  describe("timer.every", function()
    local function runs()
      return cjson.decode(run("curl -s " .. nginx.base .. "/t/runs"))
    end
    local function wait_runs(n)
      local got = shell.wait_for(60, function()
        local r = runs()
        return r.runs >= n and r
      end, 0.25)
      assert(got, "fewer than " .. n .. " runs: " .. nginx:log())
      return got
    end

    it("runs once per interval in the whole nginx", function()
      nginx = start({ INTERVAL = 1, SECONDS = 0 })
      assert.is_truthy(shell.wait_for(10, function() return #nginx:workers() == 4 end),
        "workers: " .. #nginx:workers())
      local r = wait_runs(5)
      assert.equal(1, r.most)
      for i = 2, #r.list do
        if r.list[i].start then
          local gap = r.list[i].start - r.list[i - 1].start
          assert.is_true(gap >= 0.95, ("runs %d and %d started %.3f s apart"):format(i - 1, i, gap))
        end
      end
    end)

    it("never starts a run while one is going on, when a run outlasts the interval", function()
      nginx = start({ INTERVAL = 1, SECONDS = 1.5 })
      local r = wait_runs(4)
      assert.equal(1, r.most)
      for i = 2, #r.list do
        local prev, cur = r.list[i - 1], r.list[i]
        if cur.start then
          assert.is_truthy(prev.finish)
          assert.is_true(cur.start >= prev.finish, ("run %d started before run %d ended"):format(i, i - 1))
        end
      end
    end)

    it("stops a run when its worker exits, so a reload is not held up", function()
      nginx = start({ INTERVAL = 1, SECONDS = 600 })
      wait_runs(1)
      local old = nginx:workers()
      assert.is_true(nginx:signal("reload"))
      -- the old workers go, though the run they had would take 600 s
      local gone = shell.wait_gone(20, old)
      assert.is_true(gone, "old workers still running: " .. nginx:log())
      assert.matches("scm.resty.timer spec: run stopped, the worker is exiting", nginx:log())
    end)
  end)
end)
