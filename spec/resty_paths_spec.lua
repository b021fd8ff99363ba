-- The two paths agree: the same normal and hostile responses, fed by the
-- emulator through libcurl (scm) and through nginx's cosockets
-- (scm.resty), give the same pages and the same errs.
local scm = require("scm")
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local test_nginx = require("support.nginx")
local tables = require("support.tables")

local HANDLERS = [[
    location ~ ^/t/(list|all|each)$ { content_by_lua_block { require("resty_handlers").call(ngx.var[1]) } }
]]

describe("both paths give the same results and errs", function()
  local emu, nginx

  setup(function()
    emu = emulator.shared()
    nginx = test_nginx.openresty({ server = HANDLERS })
  end)

  teardown(function()
    if nginx then nginx:stop() end
  end)

  local ids = tables.ids_of

  -- what matters of an outcome: the ids and total, or the err's fields
  local function outcome(ok_value, err)
    if ok_value then return { ids = ok_value.ids, total_count = ok_value.total_count } end
    return { kind = err.kind, status = err.status, code = err.code, attempts = err.attempts }
  end

  local function via_curl(name, opts)
    if name == "list" then
      local page, err = scm.list(opts)
      return outcome(page and { ids = ids(page.certificates), total_count = page.total_count }, err)
    end
    local certs, err = scm.all(opts)
    return outcome(certs and { ids = ids(certs), total_count = certs.total_count }, err)
  end

  local function via_nginx(name, opts)
    local out, status = nginx:get("/t/" .. name, cjson.encode(opts))
    local ok, got = pcall(cjson.decode, out)
    assert(ok, ("not JSON (%s): %s"):format(tostring(status), out))
    assert.is_nil(got.raised)
    return outcome(got.ids and got, got.err)
  end

  -- runs the case on both paths, each from the same emulator state
  local function both(name, extra, faults, data)
    local results = {}
    for i, path in ipairs({ via_curl, via_nginx }) do
      emu:reset()
      if data then emu:put_certificates(data) end
      if faults then emu:faults(faults) end
      results[i] = path(name, emu:opts(extra))
    end
    return results[1], results[2]
  end

  local page = '{"certificates":[],"total_count":0}'
  local function raw(head, body, count)
    return { { type = "raw", head = head, body = body or "", count = count or 3 } }
  end

  local function busy(retry_after)
    return raw("HTTP/1.1 503 Busy\r\nRetry-After: " .. retry_after .. "\r\nContent-Length: 0")
  end

  local CASES = {
    { "a page", "list", { limit = 20, offset = 40, status = "ISSUED" } },
    { "a 503, then the page", "list", {}, { { type = "status", status = 503, body = "busy" } } },
    { "a 500 every time", "list", { retries = 1 }, { { type = "status", status = 500, count = 3 } } },
    { "an api error", "list", { token = "wrong-token-wrong-token-wrong-token" } },
    { "a 429 with Retry-After: 1", "list", {},
      { { type = "status", status = 429, headers = { ["Retry-After"] = "1" } } } },
    { "Retry-After: nan", "list", { retries = 1 }, busy("nan") },
    { "Retry-After: -5", "list", { retries = 1 }, busy("-5") },
    { "Retry-After: 1e999", "list", { retries = 1 }, busy("1e999") },
    { "a Retry-After too large to hold", "list", { retries = 1 }, busy("99999999999999999999") },
    { "a Retry-After of an hour", "list", { retries = 1 }, busy("3600") },
    { "Content-Length: -5", "list", { retries = 1 }, raw("HTTP/1.1 200 OK\r\nContent-Length: -5", page) },
    { "Content-Length: nan", "list", { retries = 1 }, raw("HTTP/1.1 200 OK\r\nContent-Length: nan", page) },
    { "a body cut short", "list", { retries = 1 }, { { type = "truncate", count = 3 } } },
    { "invalid JSON", "list", {}, { { type = "invalid_json" } } },
    { "the wrong shape", "list", {}, { { type = "wrong_shape" } } },
    { "a redirect", "list", {}, { { type = "redirect" } } },
    { "a body over max_body", "list", { max_body = 100000 }, { { type = "huge", bytes = 3000000 } } },
    { "a chunked body over max_body", "list", { max_body = 100000 },
      { { type = "huge", bytes = 3000000, chunked = true } } },
    { "a 1 MB header line", "list", { retries = 1 },
      { { type = "huge_header", bytes = 1024 * 1024, count = 3 } } },
    { "a connection reset", "list", { retries = 1 }, { { type = "reset", count = 10 } } },
    { "a body slower than timeout", "list", { timeout = 1, retries = 0 },
      { { type = "drip", bytes_per_second = 100 } } },
    { "every certificate", "all", { concurrency = 4 } },
    { "every certificate, a page failing", "all", { concurrency = 2, retries = 0 },
      { { type = "pass" }, { type = "status", status = 502, count = 10 } } },
  }

  for _, c in ipairs(CASES) do
    it(c[1], function()
      local curl, cosocket = both(c[2], c[3], c[4])
      assert.same(curl, cosocket)
    end)
  end

  it("integer ids handed out once", function()
    local data = {}
    for i = 1, 120 do data[i] = { id = i % 60, name = "n" .. i, domain = "d" .. i .. ".example.com" } end
    local curl, cosocket = both("all", { concurrency = 2 }, nil, data)
    assert.equal(60, #curl.ids)
    assert.same(curl, cosocket)
  end)

  it("a listing that does not end: every page the same ids", function()
    local data = {}
    for i = 1, 300 do data[i] = { id = "same-" .. (i % 50), name = "n" .. i } end
    local curl, cosocket = both("all", { concurrency = 2 }, nil, data)
    assert.equal("decode", curl.kind)
    assert.same(curl, cosocket)
  end)

  -- last: the emulator is still sleeping on the request the deadline left
  it("a listing's deadline", function()
    local results = {}
    for i, path in ipairs({ via_curl, via_nginx }) do
      emu:reset({ certs = 500, latency_ms = 400 })
      local opts = emu:opts({ concurrency = 1, deadline = 1.5 })
      local t0 = tonumber(shell.run("date +%s.%N"))
      results[i] = path("all", opts)
      local took = tonumber(shell.run("date +%s.%N")) - t0
      -- the whole listing would take 4 s (10 pages of 0.4 s)
      assert.is_true(took < 3.5, ("took %.2f s"):format(took))
    end
    assert.equal("timeout", results[1].kind)
    assert.same(results[1], results[2])
  end)
end)
