-- Installation the ways Lua and OpenResty users do it: Debian's stock
-- LuaRocks on the dev rockspec, the release src.rock that `make rock`
-- packs, make install, make install-openresty, and bin/scm-certs from the
-- checkout. Each installs into a fresh directory, then the interpreter
-- under test (LUA) loads what was installed there.
local shell = require("support.shell")

local run, quote = shell.run, shell.quote
local LUA = require("support.child").LUA
local ABI = ({ ["lua5.1"] = "5.1", ["lua5.3"] = "5.3", ["lua5.4"] = "5.4", luajit = "5.1" })[LUA]
-- LuaRocks has no LuaJIT of its own here: 5.1 with LuaJIT's headers
local ROCKS = "luarocks --lua-version=" .. ABI
local ROCKS_VARS = LUA == "luajit" and " LUA_INCDIR=/usr/include/luajit-2.1 LUA=/usr/bin/luajit" or ""
-- the stock configuration: whatever the caller's environment says
local STOCK = "env -u LUAROCKS_CONFIG -u LUA_PATH -u LUA_CPATH "

local function read(path) return assert(shell.read_file(path)) end

local VERSION = read("VERSION"):match("^(%d+%.%d+%.%d+)\n$")

-- every Lua module file of the project, as paths under lua/
local function lua_files()
  local list = {}
  for f in run("cd lua && find scm -name '*.lua' | LC_ALL=C sort"):gmatch("[^\n]+") do list[#list + 1] = f end
  return list
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

-- Loads scm with only the given directories searched, and the system's
-- for cjson: returns scm._VERSION, and where scm.resty and scm.so are.
local function load_from(cdir, ldir)
  local cpath = cdir .. "/?.so;/usr/lib/x86_64-linux-gnu/lua/" .. ABI .. "/?.so"
  local path = ldir .. "/?.lua;/usr/share/lua/" .. ABI .. "/?.lua"
  local code = ("package.cpath = %q; package.path = %q; local scm = require('scm'); "
    .. "local function where(name, p) for t in p:gmatch('[^;]+') do local f = t:gsub('%%?', name) "
    .. "local h = io.open(f) if h then h:close() return f end end end "
    .. "io.write(scm._VERSION, '|', tostring(where('scm/resty', package.path)), '|', "
    .. "tostring(where('scm', package.cpath)))"):format(cpath, path)
  local out = run(("cd /tmp && %s -e %s 2>&1"):format(LUA, quote(code)))
  return out:match("^(.-)|(.-)|(.-)$")
end

local function assert_installed(cdir, ldir)
  local version, resty, so = load_from(cdir, ldir)
  assert.equal("scm " .. VERSION, version)
  assert.equal(ldir .. "/scm/resty.lua", resty)
  assert.equal(cdir .. "/scm.so", so)
  for _, f in ipairs(lua_files()) do
    assert.is_true(exists(ldir .. "/" .. f), ldir .. "/" .. f .. " installed")
  end
end

describe("installation", function()
  local tree

  before_each(function() tree = shell.tmpdir("scm-install") end)
  after_each(function() run("rm -rf " .. quote(tree)) end)

  describe("LuaRocks", function()
    it("stock configuration: luarocks make builds the dev rockspec into a fresh tree", function()
      run(("%s%s make --tree %s --deps-mode=none rockspec/scm-dev-1.rockspec%s 2>&1"):format(
        STOCK, ROCKS, quote(tree), ROCKS_VARS))
      assert_installed(tree .. "/lib/lua/" .. ABI, tree .. "/share/lua/" .. ABI)
      -- the wrapper LuaRocks writes for scm-certs, with the tree's paths
      local out = run(("eval \"$(%s path --tree %s)\"; %s/bin/scm-certs --version 2>&1"):format(
        ROCKS, quote(tree), quote(tree)))
      assert.equal("scm-certs " .. VERSION .. "\n", out)
    end)

    it("the repository's configuration only adds Debian's lua-cjson as provided", function()
      -- without --deps-mode: lua-cjson resolves offline through rocks_provided
      run(("LUAROCKS_CONFIG=luarocks/config.lua %s make --tree %s rockspec/scm-dev-1.rockspec%s 2>&1")
        :format(ROCKS, quote(tree), ROCKS_VARS))
      assert_installed(tree .. "/lib/lua/" .. ABI, tree .. "/share/lua/" .. ABI)
      local config = read("luarocks/config.lua"):gsub("%-%-[^\n]*", "")
      assert.equal('rocks_provided = { ["lua-cjson"] = "2.1.0-1" }', (config:gsub("^%s+", ""):gsub("%s+$", "")))
    end)

    it("make rock packs the release src.rock offline; stock luarocks installs it in a fresh tree", function()
      local rock = ("scm-%s-1.src.rock"):format(VERSION)
      local out = run("make --no-print-directory rock 2>&1")
      assert.matches(rock:gsub("%p", "%%%0") .. "\n$", out)
      -- the rockspec inside names the tagged archive, not the local copy
      local rockspec = run(("unzip -p %s scm-%s-1.rockspec"):format(rock, VERSION))
      assert.matches(('url = "https://[^"]+/archive/v%s%%.tar%%.gz"'):format(VERSION:gsub("%.", "%%.")), rockspec)
      assert.is_nil(rockspec:find("file://", 1, true))
      run(("%s%s install --tree %s --deps-mode=none ./%s%s 2>&1"):format(
        STOCK, ROCKS, quote(tree), rock, ROCKS_VARS))
      assert_installed(tree .. "/lib/lua/" .. ABI, tree .. "/share/lua/" .. ABI)
    end)

    it("the release rockspec is the dev one with VERSION and the tag's archive", function()
      run("make --no-print-directory rockspec 2>&1")
      local function load_rockspec(path)
        local env, chunk = {}
        if setfenv then
          chunk = assert(loadstring(read(path), path))
          setfenv(chunk, env)
        else
          chunk = assert(load(read(path), path, "t", env))
        end
        chunk()
        return env
      end
      local dev = load_rockspec("rockspec/scm-dev-1.rockspec")
      local rel = load_rockspec(("scm-%s-1.rockspec"):format(VERSION))
      assert.equal(VERSION .. "-1", rel.version)
      assert.equal(dev.source.url:gsub("^git%+", ""):gsub("%.git$", "") .. "/archive/v" .. VERSION .. ".tar.gz",
        rel.source.url)
      assert.equal("scm-" .. VERSION, rel.source.dir)
      assert.same(dev.build, rel.build)
      assert.same(dev.dependencies, rel.dependencies)
      -- curl by its library: its header is where only the compiler looks
      assert.same({ library = "curl" }, rel.external_dependencies.CURL)
    end)

    it("luarocks lint accepts both rockspecs with the stock configuration", function()
      run(("%s%s lint rockspec/scm-dev-1.rockspec 2>&1"):format(STOCK, ROCKS))
      run(("%s%s lint scm-%s-1.rockspec 2>&1"):format(STOCK, ROCKS, VERSION))
    end)
  end)

  describe("make", function()
    it("make install honours PREFIX and DESTDIR and installs every Lua file", function()
      run(("make --no-print-directory install LUA=%s PREFIX=/opt/scm DESTDIR=%s 2>&1")
        :format(LUA, quote(tree)))
      local root = tree .. "/opt/scm"
      assert_installed(root .. "/lib/lua/" .. ABI, root .. "/share/lua/" .. ABI)
      assert.equal("#!/usr/bin/env " .. LUA, read(root .. "/bin/scm-certs"):match("^[^\n]*"))
      assert.equal(read("doc/scm-certs.1"), read(root .. "/share/man/man1/scm-certs.1"))
      run(("make --no-print-directory uninstall LUA=%s PREFIX=/opt/scm DESTDIR=%s 2>&1")
        :format(LUA, quote(tree)))
      assert.equal("", run("find " .. quote(tree) .. " -type f"))
    end)

    it("make install-openresty puts the LuaJIT build where nginx's Lua module finds it", function()
      local out = run(("make --no-print-directory install-openresty PREFIX=%s 2>&1"):format(quote(tree)))
      local lib = tree .. "/site/lualib"
      local path = out:match('\n%s*lua_package_path%s+"([^"]+)";')
      local cpath = out:match('\n%s*lua_package_cpath%s+"([^"]+)";')
      assert.equal(lib .. "/?.lua;;", path)
      assert.equal(lib .. "/?.so;;", cpath)
      assert.is_true(exists(lib .. "/scm.so"))
      for _, f in ipairs(lua_files()) do assert.is_true(exists(lib .. "/" .. f), f) end
      -- a one-shot nginx with the two printed lines: scm.resty and the
      -- LuaJIT scm.so load in its worker, which writes what it loaded and
      -- exits
      local dir = tree .. "/nginx"
      run("mkdir -p " .. quote(dir .. "/conf"))
      local conf = assert(io.open(dir .. "/conf/nginx.conf", "w"))
      conf:write(([[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
pid %s/nginx.pid;
error_log %s/error.log;
events {}
http {
  lua_package_path "%s;/usr/share/lua/5.1/?.lua;/usr/share/lua/5.1/?/init.lua;;";
  lua_package_cpath "%s";
  init_worker_by_lua_block {
    local ok, resty = pcall(require, "scm.resty")
    local f = assert(io.open(ngx.config.prefix() .. "/loaded", "w"))
    f:write(ok and resty._VERSION .. " " .. package.searchpath("scm", package.cpath) or tostring(resty))
    f:close()
    os.exit(0)
  }
}
]]):format(dir, dir, path:gsub(";;$", ""), cpath))
      conf:close()
      run(("timeout 60 nginx -p %s -c %s/conf/nginx.conf -e %s/error.log -g 'daemon off; master_process off;' 2>&1")
        :format(quote(dir), quote(dir), quote(dir)))
      assert.equal(("scm %s %s/scm.so"):format(VERSION, lib), read(dir .. "/loaded"))
    end)
  end)

  describe("new files", function()
    it("a new lua/scm/**.lua and src/*.c are built and installed by make and LuaRocks unchanged", function()
      -- a copy of the checkout with one more C file and a nested Lua module
      local src = tree .. "/src-copy"
      run(("mkdir -p %s && git ls-files -co --exclude-standard | while read -r f; do [ -f \"$f\" ] "
        .. "&& printf '%%s\\n' \"$f\"; done | tar -c -T - | tar -x -C %s"):format(quote(src), quote(src)))
      run(("mkdir -p %s/lua/scm/probe && echo 'return 42' > %s/lua/scm/probe/deep.lua && "
        .. "echo 'int scm_new_file_probe(void) { return 42; }' > %s/src/new_file_probe.c")
        :format(quote(src), quote(src), quote(src)))
      local function has_probe(root, cdir, ldir)
        assert.is_true(exists(root .. ldir .. "/scm/probe/deep.lua"), root .. ldir .. "/scm/probe/deep.lua")
        -- built in, and hidden (t, not T) like every symbol but luaopen_scm
        assert.matches(" t scm_new_file_probe\n", run("nm " .. quote(root .. cdir .. "/scm.so")))
        assert.matches(" T luaopen_scm\n", run("nm -D --defined-only " .. quote(root .. cdir .. "/scm.so")))
      end
      run(("cd %s && make --no-print-directory install LUA=%s PREFIX=/usr DESTDIR=%s/make 2>&1")
        :format(quote(src), LUA, quote(tree)))
      has_probe(tree .. "/make", "/usr/lib/lua/" .. ABI, "/usr/share/lua/" .. ABI)
      run(("cd %s && %s%s make --tree %s/rocks --deps-mode=none rockspec/scm-dev-1.rockspec%s 2>&1")
        :format(quote(src), STOCK, ROCKS, quote(tree), ROCKS_VARS))
      has_probe(tree .. "/rocks", "/lib/lua/" .. ABI, "/share/lua/" .. ABI)
    end)
  end)

  describe("from a checkout", function()
    it("bin/scm-certs finds build/" .. LUA .. " by itself after make", function()
      run("make --no-print-directory LUA=" .. LUA .. " all 2>&1")
      local out = run(("cd /tmp && env -u LUA_CPATH -u LUA_PATH %s %s/bin/scm-certs --version 2>&1")
        :format(LUA, quote(run("pwd"):gsub("%s+$", ""))))
      assert.equal("scm-certs " .. VERSION .. "\n", out)
      out = run(("env -u LUA_CPATH -u LUA_PATH %s bin/scm-certs --version 2>&1"):format(LUA))
      assert.equal("scm-certs " .. VERSION .. "\n", out)
    end)
  end)

  describe("the version", function()
    it("is VERSION, which scm._VERSION, CHANGELOG.md and debian/changelog report", function()
      assert.is_string(VERSION)
      assert.equal("scm " .. VERSION, require("scm")._VERSION)
      assert.matches("\n## " .. VERSION:gsub("%.", "%%.") .. " ", read("CHANGELOG.md"))
      assert.matches("^lua%-scm %(" .. VERSION:gsub("%.", "%%.") .. "%-%d+%)", read("debian/changelog"))
    end)
  end)
end)
