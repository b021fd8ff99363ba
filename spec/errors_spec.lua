-- Runtime failures: nil and a structured err, for every kind; never a
-- secret in it.
local scm = require("scm")
local emulator = require("emulator")
local shell = require("support.shell")
local tables = require("support.tables")

local TOKEN_FIELDS = { "kind", "status", "code", "message", "request_id", "attempts" }

describe("errors", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  -- One call (no retries unless extra says) with the given faults queued;
  -- returns err after checking the common shape of every err.
  local function fails(faults, extra)
    if faults then emu:faults(faults) end
    local opts = emu:opts(tables.merge({ retries = 0 }, extra))
    local page, err = scm.list(opts)
    assert.is_nil(page)
    assert.is_table(err, "expected an err table")
    assert.is_string(err.kind)
    assert.is_string(err.message)
    assert.is_nil(err.message:find("\n", 1, true))
    local line = tostring(err)
    assert.is_nil(line:find("\n", 1, true))
    assert.truthy(line:find(err.kind, 1, true))
    if err.status then assert.truthy(line:find(tostring(err.status), 1, true)) end
    if err.code then assert.truthy(line:find(err.code, 1, true)) end
    if opts.retries == 0 then assert.equal(1, err.attempts) end
    for k in pairs(err) do
      local known = false
      for _, f in ipairs(TOKEN_FIELDS) do known = known or f == k end
      assert.is_true(known, "unexpected field " .. tostring(k))
    end
    return err
  end

  describe("kind api", function()
    it("401 from a wrong token", function()
      local err = fails(nil, { token = "not-the-token-not-the-token-not-the-token" })
      assert.equal("api", err.kind)
      assert.equal(401, err.status)
      assert.equal("SCM.1000", err.code)
      assert.is_string(err.request_id)
      assert.equal(emu:log()[1].request_id, err.request_id)
      assert.matches("^scm: api error 401 SCM%.1000: ", tostring(err))
    end)

    it("403 with the API's error body", function()
      local err = fails({ { type = "status", status = 403, content_type = "application/json",
        body = '{"error_code":"SCM.0002","error_msg":"Invalid tenant"}' } })
      assert.same({ "api", 403, "SCM.0002", "Invalid tenant" },
        { err.kind, err.status, err.code, err.message })
    end)

    it("400 with the API's error body", function()
      local err = fails({ { type = "status", status = 400, content_type = "application/json",
        body = '{"error_code":"SCM.0005","error_msg":"bad\\nrequest parameter"}' } })
      assert.same({ "api", 400, "SCM.0005" }, { err.kind, err.status, err.code })
      assert.equal("bad request parameter", err.message)
    end)

    it("the gateway's nested error body", function()
      local err = fails({ { type = "status", status = 401, content_type = "application/json",
        body = '{"error":{"code":"APIGW.0301","message":"Incorrect IAM authentication information"}}' } })
      assert.same({ "api", 401, "APIGW.0301" }, { err.kind, err.status, err.code })
    end)

    it("404 for a path the server does not have", function()
      local err = fails(nil, { endpoint = emu.url .. "/nowhere" })
      assert.equal("api", err.kind)
      assert.equal(404, err.status)
      assert.is_string(err.code)
    end)
  end)

  describe("kind http", function()
    it("an HTML 502 from a proxy", function()
      local err = fails({ { type = "status", status = 502, content_type = "text/html",
        body = "<html><body><h1>502 Bad Gateway</h1></body></html>" } })
      assert.same({ "http", 502 }, { err.kind, err.status })
      assert.is_nil(err.code)
      assert.matches("HTTP 502", err.message)
      assert.matches("text/html", err.message)
    end)

    it("a JSON body that is not the API's error object", function()
      local err = fails({ { type = "status", status = 500, content_type = "application/json",
        body = '{"oops":true}' } })
      assert.same({ "http", 500 }, { err.kind, err.status })
    end)

    it("a redirect, not followed; the token never reaches its target", function()
      local target = emu.url .. "/_redirected"
      local err = fails({ { type = "redirect", status = 302, location = target } })
      assert.same({ "http", 302 }, { err.kind, err.status })
      assert.truthy(err.message:find(target, 1, true))
      local log = emu:log()
      assert.equal(1, #log)
      assert.equal("/v3/scm/certificates", log[1].path)
      for _, req in ipairs(log) do assert.is_not.equal("/_redirected", req.path) end
    end)
  end)

  describe("kind timeout", function()
    it("a response slower than timeout", function()
      local t0 = os.time()
      local err = fails({ { type = "delay", ms = 10000 } }, { timeout = 0.5 })
      assert.equal("timeout", err.kind)
      assert.is_true(os.time() - t0 < 8, "returned only after the server answered")
    end)
  end)

  describe("kind timeout, dripping", function()
    it("a body that drips a byte a second still ends at timeout", function()
      local t0 = os.time()
      local err = fails({ { type = "drip", bytes_per_second = 1 } }, { timeout = 1.5 })
      assert.equal("timeout", err.kind)
      assert.equal(200, err.status)
      assert.is_true(os.time() - t0 < 6, "it went on past the timeout")
    end)
  end)

  describe("kind network", function()
    it("a closed port", function()
      local err = fails(nil, { endpoint = "http://127.0.0.1:1" })
      assert.equal("network", err.kind)
      assert.is_nil(err.status)
    end)

    it("a connection reset before any answer", function()
      -- libcurl itself tries a reused connection that dies at once again
      -- on a new one: both are reset here
      local err = fails({ { type = "reset", count = 2 } })
      assert.equal("network", err.kind)
    end)
  end)

  describe("kind decode", function()
    it("invalid JSON", function()
      local err = fails({ { type = "invalid_json" } })
      assert.same({ "decode", 200 }, { err.kind, err.status })
      assert.matches("invalid JSON", err.message)
    end)

    it("JSON of the wrong shape", function()
      local err = fails({ { type = "wrong_shape" } })
      assert.same({ "decode", 200 }, { err.kind, err.status })
    end)

    it("each wrong shape of a page", function()
      for _, body in ipairs({
        '[1,2,3]', '"text"', '{"total_count":1}', '{"certificates":[],"total_count":-1}',
        '{"certificates":[],"total_count":1.5}', '{"certificates":{"a":1},"total_count":1}',
        '{"certificates":[1,2],"total_count":2}', '{"certificates":"x","total_count":0}',
      }) do
        local err = fails({ { type = "status", status = 200, content_type = "application/json",
          body = body } })
        assert.equal("decode", err.kind, body)
      end
    end)

    it("a truncated body", function()
      local err = fails({ { type = "truncate" } })
      assert.equal("decode", err.kind)
      assert.matches("truncated", err.message)
    end)

    it("a body over max_body, declared in Content-Length", function()
      local err = fails({ { type = "huge", bytes = 5000000 } }, { max_body = 100000 })
      assert.equal("decode", err.kind)
      assert.matches("max_body", err.message)
    end)

    it("a chunked body over max_body, stopped while receiving", function()
      local err = fails({ { type = "huge", bytes = 5000000, chunked = true } }, { max_body = 100000 })
      assert.equal("decode", err.kind)
      assert.matches("max_body", err.message)
    end)

    it("a body within max_body is accepted", function()
      local page, err = scm.list(emu:opts({ max_body = 1000000 }))
      assert.is_nil(err)
      assert.is_table(page)
    end)
  end)

  describe("secrets", function()
    local secret = "s3cr3t-token-s3cr3t-token-s3cr3t-token-0001"

    it("never appear in an err, even when the server echoes them", function()
      emu:reset({ token = secret })
      local echo = '{"error_code":"SCM.4002","error_msg":"token ' .. secret .. ' lacks permission"}'
      local cases = {
        { { type = "status", status = 401, content_type = "application/json", body = echo } },
        { { type = "status", status = 502, content_type = "text/html", body = secret } },
        { { type = "redirect", status = 302, location = emu.url .. "/x?t=" .. secret } },
        { { type = "invalid_json" } },
        { { type = "reset", count = 2 } },
      }
      for _, faults in ipairs(cases) do
        emu:reset({ token = secret })
        local err = fails(faults, { token = secret })
        for _, f in ipairs(TOKEN_FIELDS) do
          assert.falsy(tostring(err[f]):find(secret, 1, true), f)
        end
        assert.falsy(tostring(err):find(secret, 1, true))
      end
    end)

    it("never appear in an option error", function()
      local ok, err = pcall(scm.list, emu:opts({ token = secret .. "\n" }))
      assert.is_false(ok)
      assert.falsy(err:find(secret, 1, true))
    end)
  end)

  describe("hostile headers", function()
    -- A long token, as real IAM tokens are (kilobytes), of varied bytes.
    local long = {}
    local seed = 12345
    local ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for i = 1, 3000 do
      seed = (seed * 1103515245 + 12345) % 2147483648
      local k = math.floor(seed / 65536) % #ALPHABET + 1
      long[i] = ALPHABET:sub(k, k)
    end
    long = table.concat(long)

    -- true when s holds any 8 bytes in a row of secret
    local function leaks(s, secret)
      s = tostring(s)
      for i = 1, #secret - 7 do
        if s:find(secret:sub(i, i + 7), 1, true) then return true end
      end
      return false
    end

    it("a long token echoed in the reason, X-Request-Id and Location never shows", function()
      for _, case in ipairs({ { 502 }, { 302 }, { 502, 200 }, { 302, 100 }, { 502, 95 }, { 502, 9 } }) do
        emu:reset()
        local err = fails({ { type = "echo", status = case[1], bytes = case[2] } }, { token = long })
        assert.equal("http", err.kind)
        assert.equal(case[1], err.status)
        for _, f in ipairs(TOKEN_FIELDS) do
          assert.is_false(leaks(err[f], long), f .. " of " .. case[1] .. "/" .. tostring(case[2]))
        end
        assert.is_false(leaks(tostring(err), long), tostring(err))
      end
    end)

    it("no request_id holding a secret or control bytes, on success either", function()
      emu:reset({ token = long })
      emu:faults({ { type = "echo", status = 200 } })
      local page = assert(scm.list(emu:opts({ retries = 0 })))
      assert.is_false(leaks(page.request_id, long))
      emu:faults({ { type = "echo", status = 200, request_id = "abc\27]0;owned\7def" } })
      page = assert(scm.list(emu:opts({ retries = 0 })))
      assert.is_nil(page.request_id)
      local err = fails({ { type = "echo", status = 502, request_id = "abc\27[2Jdef" } })
      assert.is_nil(err.request_id)
      assert.is_nil(tostring(err):find("\27", 1, true))
    end)

    it("a 1 MB response header is a decode err, not retried", function()
      local err = fails({ { type = "huge_header", bytes = 1048576, count = 3 } }, { retries = 2 })
      assert.equal("decode", err.kind)
      assert.matches("header", err.message)
      assert.equal(1, err.attempts)
      assert.equal(1, #emu:log())
    end)

    it("tostring shows any status in full", function()
      local err = scm.error({ kind = "http", message = "m", status = 2 ^ 40 })
      assert.truthy(tostring(err):find("1099511627776", 1, true), tostring(err))
    end)
  end)

  describe("no file descriptor left", function()
    it("says too many open files", function()
      local token = emu:config().token
      local code = ("package.cpath = %q; local scm = require('scm'); local files = {}; "
        .. "while true do local f = io.open('/dev/null') if not f then break end files[#files + 1] = f end; "
        .. "local page, err = scm.list({ endpoint = %q, token = %q, retries = 0 }); "
        .. "for _, f in ipairs(files) do f:close() end; "
        .. "io.write(page and 'page' or tostring(err))"):format(package.cpath, emu.url, token)
      local out = shell.run("ulimit -n 64; " .. require("support.child").LUA .. " -e "
        .. shell.quote(code) .. " 2>&1", true)
      assert.matches("^scm: network error", out)
      assert.truthy(out:find("too many open files", 1, true), out)
    end)
  end)
end)
