-- Queued faults: misbehaviour for the next API requests, one fault per
-- request in queue order (a fault with "count": n covers the next n).

local http = require "scm_emulator.http"

local M = {}

-- { spec = <fault object>, remaining = <requests left> }; a fault hits
-- only requests to its "service" (default "scm": everything but IAM and
-- the metadata service).
local queue = {}

---------------------------------------------------------------------------
-- Validation. Each fault type lists its optional fields and their kinds.

local function is_integer(v)
  return type(v) == "number" and v == math.floor(v) and v > -math.huge and v < math.huge
end

local function has_control_chars(s)
  return s:find("[%z\1-\31\127]") ~= nil
end

local KINDS = {
  count = function(v)
    if not (is_integer(v) and v >= 1) then return "must be an integer >= 1" end
  end,
  http_status = function(v)
    if not (is_integer(v) and v >= 200 and v <= 599) then return "must be an integer between 200 and 599" end
  end,
  redirect_status = function(v)
    if not (v == 301 or v == 302 or v == 303 or v == 307 or v == 308) then
      return "must be 301, 302, 303, 307 or 308"
    end
  end,
  milliseconds = function(v)
    if not (is_integer(v) and v >= 0 and v <= 3600000) then return "must be an integer between 0 and 3600000" end
  end,
  bytes = function(v)
    if not (is_integer(v) and v >= 0 and v <= 2 ^ 53) then return "must be an integer >= 0" end
  end,
  rate = function(v)
    if not (type(v) == "number" and v > 0 and v <= 1e9) then return "must be a number > 0" end
  end,
  boolean = function(v)
    if type(v) ~= "boolean" then return "must be true or false" end
  end,
  text = function(v)
    if type(v) ~= "string" then return "must be a string" end
  end,
  service = function(v)
    if v ~= "scm" and v ~= "iam" and v ~= "metadata" then return 'must be "scm", "iam" or "metadata"' end
  end,
  header_value = function(v)
    if type(v) ~= "string" or has_control_chars(v) then return "must be a string without control characters" end
  end,
  -- sent as is on the raw connection: anything but CR and LF
  raw_value = function(v)
    if type(v) ~= "string" or v:find("[\r\n]") then return "must be a string without CR or LF" end
  end,
  headers = function(v)
    if type(v) ~= "table" then return "must be an object of header names to values" end
    for name, value in pairs(v) do
      if type(name) ~= "string" or not name:match("^[%w!#$%%&'*+.^_`|~-]+$") then
        return "has an invalid header name " .. tostring(name)
      end
      if type(value) == "number" then value = tostring(value) end
      if type(value) ~= "string" or has_control_chars(value) then
        return "has an invalid value for " .. name
      end
    end
  end,
}

local TYPES = {
  status = { status = "http_status", body = "text", content_type = "header_value", headers = "headers" },
  reset = {},
  truncate = {},
  invalid_json = { status = "http_status", body = "text" },
  wrong_shape = { status = "http_status", body = "text" },
  delay = { ms = "milliseconds" },
  huge = { bytes = "bytes", chunked = "boolean" },
  redirect = { status = "redirect_status", location = "header_value" },
  drip = { bytes_per_second = "rate" },
  pass = { total_count = "bytes" },
  repeat_page = { total_count = "bytes" },
  rising = {},
  echo = { status = "http_status", bytes = "bytes", request_id = "raw_value" },
  raw = { head = "text", body = "text", bytes_per_second = "rate" },
  trailer_drip = { interval_ms = "milliseconds" },
  huge_header = { bytes = "bytes", bytes_per_second = "rate" },
}
local REQUIRED = { delay = "ms", huge = "bytes", raw = "head", huge_header = "bytes" }

