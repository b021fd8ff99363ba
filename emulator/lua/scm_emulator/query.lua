-- Query parameters of GET /v3/scm/certificates: their rules (as data),
-- the filter they describe, the sort order, and the paging rule.

local timeutil = require "scm_emulator.timeutil"

local M = {}

local STATUSES = {
  "ALL", "PAID", "ISSUED", "CHECKING", "CANCELCHECKING", "UNPASSED", "EXPIRED",
  "REVOKING", "REVOKED", "UPLOAD", "CHECKING_ORG", "ISSUING", "SUPPLEMENTCHECKING",
}

-- sort_key value -> record field holding that key (see store.lua).
local SORT_FIELDS = {
  certExpiredTime = "expire_key",
  certStatus = "status_key",
  certUpdateTime = "updated",
}

-- One entry per parameter. kinds: integer (decimal digits only, within
-- min..max), enum (one of values), boolean ("true" or "false"), string
-- (any non-empty text). Parameters not listed here are ignored.
local PARAMETERS = {
  { name = "limit", kind = "integer", min = 10, max = 50, default = 10 },
  { name = "offset", kind = "integer", min = 0, max = 1e15, default = 0 },
  { name = "sort_dir", kind = "enum", values = { "ASC", "DESC" }, default = "DESC" },
  { name = "sort_key", kind = "enum", values = { "certExpiredTime", "certStatus", "certUpdateTime" },
    default = "certUpdateTime" },
  { name = "status", kind = "enum", values = STATUSES, default = "ALL" },
  { name = "enterprise_project_id", kind = "string" },
  { name = "deploy_support", kind = "boolean" },
  { name = "owned_by_self", kind = "boolean" }, -- accepted; every certificate is the caller's own
  { name = "expired_days_since", kind = "integer", min = 0, max = 1095 },
  -- keyword: kept when name or domain contains it, case-insensitively
  { name = "content", kind = "string" },
}

local function shown(text)
  if #text > 64 then text = text:sub(1, 64) .. "..." end
  return ("'%s'"):format(text)
end

local PARSERS = {
  integer = function(p, text)
    -- Up to 16 digits keeps the value exact in a double.
    local n = text:match("^%d+$") and #text <= 16 and tonumber(text)
    if not n or n < p.min or n > p.max then
      return nil, ("%s must be an integer between %d and %d, got %s"):format(p.name, p.min, p.max, shown(text))
    end
    return n
  end,
  enum = function(p, text)
    for _, v in ipairs(p.values) do
      if v == text then return text end
    end
    return nil, ("%s must be one of %s, got %s"):format(p.name, table.concat(p.values, ", "), shown(text))
  end,
  boolean = function(p, text)
    if text == "true" then return true end
    if text == "false" then return false end
    return nil, ("%s must be true or false, got %s"):format(p.name, shown(text))
  end,
  string = function(p, text)
    if text == "" then return nil, p.name .. " must not be empty" end
    return text
  end,
}

-- args: as from ngx.req.get_uri_args(). Returns the parsed query (every
-- parameter, defaults filled in; absent optional ones nil) or nil and a
-- message naming the parameter and the rule.
function M.parse(args)
  local q = {}
  for _, p in ipairs(PARAMETERS) do
    local raw = args[p.name]
    if type(raw) == "table" then raw = raw[1] end -- repeated: the first counts
    if raw == true then raw = "" end              -- "?limit" without a value
    if raw == nil then
      q[p.name] = p.default
    else
      local value, err = PARSERS[p.kind](p, raw)
      if value == nil then return nil, err end
      q[p.name] = value
    end
  end
  return q
end

-- The filter of q as (cache key, predicate on records), or nil when q keeps
-- every certificate. now: the data set's base time, epoch seconds.
function M.filter(q, now)
  local status = q.status ~= "ALL" and q.status or nil
  local project = q.enterprise_project_id ~= "all" and q.enterprise_project_id or nil
  local deploy = q.deploy_support
  local oldest_expiry = q.expired_days_since and now - q.expired_days_since * timeutil.DAY
  local keyword = q.content and q.content:lower()
  if not (status or project or deploy ~= nil or oldest_expiry or keyword) then return nil end

  local key = table.concat({
    tostring(status), tostring(project), tostring(deploy), tostring(oldest_expiry), tostring(keyword),
  }, "|")
  return key, function(record)
    local cert = record.cert
    if status and cert.status ~= status then return false end
    if project and cert.enterprise_project_id ~= project then return false end
    if deploy ~= nil and cert.deploy_support ~= deploy then return false end
    -- Kept: not expired, or expired at most expired_days_since days ago.
    -- A certificate without a readable expire_time is kept.
    if oldest_expiry and record.expire and record.expire < oldest_expiry then return false end
    if keyword then
      local name = type(cert.name) == "string" and cert.name:lower() or ""
      local domain = type(cert.domain) == "string" and cert.domain:lower() or ""
      if not (name:find(keyword, 1, true) or domain:find(keyword, 1, true)) then return false end
    end
    return true
  end
end

-- Record field to sort by, and whether descending.
function M.order(q)
  return SORT_FIELDS[q.sort_key], q.sort_dir == "DESC"
end

-- The paging rule: offset is the number of records to skip (0-based), so a
-- page holds records offset+1 .. offset+limit of the ordered list, and the
-- next page starts at offset + limit.
function M.page(list, offset, limit)
  local page = {}
  for i = offset + 1, math.min(offset + limit, #list) do
    page[#page + 1] = list[i]
  end
  return page
end

return M
