-- The emulator's check of AK/SK request signatures (SDK-HMAC-SHA256).
-- Its SHA-256, HMAC and canonical forms run in LuaJIT (the `bit` library),
-- so they are exercised in a luajit child process whatever runs this spec.
-- Requests are signed here with openssl, independently of both the
-- emulator and the scm module, and sent with curl.
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")

local run, quote = shell.run, shell.quote

local AK, SK = "EMULATORAKEXAMPLE0001", "emulator-secret-key-0123456789"
local TOKEN = "emulator-token-0123456789abcdef0123456789"

-- Runs `code` in luajit with the emulator's modules on the path; returns
-- what it prints, without the final newline.
local function in_luajit(code)
  local out = shell.with_temp_file('package.path = "emulator/lua/?.lua;" .. package.path\n' .. code, function(file)
    return run("luajit " .. quote(file) .. " 2>&1")
  end)
  return (out:gsub("\n$", ""))
end

---------------------------------------------------------------------------
-- A signer on openssl

local with_file = shell.with_temp_file

local function sha256_hex(data)
  return with_file(data, function(file)
    return run("openssl dgst -sha256 -r " .. quote(file)):match("^(%x+)")
  end)
end

local function hmac_hex(key, data)
  local hexkey = key:gsub(".", function(c) return ("%02x"):format(c:byte()) end)
  return with_file(data, function(file)
    return run("openssl dgst -sha256 -mac HMAC -macopt hexkey:" .. hexkey .. " -r "
      .. quote(file)):match("^(%x+)")
  end)
end

-- r: { method (signed_method, if given, instead), uri (canonical, with its trailing "/"), query (canonical),
-- headers = { { lowercase name, value }, ... } in signing order, body,
-- date, ak, sk }. Returns the Authorization value.
local function authorization(r)
  local lines, names = {}, {}
  for i, h in ipairs(r.headers) do
    lines[i] = h[1] .. ":" .. h[2] .. "\n"
    names[i] = h[1]
  end
  local signed = table.concat(names, ";")
  local canonical = table.concat({ r.signed_method or r.method or "GET", r.uri or "/v3/scm/certificates/",
    r.query or "", table.concat(lines), signed, sha256_hex(r.body or "") }, "\n")
  local to_sign = "SDK-HMAC-SHA256\n" .. r.date .. "\n" .. sha256_hex(canonical)
  return ("SDK-HMAC-SHA256 Access=%s, SignedHeaders=%s, Signature=%s")
    :format(r.ak or AK, signed, hmac_hex(r.sk or SK, to_sign))
end

local function sdk_date(offset_seconds)
  return os.date("!%Y%m%dT%H%M%SZ", os.time() + (offset_seconds or 0))
end

---------------------------------------------------------------------------

