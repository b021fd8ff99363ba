-- Temporary keys issued by the emulated ECS metadata service: each
-- securitykey answer issues a new key pair and security token, valid until
-- its expires_at. They sign requests like the configured key pair, with
-- their X-Security-Token.

local M = {}

local issued = {} -- ak -> { sk, token, expires_at }
local serial = 0

function M.issue(now, lifetime)
  serial = serial + 1
  local ak = ("EMUTEMPAK%06d"):format(serial)
  local entry = {
    sk = ("emulator-temporary-secret-%06d"):format(serial),
    token = ("emulator-security-token-%06d-"):format(serial) .. ("x"):rep(64),
    expires_at = now + lifetime,
  }
  issued[ak] = entry
  return ak, entry
end

-- The unexpired temporary keys, ak -> sk.
function M.keys(now)
  local out = {}
  for ak, entry in pairs(issued) do
    if entry.expires_at > now then out[ak] = entry.sk end
  end
  return out
end

function M.token_of(ak)
  local entry = issued[ak]
  return entry and entry.token
end

return M
