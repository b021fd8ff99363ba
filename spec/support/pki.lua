-- Test support: certificate authorities and server certificates made with
-- openssl, for the specs that serve HTTPS on loopback.
local shell = require("support.shell")

local M = {}

local function openssl(args) shell.run("openssl " .. args .. " 2>&1") end

-- A self-signed CA named cn in dir: NAME.pem and NAME.key; returns the
-- certificate's path.
function M.ca(dir, name, cn)
  local q = function(file) return shell.quote(dir .. "/" .. file) end
  openssl("req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=" .. cn .. " -keyout "
    .. q(name .. ".key") .. " -out " .. q(name .. ".pem"))
  return dir .. "/" .. name .. ".pem"
end

-- A server certificate for 127.0.0.1 and localhost in dir (server.pem,
-- server.key), signed by the CA ca_name made there; returns the
-- emulator's start options that serve HTTPS with it.
function M.server(dir, ca_name)
  local q = function(file) return shell.quote(dir .. "/" .. file) end
  openssl("req -newkey rsa:2048 -nodes -subj /CN=localhost -keyout " .. q("server.key")
    .. " -out " .. q("server.csr"))
  shell.write_file(dir .. "/ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n")
  openssl("x509 -req -days 2 -in " .. q("server.csr") .. " -CA " .. q(ca_name .. ".pem") .. " -CAkey "
    .. q(ca_name .. ".key") .. " -CAcreateserial -extfile " .. q("ext.cnf") .. " -out " .. q("server.pem"))
  return "--tls-cert " .. q("server.pem") .. " --tls-key " .. q("server.key")
end

return M
