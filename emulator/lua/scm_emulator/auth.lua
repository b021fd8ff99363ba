-- Authentication of API requests: the configured X-Auth-Token, or an AK/SK
-- signature (SDK-HMAC-SHA256, checked in signature.lua) by the configured
-- key pair or by temporary keys the metadata service issued (which must
-- come with their X-Security-Token). Every check lives in authenticate().

local http = require "scm_emulator.http"
local signature = require "scm_emulator.signature"
local tempkeys = require "scm_emulator.tempkeys"

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
-- epoch seconds; global: true for a global service (SCM), whose signed
-- requests must name the key pair's account in X-Domain-Id when
-- settings.require_domain_id. Returns nil when the request may proceed,
-- or the error response to send.
function M.authenticate(req, settings, now, global)
  local headers = req.headers
  if global and header(headers, "x-auth-token") == settings.token then return nil end
  if headers["authorization"] == nil then
    return http.api_error(401, "SCM.1000", "token not authenticated")
  end

  local keys = tempkeys.keys(now)
  keys[settings.ak] = settings.sk
  local ok, reason, canonical = signature.verify({
    method = req.method,
    path = req.path,
    query = req.query,
    headers = headers,
    body = req.body(),
  }, keys, now)
  if not ok then
    if canonical then
      -- What the client should have signed, for debugging a client's signer.
      ngx.log(ngx.WARN, "scm-emulator: AK/SK signature mismatch; canonical request here: ",
        (canonical:gsub("\n", "\\n")))
    end
    return gateway_denial(reason)
  end
  local access = signature.parse_authorization(headers["authorization"]).access
  if access ~= settings.ak and header(headers, "x-security-token") ~= tempkeys.token_of(access) then
    return gateway_denial("temporary access key without its security token")
  end
  if global then
    local domain = header(headers, "x-domain-id")
    if domain == nil and settings.require_domain_id then
      return gateway_denial("X-Domain-Id is required with AK/SK for a global service")
    end
    if domain ~= nil and domain ~= settings.domain_id then
      return http.api_error(403, "SCM.0002", "the account in X-Domain-Id is not the key pair's")
    end
  end
  return nil
end

return M
