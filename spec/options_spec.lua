-- Options: every query option is validated before anything is sent, and
-- sent percent-encoded; a programmer error raises naming the option.
local scm = require("scm")
local emulator = require("emulator")

describe("options", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  -- Calls scm.list with opts; asserts that it raises a message holding
  -- every fragment given, and that nothing reached the server.
  local function rejects(extra, ...)
    local opts = emu:opts(extra)
    if extra.token == false then opts.token = nil end
    local ok, err = pcall(scm.list, opts)
    assert.is_false(ok, "expected an error")
    assert.is_string(err)
    for _, fragment in ipairs({ ... }) do
      assert.truthy(err:find(fragment, 1, true),
        ("message %q lacks %q"):format(err, fragment))
    end
    assert.same({}, emu:log())
    return err
  end

  local function sent_query(extra)
    local page, err = scm.list(emu:opts(extra))
    assert.is_nil(err)
    assert.is_table(page)
    local log = emu:log()
    assert.equal(1, #log)
    return log[1].query, log[1].args
  end

  describe("validation", function()
    it("limit must be 10, 20 or 50", function()
      rejects({ limit = 30 }, "limit must be 10, 20 or 50 (got 30)")
      rejects({ limit = 50.5 }, "limit must be 10, 20 or 50 (got 50.5)")
      rejects({ limit = "50" }, "limit must be 10, 20 or 50", '"50"')
      rejects({ limit = true }, "limit must be 10, 20 or 50 (got true)")
    end)

    it("offset must be an integer from 0 to 2147483647", function()
      local rule = "offset must be an integer from 0 to 2147483647"
      rejects({ offset = -1 }, rule .. " (got -1)")
      rejects({ offset = 1.5 }, rule .. " (got 1.5)")
      rejects({ offset = "0" }, rule)
      rejects({ offset = 2147483648 }, rule .. " (got 2147483648)")
      rejects({ offset = 2 ^ 53 }, rule)
      if math.maxinteger then
        rejects({ offset = math.maxinteger }, rule)
        rejects({ offset = math.maxinteger - 10 }, rule)
        rejects({ offset = math.mininteger }, rule)
      end
      -- the largest listing offset goes out as it is, and listing from it ends
      local _, args = sent_query({ offset = 2147483647 })
      assert.equal("2147483647", args.offset)
      emu:clear_log()
      assert.equal(0, #assert(scm.all(emu:opts({ offset = 2147483647 }))))
      for _, req in ipairs(emu:log()) do
        assert.is_true(tonumber(req.args.offset) >= 0, req.query)
      end
    end)

    it("sort_dir must be ASC or DESC", function()
      rejects({ sort_dir = "asc" }, "sort_dir must be one of ASC, DESC", '"asc"')
    end)

    it("sort_key must be one of the API's keys", function()
      rejects({ sort_key = "name" },
        "sort_key must be one of certExpiredTime, certStatus, certUpdateTime")
    end)

    it("status must be one of the API's statuses", function()
      rejects({ status = "VALID" }, "status must be one of ALL, PAID, ISSUED",
        "SUPPLEMENTCHECKING", '"VALID"')
      rejects({ status = 1 }, "status must be one of")
    end)

    it("enterprise_project_id must be a non-empty string", function()
      rejects({ enterprise_project_id = "" }, "enterprise_project_id must be a non-empty string")
      rejects({ enterprise_project_id = 0 }, "enterprise_project_id must be a non-empty string (got 0)")
    end)

    it("deploy_support and owned_by_self must be booleans", function()
      rejects({ deploy_support = "true" }, "deploy_support must be a boolean")
      rejects({ owned_by_self = 1 }, "owned_by_self must be a boolean (got 1)")
    end)

    it("expired_days_since must be an integer from 0 to 1095", function()
      rejects({ expired_days_since = 1096 }, "expired_days_since must be an integer from 0 to 1095 (got 1096)")
      rejects({ expired_days_since = -1 }, "expired_days_since must be an integer from 0 to 1095")
    end)

    it("transport options follow their rules", function()
      rejects({ timeout = 0 }, "timeout must be a number of seconds > 0")
      rejects({ timeout = "5" }, "timeout must be a number of seconds > 0")
      rejects({ timeout = 0 / 0 }, "timeout must be a number of seconds > 0")
      rejects({ connect_timeout = -1 }, "connect_timeout must be a number of seconds > 0")
      rejects({ verify = "no" }, "verify must be a boolean")
      rejects({ allow_http = 1 }, "allow_http must be a boolean")
      rejects({ max_body = 0 }, "max_body must be an integer from 1 to")
      rejects({ cafile = "" }, "cafile must be a non-empty string")
      rejects({ user_agent = "a\r\nX-Evil: 1" }, "user_agent must be a non-empty string without CR, LF or NUL")
    end)

    it("unknown option keys raise, with a suggestion when close", function()
      rejects({ limt = 10 }, "unknown option 'limt'", "did you mean 'limit'?")
      rejects({ colour = "red" }, "unknown option 'colour'")
    end)

    it("option names must be strings", function()
      local opts = emu:opts()
      opts[1] = "x"
      local ok, err = pcall(scm.list, opts)
      assert.is_false(ok)
      assert.truthy(err:find("option names must be strings", 1, true))
      assert.same({}, emu:log())
    end)

    it("opts must be a table", function()
      local ok, err = pcall(scm.list, "token")
      assert.is_false(ok)
      assert.truthy(err:find("table expected", 1, true))
    end)

    it("credentials: none, or both kinds, raise", function()
      local ok, err = pcall(scm.list, { endpoint = emu.url })
      assert.is_false(ok)
      assert.truthy(err:find("no credentials", 1, true))
      rejects({ token = false, ak = "AK" }, "ak is set but sk is missing")
      rejects({ token = false, sk = "SK" }, "sk is set but ak is missing")
      rejects({ token = false, ak = "AK", sk = "SK", domain_id = "d\n" },
        "domain_id must be a non-empty string without CR, LF or NUL")
      rejects({ ak = "AK", sk = "SK" }, "token and ak/sk are exclusive")
    end)

    it("header values must not carry CR, LF or NUL", function()
      for _, bad in ipairs({ "abc\rdef", "abc\ndef", "abc\0def" }) do
        local err = rejects({ token = bad }, "token must be a non-empty string without CR, LF or NUL")
        assert.falsy(err:find(bad, 1, true))
      end
    end)

    it("endpoint must be http or https, without query or fragment", function()
      rejects({ endpoint = "ftp://127.0.0.1/" }, "endpoint must be an http:// or https:// URL")
      rejects({ endpoint = "127.0.0.1:8080" }, "endpoint must be an http:// or https:// URL")
      rejects({ endpoint = emu.url .. "/?x=1" }, "endpoint must not have a query")
      rejects({ endpoint = emu.url .. "/#top" }, "endpoint must not have a fragment")
      -- an empty fragment, or a "#" anywhere, would drop the query sent
      rejects({ endpoint = emu.url .. "#" }, "endpoint must not have a fragment")
      rejects({ endpoint = emu.url .. "/#" }, "endpoint must not have a fragment")
      rejects({ endpoint = emu.url .. "/a#b/c" }, "endpoint must not have a fragment")
      rejects({ endpoint = emu.url .. "?" }, "endpoint must not have a query")
      rejects({ endpoint = "http://user:pw@127.0.0.1" }, "endpoint must not carry a user name or password")
      rejects({ endpoint = "http://127.0.0.1 /" }, "endpoint must not contain spaces")
    end)

    it("plain http goes only to loopback unless allow_http", function()
      rejects({ endpoint = "http://192.0.2.10:8080" }, "plain http to a host that is not loopback",
        "allow_http")
      rejects({ endpoint = "http://scm.example.com" }, "plain http to a host that is not loopback")
      -- loopback names and addresses are allowed
      for _, host in ipairs({ "localhost", "127.0.0.1", "127.1.2.3", "[::1]" }) do
        local ok, err = pcall(scm.list, emu:opts({ endpoint = "http://" .. host .. ":1", timeout = 2 }))
        assert.is_true(ok, err)
      end
    end)

    it("endpoint and region are exclusive; an unknown region names the known ones", function()
      rejects({ region = "ap-southeast-1" }, "endpoint and region are exclusive")
      local opts = emu:opts({ region = "mars-1" })
      opts.endpoint = nil
      local ok, err = pcall(scm.list, opts)
      assert.is_false(ok)
      assert.truthy(err:find("region must be one of cn-north-4, ap-southeast-1, my-kualalumpur-1", 1, true))
    end)

    it("retries and concurrency follow their rules", function()
      rejects({ retries = -1 }, "retries must be an integer from 0 to 1000000 (got -1)")
      rejects({ retries = 1.5 }, "retries must be an integer from 0 to 1000000")
      rejects({ retries = 1000001 }, "retries must be an integer from 0 to 1000000 (got 1000001)")
      rejects({ concurrency = 0 }, "concurrency must be an integer from 1 to 16 (got 0)")
      rejects({ concurrency = 17 }, "concurrency must be an integer from 1 to 16 (got 17)")
    end)

    it("scm.new checks each default at once", function()
      local ok, err = pcall(scm.new, { limit = 15 })
      assert.is_false(ok)
      assert.truthy(err:find("limit must be 10, 20 or 50 (got 15)", 1, true))
      ok, err = pcall(scm.new, { nope = 1 })
      assert.is_false(ok)
      assert.truthy(err:find("unknown option 'nope'", 1, true))
    end)
  end)

  describe("query encoding", function()
    it("sends nothing for options left out", function()
      local query = sent_query({})
      assert.equal("", query)
    end)

    it("sends every query option under its API name", function()
      local _, args = sent_query({
        limit = 20, offset = 40, sort_dir = "ASC", sort_key = "certExpiredTime",
        status = "ISSUED", enterprise_project_id = "0", deploy_support = true,
        owned_by_self = false, expired_days_since = 30,
      })
      assert.same({
        limit = "20", offset = "40", sort_dir = "ASC", sort_key = "certExpiredTime",
        status = "ISSUED", enterprise_project_id = "0", deploy_support = "true",
        owned_by_self = "false", expired_days_since = "30",
      }, args)
    end)

    it("sends integers without a fraction, whatever the number subtype", function()
      local query = sent_query({ limit = 50.0, offset = 100.0 })
      assert.equal("limit=50&offset=100", query)
    end)

    it("percent-encodes values", function()
      local query, args = sent_query({ enterprise_project_id = "a b&c=d/é~" })
      assert.equal("enterprise_project_id=a%20b%26c%3Dd%2F%C3%A9~", query)
      assert.equal("a b&c=d/é~", args.enterprise_project_id)
    end)
  end)
end)
