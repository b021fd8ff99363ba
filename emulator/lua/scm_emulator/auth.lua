-- Authentication of API requests. Every check lives in authenticate() so a
-- further scheme (AK/SK request signing) can be added in this one place.

local http = require "scm_emulator.http"

local M = {}

local function header(headers, name)
  local value = headers[name]
  if type(value) == "table" then value = value[1] end
  return value
end

-- headers: as from ngx.req.get_headers(). Returns nil when the request may
-- proceed, or the error response to send.
function M.authenticate(headers, settings)
  if header(headers, "x-auth-token") == settings.token then return nil end
  return http.api_error(401, "SCM.1000", "token not authenticated")
end

return M
