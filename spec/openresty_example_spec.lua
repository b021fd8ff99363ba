-- The OpenResty example (examples/openresty) on a real nginx against the
-- emulator: /certs from the shared cache, one expiry check per interval
-- for the whole nginx, and a bounded load run.
local scm = require("scm")
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local tables = require("support.tables")
local test_nginx = require("support.nginx")

local run = shell.run

local ids_of = tables.ids_of

-- "2026/11/28 07:51:00" (error.log) to seconds, as a number that only
-- needs to compare and subtract within one run.
local function log_seconds(line)
  local y, mo, d, h, mi, s = line:match("^(%d+)/(%d+)/(%d+) (%d+):(%d+):(%d+)")
  return os.time({ year = y, month = mo, day = d, hour = h, min = mi, sec = s })
end

-- ab's summary: complete, failed and non-2xx request counts (-l: bodies
-- differ in length as the copy is refreshed; a short one still fails).
local function ab(url, n, c)
  local out = run(("timeout 300 ab -l -r -s 30 -n %d -c %d %s 2>&1 || true"):format(n, c, url))
  return {
    complete = tonumber(out:match("Complete requests:%s+(%d+)")),
    failed = tonumber(out:match("Failed requests:%s+(%d+)")),
    non2xx = tonumber(out:match("Non%-2xx responses:%s+(%d+)")) or 0,
    text = out,
  }
end

