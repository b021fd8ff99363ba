-- The certificate data set and its cached orderings.
--
-- Each certificate is kept as a record: its JSON text (encoded once, with the
-- fields in the API's documented order), its sort keys, and its parsed expiry.
-- A page is then just a slice of pre-encoded texts. Sorted and filtered views
-- are cached per (filter, sort) combination and dropped whenever the data set
-- changes, so paging through 10,000 certificates costs one sort.

local http = require "scm_emulator.http"
local timeutil = require "scm_emulator.timeutil"

local M = {}

-- Field order of the API documentation; other fields follow, sorted by name.
local FIELD_ORDER = {
  "id", "name", "domain", "sans", "signature_algorithm", "deploy_support",
  "type", "brand", "expire_time", "domain_type", "validity_period", "status",
  "domain_count", "wildcard_count", "description", "enterprise_project_id",
}

local MAX_FILTERED_VIEWS = 64

local records = {}         -- in insertion order; record.pos is the index at insertion
local sorted_views = {}    -- "<key field>|<descending>" -> all records, ordered
local filtered_views = {}  -- "<filter>|<key field>|<descending>" -> matching records, ordered
local filtered_count = 0

-- A sort key must have one Lua type per field, whatever a replaced data set
-- holds: strings compare as strings, anything else (null, absent) as "".
local function text_key(value)
  return type(value) == "string" and value or ""
end

local function make_record(cert, updated, pos)
  return {
    cert = cert,
    json = http.encode_object(cert, FIELD_ORDER),
    pos = pos,
    id = text_key(cert.id),
    expire = timeutil.parse(cert.expire_time), -- nil when absent or unreadable
    updated = updated,
    expire_key = text_key(cert.expire_time),
    status_key = text_key(cert.status),
  }
end

local function changed()
  sorted_views, filtered_views, filtered_count = {}, {}, 0
end

-- entries: list of { cert = table, updated = number }.
function M.replace(entries)
  records = {}
  for i, entry in ipairs(entries) do
    records[i] = make_record(entry.cert, entry.updated, i)
  end
  changed()
end

function M.count()
  return #records
end

-- Total order: the key, then id ascending, then insertion position (which
-- only matters when a replaced data set repeats an id).
local function comparator(key_field, descending)
  return function(a, b)
    local ka, kb = a[key_field], b[key_field]
    if ka ~= kb then
      if descending then return ka > kb end
      return ka < kb
    end
    if a.id ~= b.id then return a.id < b.id end
    return a.pos < b.pos
  end
end

local function sorted(key_field, descending)
  local key = key_field .. "|" .. tostring(descending)
  local list = sorted_views[key]
  if not list then
    list = {}
    for i = 1, #records do list[i] = records[i] end
    table.sort(list, comparator(key_field, descending))
    sorted_views[key] = list
  end
  return list
end

-- The records that pass `keep` (nil: all), ordered by key_field
-- ("expire_key", "status_key" or "updated"). filter_key names the filter for
-- the cache. The returned list is shared: do not modify it.
function M.view(filter_key, keep, key_field, descending)
  local base = sorted(key_field, descending)
  if not keep then return base end
  local key = filter_key .. "|" .. key_field .. "|" .. tostring(descending)
  local list = filtered_views[key]
  if not list then
    -- Bounded: a client trying many filter combinations must not grow memory.
    if filtered_count >= MAX_FILTERED_VIEWS then filtered_views, filtered_count = {}, 0 end
    list = {}
    for i = 1, #base do
      if keep(base[i]) then list[#list + 1] = base[i] end
    end
    filtered_views[key] = list
    filtered_count = filtered_count + 1
  end
  return list
end

-- The default order of the API (sort_key=certUpdateTime, sort_dir=DESC).
function M.default_order()
  return sorted("updated", true)
end

-- Removes the records for which remove(record) is true; returns how many.
function M.remove_if(remove)
  local kept = {}
  for _, record in ipairs(records) do
    if not remove(record) then kept[#kept + 1] = record end
  end
  local removed = #records - #kept
  records = kept
  if removed > 0 then changed() end
  return removed
end

-- Certificates given by a client, served as given. The internal update time
-- falls with the position, so the default order is the order given.
function M.replace_with_certificates(certs)
  local entries = {}
  for i, cert in ipairs(certs) do
    entries[i] = { cert = cert, updated = #certs - i }
  end
  M.replace(entries)
end

-- JSON texts of all certificates, in the default order.
function M.all_json()
  local list, out = M.default_order(), {}
  for i = 1, #list do out[i] = list[i].json end
  return out
end

return M
