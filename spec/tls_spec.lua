-- TLS: the emulator serves HTTPS with a CA made for the test; the default
-- verification rejects it, cafile or verify = false accept it.
local scm = require("scm")
local emulator = require("emulator")

describe("TLS", function()
  local dir, emu, other_ca

  local function openssl(args)
    emulator.run("openssl " .. args .. " 2>&1")
  end

  setup(function()
    dir = emulator.tmpdir("scm-tls")
    local q = function(name) return emulator.quote(dir .. "/" .. name) end
    -- a CA, and a server certificate for 127.0.0.1 and localhost signed by it
    openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=scm-test-ca -keyout "
      .. q("ca.key") .. " -out " .. q("ca.pem"))
    openssl("req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " .. q("server.key")
      .. " -out " .. q("server.csr"))
    local ext = assert(io.open(dir .. "/ext.cnf", "w"))
    ext:write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ext:close()
    openssl("x509 -req -days 2 -in " .. q("server.csr") .. " -CA " .. q("ca.pem") .. " -CAkey "
      .. q("ca.key") .. " -CAcreateserial -extfile " .. q("ext.cnf") .. " -out " .. q("server.pem"))
    -- an unrelated CA
    openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout "
      .. q("other.key") .. " -out " .. q("other.pem"))
    other_ca = dir .. "/other.pem"
    emu = emulator.start("--tls-cert " .. q("server.pem") .. " --tls-key " .. q("server.key"),
      dir .. "/ca.pem")
  end)

  teardown(function()
    if emu then emu:stop() end
    emulator.run("rm -rf " .. emulator.quote(dir))
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
