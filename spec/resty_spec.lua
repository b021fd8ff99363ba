-- scm.resty: the OpenResty path, on a real nginx with Debian's Lua module,
-- against the emulator: the same results and errors as the libcurl path,
-- and a worker that keeps answering while a listing is in flight.
local scm = require("scm")
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local tables = require("support.tables")
local test_nginx = require("support.nginx")

-- A private nginx serving the test handlers (spec/resty_handlers.lua):
-- POST /t/<call> with the options as JSON; the answer is what the call
-- gave, as JSON.
local HANDLERS = [[
    location ~ ^/t/(list|all|each)$ { content_by_lua_block { require("resty_handlers").call(ngx.var[1]) } }
]]

describe("OpenResty path (scm.resty)", function()
  local emu, nginx, base

  setup(function()
    emu = emulator.shared()
    nginx = test_nginx.openresty({ server = HANDLERS })
    base = nginx.base
  end)

  teardown(function()
    if nginx then nginx:stop() end
  end)

  before_each(function() emu:reset() end)

  local function call(name, extra, opts)
    return (nginx:post_json("/t/" .. name, opts or emu:opts(extra)))
  end

  local ids_of = tables.ids_of

  it("lists one page like scm.list", function()
    local got = call("list", { limit = 20, offset = 40, status = "ISSUED" })
    local page = assert(scm.list(emu:opts({ limit = 20, offset = 40, status = "ISSUED" })))
    assert.same(ids_of(page.certificates), got.ids)
    assert.equal(page.total_count, got.total_count)
    assert.is_string(got.request_id)
    assert.same(page.certificates[1], got.first)
  end)

  for _, total in ipairs({ 0, 1, 50, 123, 1000 }) do
    it("lists every certificate like scm.all, for " .. total, function()
      emu:reset({ certs = total })
      local expected = assert(scm.all(emu:opts({ concurrency = 4 })))
      for _, c in ipairs({ 1, 8 }) do
        local got = call("all", { concurrency = c })
        assert.same(ids_of(expected), got.ids or {})
        assert.equal(expected.total_count, got.total_count)
      end
      local each = call("each", { concurrency = 4, sort_key = "certExpiredTime" })
      local sorted = assert(scm.all(emu:opts({ sort_key = "certExpiredTime" })))
      assert.same(ids_of(sorted), each.ids or {})
    end)
  end

  it("signs with ak/sk, and the emulator accepts the signature", function()
    local cfg = emu:config()
    local got = call("all", nil, { endpoint = emu.url, ak = cfg.ak, sk = cfg.sk, concurrency = 4 })
    assert.equal(123, #got.ids)
    got = call("list", nil, { endpoint = emu.url, ak = cfg.ak, sk = "wrong-secret", retries = 0 })
    assert.same({ "api", 401, "APIGW.0301" }, { got.err.kind, got.err.status, got.err.code })
  end)

  it("fetches the pages of a listing side by side", function()
    emu:reset({ certs = 500, latency_ms = 300 })
    local got = call("all", { concurrency = 8 })
    assert.equal(500, #got.ids)
    local log = emu:log()
    -- pages after the first arrived together, not one latency apart
    local overlapped = false
    for i = 3, #log do
      if log[i].time < log[i - 1].time + 0.2 then overlapped = true end
    end
    assert.is_true(overlapped)
  end)

  describe("errors come back as err tables", function()
    it("api: a wrong token", function()
      local got = call("list", { token = "wrong-token-wrong-token-wrong-token" })
      assert.same({ "api", 401, "SCM.1000" }, { got.err.kind, got.err.status, got.err.code })
      assert.is_string(got.err.request_id)
      assert.matches("^scm: api error 401 SCM%.1000", got.err.text)
    end)

    it("http: an HTML 502, after the retries", function()
      emu:faults({ { type = "status", status = 502, body = "<html>bad gateway</html>", count = 3 } })
      local got = call("list", { retries = 2 })
      assert.same({ "http", 502, 3 }, { got.err.kind, got.err.status, got.err.attempts })
    end)

    it("retries a 503, then gives the page", function()
      emu:faults({ { type = "status", status = 503, body = "busy" } })
      local got = call("list", {})
      assert.equal(123, got.total_count)
      assert.equal(2, #emu:log())
    end)

    it("decode: invalid JSON, and a body over max_body", function()
      emu:faults({ { type = "invalid_json" } })
      assert.equal("decode", call("list", {}).err.kind)
      emu:faults({ { type = "huge", bytes = 3000000 } })
      local got = call("list", { max_body = 100000 })
      assert.equal("decode", got.err.kind)
      assert.matches("max_body", got.err.message)
    end)

    it("timeout: a response slower than timeout", function()
      emu:faults({ { type = "delay", ms = 5000 } })
      local got = call("list", { timeout = 0.5, retries = 0 })
      assert.equal("timeout", got.err.kind)
    end)

    it("network: a closed port", function()
      local got = call("list", { endpoint = "http://127.0.0.1:1", retries = 0 })
      assert.equal("network", got.err.kind)
      assert.is_nil(got.err.status)
    end)

    it("a failing page of a listing fails the listing", function()
      emu:reset({ certs = 300 })
      emu:faults({ { type = "pass" }, { type = "status", status = 500, count = 10,
        body = '{"error_code":"SCM.4001","error_msg":"internal"}', content_type = "application/json" } })
      local got = call("all", { concurrency = 1, retries = 0 })
      assert.same({ "api", 500 }, { got.err.kind, got.err.status })
      got = call("each", { concurrency = 1, retries = 0 })
      assert.equal("api", got.err.kind)
      assert.equal(got.err.text, got.raised)
    end)

    it("a secret never appears in them", function()
      local secret = "s3cr3t-token-s3cr3t-token-s3cr3t-token-0002"
      emu:reset({ token = secret })
      emu:faults({ { type = "status", status = 401, content_type = "application/json",
        body = '{"error_code":"SCM.1000","error_msg":"bad token ' .. secret .. '"}' } })
      local got = call("list", { token = secret })
      assert.equal("api", got.err.kind)
      assert.falsy(got.err.text:find(secret, 1, true))
    end)

    it("a programmer error raises, as on the libcurl path", function()
      local got = call("list", { limit = 30 })
      assert.matches("limit must be 10, 20 or 50 %(got 30%)", got.raised)
      assert.same({}, emu:log())
    end)
  end)

  it("a kept-alive connection the server dropped is replaced, and costs no attempt", function()
    -- one worker: the second call finds the first call's pooled connection
    assert.is_number(call("list", { retries = 0 }).total_count)
    -- the server closes that connection as the next request arrives,
    -- unanswered, as an idle timeout striking just then does
    emu:faults({ { type = "reset" } })
    local got = call("list", { retries = 0 })
    assert.is_nil(got.err, cjson.encode(got))
    assert.equal(123, got.total_count)
    local log = emu:log()
    assert.equal(3, #log)
    assert.equal(log[1].connection, log[2].connection, "the second call did not reuse the pooled connection")
    assert.is_not.equal(log[2].connection, log[3].connection)
  end)

  it("keeps the worker answering while a listing is in flight", function()
    emu:reset({ certs = 200, latency_ms = 3000 })
    local body = shell.temp_file(cjson.encode(emu:opts({ concurrency = 2 })))
    -- a listing of 4 pages at 3 s each, two at a time, in the background
    local bg = shell.popen(("curl -s --max-time 60 --data-binary @%s %s/t/all"):format(body, base))
    -- wait until the listing is in flight: its first request has arrived
    assert.is_truthy(shell.wait_for(10, function() return #emu:log() >= 1 end, 0.05),
      "the listing did not start")
    -- the same single worker answers meanwhile: every ping comes back
    -- before the listing has sent its last page's request (a worker
    -- blocked by the listing would answer only after all of them)
    for _ = 1, 5 do
      assert.equal("200", shell.run(("curl -s -o /dev/null -w '%%{http_code}' %s/ping"):format(base)))
    end
    local during = #emu:log()
    local listed = cjson.decode(bg:read("*a"))
    bg:close()
    os.remove(body)
    assert.equal(200, #listed.ids)
    assert.equal(4, #emu:log())
    assert.is_true(during < 4, ("the pings came back after %d of 4 requests"):format(during))
  end)

  it("the example configuration serves /certs and logs expiring certificates", function()
    emu:reset({ certs = 300 })
    local example = test_nginx.example({ SCM_ENDPOINT = emu.url, SCM_TOKEN = emu:config().token,
      EXPIRY_DAYS = 30 })
    local ok, err = pcall(function()
      local out = shell.wait_for(5, function()
        local p = shell.popen(("curl -s %s/certs"):format(example.base))
        local text = p:read("*a")
        p:close()
        return text ~= "" and text
      end)
      local got = cjson.decode(out)
      local expected = assert(scm.all(emu:opts({ sort_key = "certExpiredTime", sort_dir = "ASC" })))
      assert.equal(300, got.total_count)
      assert.same(ids_of(expected), ids_of(got.certificates))
      -- the timer's line comes when its listing is done: waited for, with a deadline
      local pattern = "scm expiry check: %d+ of 300 certificates expire within 30 days"
      local log = shell.wait_for(30, function()
        local l = example:log()
        return l:match(pattern) and l
      end)
      assert.is_truthy(log, "no expiry check line in the log: " .. example:log())
      assert.matches(pattern, log)
    end)
    example:stop()
    assert(ok, err)
  end)
end)
