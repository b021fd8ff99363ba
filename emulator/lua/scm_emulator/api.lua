-- The emulated API: GET /v3/scm/certificates, and the answers for every
-- other path outside /_emulator/.

local auth = require "scm_emulator.auth"
local faults = require "scm_emulator.faults"
local http = require "scm_emulator.http"
local iam = require "scm_emulator.iam"
local metadata = require "scm_emulator.metadata"
local query = require "scm_emulator.query"
local requestlog = require "scm_emulator.requestlog"
local settings = require "scm_emulator.settings"
local store = require "scm_emulator.store"

local M = {}

M.LIST_PATH = "/v3/scm/certificates"

local function list_certificates()
  local q, problem = query.parse(ngx.req.get_uri_args())
  if not q then return http.api_error(400, "SCM.0005", problem) end

  local filter_key, keep = query.filter(q, settings.now_epoch)
  local list = store.view(filter_key, keep, query.order(q))
  local page = query.page(list, q.offset, q.limit)

  local items = {}
  for i, record in ipairs(page) do items[i] = record.json end
  return http.response(200,
    '{"certificates":' .. http.encode_array(items) .. ',"total_count":' .. #list .. "}",
    http.JSON)
end

-- The path as the client sent it, still percent-encoded: the request target
-- up to "?", without scheme and host if it came in absolute form.
local function raw_path()
  local target = ngx.var.request_uri:match("^[^?]*")
  local path = target:match("^%a[%w+.-]*://[^/]*(.*)$")
  if path then target = path end
  return target ~= "" and target or "/"
end

-- The request as auth.authenticate reads it.
function M.request()
  return {
    method = ngx.req.get_method(),
    path = raw_path(),
    query = ngx.var.args or "",
    headers = ngx.req.get_headers(0),
    body = http.request_body,
  }
end

-- The response this request gets when no fault intervenes.
function M.respond()
  -- Unknown paths are answered the way Huawei Cloud's API gateway answers
  -- them: before authentication, with its own error code.
  if ngx.var.uri ~= M.LIST_PATH then
    return http.api_error(404, "APIGW.0101",
      "The API does not exist or has not been published in the environment")
  end
  local method = ngx.req.get_method()
  if method ~= "GET" and method ~= "HEAD" then
    local resp = http.api_error(405, "SCM.0405",
      ("method %s is not allowed on %s"):format(method, M.LIST_PATH))
    resp.headers = { Allow = "GET, HEAD" }
    return resp
  end
  local denied = auth.authenticate(M.request(), settings.current, ngx.time(), true)
  if denied then return denied end
  return list_certificates()
end

-- Entry point for every request outside /_emulator/: IAM's
-- /v3/auth/domains, the metadata service's two paths, and the rest (SCM).
-- Faults hit the requests of their own service; latency only SCM's.
function M.serve()
  requestlog.record()
  local path = ngx.var.uri
  local service, respond = "scm", M.respond
  local which = metadata.match(path)
  if path == iam.PATH then
    service, respond = "iam", function() return iam.respond(M.request()) end
  elseif which then
    service, respond = "metadata", function() return metadata.respond(which, M.request()) end
  end
  -- The fault is taken as the request arrives, before the latency: a
  -- request still sleeping when the queue changes (its caller gone, the
  -- emulator reset) never takes a fault queued after it arrived.
  local fault = faults.take(service)
  local latency = settings.current.latency_ms
  if service == "scm" and latency > 0 then ngx.sleep(latency / 1000) end
  if fault then return faults.apply(fault, respond) end
  return http.send(respond())
end

return M
