-- scm-certs as a monitoring plugin: which certificates count, the exact
-- first line and perfdata, the long output, exit codes.
local cjson = require("cjson")
local emulator = require("emulator")
local cli = require("cli")

local run = cli.run

describe("scm-certs check", function()
  local emu, target

  setup(function()
    emu = emulator.shared()
    target = cli.target(emu) .. " --now " .. cli.NOW
  end)
  before_each(function() emu:reset({ now = cli.NOW_TEXT }) end)
  teardown(function() emu:reset() end)

  local function put(rows) emu:put_certificates(cli.certs(rows)) end

  describe("on the emulator's default data", function()
    it("is not CRITICAL because of expired or revoked certificates", function()
      -- 14 EXPIRED/REVOKED certificates expired up to 59 days ago; the
      -- soonest live one expires in 2 days
      local out, _, code = run(target .. " -w 30 -c 1")
      assert.equal(1, code)
      assert.equal("SCM WARNING - 5 certificates expire within 30 days; soonest open8.stark-energy.com"
        .. " (scs1701126422419) in 2 days | soonest_days=2;30;1;; expiring=5;;;; expired=0;;;; total=99;;;;",
        cli.lines(out)[1])
    end)

    it("is CRITICAL when a live certificate is within -c", function()
      local out, _, code = run(target .. " -w 30 -c 2")
      assert.equal(2, code)
      assert.equal("SCM CRITICAL - 5 certificates expire within 30 days; soonest open8.stark-energy.com"
        .. " (scs1701126422419) in 2 days | soonest_days=2;30;2;; expiring=5;;;; expired=0;;;; total=99;;;;",
        cli.lines(out)[1])
    end)

    it("counts the dead ones again with --include-dead", function()
      local out, _, code = run(target .. " -w 30 -c 1 --include-dead")
      assert.equal(2, code)
      assert.equal("SCM CRITICAL - 19 certificates expire within 30 days; soonest status.wayne-logistics.de"
        .. " (scs1696017983599) expired 59 days ago | soonest_days=-59;30;1;; expiring=19;;;; expired=14;;;;"
        .. " total=123;;;;", cli.lines(out)[1])
    end)

    it("writes the long output as plain text, one certificate a line, soonest first", function()
      local out = run(target .. " -w 30 -c 7")
      local lines = cli.lines(out)
      assert.same({
        "CRITICAL: open8.stark-energy.com (scs1701126422419) expires 2024-11-29 03:12:34 UTC, in 2 days;"
          .. " status ISSUED; name open8-stark-energy-com-2023",
        "CRITICAL: *.example-shop.com (scs1669705608209) expires 2024-12-01 04:55:08 UTC, in 4 days;"
          .. " status ISSUED; name test-wildcard-example-shop-com",
        "CRITICAL: *.initech.org (scs1701507649641) expires 2024-12-02 12:06:56 UTC, in 5 days;"
          .. " status ISSUED; name wildcard-initech-org",
        "WARNING: search.contoso.cn (scs1702890654901) expires 2024-12-17 11:38:59 UTC, in 20 days;"
          .. " status ISSUED; name search-contoso-cn-2023",
        "WARNING: cdn.tyrell-labs.ai (scs1703711614122) expires 2024-12-26 22:18:13 UTC, in 29 days;"
          .. " status ISSUED; name cdn-tyrell-labs-ai",
      }, { (table.unpack or unpack)(lines, 2) })
    end)
  end)

  describe("which certificates count", function()
    it("live statuses count: ISSUED, UPLOAD, REVOKING, CANCLEREVOKING and unknown ones", function()
      put({ { 3, "UPLOAD" }, { 4, "REVOKING" }, { 5, "CANCLEREVOKING" }, { 6, "SOMETHING_NEW" },
        { 2, "PAID" }, { 2, "CHECKING" }, { 2, "REVOKED" }, { -1, "EXPIRED" }, { 2, "CANCELSUPPLEMENTING" } })
      local out, _, code = run(target .. " -w 10 -c 1")
      assert.equal(1, code)
      assert.equal("SCM WARNING - 4 certificates expire within 10 days; soonest d1.example.com (scs0000000000001)"
        .. " in 3 days | soonest_days=3;10;1;; expiring=4;;;; expired=0;;;; total=4;;;;", cli.lines(out)[1])
    end)

    it("EXPIRED ones count for --expired-grace days after their expiry", function()
      put({ { 100 }, { -3.5, "EXPIRED" }, { -10.5, "EXPIRED" }, { -1, "REVOKED" } })
      local out, _, code = run(target .. " -w 30 -c 7")
      assert.equal(0, code)
      assert.matches("total=1;;;;\n$", out)
      out, _, code = run(target .. " -w 30 -c 7 --expired-grace 5")
      assert.equal(2, code)
      assert.equal("SCM CRITICAL - 1 certificate expires within 30 days; soonest d2.example.com (scs0000000000002)"
        .. " expired 4 days ago | soonest_days=-4;30;7;; expiring=1;;;; expired=1;;;; total=2;;;;", cli.lines(out)[1])
      assert.equal("CRITICAL: d2.example.com (scs0000000000002) expired 2024-11-23 12:00:00 UTC, 4 days ago;"
        .. " status EXPIRED; name c2", cli.lines(out)[2])
    end)

    it("an ISSUED certificate past its date is expired and CRITICAL", function()
      put({ { -0.5 } })
      local out, _, code = run(target .. " -w 30 -c 0")
      assert.equal(2, code)
      assert.matches("expired=1;;;; total=1;;;;\n", out)
    end)

    it("--status takes a comma list, may be repeated, and replaces the default rule", function()
      put({ { 3, "UPLOAD" }, { 4, "EXPIRED" }, { 5, "PAID" }, { 6, "ISSUED" } })
      local out = run(target .. " -w 10 -c 1 --status EXPIRED,PAID --status UPLOAD")
      assert.matches("^SCM WARNING %- 3 certificates expire within 10 days;.* total=3;;;;\n", out)
      out = run(target .. " -w 10 -c 1 --status ISSUED")
      assert.matches("^SCM WARNING %- 1 certificate expires within 10 days; soonest d4%.example%.com.* total=1;;;;\n",
        out)
    end)

    it("sends one --status to the API and filters several itself", function()
      put({ { 3, "UPLOAD" }, { 4, "ISSUED" } })
      run(target .. " -w 10 --status UPLOAD")
      for _, req in ipairs(emu:log()) do assert.equal("UPLOAD", req.args.status) end
      emu:clear_log()
      run(target .. " -w 10 --status UPLOAD,ISSUED")
      for _, req in ipairs(emu:log()) do assert.is_nil(req.args.status) end
    end)
  end)

  describe("the first line", function()
    it("is singular for one certificate and one day", function()
      put({ { 1.5 } })
      local out, _, code = run(target .. " -w 1 -c 0")
      assert.equal(1, code)
      assert.equal("SCM WARNING - 1 certificate expires within 1 day; soonest d1.example.com (scs0000000000001)"
        .. " in 1 day | soonest_days=1;1;0;; expiring=1;;;; expired=0;;;; total=1;;;;\n"
        .. "WARNING: d1.example.com (scs0000000000001) expires 2024-11-28 12:00:00 UTC, in 1 day; status ISSUED;"
        .. " name c1\n", out)
    end)

    it("is OK with the soonest named when nothing is within -w", function()
      put({ { 90 }, { 45.2 } })
      local out, _, code = run(target .. " --warning 30 --critical 7")
      assert.equal(0, code)
      assert.equal("SCM OK - 0 certificates expire within 30 days; soonest d2.example.com (scs0000000000002)"
        .. " in 45 days | soonest_days=45;30;7;; expiring=0;;;; expired=0;;;; total=2;;;;\n", out)
    end)

    it("is OK without soonest_days when nothing counts", function()
      put({ { 3, "REVOKED" } })
      local out, _, code = run(target .. " -w 30")
      assert.equal(0, code)
      assert.equal("SCM OK - 0 certificates expire within 30 days; no certificate to check"
        .. " | expiring=0;;;; expired=0;;;; total=0;;;;\n", out)
    end)

    it("--expiring-within is -w, and -c defaults to 7", function()
      put({ { 20 }, { 6.5 } })
      local out, _, code = run(target .. " --expiring-within 30")
      assert.equal(2, code)
      assert.matches("^SCM CRITICAL %- 2 certificates expire within 30 days; soonest d2%.example%.com "
        .. "%(scs0000000000002%) in 6 days | soonest_days=6;30;7;;", out)
    end)

    it("keeps the old form when --format is given: the expiring certificates in that format", function()
      put({ { 90 }, { 20 } })
      local out, _, code = run(target .. " --expiring-within 30 --format csv --fields id")
      assert.equal(1, code)
      assert.matches("\nid\r\nscs0000000000002\r\n$", out)
    end)

    it("reads expire_time at --utc-offset, and a zone in the string wins", function()
      put({ { 2.75 }, { nil, "ISSUED", { expire_time = "2024-11-29T10:00:00+08:00" } } })
      -- d1: 2.75 days in UTC; at -12:00 it is 3.25 days away
      local out = run(target .. " -w 30 -c 1 --utc-offset -12:00")
      assert.matches("soonest d2%.example%.com %(scs0000000000002%) in 2 days", out)
      assert.matches("d2%.example%.com %(scs0000000000002%) expires 2024%-11%-29 02:00:00 UTC, in 2 days", out)
      assert.matches("d1%.example%.com %(scs0000000000001%) expires 2024%-11%-30 06:00:00 UTC, in 3 days", out)
    end)
  end)

  describe("unreadable expiry dates", function()
    local junk = { { nil, "EXPIRED", { expire_time = cjson.null } }, { nil, "EXPIRED", { expire_time = "" } },
      { nil, "EXPIRED", { expire_time = "01/02/2020" } }, { nil, "EXPIRED", { expire_time = "2020-1-1 0:0:0" } },
      { nil, "EXPIRED", { expire_time = "2019-12-31T10:00:00+08:00" } } }

    it("are named; the readable one with a zone is read in its zone", function()
      put(junk)
      local out, _, code = run(target .. " -w 30 -c 7 --include-dead")
      assert.equal(2, code)
      local lines = cli.lines(out)
      assert.equal("SCM CRITICAL - 1 certificate expires within 30 days; soonest d5.example.com (scs0000000000005)"
        .. " expired 1793 days ago; 4 certificates with an unreadable expire_time: d1.example.com (scs0000000000001),"
        .. " d2.example.com (scs0000000000002), d3.example.com (scs0000000000003), and 1 more"
        .. " | soonest_days=-1793;30;7;; expiring=1;;;; expired=1;;;; total=5;;;;", lines[1])
      assert.equal("CRITICAL: d5.example.com (scs0000000000005) expired 2019-12-31 02:00:00 UTC, 1793 days ago;"
        .. " status EXPIRED; name c5", lines[2])
      assert.equal("UNKNOWN: d1.example.com (scs0000000000001) expire_time null: no expire_time; status EXPIRED;"
        .. " name c1", lines[3])
      assert.equal('UNKNOWN: d3.example.com (scs0000000000003) expire_time "01/02/2020": expire_time is not'
        .. " YYYY-MM-DD HH:MM:SS[.fraction][Z|+HH:MM]; status EXPIRED; name c3", lines[5])
      assert.equal(6, #lines)
    end)

    it("make the check UNKNOWN, not OK, when nothing else is wrong", function()
      put({ junk[1], junk[2], junk[3], junk[4], { 100 } })
      local out, _, code = run(target .. " -w 30 -c 7 --include-dead")
      assert.equal(3, code)
      assert.matches("^SCM UNKNOWN %- 0 certificates expire within 30 days; soonest d5%.example%.com "
        .. "%(scs0000000000005%) in 100 days; 4 certificates with an unreadable expire_time: ", out)
    end)

    it("a numeric expire_time does not crash the check", function()
      put({ { nil, "ISSUED", { expire_time = 1735000000 } } })
      local out, err, code = run(target .. " -w 30 -c 7")
      assert.equal(3, code)
      assert.matches("^SCM UNKNOWN %- 0 certificates expire within 30 days; 1 certificate with an unreadable"
        .. " expire_time: d1%.example%.com %(scs0000000000001%) | ", out)
      assert.equal("", err)
    end)
  end)

  describe("thresholds", function()
    it("refuses a critical above warning instead of lowering it", function()
      local out, _, code = run(target .. " --critical 10 --expiring-within 5")
      assert.equal(3, code)
      assert.equal("SCM UNKNOWN - --critical (10 days) must not exceed --warning (5 days)\n", out)
      assert.same({}, emu:log())
    end)

    it("refuses a huge number of days with one line, no traceback", function()
      local out, err, code = run(target .. " --expiring-within 99999999999999999999")
      assert.equal(3, code)
      assert.equal("SCM UNKNOWN - --expiring-within must be a whole number from 0 to 36500,"
        .. " got '99999999999999999999'\n", out)
      assert.equal("", err)
    end)
  end)
end)
