-- The emulated IAM: GET /v3/auth/domains, signed with an AK/SK (the
-- configured pair or temporary keys), answers the account of the key
-- pair the way Keystone does. No X-Domain-Id is needed: that is what the
-- caller is looking up.

local auth = require "scm_emulator.auth"
local http = require "scm_emulator.http"
local settings = require "scm_emulator.settings"

local M = {}

M.PATH = "/v3/auth/domains"

function M.respond(req)
  if req.method ~= "GET" then
    return http.api_error(405, "IAM.0405", "method not allowed")
  end
  local denied = auth.authenticate(req, settings.current, ngx.time(), false)
  if denied then return denied end
  local id = settings.current.domain_id
  local self = "https://iam.myhuaweicloud.com/v3/domains/" .. id
  return http.response(200, http.encode({
    domains = { { id = id, name = "emulator-account", enabled = true, description = "",
      links = { self = self } } },
    links = { self = "https://iam.myhuaweicloud.com/v3/auth/domains" },
  }), http.JSON)
end

return M
