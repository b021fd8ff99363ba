-- The I/O-free policy (scm.plan, scm.retry): what an I/O layer of its own
-- needs to list certificates exactly as scm.each does. Nothing here is sent.
local scm = require("scm")
local tables = require("support.tables")

local BASE = { endpoint = "http://127.0.0.1:9", token = "plan-token-0123456789abcdef0123456789" }

local function opts(extra) return tables.merge(BASE, extra) end

local function certs(list)
  local t = {}
  for i, id in ipairs(list) do t[i] = { id = id } end
  return t
end

local function ids(page) return tables.ids_of(page.certificates) end

describe("scm.plan", function()
  it("validates the options at once, as every call does", function()
    assert.has_error(function() scm.plan(opts({ limit = 30 })) end,
      "bad argument #1 to 'plan' (limit must be 10, 20 or 50 (got 30))")
    assert.has_error(function() scm.plan(opts({ pool_size = 0 })) end,
      "bad argument #1 to 'plan' (pool_size must be an integer from 1 to 10000 (got 0))")
    assert.has_error(function() scm.plan(opts({ deadline = -1 })) end)
    assert.has_error(function() scm.plan(opts({ ssl_server_name = "a\r\nb" })) end)
  end)

  it("builds the request of any page, with the settings filled in", function()
    local plan = scm.plan(opts({ limit = 20, deadline = 5, pool_size = 8, backlog = 4,
      keepalive_timeout = 1000, ssl_server_name = "scm.example.com", ssl_session_reuse = false }))
    local req = plan:request(40)
    assert.equal("http://127.0.0.1:9/v3/scm/certificates?limit=20&offset=40", req.url)
    assert.equal(BASE.token, req.headers["X-Auth-Token"])
    assert.same({ 20, 5, 8, 4, 1000, "scm.example.com", false, 102400, 307200 }, { req.page_size, req.deadline,
      req.pool_size, req.backlog, req.keepalive_timeout, req.ssl_server_name, req.ssl_session_reuse,
      req.max_header_line, req.max_header_block })
    local defaults = scm.plan(opts()):request()
    assert.same({ 50, 32, 60000, true }, { defaults.page_size, defaults.pool_size, defaults.keepalive_timeout,
      defaults.ssl_session_reuse })
    assert.equal("http://127.0.0.1:9/v3/scm/certificates", defaults.url)
  end)

  it("gives the offsets: the first page alone, then up to total_count", function()
    local plan = scm.plan(opts({ limit = 10, offset = 5 }))
    assert.equal(5, plan:next())
    assert.is_nil(plan:next())
    local first = { certificates = certs({ "a", "b", "c", "d", "e", "f", "g", "h", "i", "j" }), total_count = 32 }
    assert.equal("more", plan:page(first))
    assert.same({ 15, 25 }, { plan:next(), plan:next() })
    assert.is_nil(plan:next())
  end)

  it("drops ids handed out before, strings and integers alike, and stops at a short page", function()
    local plan = scm.plan(opts({ limit = 10 }))
    plan:next()
    local p1 = { certificates = certs({ "a", 1, "a", 2, "b", 3, "c", 4, "d", 5 }), total_count = 30 }
    assert.equal("more", plan:page(p1))
    assert.same({ "a", 1, 2, "b", 3, "c", 4, "d", 5 }, ids(p1))
    local p2 = { certificates = certs({ 1, "1", "e" }), total_count = 30 }
    assert.equal("done", plan:page(p2))
    assert.same({ "1", "e" }, ids(p2))
    assert.is_nil(plan:next())
  end)

  it("ends a listing that does not end with an err", function()
    local plan = scm.plan(opts({ limit = 10 }))
    plan:next()
    local page = { certificates = certs({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }), total_count = 2 ^ 40 }
    assert.equal("more", plan:page(page))
    local again = { certificates = certs({ 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 }), total_count = 2 ^ 40 }
    local state, err = plan:page(again)
    assert.is_nil(state)
    assert.equal("decode", err.kind)
    assert.matches("does not end", err.message)
  end)

  it("stops after the pages the first total_count allows, plus slack", function()
    local plan = scm.plan(opts({ limit = 10 }))
    plan:next()
    local n, state, err = 0, "more", nil
    while state == "more" do
      n = n + 1
      local list = {}
      for i = 1, 10 do list[i] = n * 100 + i end
      -- the total rises with every page
      state, err = plan:page({ certificates = certs(list), total_count = 20 + n * 10 })
      assert.is_true(n < 100)
    end
    assert.is_nil(state)
    assert.equal("decode", err.kind)
    assert.equal(4, n) -- 3 pages and one of slack, which still says more: the err
  end)
end)

describe("scm.retry", function()
  it("retries network errors, timeouts, cut bodies, broken handshakes and 429/5xx", function()
    for _, what in ipairs({ "network", "timeout", "truncated", "handshake", 429, 500, 502, 503, 504 }) do
      local delay = scm.retry(what, 1)
      assert.is_number(delay, tostring(what))
      assert.is_true(delay >= 0 and delay <= 0.25)
    end
  end)

  it("does not retry what will not change", function()
    for _, what in ipairs({ "verify", "too_large", "malformed", "decode", 200, 400, 401, 403, 404, 501 }) do
      assert.is_nil(scm.retry(what, 1), tostring(what))
    end
  end)

  it("backs off exponentially, capped at 8 s", function()
    for attempt = 1, 10 do
      local ceiling = math.min(8, 0.25 * 2 ^ (attempt - 1))
      for _ = 1, 20 do
        local d = scm.retry(503, attempt)
        assert.is_true(d >= 0 and d <= ceiling)
      end
    end
  end)

  it("honours Retry-After up to 30 s, ignores what cannot be read, never raises", function()
    assert.equal(2, scm.retry(503, 1, "2"))
    assert.equal(0, scm.retry(429, 1, "Wed, 21 Oct 2015 07:28:00 GMT"))
    assert.is_nil(scm.retry(503, 1, "31"))
    assert.is_nil(scm.retry(503, 1, "99999999999999999999"))
    for _, bad in ipairs({ "nan", "-5", "1e999", "inf", "", "0x10", " 3 4" }) do
      local d = scm.retry(503, 1, bad)
      assert.is_true(d >= 0 and d <= 0.25, bad)
    end
  end)

  it("plan:retry counts the attempts against retries", function()
    local plan = scm.plan(opts({ retries = 1 }))
    assert.is_number(plan:retry(503, 1))
    local none, why = plan:retry(503, 2)
    assert.is_nil(none)
    assert.equal("no retries left", why)
  end)

  it("refuses what is not a cause", function()
    assert.has_error(function() scm.retry("sometimes", 1) end)
    assert.has_error(function() scm.retry(503, 0) end)
  end)
end)
