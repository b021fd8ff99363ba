-- Connections are reused across calls (keep-alive).
local scm = require("scm")
local emulator = require("emulator")
local shell = require("support.shell")
local child = require("support.child")

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

  describe("after fork()", function()
    local fork = require("scm_testfork")

    -- The parent lists with limit 10, the child with limit 20, each 200
    -- times over the same client made (and used) before the fork: a page
    -- of the wrong size is the other process's answer.
    local function each_process_gets_its_own_pages(list)
      local opts = { timeout = 5, retries = 0 }
      opts.limit = 10
      assert(list(opts)) -- a kept-alive connection in the pool
      local pid = fork.fork()
      local size = pid == 0 and 20 or 10
      local wrong = 0
      for _ = 1, 200 do
        opts.limit = size
        local page = list(opts)
        if not page or #page.certificates ~= size then wrong = wrong + 1 end
      end
      if pid == 0 then fork.exit(wrong > 200 and 200 or wrong) end
      assert.equal(0, wrong, "answers in the parent that were not its own")
      assert.equal(0, fork.wait(pid), "answers in the child that were not its own")
      -- and the two processes did not share a connection
      local by_conn = {}
      for _, req in ipairs(emu:log()) do
        local c = by_conn[req.connection] or {}
        c[req.args.limit] = true
        by_conn[req.connection] = c
      end
      for conn, limits in pairs(by_conn) do
        assert.is_false(limits["10"] and limits["20"] or false, "connection " .. conn .. " served both")
      end
    end

    it("the module's own client", function()
      each_process_gets_its_own_pages(function(extra)
        return scm.list(emu:opts(extra))
      end)
    end)

    it("a client", function()
      local client = scm.new(emu:opts())
      each_process_gets_its_own_pages(function(extra) return client:list(extra) end)
      client:close()
    end)

    it("a listing started before the fork raises in the child and goes on in the parent", function()
      emu:reset({ certs = 200 })
      local iter, state = scm.each(emu:opts({ limit = 10, concurrency = 4 }))
      local ids = { assert(iter(state)).id } -- the next pages are in flight
      local pid = fork.fork()
      if pid == 0 then
        local ok, err = pcall(iter, state)
        fork.exit((not ok and tostring(err):find("fork()", 1, true)) and 0 or 1)
      end
      assert.equal(0, fork.wait(pid), "the child's listing did not raise")
      for cert in iter, state do ids[#ids + 1] = cert.id end
      assert.equal(200, #ids)
    end)
  end)
  describe("sockets", function()
    -- Runs code in a Lua process of its own (so that no socket of the
    -- spec runner is counted), where probe() starts a child process that
    -- counts the sockets its parent holds and those it inherited itself.
    local function sockets_seen(code)
      local source = ([[
package.cpath = %q
local scm = require("scm")
local U, T = %q, %q
local seen = {}
local function probe()
  local p = assert(io.popen("unset LD_PRELOAD; ls -l /proc/$PPID/fd; echo @@; ls -l /proc/self/fd"))
  local out = p:read("*a")
  p:close()
  local parent, child = out:match("^(.*)@@(.*)$")
  local _, np = parent:gsub("socket:", "")
  local _, nc = child:gsub("socket:", "")
  seen[#seen + 1] = np .. " " .. nc
end
%s
io.write(table.concat(seen, ","))
]]):format(package.cpath, emu.url, emu:config().token, code)
      return shell.run("env -i PATH=/usr/bin:/bin HOME=/nonexistent " .. table.concat(shell.sanitizer_env(), " ")
        .. " " .. child.LUA .. " -e " .. shell.quote(source) .. " 2>&1", true)
    end

    local function check(out)
      local n = 0
      for parent, inherited in out:gmatch("(%d+) (%d+)") do
        n = n + 1
        assert.is_true(tonumber(parent) > 0, "the parent held no socket: " .. out)
        assert.equal(0, tonumber(inherited), "a child process inherited a socket: " .. out)
      end
      assert.is_true(n > 0, out)
    end

    it("are not inherited by a process started during a listing", function()
      emu:reset({ certs = 300 })
      check(sockets_seen([[
local n = 0
for _ in scm.each({ endpoint = U, token = T, limit = 50, concurrency = 4 }) do
  n = n + 1
  if n % 60 == 1 then probe() end
end
assert(n == 300, n)]]))
    end)

    it("nor by one started between calls, while a connection is kept alive", function()
      check(sockets_seen([[
local client = scm.new({ endpoint = U, token = T })
assert(client:list())
probe()
assert(scm.list({ endpoint = U, token = T }))
probe()]]))
    end)
  end)
end)
