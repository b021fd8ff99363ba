-- scm-certs against the emulator: each output format parses back to the
-- same certificates with the computed fields; output is safe for
-- terminals and spreadsheets; every error is one UNKNOWN line and exit 3.
local scm = require("scm")
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local cli = require("cli")

local run = cli.run

describe("scm-certs", function()
  local emu, target

  setup(function()
    emu = emulator.shared()
    target = cli.target(emu)
  end)
  before_each(function() emu:reset() end)

  local function put(rows) emu:put_certificates(cli.certs(rows)) end

  it("--search KEYWORD lists the certificates whose name or domain holds it", function()
    local out, _, code = run(cli.target(emu) .. " --search SHOP --format json")
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
    it("json parses back to the certificates scm.all gives, with expire_epoch and days_left", function()
      local out, _, code = run(target .. " --format json")
      assert.equal(0, code)
      local got = cjson.decode(out)
      local expected = assert(scm.all(emu:opts()))
      assert.equal(#expected, #got)
      for i, c in ipairs(expected) do
        assert.equal(c.id, got[i].id)
        assert.equal(c.expire_time, got[i].expire_time)
        local epoch, days = scm.expiry(c)
        assert.equal(epoch, got[i].expire_epoch)
        assert.is_true(math.abs(days - got[i].days_left) <= 1)
      end
    end)

    it("json is the default when stdout is not a terminal", function()
      local out = run(target)
      assert.equal(123, #cjson.decode(out))
    end)

    it("json is byte-identical across runs over unchanged data, keys in the API's order", function()
      emu:reset({ now = cli.NOW_TEXT })
      local args = target .. " --now " .. cli.NOW .. " --format json"
      local first = run(args)
      for _ = 1, 2 do assert.equal(first, (run(args))) end
      put({ { 3 } })
      assert.equal('[\n{"id":"scs0000000000001","name":"c1","domain":"d1.example.com","deploy_support":true,'
        .. '"type":"DV_SSL_CERT","brand":"GEOTRUST","expire_time":"2024-11-30 00:00:00.0",'
        .. '"expire_epoch":1732924800,"days_left":3,"status":"ISSUED"}\n]\n', (run(args)))
    end)

    it("--fields applies to json, absent fields as null", function()
      put({ { 3 } })
      local out = run(target .. " --now " .. cli.NOW .. " --format json --fields days_left,id,sans")
      assert.equal('[\n{"days_left":3,"id":"scs0000000000001","sans":null}\n]\n', out)
    end)

    it("json of a sparse array or a numeric expire_time does not crash", function()
      local sans = {}
      for i = 1, 20 do sans[i] = cjson.null end
      sans[21] = "a.example.com"
      put({ { nil, "ISSUED", { sans = sans, expire_time = 1735000000 } } })
      local out, err, code = run(target .. " --format json")
      assert.equal(0, code)
      assert.equal("", err)
      local got = cjson.decode(out)[1]
      assert.equal(21, #got.sans)
      assert.equal("a.example.com", got.sans[21])
      assert.equal(cjson.null, got.sans[1])
      assert.equal(1735000000, got.expire_time)
      assert.equal(cjson.null, got.expire_epoch)
      assert.equal(cjson.null, got.days_left)
    end)

    it("csv parses back by columns", function()
      local out, _, code = run(target .. " --format csv --fields id,domain,status,expire_time")
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

    it("csv and table carry expire_epoch and days_left", function()
      put({ { -3 } })
      local args = target .. " --now " .. cli.NOW .. " --fields id,expire_epoch,days_left --format "
      assert.equal("id,expire_epoch,days_left\r\nscs0000000000001,1732406400,-3\r\n", (run(args .. "csv")))
      assert.equal("ID                EXPIRE_EPOCH  DAYS_LEFT\nscs0000000000001  1732406400    -3\n",
        (run(args .. "table")))
    end)

    it("csv quotes fields with commas and quotes", function()
      put({ { 100, "ISSUED", { domain = 'a,"b"' } } })
      local out = run(target .. " --format csv --fields id,domain")
      assert.equal('id,domain\r\nscs0000000000001,"a,""b"""\r\n', out)
    end)

    it("csv neutralises cells a spreadsheet would run as a formula", function()
      put({ { 100, "ISSUED", { domain = "=HYPERLINK(\"http://x\")", name = "+1+cmd", description = "-2-3",
        brand = "@SUM(A1)" } } })
      local out = run(target .. " --format csv --fields domain,name,description,brand")
      assert.equal("domain,name,description,brand\r\n\"'=HYPERLINK(\"\"http://x\"\")\",'+1+cmd,'-2-3,'@SUM(A1)\r\n",
        out)
    end)

    it("table aligns its columns", function()
      local out = run(target .. " --format table --fields id,domain,status")
      local lines = cli.lines(out)
      assert.equal(124, #lines)
      assert.matches("^ID%s+DOMAIN%s+STATUS$", lines[1])
      local col = lines[1]:find("DOMAIN", 1, true)
      for i = 2, #lines do
        assert.equal(" ", lines[i]:sub(col - 1, col - 1))
        assert.is_not.equal(" ", lines[i]:sub(col, col))
      end
    end)

    it("table escapes control characters from the server", function()
      put({ { 100, "ISSUED", { domain = "a\27[2Jb", name = "\27]0;owned\7x", description = "one\ntwo\r",
        brand = "\194\155c" } } })
      local out = run(target .. " --format table --fields domain,name,description,brand")
      assert.equal("DOMAIN     NAME               DESCRIPTION     BRAND\n"
        .. "a\\x1b[2Jb  \\x1b]0;owned\\x07x  one\\x0atwo\\x0d  \\xc2\\x9bc\n", out)
    end)

    it("--fields is checked, with a suggestion", function()
      local out, _, code = run(target .. " --fields id,domian")
      assert.equal(3, code)
      assert.matches("^SCM UNKNOWN %- %-%-fields: unknown field 'domian' %(did you mean domain%?%); known: id,", out)
      assert.same({}, emu:log())
    end)

    it("passes filters and order to the API", function()
      local out = run(target .. " --status EXPIRED --sort-key certExpiredTime --sort-dir ASC")
      for _, c in ipairs(cjson.decode(out)) do assert.equal("EXPIRED", c.status) end
      for _, req in ipairs(emu:log()) do
        assert.equal("EXPIRED", req.args.status)
        assert.equal("certExpiredTime", req.args.sort_key)
      end
    end)

    it("filters a --status list itself", function()
      local out = run(target .. " --status EXPIRED,REVOKED --status UPLOAD")
      local counts = {}
      for _, c in ipairs(cjson.decode(out)) do counts[c.status] = (counts[c.status] or 0) + 1 end
      local expected = {}
      for _, c in ipairs(assert(scm.all(emu:opts()))) do
        if c.status == "EXPIRED" or c.status == "REVOKED" or c.status == "UPLOAD" then
          expected[c.status] = (expected[c.status] or 0) + 1
        end
      end
      assert.same(expected, counts)
    end)
  end)

  describe("--output", function()
    it("writes the file through a temporary one renamed over it", function()
      local dir = shell.tmpdir("scm-certs-out")
      local file = dir .. "/certs.json"
      local out, _, code = run(target .. " --format json --output " .. file)
      assert.equal(0, code)
      assert.equal("", out)
      assert.equal(123, #cjson.decode(assert(io.open(file)):read("*a")))
      assert.equal("certs.json\n", shell.run("ls -A " .. dir))
      shell.run("rm -rf " .. shell.quote(dir))
    end)
  end)

  describe("requests", function()
    it("--dry-run prints the request, secrets redacted, and sends nothing", function()
      local out, _, code = run(target .. " --dry-run --status ISSUED")
      assert.equal(0, code)
      local lines = cli.lines(out)
      assert.equal("GET " .. emu.url .. "/v3/scm/certificates?limit=50&offset=0&status=ISSUED", lines[1])
      assert.truthy(out:find("\nX-Auth-Token: <redacted>\n", 1, true))
      assert.falsy(out:find(emu:config().token, 1, true))
      assert.same({}, emu:log())
    end)

    it("--dry-run signs with ak/sk and shows no signature", function()
      local cfg = emu:config()
      local out, _, code = run("--endpoint " .. emu.url .. " --dry-run",
        ("HUAWEICLOUD_SDK_AK=%s HUAWEICLOUD_SDK_SK=%s HUAWEICLOUD_SDK_DOMAIN_ID=acct1"):format(cfg.ak, cfg.sk), true)
      assert.equal(0, code)
      assert.matches("\nAuthorization: SDK%-HMAC%-SHA256 Access=" .. cfg.ak
        .. ", SignedHeaders=[%w;-]+, Signature=<redacted>\n", out)
      assert.falsy(out:find(cfg.sk, 1, true))
      assert.same({}, emu:log())
    end)

    it("--debug prints each request and its status on stderr, without the token", function()
      local out, err, code = run(target .. " --debug --format json")
      assert.equal(0, code)
      assert.equal(123, #cjson.decode(out))
      local sent = {}
      for url, status in err:gmatch("scm%-certs: > GET (%S+)\nscm%-certs: < (%d+),") do
        sent[#sent + 1] = url .. " " .. status
      end
      local log = emu:log()
      assert.equal(3, #log)
      for i, req in ipairs(log) do
        assert.equal(emu.url .. req.path .. "?" .. req.query .. " 200", sent[i])
      end
      assert.falsy(err:find(emu:config().token, 1, true))
    end)

    it("--debug shows a failed request's status", function()
      local out, err, code = run(("--endpoint %s --token %s --debug"):format(emu.url, ("w"):rep(40)))
      assert.equal(3, code)
      assert.matches("^SCM UNKNOWN %- listing failed: scm: api error 401 SCM%.1000", out)
      assert.matches("scm%-certs: < 401, scm: api error 401 SCM%.1000", err)
      assert.falsy(err:find(("w"):rep(40), 1, true))
    end)

    it("--progress shows N/total", function()
      local _, err = run(target .. " --progress --format json")
      assert.equal("scm-certs: 50/123 certificates\nscm-certs: 100/123 certificates\n"
        .. "scm-certs: 123/123 certificates\n", err)
    end)

    it("lists with the module's default concurrency", function()
      local out = run("--help")
      local default = scm.request({ endpoint = emu.url, token = emu:config().token }).concurrency
      assert.matches("%-%-concurrency N +pages in flight, 1%.%.16 %(default " .. default .. "%)", out)
    end)
  end)

  describe("errors", function()
    -- every failure: one line on stdout, exit 3, no traceback, no path
    local function unknown(args, env, clear_env)
      local out, err, code = run(args, env, clear_env)
      assert.equal(3, code, args)
      assert.matches("^SCM UNKNOWN %- [^\n]+\n$", out, args)
      for _, text in ipairs({ out, err }) do
        assert.falsy(text:find("traceback", 1, true), args)
        assert.falsy(text:find("bin/scm-certs:", 1, true), args)
        assert.falsy(text:find(".lua:", 1, true), args)
      end
      return out
    end

    it("a bad flag", function()
      assert.equal("SCM UNKNOWN - unknown argument --bogus; see --help\n", unknown(target .. " --bogus"))
      assert.equal("SCM UNKNOWN - unknown argument --critcal (did you mean --critical?); see --help\n",
        unknown(target .. " --critcal 3"))
      assert.equal("SCM UNKNOWN - --format must be table, json, csv or prometheus, got 'xml'\n",
        unknown(target .. " --format xml"))
      assert.equal("SCM UNKNOWN - --expiring-within must be a whole number from 0 to 36500, got 'soon'\n",
        unknown(target .. " --expiring-within soon"))
      assert.equal("SCM UNKNOWN - --deploy-support must be true or false, got 'maybe'\n",
        unknown(target .. " --deploy-support maybe"))
      assert.equal("SCM UNKNOWN - --timeout needs a value\n", unknown(target .. " --timeout"))
      unknown(target .. " --limit")
      unknown(target .. " --utc-offset 8h")
      unknown(target .. " --now tomorrow")
      assert.same({}, emu:log())
    end)

    it("an option outside its rule", function()
      assert.equal("SCM UNKNOWN - --status: unknown status 'VALID' (did you mean PAID?)\n",
        unknown(target .. " --status VALID"))
      assert.equal("SCM UNKNOWN - --retries must be a whole number >= 0, got '-1'\n",
        unknown(target .. " --retries -1"))
      assert.matches("concurrency", unknown(target .. " --concurrency 17"))
      assert.same({}, emu:log())
    end)

    it("no credentials", function()
      assert.matches("^SCM UNKNOWN %- no credentials: ", unknown("--endpoint " .. emu.url, nil, true))
      assert.matches("^SCM UNKNOWN %- no credentials: ", unknown("--endpoint " .. emu.url .. " -w 30", nil, true))
    end)

    it("the listing failed", function()
      assert.matches("^SCM UNKNOWN %- listing failed: scm: api error 401 SCM%.1000",
        unknown(("--endpoint %s --token %s --expiring-within 30"):format(emu.url, ("w"):rep(40))))
      assert.matches("^SCM UNKNOWN %- listing failed: scm: network error",
        unknown(("--endpoint http://127.0.0.1:1 --token %s --retries 0"):format(("w"):rep(40))))
    end)

    it("--output cannot be written", function()
      assert.matches("^SCM UNKNOWN %- cannot write %-%-output: ",
        unknown(target .. " --format json --output /nonexistent-dir/x.json"))
    end)
  end)

  describe("arguments", function()
    it("--help lists every flag", function()
      local out, _, code = run("--help")
      assert.equal(0, code)
      local source = assert(io.open("bin/scm-certs")):read("*a")
      for flag in source:gmatch('%["(%-%-?[%w-]+)"%]') do
        assert.truthy(out:find(flag, 1, true), flag .. " missing from --help")
      end
      assert.matches("UTC", out)
    end)

    it("takes the token and endpoint from the environment", function()
      local out, _, code = run("", ("SCM_ENDPOINT=%s SCM_TOKEN=%s"):format(emu.url, emu:config().token))
      assert.equal(0, code)
      assert.equal(123, #cjson.decode(out))
    end)
  end)

end)
