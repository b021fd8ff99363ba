-- Test support for the scm-certs specs: runs bin/scm-certs with the
-- interpreter under test against the emulator.
local shell = require("support.shell")

local M = {}

M.LUA = require("support.child").LUA
-- The emulator's base time in the specs that need fixed dates, and the
-- same instant for scm-certs --now.
M.NOW_TEXT = "2024-11-27 00:00:00"
M.NOW = 1732665600

-- Runs the command; returns stdout, stderr and the exit code. env is a
-- string of NAME=value words put before the command.
function M.run(args, env, clear_env)
  local err_file = os.tmpname()
  -- clear_env: no credentials or endpoint from the environment (the
  -- sanitizer's LD_PRELOAD and options stay, and so do IAM's and the
  -- metadata service's addresses: the emulator, never a real host)
  local prefix = "env"
  if clear_env then
    prefix = "env"
    for _, name in ipairs({ "SCM_TOKEN", "SCM_ENDPOINT", "SCM_REGION", "HUAWEICLOUD_SDK_AK",
      "HUAWEICLOUD_SDK_SK", "HUAWEICLOUD_SDK_SECURITY_TOKEN", "HUAWEICLOUD_SDK_DOMAIN_ID",
      "HUAWEICLOUD_SDK_CREDENTIALS_FILE", "HUAWEICLOUD_SDK_CREDENTIALS" }) do
      prefix = prefix .. " -u " .. name
    end
    prefix = prefix .. " HOME=/nonexistent"
  end
  local stdout, code = shell.status(("%s LUA_CPATH=%s %s %s bin/scm-certs %s 2>%s"):format(
    prefix, shell.quote(package.cpath), env or "", M.LUA, args, err_file), true)
  local stderr = assert(shell.read_file(err_file))
  os.remove(err_file)
  return stdout, stderr, code
end

function M.target(emu)
  return ("--endpoint %s --token %s"):format(emu.url, emu:config().token)
end

-- "YYYY-MM-DD HH:MM:SS.0" for NOW + days, in UTC.
function M.at(days)
  return os.date("!%Y-%m-%d %H:%M:%S.0", M.NOW + math.floor(days * 86400 + 0.5))
end

-- Certificates from { days, status[, fields] } rows, ids scs0000000000001...
function M.certs(rows)
  local certs = {}
  for i, row in ipairs(rows) do
    local c = { id = ("scs%013d"):format(i), name = "c" .. i, domain = ("d%d.example.com"):format(i),
      status = row[2] or "ISSUED", expire_time = row[1] and M.at(row[1]),
      type = "DV_SSL_CERT", brand = "GEOTRUST", deploy_support = true }
    for k, v in pairs(row[3] or {}) do c[k] = v end
    certs[i] = c
  end
  return certs
end

function M.lines(s)
  local out = {}
  for line in s:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

return M
