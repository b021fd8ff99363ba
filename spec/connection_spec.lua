-- Connections are reused across calls (keep-alive).
local scm = require("scm")
local emulator = require("emulator")

describe("connections", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  local function connections(log)
    local seen, n = {}, 0
    for _, req in ipairs(log) do
      if not seen[req.connection] then
        seen[req.connection] = true
        n = n + 1
      end
    end
    return n
  end

  it("scm.list reuses its connection across calls", function()
    for _ = 1, 10 do assert(scm.list(emu:opts())) end
    local log = emu:log()
    assert.equal(10, #log)
    assert.is_true(connections(log) <= 2, "connections: " .. connections(log))
  end)

  it("a client reuses its connection across calls", function()
    local client = scm.new(emu:opts())
    for i = 1, 10 do assert(client:list({ offset = i * 10 })) end
    assert.is_true(connections(emu:log()) <= 2)
    client:close()
  end)

  it("a kept-alive connection the server dropped is replaced", function()
    local client = scm.new(emu:opts({ retries = 0 }))
    assert(client:list())
    -- the server closes the kept-alive connection as the next request
    -- arrives: libcurl sends it again on a new connection
    emu:faults({ { type = "reset" } })
    assert(client:list())
    local log = emu:log()
    assert.equal(3, #log)
    assert.is_not.equal(log[1].connection, log[3].connection)
    client:close()
  end)
end)
