-- Proxies: plain http never goes through one; https follows the `proxy`
-- and `no_proxy` options, else https_proxy / HTTPS_PROXY / all_proxy /
-- ALL_PROXY and no_proxy / NO_PROXY. The proxy is a small server on
-- loopback that logs what reaches it and forges the answer to anything it
-- is sent in clear.
local scm = require("scm")
local emulator = require("emulator")
local shell = require("support.shell")
local pki = require("support.pki")

local LUA = require("support.child").LUA
local PROXY_VARS = { "http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
  "ALL_PROXY", "no_proxy", "NO_PROXY" }

describe("proxies", function()
  local emu, tls, dir, proxy, proxy_log, proxy_pid

  setup(function()
    emu = emulator.shared()
    dir = shell.tmpdir("scm-proxy")
    local q = function(name) return shell.quote(dir .. "/" .. name) end
    local ca = pki.ca(dir, "ca", "scm-proxy-ca")
    tls = emulator.start(pki.server(dir, "ca"), ca)
    proxy_log = dir .. "/proxy.log"
    proxy_pid = shell.run("perl spec/support/proxy.pl " .. q("proxy.log") .. " " .. q("proxy.port")
      .. " >/dev/null 2>&1 & echo $!"):gsub("%s+$", "")
    -- wait for the port file, with a deadline
    local port = shell.wait_for(10, function()
      return (shell.read_file(dir .. "/proxy.port") or ""):match("^([^\n]+)")
    end, 0.05)
    assert(port, "the proxy did not start")
    proxy = "http://127.0.0.1:" .. port
  end)

  teardown(function()
    if proxy_pid then shell.run("kill " .. proxy_pid .. " 2>/dev/null || true") end
    if tls then tls:stop() end
    shell.run("rm -rf " .. shell.quote(dir))
  end)

  before_each(function()
    emu:reset()
    tls:reset()
    os.remove(proxy_log)
  end)

  local function proxied()
    local f = io.open(proxy_log)
    if not f then return {} end
    local lines = {}
    for l in f:lines() do lines[#lines + 1] = l end
    f:close()
    return lines
  end

  -- scm.list(opts) in a child whose only proxy variables are env; returns
  -- "page <first id>" or "err <err>".
  local function child(env, opts_source)
    local cmd = { "env" }
    for _, name in ipairs(PROXY_VARS) do cmd[#cmd + 1] = "-u " .. name end
    for k, v in pairs(env) do cmd[#cmd + 1] = k .. "=" .. shell.quote(v) end
    local code = ("package.cpath = %q; local scm = require('scm'); local page, err = scm.list(%s); "
      .. "io.write(page and ('page ' .. tostring(page.certificates[1].id)) or ('err ' .. tostring(err)))")
      :format(package.cpath, opts_source)
    cmd[#cmd + 1] = "timeout 60 " .. LUA .. " -e " .. shell.quote(code) .. " 2>&1"
    return shell.run(table.concat(cmd, " "), true)
  end

  local function http_opts(extra)
    return ("{ endpoint = %q, token = %q, retries = 0%s }"):format(emu.url, emu:config().token,
      extra or "")
  end

  local function https_opts(extra)
    return ("{ endpoint = %q, token = %q, cafile = %q, retries = 0%s }"):format(tls.url,
      tls:config().token, tls.cacert, extra or "")
  end

  -- the first id the server gives when asked directly
  local function first_id(e)
    local out = child({}, e == tls and https_opts() or http_opts())
    return assert(out:match("^page (.+)$"), out)
  end

  it("plain http never goes through a proxy, whatever the environment says", function()
    local real_id = first_id(emu)
    for _, env in ipairs({
      { http_proxy = proxy }, { HTTP_PROXY = proxy }, { all_proxy = proxy }, { ALL_PROXY = proxy },
      { http_proxy = proxy, all_proxy = proxy, https_proxy = proxy },
    }) do
      local out = child(env, http_opts())
      assert.equal("page " .. real_id, out)
    end
    assert.same({}, proxied())
  end)

  it("plain http ignores the proxy option too", function()
    assert.equal("page " .. first_id(emu), child({}, http_opts((", proxy = %q"):format(proxy))))
    assert.same({}, proxied())
  end)

  it("https follows https_proxy, HTTPS_PROXY, all_proxy and ALL_PROXY, by CONNECT", function()
    local id = first_id(tls)
    local port = tls.url:match(":(%d+)$")
    os.remove(proxy_log)
    for _, name in ipairs({ "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" }) do
      os.remove(proxy_log)
      assert.equal("page " .. id, child({ [name] = proxy }, https_opts()), name)
      local seen = proxied()
      assert.equal(1, #seen, name)
      -- only the tunnel's target is visible to the proxy, never the token
      assert.matches("^CONNECT 127%.0%.0%.1:" .. port .. " HTTP/1%.1$", seen[1])
    end
  end)

  it("https follows the proxy option over the environment", function()
    local id = first_id(tls)
    assert.equal("page " .. id, child({}, https_opts((", proxy = %q"):format(proxy))))
    assert.equal(1, #proxied())
    os.remove(proxy_log)
    assert.equal("page " .. id, child({ https_proxy = "http://127.0.0.1:1" },
      https_opts((", proxy = %q"):format(proxy))))
    assert.equal(1, #proxied())
  end)

  it("no_proxy (option or environment) and proxy = false go direct", function()
    local id = first_id(tls)
    assert.equal("page " .. id, child({ https_proxy = proxy }, https_opts(", no_proxy = '127.0.0.1'")))
    assert.equal("page " .. id, child({ https_proxy = proxy, no_proxy = "127.0.0.1" }, https_opts()))
    assert.equal("page " .. id, child({ https_proxy = proxy, NO_PROXY = "localhost,127.0.0.1" },
      https_opts()))
    assert.equal("page " .. id, child({ https_proxy = proxy }, https_opts(", proxy = false")))
    assert.same({}, proxied())
    -- the option wins over the environment's no_proxy
    assert.equal("page " .. id, child({ no_proxy = "127.0.0.1" },
      https_opts((", proxy = %q, no_proxy = 'example.com'"):format(proxy))))
    assert.equal(1, #proxied())
  end)

  it("proxy and no_proxy follow their rules", function()
    local function rejects(extra, fragment)
      local opts = emu:opts(extra)
      local ok, err = pcall(scm.list, opts)
      assert.is_false(ok)
      assert.truthy(err:find(fragment, 1, true), err)
    end
    local rule = "proxy must be false or an http://, https://, socks5:// or socks5h:// URL"
    rejects({ proxy = "ftp://127.0.0.1:21" }, rule)
    rejects({ proxy = "127.0.0.1:3128" }, rule)
    rejects({ proxy = true }, rule)
    rejects({ proxy = 3128 }, rule)
    rejects({ proxy = "http://127.0.0.1:3128/path?x" }, rule)
    rejects({ no_proxy = "" }, "no_proxy must be a non-empty string without CR, LF or NUL")
    rejects({ no_proxy = "a\r\nb" }, "no_proxy must be a non-empty string without CR, LF or NUL")
    -- a proxy password is never shown
    local ok, err = pcall(scm.list, emu:opts({ proxy = "ftp://user:hunter2secret@127.0.0.1" }))
    assert.is_false(ok)
    assert.falsy(err:find("hunter2secret", 1, true), err)
    assert.same({}, emu:log())
    assert.same({}, tls:log())
  end)
end)
