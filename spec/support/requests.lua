-- Test support: what the emulator's log says the module sent.
local M = {}

-- The requests of log whose path ends with path: their number and the
-- list of them, in order.
function M.requests_to(log, path)
  local n, list = 0, {}
  for _, req in ipairs(log) do
    if req.path:sub(-#path) == path then
      n = n + 1
      list[n] = req
    end
  end
  return n, list
end

-- How many requests of log went to the certificates API.
function M.api_requests(log)
  return (M.requests_to(log, "/v3/scm/certificates"))
end

-- How many requests of log went to the certificates API with User-Agent
-- agent: a test's own, apart from requests an earlier test left in flight
-- that reach the server late.
function M.api_requests_from(log, agent)
  local n = 0
  for _, req in ipairs(log) do
    if req.path:sub(-20) == "/v3/scm/certificates" and req.headers["user-agent"] == agent then
      n = n + 1
    end
  end
  return n
end

-- The SignedHeaders of a request's SDK-HMAC-SHA256 Authorization, if any.
function M.signed_headers(req)
  return req.headers.authorization and req.headers.authorization:match("SignedHeaders=([^,]+)")
end

-- The access key a request was signed with, if any.
function M.access_key(req)
  return req and req.headers.authorization and req.headers.authorization:match("Access=([^,]+)")
end

return M