describe("emulator signature module", function()
  it("hashes like SHA-256 and HMAC-SHA256 (FIPS 180-4, RFC 4231)", function()
    assert.equal(table.concat({
      "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
      "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
      "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
    }, "\n"), in_luajit([[
      local s = require "scm_emulator.sha256"
      print(s.hex(""))
      print(s.hex("abc"))
      print(s.hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
      print(s.hmac_hex("Jefe", "what do ya want for nothing?"))
      print(s.hmac_hex(("\170"):rep(131), "Test Using Larger Than Block-Size Key - Hash Key First"))
    ]]))
  end)

  it("agrees with openssl on messages around the block boundaries", function()
    local lengths = { 0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000 }
    local out = in_luajit([[
      local s = require "scm_emulator.sha256"
      for _, n in ipairs({ 0, 1, 55, 56, 63, 64, 65, 119, 120, 128, 1000 }) do
        local msg = ("0123456789"):rep(100):sub(1, n)
        print(s.hex(msg) .. " " .. s.hmac_hex(("k"):rep(n % 70 + 1), msg))
      end
    ]])
    local i = 0
    for line in out:gmatch("[^\n]+") do
      i = i + 1
      local n = lengths[i]
      local msg = ("0123456789"):rep(100):sub(1, n)
      assert.equal(sha256_hex(msg) .. " " .. hmac_hex(("k"):rep(n % 70 + 1), msg), line)
    end
    assert.equal(#lengths, i)
  end)

  it("reproduces the published signature vectors", function()
    assert.equal(
      "5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624\n"
      .. "cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842",
      in_luajit([[
      local sig = require "scm_emulator.signature"
      local c = sig.canonical_request({ method = "GET", path = "/path", query = "limit=1",
        headers = { ["x-sdk-date"] = "20060102T150405Z" }, body = "" }, { "x-sdk-date" })
      print(sig.sign("SecretKey", c, "20060102T150405Z"))
      c = sig.canonical_request({ method = "GET", path = "/resources", query = "size=1",
        headers = { ["x-sdk-date"] = "20200608T023900Z", host = "service.endpoint.myhuaweicloud.com" },
        body = "" }, { "host", "x-sdk-date" })
      print(sig.sign("SecretKey", c, "20200608T023900Z"))
    ]]))
  end)

  it("verifies the published vectors at their own time", function()
    assert.equal("true\ntrue\nnil verify aksk signature fail", in_luajit([[
      local sig = require "scm_emulator.signature"
      local keys = { AccessKey = "SecretKey" }
      print(sig.verify({ method = "GET", path = "/path", query = "limit=1", body = "", headers = {
        ["x-sdk-date"] = "20060102T150405Z",
        authorization = "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=x-sdk-date, "
          .. "Signature=5a2ce64c865e0e6046321c6f3d5a77ba8413eeaf355c3166c03d58d02ac79624" } },
        keys, 1136214245))
      local req = { method = "GET", path = "/resources", query = "size=1", body = "", headers = {
        ["x-sdk-date"] = "20200608T023900Z", host = "service.endpoint.myhuaweicloud.com",
        authorization = "SDK-HMAC-SHA256 Access=AccessKey, SignedHeaders=host;x-sdk-date, "
          .. "Signature=cfb4171acec81de07d50e53d57eb77edd537414d66ddb1d7d780f128e12cd842" } }
      print(sig.verify(req, keys, 1591583940 + 899))
      req.headers.host = "other.example.com"
      local ok, reason = sig.verify(req, keys, 1591583940)
      print(tostring(ok) .. " " .. reason)
    ]]))
  end)

  it("builds the canonical URI and query", function()
    assert.equal(table.concat({
      "/v3/scm/certificates/", "/", "/a%20b/c%2Bd/", "/x/",
      "a=0&a=1&b=x%20y&c=&~=%2F", "limit=10&status=ISSUED", "",
    }, "\n"), in_luajit([[
      local sig = require "scm_emulator.signature"
      print(sig.canonical_uri("/v3/scm/certificates"))
      print(sig.canonical_uri("/"))
      print(sig.canonical_uri("/a%20b/c+d"))
      print(sig.canonical_uri("/x/"))
      print(sig.canonical_query("b=x+y&a=1&a=0&%7e=%2f&c"))
      print(sig.canonical_query("status=ISSUED&&limit=1%30"))
      print(sig.canonical_query(""))
    ]]))
  end)
end)

describe("emulator AK/SK authentication", function()
  local emu, host

  setup(function()
    emu = emulator.shared()
    host = emu.url:match("^%a+://([^/]+)")
  end)
  before_each(function() emu:reset() end)

  -- GET (or method) of the list path with query and headers ({ name, value }
  -- pairs or "name: value" strings); returns status and decoded body.
  local function send(query, headers, method)
    local cmd = { "curl -sS --max-time 20 -w '\\n%{http_code}'" }
    if method == "HEAD" then cmd[#cmd + 1] = "-I" end
    if emu.cacert then cmd[#cmd + 1] = "--cacert " .. quote(emu.cacert) end
    for _, h in ipairs(headers) do
      cmd[#cmd + 1] = "-H " .. quote(type(h) == "table" and h[1] .. ": " .. h[2] or h)
    end
    cmd[#cmd + 1] = quote(emu.url .. "/v3/scm/certificates" .. (query ~= "" and "?" .. query or ""))
    local out = run(table.concat(cmd, " "))
    local text, status = out:match("^(.*)\n(%d+)$")
    if method == "HEAD" then return tonumber(status) end
    return tonumber(status), text ~= "" and cjson.decode(text) or nil
  end

  -- A request signed over host, x-sdk-date and x-domain-id (the key
  -- pair's account, unless r.no_domain) plus extra signed headers; r as
  -- for authorization(), sent with its headers and Authorization.
  local function signed(r, extra_unsigned)
    r.date = r.date or sdk_date()
    r.headers = r.headers or {}
    local all = { { "host", host }, { "x-sdk-date", r.date } }
    if not r.no_domain then all[#all + 1] = { "x-domain-id", emu:config().domain_id } end
    for _, h in ipairs(r.headers) do all[#all + 1] = h end
    table.sort(all, function(a, b) return a[1] < b[1] end)
    r.headers = all
    local auth = authorization(r)
    local sent = {}
    for _, h in ipairs(all) do sent[#sent + 1] = h end
    for _, h in ipairs(extra_unsigned or {}) do sent[#sent + 1] = h end
    sent[#sent + 1] = { "Authorization", auth }
    return send(r.sent_query or r.query or "", sent, r.method)
  end

  local function denied(reason, status, body)
    assert.equal(401, status)
    assert.equal("APIGW.0301", body.error_code)
    assert.equal("Incorrect IAM authentication information: " .. reason, body.error_msg)
  end

  it("accepts a correctly signed request", function()
    local status, body = signed({ query = "limit=10&status=ISSUED" })
    assert.equal(200, status)
    assert.equal(10, #body.certificates)
    assert.equal(200, signed({ method = "HEAD" }))
  end)

  it("signs the decoded, sorted query: the URL's order and encoding do not matter", function()
    local status = signed({ query = "limit=10&status=ISSUED", sent_query = "status=ISSUED&limit=1%30" })
    assert.equal(200, status)
    denied("verify aksk signature fail", signed({ query = "limit=10", sent_query = "limit=20" }))
  end)

  it("rejects a wrong sk, a wrong method or another host", function()
    denied("verify aksk signature fail", signed({ sk = SK .. "x" }))
    denied("verify aksk signature fail", signed({ signed_method = "HEAD" }))
    local date = sdk_date()
    local auth = authorization({ date = date, headers = { { "host", "localhost" }, { "x-sdk-date", date } } })
    denied("verify aksk signature fail", send("", { { "X-Sdk-Date", date }, { "Authorization", auth } }))
  end)

  it("rejects an unknown ak", function()
    denied("ak not found", signed({ ak = "SOMEONEELSE" }))
  end)

  it("rejects X-Sdk-Date more than 15 minutes from the clock, either way", function()
    denied("request expired", signed({ date = sdk_date(-20 * 60) }))
    denied("request expired", signed({ date = sdk_date(20 * 60) }))
    assert.equal(200, (signed({ date = sdk_date(-10 * 60) })))
  end)

  it("rejects a missing or malformed X-Sdk-Date", function()
    local date = sdk_date()
    local auth = authorization({ date = date, headers = { { "host", host }, { "x-sdk-date", date } } })
    local reason = "x-sdk-date missing or not YYYYMMDDTHHMMSSZ"
    denied(reason, send("", { { "Authorization", auth } }))
    local iso = os.date("!%Y-%m-%dT%H:%M:%SZ")
    denied(reason, send("", { { "X-Sdk-Date", iso }, { "Authorization", auth } }))
  end)

  it("needs x-sdk-date among the signed headers", function()
    local date = sdk_date()
    local auth = authorization({ date = date, headers = { { "host", host } } })
    denied("x-sdk-date not signed", send("", { { "X-Sdk-Date", date }, { "Authorization", auth } }))
  end)

  it("needs every signed header in the request", function()
    local date = sdk_date()
    local auth = authorization({ date = date,
      headers = { { "host", host }, { "x-project-id", "p1" }, { "x-sdk-date", date } } })
    denied("signed header x-project-id not found",
      send("", { { "X-Sdk-Date", date }, { "Authorization", auth } }))
  end)

  it("needs X-Security-Token and X-Domain-Id signed when present", function()
    denied("x-security-token not signed", signed({}, { { "X-Security-Token", "temporary" } }))
    denied("x-domain-id not signed", signed({ no_domain = true }, { { "X-Domain-Id", "0a1b2c" } }))
    assert.equal(200, (signed({ headers = { { "x-security-token", "temporary" } } })))
  end)

  it("wants the key pair's account in X-Domain-Id, as the gateway of a global service", function()
    denied("X-Domain-Id is required with AK/SK for a global service", signed({ no_domain = true }))
    local status, body = signed({ no_domain = true, headers = { { "x-domain-id", "someone-else" } } })
    assert.same({ 403, "SCM.0002" }, { status, body.error_code })
    emu:reset({ require_domain_id = false })
    assert.equal(200, (signed({ no_domain = true })))
  end)

  it("rejects an Authorization header not of the SDK-HMAC-SHA256 form", function()
    local date = sdk_date()
    for _, value in ipairs({
      "Bearer abc",
      "SDK-HMAC-SHA256 Access=" .. AK .. ", SignedHeaders=host;x-sdk-date",
      "SDK-HMAC-SHA1 Access=" .. AK .. ", SignedHeaders=host;x-sdk-date, Signature=00",
    }) do
      denied("invalid authorization header", send("", { { "X-Sdk-Date", date }, { "Authorization", value } }))
    end
  end)

  it("still takes the token, and answers SCM.1000 without any credentials", function()
    assert.equal(200, (send("", { { "X-Auth-Token", TOKEN }, { "Authorization", "junk" } })))
    local status, body = send("", {})
    assert.equal(401, status)
    assert.equal("SCM.1000", body.error_code)
  end)

  it("takes ak and sk from reset and shows them in config", function()
    local config = emu:config()
    assert.equal(AK, config.ak)
    assert.equal(SK, config.sk)
    emu:reset({ ak = "OTHERAK", sk = "other-secret" })
    assert.equal("OTHERAK", emu:config().ak)
    assert.equal(200, (signed({ ak = "OTHERAK", sk = "other-secret" })))
    denied("ak not found", signed({}))
    for _, bad in ipairs({ { ak = "" }, { ak = "a b" }, { ak = ("A"):rep(129) }, { sk = "" }, { sk = "a b" } }) do
      assert.has_error(function() emu:reset(bad) end)
    end
  end)

  it("takes --ak and --sk at start-up", function()
    local private = emulator.start("--ak STARTAK --sk start-secret")
    local ok, err = pcall(function()
      local config = private:config()
      assert.equal("STARTAK", config.ak)
      assert.equal("start-secret", config.sk)
    end)
    private:stop()
    assert(ok, err)
  end)

  it("accepts what the scm module signs, when it is available", function()
    local loaded, scm = pcall(require, "scm")
    if not loaded then return pending("the scm module is not on the cpath") end
    local page, err = scm.list({ endpoint = emu.url, ak = AK, sk = SK, limit = 20, status = "ISSUED",
      iam_endpoint = emu.url })
    assert.is_nil(err)
    assert.equal(20, #page.certificates)
    page, err = scm.list({ endpoint = emu.url, ak = AK, sk = SK, security_token = "t",
      domain_id = emu:config().domain_id })
    assert.is_nil(err)
    assert.is_table(page)
    page, err = scm.list({ endpoint = emu.url, ak = AK, sk = "wrong" })
    assert.is_nil(page)
    assert.equal("APIGW.0301", err.code)
    assert.equal(401, err.status)
  end)
end)
