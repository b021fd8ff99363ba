-- The control API under /_emulator/: JSON in, JSON out, no authentication.
-- Lets tests inspect the requests the emulator received, queue faults, and
-- shape the data set.

local cjson = require "cjson.safe"
local dataset = require "scm_emulator.dataset"
local faults = require "scm_emulator.faults"
local http = require "scm_emulator.http"
local requestlog = require "scm_emulator.requestlog"
local settings = require "scm_emulator.settings"
local store = require "scm_emulator.store"

local M = {}

-- Builds the data set from the current settings.
function M.regenerate()
  local s = settings.current
  store.replace(dataset.generate(s.certs, s.seed, settings.now_epoch))
end

---------------------------------------------------------------------------
-- Request bodies

local function is_array(t)
  local n = 0
  for _ in pairs(t) do n = n + 1 end
  return n == #t
end

-- The decoded JSON body; `optional` allows an empty body (returns {}).
-- On failure returns nil and the error response.
local function json_body(optional)
  local text = http.request_body()
  if text:match("^%s*$") then
    if optional then return {} end
    return nil, http.control_error(400, "a JSON request body is required")
  end
  local value, err = cjson.decode(text)
  if value == nil then
    return nil, http.control_error(400, "request body is not valid JSON: " .. tostring(err))
  end
  return value
end

local function json_array_body(what)
  local value, failure = json_body(false)
  if value == nil then return nil, failure end
  if type(value) ~= "table" or not is_array(value) then
    return nil, http.control_error(400, "request body must be a JSON array of " .. what)
  end
  return value
end

local function json_object_body(optional)
  local value, failure = json_body(optional)
  if value == nil then return nil, failure end
  if type(value) ~= "table" or (next(value) ~= nil and is_array(value)) then
    return nil, http.control_error(400, "request body must be a JSON object")
  end
  return value
end

---------------------------------------------------------------------------
-- Handlers: each returns a response.

local function get_log()
  return http.response(200, requestlog.json(), http.JSON)
end

local function clear_log()
  return http.json(200, { cleared = requestlog.clear() })
end

local function get_faults()
  return http.response(200, http.encode_array(faults.json_items()), http.JSON)
end

local function queue_faults()
  local specs, failure = json_array_body("fault objects")
  if not specs then return failure end
  local queued, problem = faults.enqueue(specs)
  if not queued then return http.control_error(400, problem) end
  return http.json(200, { queued = queued })
end

local function clear_faults()
  return http.json(200, { cleared = faults.clear() })
end

local function delete_certificates()
  local body, failure = json_object_body(false)
  if not body then return failure end
  local ids, count = body.ids, body.count
  if (ids == nil) == (count == nil) then
    return http.control_error(400, 'give either "ids" (an array of ids) or "count" (an integer)')
  end
  local doomed = {}
  if ids ~= nil then
    if type(ids) ~= "table" or not is_array(ids) then
      return http.control_error(400, "ids must be an array of strings")
    end
    for _, id in ipairs(ids) do
      if type(id) ~= "string" then return http.control_error(400, "ids must be an array of strings") end
      doomed[id] = true
    end
  else
    if type(count) ~= "number" or count ~= math.floor(count) or count < 0 then
      return http.control_error(400, "count must be an integer >= 0")
    end
    -- The first `count` certificates of the API's default order.
    local ordered = store.default_order()
    for i = 1, math.min(count, #ordered) do doomed[ordered[i].id] = true end
  end
  local deleted = store.remove_if(function(record) return doomed[record.id] == true end)
  return http.json(200, { deleted = deleted, total = store.count() })
end

local function get_certificates()
  return http.response(200, http.encode_array(store.all_json()), http.JSON)
end

local function put_certificates()
  local certs, failure = json_array_body("certificate objects")
  if not certs then return failure end
  for i, cert in ipairs(certs) do
    if type(cert) ~= "table" or (next(cert) ~= nil and is_array(cert)) then
      return http.control_error(400, ("certificate %d must be a JSON object"):format(i))
    end
  end
  store.replace_with_certificates(certs)
  return http.json(200, { total = store.count() })
end

local function reset()
  local overrides, failure = json_object_body(true)
  if not overrides then return failure end
  local merged, problem = settings.merge(settings.startup, overrides)
  if not merged then return http.control_error(400, problem) end
  settings.apply(merged)
  M.regenerate()
  requestlog.clear()
  faults.clear()
  return http.json(200, { total = store.count() })
end

local CONFIG_FIELDS = {
  "certs", "seed", "token", "ak", "sk", "latency_ms", "domain_id", "require_domain_id",
  "metadata_agency", "metadata_token_required", "metadata_expires_in", "now", "now_is_today", "total",
  "faults_queued", "log_entries",
}

local function get_config()
  local config = settings.describe()
  config.total = store.count()
  config.faults_queued = faults.count()
  config.log_entries = requestlog.count()
  return http.response(200, http.encode_object(config, CONFIG_FIELDS), http.JSON)
end

local ROUTES = {
  ["/_emulator/log"] = { GET = get_log, DELETE = clear_log },
  ["/_emulator/faults"] = { GET = get_faults, POST = queue_faults, DELETE = clear_faults },
  ["/_emulator/delete"] = { POST = delete_certificates },
  ["/_emulator/certificates"] = { GET = get_certificates, PUT = put_certificates },
  ["/_emulator/reset"] = { POST = reset },
  ["/_emulator/config"] = { GET = get_config },
}

function M.serve()
  local path = ngx.var.uri
  local methods = ROUTES[path]
  if not methods then
    return http.send(http.control_error(404, "no control endpoint " .. path))
  end
  local handler = methods[ngx.req.get_method()]
  if not handler then
    local allowed = {}
    for method in pairs(methods) do allowed[#allowed + 1] = method end
    table.sort(allowed)
    local resp = http.control_error(405, ("%s does not support %s (allowed: %s)")
      :format(path, ngx.req.get_method(), table.concat(allowed, ", ")))
    resp.headers = { Allow = table.concat(allowed, ", ") }
    return http.send(resp)
  end
  return http.send(handler())
end

return M
