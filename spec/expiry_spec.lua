-- scm.expiry: expire_time as epoch seconds and whole days left, in every
-- form the API and the emulator write it; junk is nil, reason, a wrong
-- argument type raises.
local scm = require("scm")

-- 2021-05-27 16:46:25 UTC, worked out by hand: 18774 days * 86400 + 60385
local T = 1622133985

describe("scm.expiry", function()
  it("reads the API's form as UTC by default", function()
    assert.equal(T, (scm.expiry("2021-05-27 16:46:25.0")))
    assert.equal(T, (scm.expiry("2021-05-27 16:46:25")))
    assert.equal(T, (scm.expiry("2021-05-27T16:46:25")))
    assert.equal(T, (scm.expiry("2021-05-27 16:46:25.123456")))
  end)

  it("takes a certificate table", function()
    assert.equal(T, (scm.expiry({ id = "scs1", expire_time = "2021-05-27 16:46:25.0" })))
  end)

  it("applies utc_offset, in seconds east of UTC or as +HH:MM", function()
    assert.equal(T - 8 * 3600, (scm.expiry("2021-05-27 16:46:25.0", 8 * 3600)))
    assert.equal(T - 8 * 3600, (scm.expiry("2021-05-27 16:46:25.0", "+08:00")))
    assert.equal(T + 5 * 3600 + 1800, (scm.expiry("2021-05-27 16:46:25.0", "-05:30")))
    assert.equal(T, (scm.expiry("2021-05-27 16:46:25.0", "Z")))
  end)

  it("lets a zone in the string win over the offset", function()
    assert.equal(T, (scm.expiry("2021-05-27 16:46:25Z", "+08:00")))
    assert.equal(T, (scm.expiry("2021-05-28T00:46:25+08:00", "-05:00")))
    assert.equal(T, (scm.expiry("2021-05-28 00:46:25.0+0800")))
    assert.equal(T, (scm.expiry("2021-05-27 14:46:25.5 -02")))
    assert.equal(1577757600, (scm.expiry("2019-12-31T10:00:00+08:00")))
  end)

  it("gives whole days left, counted down from now (floor)", function()
    local _, days = scm.expiry("2021-05-27 16:46:25.0", 0, T - 3 * 86400 - 1)
    assert.equal(3, days)
    _, days = scm.expiry("2021-05-27 16:46:25.0", 0, T - 3 * 86400 + 1)
    assert.equal(2, days)
    _, days = scm.expiry("2021-05-27 16:46:25.0", 0, T + 1)
    assert.equal(-1, days)
    local epoch
    epoch, days = scm.expiry(os.date("!%Y-%m-%d %H:%M:%S", os.time() + 10 * 86400 + 600))
    assert.equal(10, days)
    assert.is_true(math.abs(epoch - (os.time() + 10 * 86400 + 600)) <= 2)
  end)

  it("knows leap years and the calendar's ends", function()
    assert.equal(951782400, (scm.expiry("2000-02-29 00:00:00")))
    assert.equal(0, (scm.expiry("1970-01-01 00:00:00")))
    assert.equal(253402300799, (scm.expiry("9999-12-31 23:59:59")))
    assert.is_nil((scm.expiry("2100-02-29 00:00:00")))
    assert.is_nil((scm.expiry("2021-04-31 00:00:00")))
  end)

  it("returns nil and a reason for junk, never raises", function()
    for _, junk in ipairs({ "", "01/02/2020", "2020-1-1 0:0:0", "2020-01-01", "2020-13-01 00:00:00",
      "2020-01-01 24:00:00", "2020-01-01 00:60:00", "2020-01-01 00:00:00 garbage", "2020-01-01 00:00:00+25:00",
      "2020-01-01 00:00:00.", "2020-01-01 00:00:00+08:", " 2020-01-01 00:00:00", "0000-01-01 00:00:00",
      "2020-01-01 00:00:00\0", ("9"):rep(5000) }) do
      local epoch, reason = scm.expiry(junk)
      assert.is_nil(epoch, junk)
      assert.is_string(reason)
      assert.truthy(reason:find("expire_time", 1, true), reason)
    end
  end)

  it("returns nil and a reason for a certificate without a readable expire_time", function()
    local cjson = require("cjson")
    for _, cert in ipairs({ {}, { expire_time = 1622133985 }, { expire_time = true },
      { expire_time = {} }, { expire_time = cjson.null } }) do
      local epoch, reason = scm.expiry(cert)
      assert.is_nil(epoch)
      assert.matches("expire_time", reason)
    end
    local _, reason = scm.expiry({ expire_time = 5 })
    assert.equal("expire_time is a number, not a date string", reason)
    _, reason = scm.expiry({})
    assert.equal("no expire_time", reason)
  end)

  it("raises on wrong argument types", function()
    assert.has_error(function() scm.expiry() end)
    assert.has_error(function() scm.expiry(12) end)
    assert.has_error(function() scm.expiry(true) end)
    assert.has_error(function() scm.expiry("2021-05-27 16:46:25", {}) end)
    assert.has_error(function() scm.expiry("2021-05-27 16:46:25", "8 hours") end)
    assert.has_error(function() scm.expiry("2021-05-27 16:46:25", 0.5) end)
    assert.has_error(function() scm.expiry("2021-05-27 16:46:25", 86400) end)
    assert.has_error(function() scm.expiry("2021-05-27 16:46:25", 0, "now") end)
    local ok, err = pcall(scm.expiry, 12)
    assert.is_false(ok)
    assert.matches("bad argument #1 to '[%w.?]*' %(certificate or expire_time string expected, got number%)", err)
  end)
end)
