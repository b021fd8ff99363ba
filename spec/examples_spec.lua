-- The examples run against the emulator as README describes them.
local emulator = require("emulator")
local shell = require("support.shell")

local child = require("support.child")

describe("examples", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  local function run(script, args)
    return shell.status(("env LUA_CPATH=%s SCM_ENDPOINT=%s SCM_TOKEN=%s %s %s %s")
      :format(shell.quote(package.cpath), emu.url, emu:config().token, child.LUA, script, args or ""), true)
  end

  it("list.lua prints every certificate, soonest expiry first", function()
    local out, code = run("examples/list.lua")
    assert.equal(0, code)
    assert.matches("\n123 certificates\n$", out)
    local times = {}
    for t in out:gmatch("\nscs%d+%s+%S+%s+%S+%s+(%d%d%d%d%-%d%d%-%d%d %d%d:%d%d:%d%d)") do
      times[#times + 1] = t
    end
    assert.equal(123, #times)
    for i = 2, #times do assert.is_true(times[i - 1] <= times[i]) end
  end)

  it("expiring.lua lists what expires within the days given and exits 1", function()
    local certs = {}
    for i, days in ipairs({ 3, 45, 400 }) do
      certs[i] = { id = ("scs%013d"):format(i), domain = "d" .. i .. ".example.com", status = "ISSUED",
        expire_time = os.date("!%Y-%m-%d %H:%M:%S.0", os.time() + days * 86400) }
    end
    emu:put_certificates(certs)
    local out, code = run("examples/expiring.lua", "30")
    assert.equal(1, code)
    assert.matches("scs0000000000001", out)
    assert.is_nil(out:find("scs0000000000002", 1, true))
    assert.matches("1 certificates expire within 30 days", out)
    out, code = run("examples/expiring.lua", "1")
    assert.equal(0, code)
    assert.matches("0 certificates expire within 1 days", out)
  end)
end)