describe("OpenResty example", function()
  local emu, ex

  -- Starts the example with these settings over the defaults; waits
  -- until it answers.
  local function start(settings)
    ex = test_nginx.example(tables.merge({ SCM_ENDPOINT = emu.url, SCM_TOKEN = emu:config().token,
      EXPIRY_DAYS = 30, CHECK_EVERY = 3600, WORKERS = 2 }, settings))
    return ex
  end

  local function log() return ex:log() end
  local function workers() return ex:workers() end
  local function get(path)
    local out = run(("curl -s -D - --max-time 60 %s%s"):format(ex.base, path))
    local head, body = out:match("^(.-)\r\n\r\n(.*)$")
    return tonumber(head:match("^HTTP/%S+ (%d+)")), body, head
  end

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)
  after_each(function()
    if ex then
      ex:stop()
      ex = nil
    end
  end)

  it("serves /certs from one listing for 1,000 requests", function()
    emu:reset({ certs = 300 })
    start()
    local status, body = get("/certs")
    assert.equal(200, status)
    local got = cjson.decode(body)
    local expected = assert(scm.all(emu:opts({ sort_key = "certExpiredTime", sort_dir = "ASC" })))
    assert.equal(300, got.total_count)
    assert.same(ids_of(expected), ids_of(got.certificates))
    local before = #emu:log() -- the listing above and scm.all's own
    local r = ab(ex.base .. "/certs", 999, 50)
    assert.same({ 999, 0, 0 }, { r.complete, r.failed, r.non2xx }, r.text)
    -- scm.all above made 6 calls; the example's one listing made 6
    assert.equal(12, before)
    assert.equal(12, #emu:log())
  end)

  it("runs one expiry check per interval in 4 workers, one summary line each", function()
    local soon = {}
    for i = 1, 40 do
      soon[i] = { id = ("scs%013d"):format(i), domain = "d" .. i .. ".example.com", status = "ISSUED",
        expire_time = os.date("!%Y-%m-%d %H:%M:%S.0", os.time() + i * 86400) }
    end
    emu:put_certificates(soon)
    start({ WORKERS = 4, CHECK_EVERY = 2, CACHE_TTL = 1 })
    assert.is_truthy(shell.wait_for(10, function() return #workers() == 4 end), "workers: " .. #workers())
    local lines = shell.wait_for(40, function()
      local found = {}
      for line in log():gmatch("[^\n]+") do
        if line:find("scm expiry check:", 1, true) then found[#found + 1] = line end
      end
      return #found >= 4 and found
    end, 0.5)
    assert.is_truthy(lines, log())
    for i, line in ipairs(lines) do
      assert.matches("scm expiry check: 30 of 40 certificates expire within 30 days; soonest: "
        .. "d1%.example%.com %(scs0000000000001%) in [01]%.%d days", line)
      if i > 1 then
        -- at least the interval (2 s) apart, at the log's 1 s resolution
        assert.is_true(log_seconds(line) - log_seconds(lines[i - 1]) >= 1, table.concat(lines, "\n"))
      end
    end
    -- one line per run, not one per certificate
    assert.is_nil(log():find("scs0000000000030", 1, true))
  end)

  it("serves the stale copy with the err when a refresh fails", function()
    start({ CACHE_TTL = 1 })
    local status, body, head = get("/certs")
    assert.equal(200, status)
    assert.matches("X%-Scm%-Cache: fresh", head)
    emu:faults({ { type = "status", status = 503, body = "busy", count = 1000 } })
    local stale = shell.wait_for(30, function()
      local s, b, h = get("/certs")
      return h:find("X-Scm-Cache: stale", 1, true) and { s, b, h }
    end, 0.2)
    assert.is_truthy(stale)
    assert.equal(200, stale[1])
    local got = cjson.decode(stale[2])
    assert.same(ids_of(cjson.decode(body).certificates), ids_of(got.certificates))
    assert.same({ "http", 503 }, { got.error.kind, got.error.status })
    assert.is_false(got.fresh)
  end)

  it("lets a reload through while the expiry check waits on a hanging upstream", function()
    emu:faults({ { type = "delay", ms = 120000 } })
    start() -- the start-up check lists, and its first page hangs
    assert.is_truthy(shell.wait_for(20, function() return #emu:log() >= 1 end))
    local old = workers()
    assert(ex:signal("reload"), "nginx -s reload failed")
    local gone = shell.wait_gone(20, old)
    assert.is_true(gone, "old workers still running after 20 s")
    -- the new workers list: the killed listing's lock does not hold them
    local status, body = get("/certs")
    assert.equal(200, status)
    assert.equal(123, cjson.decode(body).total_count)
  end)

  it("serves /metrics from the cached listing: 100 scrapes, one listing", function()
    emu:reset({ certs = 300 })
    start()
    local r = ab(ex.base .. "/metrics", 100, 10)
    assert.same({ 100, 0, 0 }, { r.complete, r.failed, r.non2xx }, r.text)
    assert.equal(6, #emu:log())
    local file = os.tmpname()
    run(("curl -sf %s/metrics > %s"):format(ex.base, file))
    local text = run("cat " .. file)
    assert.matches("scm_list_success 1", text)
    assert.matches("scm_certificate_expiry_timestamp_seconds{", text, 1, true)
    run("promtool check metrics < " .. file)
    os.remove(file)
  end)

  it("survives ab -n 2000 -c 200 twice: no failures, upstream connections capped, RSS steady", function()
    emu:reset({ certs = 300, latency_ms = 50 })
    start({ CACHE_TTL = 1 })
    local emu_port = emu.url:match(":(%d+)$")
    -- the most upstream connections the workers hold at once, sampled
    -- while ab runs: sockets of a worker alone (this process's own
    -- libcurl connections, inherited by every child, left out)
    local samples = os.tmpname()
    local pids = table.concat(workers(), "|")
    local function load()
      local sampler = shell.popen(("while :; do ss -Htnp state established dst 127.0.0.1:%s "
        .. "| grep -Ec 'users:\\(\\(\"nginx\",pid=(%s),fd=[0-9]+\\)\\)[[:space:]]*$' >> %s; "
        .. "[ -e %s.stop ] && break; sleep 0.05; done; echo done")
        :format(emu_port, pids, samples, samples))
      local r = ab(ex.base .. "/certs", 2000, 200)
      run("touch " .. samples .. ".stop")
      sampler:read("*a")
      sampler:close()
      os.remove(samples .. ".stop")
      local rss = 0
      for _, w in ipairs(workers()) do
        rss = rss + tonumber(run("awk '/^VmRSS/ {print $2}' /proc/" .. w .. "/status"))
      end
      return r, rss
    end
    local r1, rss1 = load()
    assert.same({ 2000, 0, 0 }, { r1.complete, r1.failed, r1.non2xx }, r1.text)
    local r2, rss2 = load()
    assert.same({ 2000, 0, 0 }, { r2.complete, r2.failed, r2.non2xx }, r2.text)
    local most = 0
    for n in run("cat " .. samples):gmatch("%d+") do most = math.max(most, tonumber(n)) end
    os.remove(samples)
    -- the cap: resty.configure{ max_connections = 8 } per worker (2),
    -- and the listing's concurrency (4) per worker below it
    assert.is_true(most <= 8, "upstream connections at once: " .. most)
    assert.is_true(most >= 1) -- the sampling saw them (pooled ones stay open)
    local conns = {}
    for _, entry in ipairs(emu:log()) do conns[entry.connection] = true end
    local n = 0
    for _ in pairs(conns) do n = n + 1 end
    assert.is_true(n >= 1)
    assert.is_true(rss2 <= rss1 * 1.25,
      ("worker RSS %d kB after the first run, %d kB after the second"):format(rss1, rss2))
    assert.is_nil(log():find("worker_connections are not enough", 1, true))
    print(("# ab: rss %d -> %d kB, %d upstream connections at most, %d API calls, %d connections")
      :format(rss1, rss2, most, #emu:log(), n))
  end)
end)
