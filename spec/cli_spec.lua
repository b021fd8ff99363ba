-- scm-certs against the emulator: each output format parses back to the
-- same certificates; the expiry mode exits like a monitoring plugin.
local scm = require("scm")
local cjson = require("cjson")
local emulator = require("emulator")

local LUA = os.getenv("LUA") or "lua5.4"

describe("scm-certs", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  -- Runs the command; returns stdout, stderr and the exit code.
  local function run(args, env)
    local err_file = os.tmpname()
    local cmd = ("env LUA_CPATH=%s %s %s bin/scm-certs %s 2>%s; echo \"@@$?\""):format(
      emulator.quote(package.cpath), env or "", LUA, args, err_file)
    local out = emulator.run(cmd, true)
    local f = assert(io.open(err_file))
    local stderr = f:read("*a")
    f:close()
    os.remove(err_file)
    local stdout, code = out:match("^(.-)@@(%d+)%s*$")
    return stdout, stderr, tonumber(code)
  end

  local function target()
    return ("--endpoint %s --token %s"):format(emu.url, emu:config().token)
  end

  -- "YYYY-MM-DD HH:MM:SS.0" for now + days, in UTC.
  local function in_days(days)
    return os.date("!%Y-%m-%d %H:%M:%S.0", os.time() + math.floor(days * 86400))
  end

  local function certs_expiring(list)
    local certs = {}
    for i, days in ipairs(list) do
      certs[i] = { id = ("scs%013d"):format(i), name = "c" .. i, domain = ("d%d.example.com"):format(i),
        status = days < 0 and "EXPIRED" or "ISSUED", expire_time = in_days(days),
        type = "DV_SSL_CERT", brand = "GEOTRUST", deploy_support = true }
    end
    emu:put_certificates(certs)
  end

  it("--search KEYWORD lists the certificates whose name or domain holds it", function()
    local out, _, code = run(target() .. " --search SHOP --format json")
    assert.equal(0, code)
    local got = cjson.decode(out)
    local expected = assert(scm.all(emu:opts({ content = "shop" })))
    assert.is_true(#expected > 0 and #expected < 123)
    assert.equal(#expected, #got)
    for i, c in ipairs(expected) do assert.equal(c.id, got[i].id) end
    local log = emu:log()
    assert.equal("SHOP", log[1].args.content)
  end)

  describe("formats", function()
    it("json parses back to the certificates scm.all gives", function()
      local out, _, code = run(target() .. " --format json")
      assert.equal(0, code)
      local got = cjson.decode(out)
      local expected = assert(scm.all(emu:opts()))
      assert.equal(#expected, #got)
      for i, c in ipairs(expected) do
        assert.equal(c.id, got[i].id)
        assert.equal(c.expire_time, got[i].expire_time)
      end
    end)

    it("json is the default when stdout is not a terminal", function()
      local out = run(target())
      assert.equal(123, #cjson.decode(out))
    end)

    it("csv parses back by columns", function()
      local out, _, code = run(target() .. " --format csv --fields id,domain,status,expire_time")
      assert.equal(0, code)
      local rows = {}
      for line in out:gmatch("([^\r\n]+)") do
        local cols = {}
        for col in (line .. ","):gmatch("([^,]*),") do cols[#cols + 1] = col end
        rows[#rows + 1] = cols
      end
      assert.same({ "id", "domain", "status", "expire_time" }, rows[1])
      local expected = assert(scm.all(emu:opts()))
      assert.equal(#expected + 1, #rows)
      for i, c in ipairs(expected) do
        assert.same({ c.id, c.domain, c.status, c.expire_time }, rows[i + 1])
      end
    end)

    it("csv quotes fields with commas and quotes", function()
      emu:put_certificates({ { id = "scs0000000000001", domain = 'a,"b"', status = "ISSUED",
        expire_time = in_days(100) } })
      local out = run(target() .. " --format csv --fields id,domain")
      assert.equal('id,domain\r\nscs0000000000001,"a,""b"""\r\n', out)
    end)

    it("table aligns its columns", function()
      local out = run(target() .. " --format table --fields id,domain,status")
      local lines = {}
      for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
      assert.equal(124, #lines)
      assert.matches("^ID%s+DOMAIN%s+STATUS$", lines[1])
      local col = lines[1]:find("DOMAIN", 1, true)
      for i = 2, #lines do
        assert.equal(" ", lines[i]:sub(col - 1, col - 1))
        assert.is_not.equal(" ", lines[i]:sub(col, col))
      end
    end)

    it("passes filters and order to the API", function()
      local out = run(target() .. " --status EXPIRED --sort-key certExpiredTime --sort-dir ASC")
      for _, c in ipairs(cjson.decode(out)) do assert.equal("EXPIRED", c.status) end
      for _, req in ipairs(emu:log()) do
        assert.equal("EXPIRED", req.args.status)
        assert.equal("certExpiredTime", req.args.sort_key)
      end
    end)
  end)

  describe("--expiring-within", function()
    it("exits 0 when nothing expires within the window", function()
      certs_expiring({ 90, 200 })
      local out, _, code = run(target() .. " --expiring-within 30")
      assert.equal(0, code)
      assert.matches("^SCM OK %- no certificate expires within 30 days %(2 checked%)", out)
    end)

    it("exits 1 for a certificate within the warning days only", function()
      certs_expiring({ 90, 20 })
      local out, _, code = run(target() .. " --expiring-within 30 --format csv --fields id")
      assert.equal(1, code)
      assert.matches("^SCM WARNING %- 1 expire within 30 days", out)
      assert.matches("\nid\r\nscs0000000000002\r\n$", out)
    end)

    it("exits 2 for a certificate within the critical days", function()
      certs_expiring({ 90, 20, 3 })
      local out, _, code = run(target() .. " --expiring-within 30 --critical 7")
      assert.equal(2, code)
      assert.matches("^SCM CRITICAL %- 2 expire within 30 days, 1 within 7 days", out)
    end)

    it("exits 2 for a certificate already expired", function()
      certs_expiring({ 90, -5 })
      local out, _, code = run(target() .. " --expiring-within 30")
      assert.equal(2, code)
      assert.matches("1 already expired", out)
    end)

    it("reads expire_time in the zone --utc-offset gives", function()
      -- 2.5 days away in UTC; read as UTC-72h it is 5.5 days away
      certs_expiring({ 2.5 })
      local _, _, code = run(target() .. " --expiring-within 30 --critical 4")
      assert.equal(2, code)
      _, _, code = run(target() .. " --expiring-within 30 --critical 4 --utc-offset -72:00")
      assert.equal(1, code)
    end)

    it("exits 3 with a summary when the listing fails", function()
      local out, _, code = run(("--endpoint %s --token wrong-token-wrong-token-wrong --expiring-within 30")
        :format(emu.url))
      assert.equal(3, code)
      assert.matches("^SCM UNKNOWN %- listing failed: scm: api error 401 SCM%.1000", out)
    end)
  end)

  describe("arguments", function()
    it("--help lists every flag", function()
      local out, _, code = run("--help")
      assert.equal(0, code)
      local source = assert(io.open("bin/scm-certs")):read("*a")
      for flag in source:gmatch('%["(%-%-[%w-]+)"%]') do
        assert.truthy(out:find(flag, 1, true), flag .. " missing from --help")
      end
      assert.matches("UTC", out)
    end)

    it("a bad flag prints usage on stderr and exits 3", function()
      for _, args in ipairs({ "--bogus", "--format xml", "--expiring-within soon",
        "--deploy-support maybe", "--critical 3", "--limit" }) do
        local out, err, code = run(target() .. " " .. args)
        assert.equal(3, code, args)
        assert.equal("", out)
        assert.matches("Usage: scm%-certs", err)
      end
    end)

    it("an option outside its rule prints usage on stderr and exits 3", function()
      local _, err, code = run(target() .. " --status VALID")
      assert.equal(3, code)
      assert.matches("status must be one of", err)
      assert.same({}, emu:log())
    end)

    it("takes the token and endpoint from the environment", function()
      local out, _, code = run("", ("SCM_ENDPOINT=%s SCM_TOKEN=%s"):format(emu.url, emu:config().token))
      assert.equal(0, code)
      assert.equal(123, #cjson.decode(out))
    end)
  end)
end)
