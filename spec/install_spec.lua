-- Installation: luarocks make with the repository's configuration, and
-- make install with DESTDIR, give a module the interpreter loads.
local emulator = require("emulator")

local LUA = os.getenv("LUA") or "lua5.4"
local VERSION = ({ ["lua5.1"] = "5.1", ["lua5.3"] = "5.3", ["lua5.4"] = "5.4", luajit = "5.1" })[LUA]

describe("installation", function()
  local tree

  before_each(function() tree = emulator.tmpdir("scm-install") end)
  after_each(function() emulator.run("rm -rf " .. emulator.quote(tree)) end)

  local function loads(cpath, lpath)
    return emulator.run(("%s -e %s 2>&1"):format(LUA, emulator.quote(
      ("package.cpath = %q .. ';' .. package.cpath; package.path = %q .. package.path; "
        .. "local scm = require('scm'); local resty_found = package.searchpath and "
        .. "package.searchpath('scm.resty', package.path) or 'n/a'; "
        .. "io.write(scm._VERSION, ' ', tostring(resty_found ~= nil))"):format(cpath, lpath))))
  end

  it("luarocks make installs the module, scm.resty and scm-certs", function()
    local extra = LUA == "luajit" and " LUA_INCDIR=/usr/include/luajit-2.1 LUA=/usr/bin/luajit" or ""
    emulator.run(("LUAROCKS_CONFIG=luarocks/config.lua luarocks --lua-version=%s make --tree %s "
      .. "rockspec/scm-dev-1.rockspec%s 2>&1"):format(VERSION, emulator.quote(tree), extra))
    local out = loads(tree .. "/lib/lua/" .. VERSION .. "/?.so", tree .. "/share/lua/" .. VERSION .. "/?.lua;")
    assert.matches("^scm %d+%.%d+%.%d+ true$", out)
    assert.truthy(io.open(tree .. "/bin/scm-certs"))
  end)

  it("luarocks lint accepts the rockspec", function()
    emulator.run("LUAROCKS_CONFIG=luarocks/config.lua luarocks --lua-version=5.4 lint "
      .. "rockspec/scm-dev-1.rockspec 2>&1")
  end)

  it("make install honours PREFIX and DESTDIR", function()
    emulator.run(("make --no-print-directory install LUA=%s PREFIX=/opt/scm DESTDIR=%s 2>&1")
      :format(LUA, emulator.quote(tree)))
    local root = tree .. "/opt/scm"
    local out = loads(root .. "/lib/lua/" .. VERSION .. "/?.so", root .. "/share/lua/" .. VERSION .. "/?.lua;")
    assert.matches("^scm %d+%.%d+%.%d+ true$", out)
    local f = assert(io.open(root .. "/bin/scm-certs"))
    assert.equal("#!/usr/bin/env " .. LUA, f:read("*l"))
    f:close()
  end)
end)
