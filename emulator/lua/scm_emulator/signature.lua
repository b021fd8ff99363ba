-- AK/SK request signatures, "SDK-HMAC-SHA256", as Huawei Cloud's API gateway
-- checks them. Pure functions of a request description, so they can be
-- tested outside nginx:
--
--   canonical request = METHOD \n URI \n QUERY \n HEADERS \n SIGNEDHEADERS \n hex(sha256(body))
--   string to sign    = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(canonical request))
--   signature         = hex(hmac_sha256(SK, string to sign))
--   Authorization: SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=hex

local sha256 = require "scm_emulator.sha256"
local timeutil = require "scm_emulator.timeutil"

local M = {}

M.ALGORITHM = "SDK-HMAC-SHA256"

-- Every byte but A-Za-z0-9 - _ . ~ as %XX, upper case.
function M.escape(s)
  return (s:gsub("[^%w%-_%.~]", function(c) return ("%%%02X"):format(c:byte()) end))
end

-- %XX sequences decoded; a "%" not followed by two hex digits stays as it is.
local function unescape(s)
  return (s:gsub("%%(%x%x)", function(hex) return string.char(tonumber(hex, 16)) end))
end

-- URI: the decoded path split at "/", each segment escaped, with a trailing
-- "/" added if missing ("/v3/scm/certificates" -> "/v3/scm/certificates/").
function M.canonical_uri(raw_path)
  local segments = {}
  for segment in (unescape(raw_path) .. "/"):gmatch("([^/]*)/") do
    segments[#segments + 1] = M.escape(segment)
  end
  local uri = table.concat(segments, "/")
  if uri:sub(-1) ~= "/" then uri = uri .. "/" end
  return uri
end

-- QUERY: the raw query string's pairs decoded ("+" is a space), sorted by
-- key then value, each re-escaped as key=value, joined by "&". A name without
-- "=" has the empty value; empty pieces ("a=1&&b=2") are skipped.
function M.canonical_query(raw_query)
  local pairs_ = {}
  for piece in (raw_query or ""):gmatch("[^&]+") do
    local key, value = piece:match("^([^=]*)=(.*)$")
    if not key then key, value = piece, "" end
    key = unescape((key:gsub("%+", " ")))
    value = unescape((value:gsub("%+", " ")))
    pairs_[#pairs_ + 1] = { key, value }
  end
  table.sort(pairs_, function(a, b)
    if a[1] ~= b[1] then return a[1] < b[1] end
    return a[2] < b[2]
  end)
  local out = {}
  for i, kv in ipairs(pairs_) do out[i] = M.escape(kv[1]) .. "=" .. M.escape(kv[2]) end
  return table.concat(out, "&")
end

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

-- The values of header `name` (lowercase) in `headers` (lowercase names,
-- a string or an array of strings per name), or nil.
local function values_of(headers, name)
  local value = headers[name]
  if value == nil then return nil end
  if type(value) ~= "table" then return { value } end
  return value
end

-- HEADERS: for each signed header in the given order, "name:value\n" with
-- the value trimmed; a repeated header gives one line per value, sorted.
-- Returns nil and the name of the first signed header the request lacks.
function M.canonical_headers(headers, signed)
  local lines = {}
  for _, name in ipairs(signed) do
    local values = values_of(headers, name)
    if not values then return nil, name end
    local trimmed = {}
    for i, v in ipairs(values) do trimmed[i] = trim(tostring(v)) end
    table.sort(trimmed)
    for _, v in ipairs(trimmed) do lines[#lines + 1] = name .. ":" .. v .. "\n" end
  end
  return table.concat(lines)
end

-- req: { method, path (raw, as sent), query (raw, without "?"), headers
-- (lowercase names), body (string) }; signed: lowercase header names.
-- Returns the canonical request, or nil and the missing header's name.
function M.canonical_request(req, signed)
  local headers, missing = M.canonical_headers(req.headers, signed)
  if not headers then return nil, missing end
  return table.concat({
    req.method,
    M.canonical_uri(req.path),
    M.canonical_query(req.query),
    headers,
    table.concat(signed, ";"),
    sha256.hex(req.body or ""),
  }, "\n")
end

function M.string_to_sign(canonical, sdk_date)
  return M.ALGORITHM .. "\n" .. sdk_date .. "\n" .. sha256.hex(canonical)
end

function M.sign(sk, canonical, sdk_date)
  return sha256.hmac_hex(sk, M.string_to_sign(canonical, sdk_date))
end

-- Parses "SDK-HMAC-SHA256 Access=AK, SignedHeaders=h1;h2, Signature=hex".
-- The three fields may come in any order, each once. Returns
-- { access, signed_headers = { lowercase names }, signature } or nil.
function M.parse_authorization(value)
  if type(value) ~= "string" then return nil end
  local rest = value:match("^SDK%-HMAC%-SHA256 +(.*)$")
  if not rest then return nil end
  local fields = {}
  for part in (rest .. ","):gmatch("([^,]*),") do
    local key, field = trim(part):match("^(%a+)=(.+)$")
    if not key or fields[key] then return nil end
    fields[key] = field
  end
  local access, list, signature = fields.Access, fields.SignedHeaders, fields.Signature
  local count = 0
  for _ in pairs(fields) do count = count + 1 end
  if count ~= 3 or not (access and list and signature) then return nil end
  local signed = {}
  for name in (list .. ";"):gmatch("([^;]*);") do
    if not name:match("^[%w%-_]+$") then return nil end
    signed[#signed + 1] = name:lower()
  end
  return { access = access, signed_headers = signed, signature = signature }
end

-- Epoch seconds for an X-Sdk-Date "YYYYMMDDTHHMMSSZ", or nil.
function M.parse_date(text)
  if type(text) ~= "string" then return nil end
  local y, mo, d, h, mi, s = text:match("^(%d%d%d%d)(%d%d)(%d%d)T(%d%d)(%d%d)(%d%d)Z$")
  if not y then return nil end
  return timeutil.parse(("%s-%s-%s %s:%s:%s"):format(y, mo, d, h, mi, s))
end

-- How far X-Sdk-Date may be from the server's clock, either way.
M.MAX_SKEW = 15 * 60

local function header(headers, name)
  local value = headers[name]
  if type(value) == "table" then value = value[1] end
  return value
end

local function contains(list, value)
  for _, v in ipairs(list) do
    if v == value then return true end
  end
  return false
end

-- Checks the signature of req (as for canonical_request, plus the
-- Authorization header among req.headers). keys maps each known AK to its
-- SK; now is the current time in epoch seconds. Returns true, or nil, a
-- short reason, and (when the signature itself is wrong) the canonical
-- request as computed here.
function M.verify(req, keys, now)
  local headers = req.headers
  local auth = M.parse_authorization(headers["authorization"])
  if not auth then return nil, "invalid authorization header" end

  local sdk_date = header(headers, "x-sdk-date")
  local date = M.parse_date(sdk_date)
  if not date then return nil, "x-sdk-date missing or not YYYYMMDDTHHMMSSZ" end
  if math.abs(date - now) > M.MAX_SKEW then return nil, "request expired" end

  local signed = auth.signed_headers
  if not contains(signed, "x-sdk-date") then return nil, "x-sdk-date not signed" end
  -- Temporary credentials and global services add these; unsigned, they
  -- could be swapped on a captured request.
  for _, name in ipairs({ "x-security-token", "x-domain-id" }) do
    if headers[name] ~= nil and not contains(signed, name) then
      return nil, name .. " not signed"
    end
  end

  local sk = keys[auth.access]
  if not sk then return nil, "ak not found" end

  local canonical, missing = M.canonical_request(req, signed)
  if not canonical then return nil, "signed header " .. missing .. " not found" end
  if M.sign(sk, canonical, sdk_date) ~= auth.signature then
    return nil, "verify aksk signature fail", canonical
  end
  return true
end

return M
