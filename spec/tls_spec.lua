-- TLS: the emulator serves HTTPS with a CA made for the test; the default
-- verification rejects it, cafile or verify = false accept it.
local scm = require("scm")
local emulator = require("emulator")
local shell = require("support.shell")
local pki = require("support.pki")

describe("TLS", function()
  local dir, emu, other_ca

  setup(function()
    dir = shell.tmpdir("scm-tls")
    -- a CA, and a server certificate for 127.0.0.1 and localhost signed by it
    local ca = pki.ca(dir, "ca", "scm-test-ca")
    local serve = pki.server(dir, "ca")
    -- an unrelated CA
    other_ca = pki.ca(dir, "other", "other-ca")
    emu = emulator.start(serve, ca)
  end)

  teardown(function()
    if emu then emu:stop() end
    shell.run("rm -rf " .. shell.quote(dir))
  end)

  it("serves https", function()
    assert.matches("^https://", emu.url)
  end)

  it("the default verification rejects a certificate from an unknown CA", function()
    local page, err = scm.list(emu:opts({ retries = 0 }))
    assert.is_nil(page)
    assert.equal("tls", err.kind)
    assert.is_nil(err.status)
    assert.same({}, emu:log())
  end)

  it("cafile accepts it", function()
    local page, err = scm.list(emu:opts({ cafile = dir .. "/ca.pem" }))
    assert.is_nil(err)
    assert.equal(123, page.total_count)
  end)

  it("cafile of another CA rejects it", function()
    local _, err = scm.list(emu:opts({ cafile = other_ca, retries = 0 }))
    assert.equal("tls", err.kind)
  end)

  it("a missing cafile is a tls error", function()
    local _, err = scm.list(emu:opts({ cafile = dir .. "/none.pem", retries = 0 }))
    assert.equal("tls", err.kind)
  end)

  it("verify = false accepts it", function()
    local page, err = scm.list(emu:opts({ verify = false }))
    assert.is_nil(err)
    assert.equal(123, page.total_count)
  end)

  it("accepts the certificate under each name it was made for", function()
    local port = emu.url:match(":(%d+)$")
    local page = scm.list(emu:opts({ endpoint = "https://localhost:" .. port,
      cafile = dir .. "/ca.pem" }))
    assert.is_table(page)
  end)

  it("lists every page over TLS with reused connections", function()
    emu:reset({ certs = 300 })
    local certs = assert(scm.all(emu:opts({ cafile = dir .. "/ca.pem", concurrency = 4 })))
    assert.equal(300, #certs)
    local conns, n = {}, 0
    for _, req in ipairs(emu:log()) do
      if not conns[req.connection] then conns[req.connection], n = true, n + 1 end
    end
    assert.is_true(n <= 5)
  end)
end)