local function check(spec, index)
  local where = ("fault %d"):format(index)
  if type(spec) ~= "table" then return where .. " must be an object" end
  local fields = TYPES[spec.type]
  if not fields then
    local names = {}
    for name in pairs(TYPES) do names[#names + 1] = name end
    table.sort(names)
    return ("%s: type must be one of %s"):format(where, table.concat(names, ", "))
  end
  if REQUIRED[spec.type] and spec[REQUIRED[spec.type]] == nil then
    return ("%s: %s needs %q"):format(where, spec.type, REQUIRED[spec.type])
  end
  for name, value in pairs(spec) do
    if name ~= "type" then
      local kind = (name == "count" or name == "service") and name or fields[name]
      if not kind then
        return ("%s: unknown field %q for type %s"):format(where, tostring(name), spec.type)
      end
      local problem = KINDS[kind](value)
      if problem then return ("%s: %s %s"):format(where, name, problem) end
    end
  end
end

---------------------------------------------------------------------------
-- The queue.

-- specs: decoded JSON array. Queues all of them, or none and returns nil and
-- a message.
function M.enqueue(specs)
  for i, spec in ipairs(specs) do
    local problem = check(spec, i)
    if problem then return nil, problem end
  end
  for _, spec in ipairs(specs) do
    queue[#queue + 1] = { spec = spec, remaining = spec.count or 1 }
  end
  return #specs
end

-- The fault for the current request to `service`, or nil: the first
-- queued for that service.
function M.take(service)
  for i, entry in ipairs(queue) do
    if (entry.spec.service or "scm") == service then
      entry.remaining = entry.remaining - 1
      if entry.remaining == 0 then table.remove(queue, i) end
      return entry.spec
    end
  end
  return nil
end

function M.clear()
  local n = #queue
  queue = {}
  return n
end

function M.count()
  return #queue
end

-- The queue as JSON texts: each fault object with "remaining" added.
function M.json_items()
  local items = {}
  for i, entry in ipairs(queue) do
    local shown = { remaining = entry.remaining }
    for k, v in pairs(entry.spec) do shown[k] = v end
    items[i] = http.encode_object(shown, { "type", "count", "remaining" })
  end
  return items
end

---------------------------------------------------------------------------
-- Applying a fault. respond() builds the response the request would
-- normally get; faults that distort a real answer call it.

-- For "huge": a valid one-certificate page whose description is padded out.
local HUGE_HEAD = '{"certificates":[{"id":"scs0000000000000","name":"huge-response",'
  .. '"domain":"huge.example.com","sans":null,"signature_algorithm":"SHA256WITHRSA",'
  .. '"deploy_support":false,"type":"DV_SSL_CERT","brand":"GLOBALSIGN",'
  .. '"expire_time":"2099-12-31 23:59:59.0","domain_type":"SINGLE_DOMAIN",'
  .. '"validity_period":12,"status":"ISSUED","domain_count":1,"wildcard_count":0,'
  .. '"enterprise_project_id":"0","description":"'
local HUGE_TAIL = '"}],"total_count":1}'

local APPLY = {}

function APPLY.status(f)
  return http.send(http.response(f.status or 500, f.body or "", f.content_type or "text/html", f.headers))
end

function APPLY.reset()
  -- 444: nginx closes the connection without sending anything.
  return ngx.exit(444)
end

function APPLY.truncate(_, respond)
  local resp = respond()
  return http.send_raw(resp, math.floor(#resp.body / 2))
end

function APPLY.invalid_json(f)
  return http.send(http.response(f.status or 200, f.body or '{"certificates":[{"id":', http.JSON))
end

function APPLY.wrong_shape(f)
  return http.send(http.response(f.status or 200, f.body or '{"certificates":"nope","total_count":"x"}', http.JSON))
end

function APPLY.delay(f, respond)
  ngx.sleep(f.ms / 1000)
  return http.send(respond())
end

function APPLY.huge(f)
  return http.stream(http.JSON, f.bytes, f.chunked, HUGE_HEAD, "x", HUGE_TAIL)
end

function APPLY.redirect(f)
  local location = f.location
    or ("%s://%s:%s/_redirected"):format(ngx.var.scheme, ngx.var.server_addr, ngx.var.server_port)
  return http.send(http.response(f.status or 302, "", "text/html", { Location = location }))
end

function APPLY.drip(f, respond)
  local resp = respond()
  return http.send_raw(resp, #resp.body, f.bytes_per_second or 1)
end

-- A page's body claiming total_count n instead of its own.
local function with_total(body, n)
  return (body:gsub('"total_count":%d+}$', ('"total_count":%d}'):format(n)))
end

-- The normal answer: a placeholder that lets a later fault in the queue
-- hit a later request; with total_count, a page that claims that total.
function APPLY.pass(f, respond)
  local resp = respond()
  if f.total_count and resp.status == 200 then resp.body = with_total(resp.body, f.total_count) end
  return http.send(resp)
end

-- The first answer, remembered and given again for every later request
-- the fault covers (whatever offset they ask for), claiming total_count.
function APPLY.repeat_page(f, respond)
  if not f.first_body then
    local resp = respond()
    if resp.status ~= 200 then return http.send(resp) end
    f.first_body = with_total(resp.body, f.total_count or 2 ^ 53)
  end
  return http.send(http.response(200, f.first_body, http.JSON))
end

-- A full page of ids never given before, and a total_count always a page
-- or two beyond the offset asked for: a listing that never ends by itself.
local rising_serial = 0
function APPLY.rising(_, respond)
  local resp = respond()
  if resp.status ~= 200 then return http.send(resp) end
  local args = ngx.req.get_uri_args()
  local offset = tonumber(args.offset) or 0
  local limit = tonumber(args.limit) or 10
  local items = {}
  for i = 1, limit do
    rising_serial = rising_serial + 1
    items[i] = ('{"id":"rising%010d","domain":"rising.example.com","status":"ISSUED"}')
      :format(rising_serial)
  end
  return http.send(http.response(200, '{"certificates":' .. http.encode_array(items)
    .. ',"total_count":' .. ("%d"):format(offset + 2 * limit) .. "}", http.JSON))
end

-- Echoes the request's credential (X-Auth-Token, or the Authorization
-- header) back in the reason phrase, X-Request-Id and Location, as a
-- careless gateway might: only its first `bytes` bytes when given. With
-- request_id, that exact X-Request-Id instead (control bytes included).
function APPLY.echo(f, respond)
  local h = ngx.req.get_headers()
  local secret = h["x-auth-token"] or h["authorization"] or ""
  if type(secret) == "table" then secret = secret[1] end
  if f.bytes then secret = secret:sub(1, f.bytes) end
  local status = f.status or 502
  local body, ctype = "", "text/plain"
  if status == 200 then
    local resp = respond()
    body, ctype = resp.body, resp.content_type
  end
  return http.send_bytes(table.concat({
    ("HTTP/1.1 %d Echo %s"):format(status, secret),
    "Content-Type: " .. ctype,
    "Content-Length: " .. #body,
    "X-Request-Id: " .. (f.request_id or secret),
    "Location: https://elsewhere.example/" .. secret,
    "Connection: close",
    "", "" }, "\r\n"), body)
end

-- Exactly these bytes: `head` (status line and header lines, CRLF
-- between them; the empty line is added), then `body`, dripped at
-- bytes_per_second when given; then the connection is closed.
function APPLY.raw(f)
  return http.send_bytes(f.head .. "\r\n\r\n", f.body or "", f.bytes_per_second)
end

-- The normal page in chunked coding, its last chunk, then one trailer
-- line every interval_ms (default 500), never the empty line that ends them.
function APPLY.trailer_drip(f, respond)
  local resp = respond()
  local head = ("HTTP/1.1 %d OK\r\nContent-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n")
    :format(resp.status, resp.content_type)
  local body = ("%x\r\n%s\r\n0\r\n"):format(#resp.body, resp.body)
  return http.send_bytes(head .. body, nil, nil, function(i)
    ngx.sleep((f.interval_ms or 500) / 1000)
    return ("X-Trailer-%d: %d\r\n"):format(i, i)
  end)
end

-- A 200 whose first header line never ends: "X-Huge: " and `bytes` of "a",
-- sent as fast as the client reads (or at bytes_per_second).
function APPLY.huge_header(f)
  local left, piece = f.bytes, ("a"):rep(65536)
  return http.send_bytes("HTTP/1.1 200 OK\r\nX-Huge: ", nil, nil, function()
    if left <= 0 then
      if f.bytes_per_second then ngx.sleep(1) return "" end
      return nil
    end
    local n = math.min(left, f.bytes_per_second and math.max(1, math.floor(f.bytes_per_second / 10)) or 65536)
    left = left - n
    if f.bytes_per_second then ngx.sleep(0.1) end
    return piece:sub(1, n)
  end)
end

function M.apply(spec, respond)
  return APPLY[spec.type](spec, respond)
end

return M
