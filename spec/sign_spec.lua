-- AK/SK: SDK-HMAC-SHA256 signing, and requests signed with it.
local scm = require("scm")
local emulator = require("emulator")
local tables = require("support.tables")

describe("scm.sign", function()
  it("reproduces the first published vector", function()
    assert.equal("SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, "
      .. "Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624",
      scm.sign({ ak = "AccessKey", sk = "SecretKey", method = "GET",
        url = "https://example.huaweicloud.com/path?limit=1",
        headers = { ["X-Sdk-Date"] = "20060102T150405Z" } }))
  end)

  it("reproduces the second published vector", function()
    assert.equal("SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
      .. "Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842",
      scm.sign({ ak = "AccessKey", sk = "SecretKey",
        url = "https://service.endpoint.myhuaweicloud.com/resources?size=1",
        headers = { ["X-Sdk-Date"] = "20200608T023900Z",
          Host = "service.endpoint.myhuaweicloud.com" } }))
  end)

  it("signs the canonical query: order and encoding of the URL do not matter", function()
    local function sign(url)
      return scm.sign({ ak = "AK", sk = "SK", url = url,
        headers = { ["X-Sdk-Date"] = "20200608T023900Z" } })
    end
    assert.equal(sign("https://h/p?a=1&b=x%20y"), sign("https://h/p?b=x+y&a=1"))
    assert.is_not.equal(sign("https://h/p?a=1"), sign("https://h/p?a=2"))
    assert.is_not.equal(sign("https://h/p?a=1"), sign("https://h/q?a=1"))
  end)

  it("needs X-Sdk-Date among the headers", function()
    assert.has_error(function()
      scm.sign({ ak = "AK", sk = "SK", url = "https://h/p", headers = {} })
    end)
  end)
end)

describe("AK/SK requests", function()
  local emu
  local AK, SK = "EMULATORAKEXAMPLE0001", "emulator-secret-key-0123456789"

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  local function ak_opts(extra)
    return tables.merge({ endpoint = emu.url, ak = AK, sk = SK }, extra)
  end

  local function authorization(req)
    local h = req.headers
    local access, signed, signature = h["authorization"]:match(
      "^SDK%-HMAC%-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=(%x+)$")
    return access, signed, signature
  end

  it("lists with ak/sk: the emulator verifies the signature", function()
    local page, err = scm.list(ak_opts({ limit = 20, status = "ISSUED" }))
    assert.is_nil(err)
    assert.is_true(#page.certificates > 0)
    local certs = assert(scm.all(ak_opts({ concurrency = 4 })))
    assert.equal(123, #certs)
  end)

  it("a wrong sk is err kind api, status 401, APIGW.0301", function()
    local page, err = scm.list(ak_opts({ sk = "not-the-secret-key", retries = 0 }))
    assert.is_nil(page)
    assert.same({ "api", 401, "APIGW.0301" }, { err.kind, err.status, err.code })
    assert.falsy(tostring(err):find("not-the-secret-key", 1, true))
  end)

  it("signs security_token and domain_id so that the emulator accepts them", function()
    local page, err = scm.list(ak_opts({ security_token = "temporary-token-xyz",
      domain_id = emu:config().domain_id }))
    assert.is_nil(err)
    assert.is_table(page)
  end)

  it("sends Authorization, X-Sdk-Date, Host and X-Domain-Id, and no token", function()
    local _ = scm.list(ak_opts({ domain_id = emu:config().domain_id }))
    local req = emu:log()[1]
    local access, signed, signature = authorization(req)
    assert.equal(AK, access)
    assert.equal("host;x-domain-id;x-sdk-date", signed)
    assert.equal(64, #signature)
    assert.matches("^%d%d%d%d%d%d%d%dT%d%d%d%d%d%dZ$", req.headers["x-sdk-date"])
    assert.is_nil(req.headers["x-auth-token"])
  end)

  it("signs the request it sends: the signature matches a re-computation", function()
    local _ = scm.list(ak_opts({ limit = 20, offset = 40, status = "ISSUED", domain_id = "d0" }))
    local req = emu:log()[1]
    local _, _, signature = authorization(req)
    local again = scm.sign({ ak = AK, sk = SK, url = emu.url .. req.path .. "?" .. req.query,
      headers = { Host = req.headers["host"], ["X-Sdk-Date"] = req.headers["x-sdk-date"],
        ["X-Domain-Id"] = "d0" } })
    assert.equal(signature, again:match("Signature=(%x+)$"))
  end)

  it("adds X-Domain-Id and X-Security-Token, both signed", function()
    local _ = scm.list(ak_opts({ domain_id = "d0", security_token = "temporary-token-xyz" }))
    local req = emu:log()[1]
    local _, signed = authorization(req)
    assert.equal("host;x-domain-id;x-sdk-date;x-security-token", signed)
    assert.equal("d0", req.headers["x-domain-id"])
    assert.equal("temporary-token-xyz", req.headers["x-security-token"])
  end)

  it("never shows the sk in an error", function()
    local ok, err = pcall(scm.list, ak_opts({ sk = SK .. "\n" }))
    assert.is_false(ok)
    assert.falsy(err:find(SK, 1, true))
  end)
end)
