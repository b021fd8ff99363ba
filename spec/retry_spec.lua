-- Retries: network errors, timeouts, 429, 500, 502, 503, 504 are tried
-- again, with backoff or after Retry-After; the err of the last attempt
-- says how many attempts were made.
local scm = require("scm")
local emulator = require("emulator")
local tables = require("support.tables")

describe("retries", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  local function api_requests() return emu:api_requests() end

  local function status(code, extra)
    return tables.merge({ type = "status", status = code, content_type = "application/json",
      body = '{"error_code":"SCM.4001","error_msg":"try later"}' }, extra)
  end

  it("one 503, then the page: 2 requests", function()
    emu:faults({ status(503) })
    local page, err = scm.list(emu:opts())
    assert.is_nil(err)
    assert.equal(123, page.total_count)
    assert.equal(2, api_requests())
  end)

  for _, code in ipairs({ 429, 500, 502, 504 }) do
    it("retries a " .. code, function()
      emu:faults({ status(code) })
      assert(scm.list(emu:opts()))
      assert.equal(2, api_requests())
    end)
  end

  it("a connection reset, then the page", function()
    -- a new client: its first request goes over a new connection, which
    -- libcurl does not try again by itself
    emu:faults({ { type = "reset" } })
    local client = scm.new(emu:opts())
    assert(client:list())
    assert.equal(2, api_requests())
    client:close()
    emu:reset()
    emu:faults({ { type = "reset" } })
    client = scm.new(emu:opts({ retries = 0 }))
    local _, err = client:list()
    assert.equal("network", err.kind)
    client:close()
  end)

  it("a truncated body, then the page", function()
    emu:faults({ { type = "truncate" } })
    assert(scm.list(emu:opts()))
    assert.equal(2, api_requests())
  end)

  it("a timeout, then the page", function()
    emu:faults({ { type = "delay", ms = 10000 } })
    assert(scm.list(emu:opts({ timeout = 3 })))
    assert.equal(2, api_requests())
  end)

  it("429 with Retry-After: 1 waits at least a second", function()
    emu:faults({ status(429, { headers = { ["Retry-After"] = "1" } }) })
    assert(scm.list(emu:opts()))
    local log = emu:log()
    assert.equal(2, #log)
    assert.is_true(log[2].time - log[1].time >= 0.99,
      ("waited %.3f s"):format(log[2].time - log[1].time))
  end)

  it("honours Retry-After as an HTTP date", function()
    local when = os.date("!%a, %d %b %Y %H:%M:%S GMT", os.time() + 4)
    emu:faults({ status(503, { headers = { ["Retry-After"] = when } }) })
    assert(scm.list(emu:opts()))
    local log = emu:log()
    assert.equal(2, #log)
    assert.is_true(log[2].time - log[1].time >= 0.9)
  end)

  it("does not wait for a Retry-After over 30 s: the failure is returned", function()
    emu:faults({ status(503, { headers = { ["Retry-After"] = "120" } }) })
    local _, err = scm.list(emu:opts())
    assert.equal(503, err.status)
    assert.equal(1, api_requests())
  end)

  it("a Retry-After too large to parse is over 30 s too: returned at once", function()
    emu:faults({ status(503, { count = 3, headers = { ["Retry-After"] = "99999999999999999999" } }) })
    local _, err = scm.list(emu:opts())
    assert.equal(503, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, api_requests())
  end)

  it("a persistent 500 with retries = 1: exactly 2 requests, status 500", function()
    emu:faults({ status(500, { count = 10 }) })
    local page, err = scm.list(emu:opts({ retries = 1 }))
    assert.is_nil(page)
    assert.equal(500, err.status)
    assert.equal(2, err.attempts)
    assert.matches("after 2 attempts", err.message)
    assert.equal(2, api_requests())
  end)

  it("retries = 0 returns the first failure", function()
    emu:faults({ status(503) })
    local _, err = scm.list(emu:opts({ retries = 0 }))
    assert.equal(503, err.status)
    assert.equal(1, err.attempts)
    assert.equal(1, api_requests())
  end)

  it("does not retry what another attempt cannot mend", function()
    for _, f in ipairs({
      status(400, { body = '{"error_code":"SCM.0005","error_msg":"bad"}' }),
      status(403), { type = "invalid_json" }, { type = "huge", bytes = 3000000 },
    }) do
      emu:reset()
      emu:faults({ f })
      local _, err = scm.list(emu:opts({ max_body = 1000000 }))
      assert.is_table(err)
      assert.equal(1, api_requests(), f.type .. " " .. tostring(f.status))
    end
    -- a 401: wrong credentials stay wrong
    emu:reset()
    local _, err = scm.list(emu:opts({ token = "wrong-token-wrong-token-wrong-token" }))
    assert.equal(401, err.status)
    assert.equal(1, api_requests())
  end)

  it("retries a page of a listing", function()
    emu:reset({ certs = 200 })
    emu:faults({ { type = "pass" }, status(503), { type = "reset" } })
    local certs = assert(scm.all(emu:opts({ concurrency = 1 })))
    assert.equal(200, #certs)
    assert.equal(6, api_requests())
  end)
end)
