-- The libcurl path as the official SDKs behave against the real cloud:
-- the account id (X-Domain-Id) looked up through IAM once per process and
-- access key, the content keyword, and temporary keys from the ECS
-- metadata service. IAM and the metadata service are the emulator's; each
-- case that needs a fresh process (empty caches, an environment of its
-- own) runs a child interpreter.
local scm = require("scm")
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local child_lua = require("support.child")
local requests = require("support.requests")
local tables = require("support.tables")

describe("account id, content and ECS credentials (libcurl path)", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  -- Runs code in a child with exactly env (IAM and metadata at the
  -- emulator unless env says otherwise); code may use scm, cjson and U
  -- (the emulator's URL) and returns a value, which comes back decoded.
  local function child(env, code)
    local source = ("package.cpath = %q; local scm = require('scm'); local cjson = require('cjson'); "
      .. "local U = %q; local function run() %s end; io.write(cjson.encode({ run() }))")
      :format(package.cpath, emu.url, code)
    local out = shell.run(child_lua.command(tables.merge({ HOME = "/nonexistent" }, env), source, emu.url)
      .. " 2>&1", true)
    local ok, decoded = pcall(cjson.decode, out)
    assert(ok, "child said: " .. out)
    return decoded
  end

  local function requests_to(path) return emu:requests_to(path) end
  local signed_headers = requests.signed_headers

  local function err_fields()
    return "(type(e) == 'table' and { kind = e.kind, status = e.status, code = e.code, "
      .. "message = e.message, service = e.service, attempts = e.attempts } or tostring(e))"
  end

  describe("the account id", function()
    it("env AK/SK alone: one IAM call across list, each, all and a second client", function()
      local cfg = emu:config()
      local got = child({ HUAWEICLOUD_SDK_AK = cfg.ak, HUAWEICLOUD_SDK_SK = cfg.sk }, [[
        local page = assert(scm.list({ endpoint = U }))
        local n = 0
        for _ in scm.each({ endpoint = U, limit = 20 }) do n = n + 1 end
        local all = assert(scm.all({ endpoint = U }))
        local other = scm.new({ endpoint = U })
        local again = assert(other:all({ concurrency = 8 }))
        local m = 0
        for _ in other:each({ limit = 10 }) do m = m + 1 end
        return page.total_count, n, #all, #again, m
      ]])
      assert.same({ 123, 123, 123, 123, 123 }, got)
      local iam = requests_to("/v3/auth/domains")
      assert.equal(1, iam)
      local scm_requests, list = requests_to("/v3/scm/certificates")
      assert.is_true(scm_requests >= 1 + 7 + 3 + 3 + 13)
      for _, req in ipairs(list) do
        assert.equal(cfg.domain_id, req.headers["x-domain-id"])
        assert.equal("host;x-domain-id;x-sdk-date", signed_headers(req))
      end
      -- the lookup came first, signed with the key pair, without X-Domain-Id
      local first = emu:log()[1]
      assert.equal("/v3/auth/domains", first.path)
      assert.equal("host;x-sdk-date", signed_headers(first))
      assert.is_nil(first.headers["x-domain-id"])
    end)

    it("an IAM 403 is an err naming the permission, and nothing goes to SCM", function()
      emu:faults({ { type = "status", status = 403, service = "iam", count = 3, content_type = "application/json",
        body = '{"error":{"code":403,"message":"You are not authorized to perform the requested action.",'
          .. '"title":"Forbidden"}}' } })
      local cfg = emu:config()
      local got = child({}, ([[
        local o = { endpoint = U, ak = %q, sk = %q }
        local page, e = scm.list(o)
        local first = %s
        local ok, raised = pcall(function() for _ in scm.each(o) do end end)
        e = raised
        local second = %s
        local certs
        certs, e = scm.all(o)
        return page == nil, first, ok, second, certs == nil, %s
      ]]):format(cfg.ak, cfg.sk, err_fields(), err_fields(), err_fields()))
      assert.is_true(got[1])
      local err = got[2]
      assert.same({ "http", 403, "iam", 1 }, { err.kind, err.status, err.service, err.attempts })
      assert.matches("iam:users:getUser", err.message)
      assert.matches("domain_id", err.message)
      assert.is_false(got[3])
      assert.equal("iam", got[4].service)
      assert.is_true(got[5])
      assert.equal(403, got[6].status)
      assert.equal(0, (requests_to("/v3/scm/certificates")))
      assert.equal(3, (requests_to("/v3/auth/domains")))
    end)

    it("an answer without an account, and a wrong key pair, are errs too", function()
      emu:faults({ { type = "status", status = 200, service = "iam", content_type = "application/json",
        body = '{"domains":[],"links":{}}' } })
      local cfg = emu:config()
      local got = child({}, ([[
        local _, e = scm.list({ endpoint = U, ak = %q, sk = %q })
        local first = %s
        _, e = scm.list({ endpoint = U, ak = %q, sk = "wrong-secret", retries = 0 })
        return first, %s
      ]]):format(cfg.ak, cfg.sk, err_fields(), cfg.ak, err_fields()))
      assert.same({ "decode", "iam" }, { got[1].kind, got[1].service })
      assert.matches("no account", got[1].message)
      assert.same({ "api", 401, "APIGW.0301", "iam" }, { got[2].kind, got[2].status, got[2].code, got[2].service })
      assert.falsy(got[2].message:find("wrong-secret", 1, true))
      assert.equal(0, (requests_to("/v3/scm/certificates")))
    end)

    it("a domain_id from any source, or a token, needs no lookup", function()
      local cfg = emu:config()
      assert(scm.list({ endpoint = emu.url, ak = cfg.ak, sk = cfg.sk, domain_id = cfg.domain_id }))
      assert(scm.list({ endpoint = emu.url, token = cfg.token }))
      local got = child({ HUAWEICLOUD_SDK_AK = cfg.ak, HUAWEICLOUD_SDK_SK = cfg.sk,
        HUAWEICLOUD_SDK_DOMAIN_ID = cfg.domain_id }, "return assert(scm.list({ endpoint = U })).total_count")
      assert.same({ 123 }, got)
      assert.equal(0, (requests_to("/v3/auth/domains")))
    end)

    it("the IAM address: iam_endpoint, HUAWEICLOUD_SDK_IAM_ENDPOINT, the region's, the global one", function()
      local got = child({ HUAWEICLOUD_SDK_IAM_ENDPOINT = false }, [[
        local o = { ak = "AK", sk = "SK" }
        local function url(extra)
          local t = {}
          for k, v in pairs(o) do t[k] = v end
          for k, v in pairs(extra) do t[k] = v end
          return scm.account_request(t).url
        end
        return url({ region = "cn-north-4" }), url({}), url({ endpoint = U }),
          url({ region = "my-kualalumpur-1" }),
          url({ region = "cn-north-4", iam_endpoint = "https://iam.example.com/" })
      ]])
      assert.same({
        "https://iam.cn-north-4.myhuaweicloud.com/v3/auth/domains",
        "https://iam.ap-southeast-1.myhuaweicloud.com/v3/auth/domains",
        "https://iam.myhuaweicloud.com/v3/auth/domains",
        "https://iam.my-kualalumpur-1.myhuaweicloud.com/v3/auth/domains",
        "https://iam.example.com/v3/auth/domains",
      }, got)
      assert.equal(emu.url .. "/v3/auth/domains", scm.account_request({ ak = "AK", sk = "SK" }).url)
      local ok, err = pcall(scm.list, { token = "t", iam_endpoint = "http://iam.example.com" })
      assert.is_false(ok)
      assert.matches("iam_endpoint uses plain http to a host that is not loopback", err)
      ok, err = pcall(scm.list, { token = "t", iam_endpoint = 7 })
      assert.is_false(ok)
      assert.matches("iam_endpoint must be an http:// or https:// URL", err)
    end)

    it("scm.request shows the X-Domain-Id it would send, after looking it up", function()
      emu:reset({ ak = "REQUESTAK", sk = "request-secret" })
      local req = assert(scm.request({ endpoint = emu.url, ak = "REQUESTAK", sk = "request-secret" }))
      assert.equal(emu:config().domain_id, req.headers["X-Domain-Id"])
      assert.equal(emu:config().domain_id, scm.account_id("REQUESTAK"))
      assert.equal(1, (requests_to("/v3/auth/domains")))
      assert.equal(0, (requests_to("/v3/scm/certificates")))
    end)

    it("the I/O-free pieces: request, decode and the cache", function()
      local req = scm.account_request({ ak = "PIECEAK", sk = "piece-secret", security_token = "tok" })
      assert.equal("GET", req.method)
      assert.matches("SignedHeaders=host;x%-sdk%-date;x%-security%-token", req.headers.Authorization)
      assert.is_nil(req.headers["X-Domain-Id"])
      assert.is_nil(scm.account_id("PIECEAK"))
      local id = scm.account_decode(200, '{"domains":[{"id":"abc123","name":"n"}]}', {}, { ak = "PIECEAK" })
      assert.equal("abc123", id)
      assert.equal("abc123", scm.account_id("PIECEAK"))
      assert.equal("other", scm.account_id("PIECEAK2", "other"))
      assert.equal("other", scm.credentials({ ak = "PIECEAK2", sk = "s" }).domain_id)
      local none, err = scm.account_decode(403, '{"error_code":"IAM.0003","error_msg":"denied"}', {})
      assert.is_nil(none)
      assert.same({ "api", 403, "IAM.0003", "iam" }, { err.kind, err.status, err.code, err.service })
    end)

    it("the lookups' requests carry what an I/O layer needs, as plan:request does", function()
      local req = scm.account_request({ ak = "PIECEAK", sk = "s", pool_size = 7, keepalive_timeout = 1000,
        timeout = 9, retries = 2 })
      assert.same({ 7, 1000, true, 100 * 1024, 300 * 1024, 9, 2 }, { req.pool_size, req.keepalive_timeout,
        req.ssl_session_reuse, req.max_header_line, req.max_header_block, req.timeout, req.retries })
      -- the metadata service: no retries, at most 3 s
      for _, which in ipairs({ "token", "securitykey" }) do
        local m = scm.metadata_request(which, nil, { timeout = 10, connect_timeout = 10, retries = 5 })
        assert.same({ 0, 3, 3, 100 * 1024, 300 * 1024 }, { m.retries, m.timeout, m.connect_timeout,
          m.max_header_line, m.max_header_block })
      end
    end)
  end)

  describe("content", function()
    local function matching(keyword)
      local ids = {}
      for _, c in ipairs(emu:certificates()) do
        local name, domain = (type(c.name) == "string" and c.name or ""):lower(),
          (type(c.domain) == "string" and c.domain or ""):lower()
        if name:find(keyword:lower(), 1, true) or domain:find(keyword:lower(), 1, true) then
          ids[c.id] = true
        end
      end
      return ids
    end

    it("narrows the listing to names or domains holding the keyword, any case", function()
      local expected = matching("Shop")
      local n = 0
      for _ in pairs(expected) do n = n + 1 end
      assert.is_true(n > 10 and n < 123)
      local certs = assert(scm.all(emu:opts({ content = "SHOP" })))
      assert.equal(n, #certs)
      assert.equal(n, certs.total_count)
      for _, c in ipairs(certs) do assert.is_true(expected[c.id]) end
    end)

    it("each pages through the narrowed set", function()
      local expected = matching("shop")
      local n = 0
      for _ in pairs(expected) do n = n + 1 end
      emu:clear_log()
      local seen = 0
      for cert in scm.each(emu:opts({ content = "shop", limit = 10, concurrency = 2 })) do
        assert.is_true(expected[cert.id])
        seen = seen + 1
      end
      assert.equal(n, seen)
      local pages, list = requests_to("/v3/scm/certificates")
      assert.equal(math.ceil(n / 10), pages)
      for _, req in ipairs(list) do assert.equal("shop", req.args.content) end
    end)

    it("is a non-empty string without CR, LF or NUL, sent percent-encoded", function()
      for _, bad in ipairs({ "", "a\nb", "a\rb", "a\0b", 5, true }) do
        local ok, err = pcall(scm.list, emu:opts({ content = bad }))
        assert.is_false(ok)
        assert.matches("content must be a non%-empty string without CR, LF or NUL", err)
      end
      local req = scm.request(emu:opts({ content = "shop.com/é x" }))
      assert.matches("content=shop%.com%%2F%%C3%%A9%%20x", req.url)
      assert.same({}, emu:log())
    end)
  end)

  describe("ECS metadata credentials", function()
    local LIST = "local page, e = scm.list({ endpoint = U, credentials = 'ecs' }); "
      .. "return page and page.total_count or false, "

    it("lists with the temporary keys, the account id looked up with them", function()
      local got = child({ HUAWEICLOUD_SDK_METADATA_ENDPOINT = emu.url .. "/ecs-list" },
        LIST .. err_fields())
      assert.equal(123, got[1])
      local log = emu:log()
      assert.same({ "PUT", "/ecs-list/meta-data/latest/api/token" }, { log[1].method, log[1].path })
      assert.equal("21600", log[1].headers["x-metadata-token-ttl-seconds"])
      assert.same({ "GET", "/ecs-list/openstack/latest/securitykey" }, { log[2].method, log[2].path })
      assert.matches("^emulator%-session", log[2].headers["x-metadata-token"])
      assert.equal("/v3/auth/domains", log[3].path)
      assert.equal("host;x-sdk-date;x-security-token", signed_headers(log[3]))
      local scm_req = log[4]
      assert.equal("/v3/scm/certificates", scm_req.path)
      assert.matches("^SDK%-HMAC%-SHA256 Access=EMUTEMPAK", scm_req.headers.authorization)
      assert.equal("host;x-domain-id;x-sdk-date;x-security-token", signed_headers(scm_req))
      assert.equal(emu:config().domain_id, scm_req.headers["x-domain-id"])
    end)

    it("with HUAWEICLOUD_SDK_CREDENTIALS=ecs, and a service that wants the session token", function()
      emu:reset({ metadata_token_required = true })
      local got = child({ HUAWEICLOUD_SDK_CREDENTIALS = "ecs",
        HUAWEICLOUD_SDK_METADATA_ENDPOINT = emu.url .. "/ecs-env" },
        "return assert(scm.all({ endpoint = U })).total_count")
      assert.same({ 123 }, got)
      -- and one without the token API (404): the keys come without it
      emu:reset()
      emu:faults({ { type = "status", status = 404, service = "metadata", body = "" } })
      got = child({ HUAWEICLOUD_SDK_METADATA_ENDPOINT = emu.url .. "/ecs-notoken" }, LIST .. err_fields())
      assert.equal(123, got[1])
      local _, keys = requests_to("/openstack/latest/securitykey")
      assert.is_nil(keys[1].headers["x-metadata-token"])
    end)

    it("fetches fresh keys once fewer than 40 minutes are left", function()
      -- the clock is faked through the emulator's expiry: keys that live
      -- 39 minutes are fetched again at each call; 6 hours, kept
      emu:reset({ metadata_expires_in = 39 * 60 })
      local reset = ("os.execute(\"env -u LD_PRELOAD curl -s -o /dev/null -X POST "
        .. "-d '{\\\"metadata_expires_in\\\":21600}' %s/_emulator/reset\"); "):format(emu.url)
      local got = child({ HUAWEICLOUD_SDK_METADATA_ENDPOINT = emu.url .. "/ecs-refresh" }, [[
        local o = { endpoint = U, credentials = "ecs" }
        local a = assert(scm.list(o)).total_count
        local b = assert(scm.all(o)).total_count
        local function count()
          local p = io.popen("env -u LD_PRELOAD curl -s " .. U .. "/_emulator/log")
          local n = 0
          for _, r in ipairs(cjson.decode(p:read("*a"))) do
            if r.path:find("securitykey$") then n = n + 1 end
          end
          p:close()
          return n
        end
        local fetched_39 = count()
        ]] .. reset .. [[
        local c = assert(scm.list(o)).total_count
        local d = assert(scm.list(o)).total_count
        local e = assert(scm.new(o):all()).total_count
        return a + b + c + d + e, fetched_39, count()
      ]])
      assert.same({ 5 * 123, 2, 1 }, got)
    end)

    it("a server without an agency fails at once with the message", function()
      emu:reset({ metadata_agency = false })
      local got = child({ HUAWEICLOUD_SDK_METADATA_ENDPOINT = emu.url .. "/ecs-noagency" },
        LIST .. err_fields())
      assert.is_false(got[1])
      local err = got[2]
      assert.same({ "api", 401, "metadata" }, { err.kind, err.status, err.service })
      assert.matches("no agency bound to this server", err.message)
      assert.matches("Please configure Cloud Service Agency first", err.message)
      assert.equal(2, #emu:log()) -- the token, the keys; no retry, nothing else
    end)

    it("a metadata service that does not answer is a timeout within 3 s", function()
      emu:faults({ { type = "delay", ms = 4500, service = "metadata" } })
      local started = os.time()
      local got = child({ HUAWEICLOUD_SDK_METADATA_ENDPOINT = emu.url .. "/ecs-slow" }, LIST .. err_fields())
      assert.same({ "timeout", "metadata" }, { got[2].kind, got[2].service })
      assert.is_true(os.time() - started < 9)
      assert.equal(0, (requests_to("/v3/scm/certificates")))
    end)

    it("is opt-in, and exclusive with other credentials", function()
      local ok, err = pcall(scm.list, { endpoint = emu.url, credentials = "ecs", token = "t" })
      assert.is_false(ok)
      assert.matches('credentials = "ecs" takes its keys from the ECS metadata service', err)
      ok, err = pcall(scm.list, { endpoint = emu.url, credentials = "imds" })
      assert.is_false(ok)
      assert.matches("credentials must be one of ecs", err)
      local got = child({}, "local ok, e = pcall(scm.list, { endpoint = U }); return tostring(e)")
      assert.matches("no credentials", got[1])
      assert.same({}, emu:log())
      local plan = scm.credentials({ credentials = "ecs" })
      assert.same({ credentials = "ecs" }, plan)
    end)
  end)
end)
