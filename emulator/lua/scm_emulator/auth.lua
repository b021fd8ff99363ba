-- Authentication of API requests: the configured X-Auth-Token, or an AK/SK
-- signature (SDK-HMAC-SHA256, checked in signature.lua) by the configured
-- key pair. Every check lives in authenticate().

local http = require "scm_emulator.http"
local signature = require "scm_emulator.signature"

local M = {}

local function header(headers, name)
  local value = headers[name]
  if type(value) == "table" then value = value[1] end
  return value
end

-- The API gateway's answer to a request whose AK/SK signature fails.
local function gateway_denial(reason)
  return http.api_error(401, "APIGW.0301", "Incorrect IAM authentication information: " .. reason)
end

-- req: { method, path (raw, as sent), query (raw), headers (as from
-- ngx.req.get_headers(): lowercase names), body = function returning the
-- request body }; settings: the current settings; now: the current time,
-- epoch seconds. Returns nil when the request may proceed, or the error
-- response to send.
function M.authenticate(req, settings, now)
  local headers = req.headers
  if header(headers, "x-auth-token") == settings.token then return nil end
  if headers["authorization"] == nil then
    return http.api_error(401, "SCM.1000", "token not authenticated")
  end

  local ok, reason, canonical = signature.verify({
    method = req.method,
    path = req.path,
    query = req.query,
    headers = headers,
    body = req.body(),
  }, { [settings.ak] = settings.sk }, now)
  if ok then return nil end
  if canonical then
    -- What the client should have signed, for debugging a client's signer.
    ngx.log(ngx.WARN, "scm-emulator: AK/SK signature mismatch; canonical request here: ",
      (canonical:gsub("\n", "\\n")))
  end
  return gateway_denial(reason)
end

return M
