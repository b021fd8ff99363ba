-- The log of API requests (everything outside /_emulator/), oldest first.
-- Entries are stored already encoded: cheap to keep, cheap to serve.

local http = require "scm_emulator.http"

local M = {}

-- Beyond this the oldest half is dropped, so a long-running emulator does not
-- grow without bound.
local MAX_ENTRIES = 100000

local entries = {}
local ENTRY_FIELDS = { "method", "path", "query", "args", "headers", "connection", "connection_requests",
  "ssl_session_reused", "request_id", "time" }

local function flat_headers()
  local out = {}
  -- 0: no limit on the number of headers. Names come lowercased.
  for name, value in pairs(ngx.req.get_headers(0)) do
    out[name] = type(value) == "table" and table.concat(value, ", ") or value
  end
  return out
end

function M.record()
  if #entries >= MAX_ENTRIES then
    local kept, first = {}, #entries - math.floor(MAX_ENTRIES / 2) + 1
    for i = first, #entries do kept[#kept + 1] = entries[i] end
    entries = kept
  end
  entries[#entries + 1] = http.encode_object({
    method = ngx.req.get_method(),
    path = ngx.var.uri,
    query = ngx.var.args or "",
    args = ngx.req.get_uri_args(0),
    headers = flat_headers(),
    connection = tonumber(ngx.var.connection),
    -- 1 for the first request on its connection
    connection_requests = tonumber(ngx.var.connection_requests),
    -- "r" when the connection's TLS handshake resumed a session, "." when
    -- it was a full one; absent (plain HTTP) otherwise
    ssl_session_reused = ngx.var.https == "on" and ngx.var.ssl_session_reused or nil,
    request_id = ngx.var.request_id,
    time = ngx.now(),
  }, ENTRY_FIELDS)
end

function M.json()
  return http.encode_array(entries)
end

function M.count()
  return #entries
end

function M.clear()
  local n = #entries
  entries = {}
  return n
end

return M
