-- The emulated ECS metadata service (normally http://169.254.169.254),
-- under any path prefix so that tests can keep callers' caches apart:
--   PUT  <prefix>/meta-data/latest/api/token   (X-Metadata-Token-Ttl-Seconds)
--        -> a session token, text
--   GET  <prefix>/openstack/latest/securitykey (X-Metadata-Token when needed)
--        -> {"credential":{"access","secret","securitytoken","expires_at"}}
-- Settings: metadata_agency (false: 401 "Please configure Cloud Service
-- Agency first"), metadata_token_required (true: the GET needs a session
-- token from the PUT), metadata_expires_in (seconds the issued keys live;
-- a test fakes the clock by making it short).

local http = require "scm_emulator.http"
local settings = require "scm_emulator.settings"
local tempkeys = require "scm_emulator.tempkeys"

local M = {}

local sessions = {} -- session token -> expiry
local serial = 0

function M.match(path)
  if path:find("/meta%-data/latest/api/token$") then return "token" end
  if path:find("/openstack/latest/securitykey$") then return "securitykey" end
end

local function iso(t)
  return os.date("!%Y-%m-%dT%H:%M:%S.000000Z", t)
end

function M.respond(which, req)
  local s = settings.current
  local now = ngx.time()
  if which == "token" then
    if req.method ~= "PUT" then return http.response(405, "", "text/plain") end
    local ttl = tonumber(req.headers["x-metadata-token-ttl-seconds"])
    if not ttl or ttl < 1 or ttl > 21600 then
      return http.response(400, "X-Metadata-Token-Ttl-Seconds must be 1..21600", "text/plain")
    end
    serial = serial + 1
    local token = ("emulator-session-%06d"):format(serial)
    sessions[token] = now + ttl
    return http.response(200, token, "text/plain")
  end
  if req.method ~= "GET" then return http.response(405, "", "text/plain") end
  local session = req.headers["x-metadata-token"]
  if s.metadata_token_required and not (session and sessions[session] and sessions[session] > now) then
    return http.response(401, "Unauthorized: a valid X-Metadata-Token is required", "text/plain")
  end
  if not s.metadata_agency then
    return http.json(401, { error = { code = 401,
      message = "Please configure Cloud Service Agency first", title = "Unauthorized" } })
  end
  local ak, entry = tempkeys.issue(now, s.metadata_expires_in)
  return http.json(200, { credential = { access = ak, secret = entry.sk,
    securitytoken = entry.token, expires_at = iso(entry.expires_at) } })
end

return M
