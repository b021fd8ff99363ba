-- scm.list, scm.new and client:list against the emulator: one request, one
-- page, decoded into native Lua tables.
local scm = require("scm")
local cjson = require("cjson")
local emulator = require("emulator")

local has_integers = math.type ~= nil

describe("scm.list", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("has a version", function()
    assert.matches("^scm %d+%.%d+%.%d+$", scm._VERSION)
  end)

  it("returns a page: certificates and total_count", function()
    local page, err = scm.list(emu:opts({ limit = 10 }))
    assert.is_nil(err)
    assert.equal(123, page.total_count)
    assert.equal(10, #page.certificates)
    for _, cert in ipairs(page.certificates) do
      assert.is_string(cert.id)
      assert.equal(16, #cert.id)
      assert.is_string(cert.domain)
      assert.is_string(cert.expire_time)
      assert.is_boolean(cert.deploy_support)
    end
  end)

  it("returns the server's page exactly, with the emulator's default order", function()
    local page = assert(scm.list(emu:opts({ limit = 20, offset = 10, sort_key = "certExpiredTime",
      sort_dir = "ASC" })))
    local all = emu:certificates()
    table.sort(all, function(a, b)
      if a.expire_time ~= b.expire_time then return a.expire_time < b.expire_time end
      return a.id < b.id
    end)
    for i = 1, 20 do
      assert.equal(all[10 + i].id, page.certificates[i].id)
    end
  end)

  it("sends the token as X-Auth-Token and names itself in User-Agent", function()
    assert(scm.list(emu:opts()))
    local req = emu:log()[1]
    assert.equal("GET", req.method)
    assert.equal("/v3/scm/certificates", req.path)
    assert.equal(emu:config().token, req.headers["x-auth-token"])
    assert.matches("^lua%-scm/%d+%.%d+%.%d+ libcurl/%d", req.headers["user-agent"])
    assert.equal("application/json", req.headers["accept"])
  end)

  it("sends a custom user_agent", function()
    assert(scm.list(emu:opts({ user_agent = "cert-audit/2.0" })))
    assert.equal("cert-audit/2.0", emu:log()[1].headers["user-agent"])
  end)

  it("keeps a path prefix of the endpoint", function()
    local _, err = scm.list(emu:opts({ endpoint = emu.url .. "/gateway/" }))
    assert.is_table(err)
    assert.equal("/gateway/v3/scm/certificates", emu:log()[1].path)
  end)

  it("applies the server-side filters", function()
    local page = assert(scm.list(emu:opts({ status = "EXPIRED", limit = 50 })))
    assert.is_true(page.total_count > 0)
    for _, cert in ipairs(page.certificates) do assert.equal("EXPIRED", cert.status) end
    page = assert(scm.list(emu:opts({ deploy_support = false, limit = 50 })))
    for _, cert in ipairs(page.certificates) do assert.is_false(cert.deploy_support) end
  end)

  it("carries the X-Request-Id of the response", function()
    local page = assert(scm.list(emu:opts()))
    assert.is_string(page.request_id)
    assert.equal(emu:log()[1].request_id, page.request_id)
  end)

  describe("decoding", function()
    local certs = {
      { id = "scs0000000000001", name = "nulls", domain = "a.example.com",
        description = cjson.null, sans = cjson.null, enterprise_project_id = cjson.null,
        validity_period = 12, domain_count = 1, wildcard_count = 0, deploy_support = true,
        expire_time = "2030-01-01 00:00:00.0", status = "ISSUED",
        extra = { nested = cjson.null, list = { 1, 2, 3 } }, future_field = "kept" },
    }

    it("turns JSON null into an absent field", function()
      emu:put_certificates(certs)
      local page = assert(scm.list(emu:opts()))
      local cert = page.certificates[1]
      assert.equal("nulls", cert.name)
      assert.is_nil(cert.description)
      assert.is_nil(cert.sans)
      assert.is_nil(cert.enterprise_project_id)
      assert.is_nil(cert.extra.nested)
      for _, v in pairs(cert) do assert.is_not.equal(cjson.null, v) end
    end)

    it("keeps unknown fields", function()
      emu:put_certificates(certs)
      local cert = assert(scm.list(emu:opts())).certificates[1]
      assert.equal("kept", cert.future_field)
      assert.same({ 1, 2, 3 }, cert.extra.list)
    end)

    it("gives JSON integers as Lua integers", function()
      emu:put_certificates(certs)
      local page = assert(scm.list(emu:opts()))
      local cert = page.certificates[1]
      assert.equal(12, cert.validity_period)
      assert.equal(1, page.total_count)
      if has_integers then
        assert.equal("integer", math.type(cert.validity_period))
        assert.equal("integer", math.type(cert.wildcard_count))
        assert.equal("integer", math.type(page.total_count))
        assert.equal("integer", math.type(cert.extra.list[2]))
      end
    end)

    it("decodes with its own cjson instance, whatever the caller's settings", function()
      emu:put_certificates(certs) -- nested 4 deep: page, certificates, cert, extra
      cjson.decode_max_depth(2)
      local page, err = scm.list(emu:opts())
      cjson.decode_max_depth(1000)
      assert.is_nil(err)
      assert.same({ 1, 2, 3 }, page.certificates[1].extra.list)
      -- and leaves the caller's settings as they were
      assert.equal(cjson.null, cjson.decode("[null]")[1])
    end)

    it("gives an empty page for an empty account", function()
      emu:put_certificates({})
      local page = assert(scm.list(emu:opts()))
      assert.same({}, page.certificates)
      assert.equal(0, page.total_count)
    end)
  end)
end)

describe("scm.new", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("gives a client whose list merges call options over its defaults", function()
    local client = scm.new(emu:opts({ limit = 20, status = "ISSUED" }))
    local page = assert(client:list({ offset = 20 }))
    assert.is_true(#page.certificates <= 20)
    assert(client:list({ limit = 10 }))
    local args = emu:log()
    assert.same({ limit = "20", offset = "20", status = "ISSUED" }, args[1].args)
    assert.same({ limit = "10", status = "ISSUED" }, args[2].args)
    client:close()
  end)

  it("lets a call replace the credentials of the defaults", function()
    local client = scm.new({ endpoint = emu.url, token = "wrong-token-wrong-token-wrong-token" })
    local _, err = client:list()
    assert.equal(401, err.status)
    local page = assert(client:list({ token = emu:config().token }))
    assert.equal(123, page.total_count)
  end)

  it("copies its defaults: later changes to the table have no effect", function()
    local defaults = emu:opts({ limit = 10 })
    local client = scm.new(defaults)
    defaults.limit = 15
    assert(client:list())
    assert.equal("10", emu:log()[1].args.limit)
  end)

  it("checks merged options at the call", function()
    local client = scm.new({ endpoint = emu.url })
    local ok, err = pcall(client.list, client, { limit = 10 })
    assert.is_false(ok)
    assert.truthy(err:find("no credentials", 1, true))
  end)

  it("can be closed, more than once; a closed client raises", function()
    local client = scm.new(emu:opts())
    client:close()
    client:close()
    assert.matches("closed", tostring(client))
    assert.has_error(function() client:list() end, "scm: the client is closed")
  end)

  if _VERSION == "Lua 5.4" then
    it("closes with a to-be-closed variable", function()
      local chunk = assert(load([[
        local scm, opts = ...
        local c <close> = scm.new(opts)
        assert(c:list())
        return c
      ]]))
      local client = chunk(scm, emu:opts())
      assert.matches("closed", tostring(client))
    end)
  end
end)
