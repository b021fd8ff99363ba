-- scm.metrics: certificates in the Prometheus text exposition format
-- (version 0.0.4), for node_exporter's textfile collector and for an
-- nginx /metrics location.
--
--   local text = require("scm.metrics").render(certs, {
--     success = true, duration = 0.42, timestamp = os.time() })
--
-- certs: the certificates of a listing (scm.all, scm.resty), or nil when
-- it failed. info: success (boolean), duration (seconds the listing took),
-- timestamp (epoch seconds it ended), and optionally utc_offset (how to
-- read an expire_time without a zone, as scm.expiry takes it).
--
-- Pure Lua apart from scm.expiry; no I/O, so it runs in a request handler.
-- Expiry is exported as an absolute timestamp, as ssl_exporter and
-- x509-certificate-exporter do: days left are left to PromQL
-- (`scm_certificate_expiry_timestamp_seconds - time()`).
local scm = require("scm")

local M = {}

-- Invalid UTF-8 in a label value would make the whole exposition
-- unreadable: each byte of a broken sequence becomes U+FFFD.
local function utf8_clean(s)
  if not s:find("[\128-\255]") then return s end
  local out, i, n = {}, 1, #s
  while i <= n do
    local c = s:byte(i)
    local len
    if c < 0x80 then len = 1
    elseif c >= 0xC2 and c <= 0xDF then len = 2
    elseif c >= 0xE0 and c <= 0xEF then len = 3
    elseif c >= 0xF0 and c <= 0xF4 then len = 4
    end
    local ok = len ~= nil and i + len - 1 <= n
    if ok and len > 1 then
      for k = i + 1, i + len - 1 do
        local b = s:byte(k)
        if b < 0x80 or b > 0xBF then ok = false break end
      end
      local b2 = s:byte(i + 1)
      -- overlong forms, UTF-16 surrogates, beyond U+10FFFF
      if ok and ((c == 0xE0 and b2 < 0xA0) or (c == 0xED and b2 > 0x9F)
        or (c == 0xF0 and b2 < 0x90) or (c == 0xF4 and b2 > 0x8F)) then
        ok = false
      end
    end
    if ok then
      out[#out + 1] = s:sub(i, i + len - 1)
      i = i + len
    else
      out[#out + 1] = "\239\191\189"
      i = i + 1
    end
  end
  return table.concat(out)
end

local ESCAPES = { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }

-- A label value: strings as they are, numbers and booleans written out,
-- anything else (absent, JSON null, tables) empty; escaped per the format.
local function label_value(v)
  local t = type(v)
  if t == "number" then
    v = v == math.floor(v) and math.abs(v) < 2 ^ 53 and ("%d"):format(v) or ("%.17g"):format(v)
  elseif t == "boolean" then
    v = tostring(v)
  elseif t ~= "string" then
    v = ""
  end
  return (utf8_clean(v):gsub('[\\"\n]', ESCAPES))
end

-- A sample value.
local function number(v)
  if v ~= v then return "NaN" end
  if v == math.huge then return "+Inf" end
  if v == -math.huge then return "-Inf" end
  if v == math.floor(v) and math.abs(v) < 2 ^ 53 then return ("%d"):format(v) end
  return ("%.17g"):format(v)
end

local function labels(names, cert)
  local parts = {}
  for i, name in ipairs(names) do
    parts[i] = name .. '="' .. label_value(cert[name]) .. '"'
  end
  return "{" .. table.concat(parts, ",") .. "}"
end

local function family(out, name, help, kind)
  out[#out + 1] = "# HELP " .. name .. " " .. help
  out[#out + 1] = "# TYPE " .. name .. " " .. (kind or "gauge")
end

local CERT_LABELS = { "id", "domain", "name", "status", "type" }
local INFO_LABELS = { "id", "domain", "name", "status", "type", "brand", "domain_type",
  "signature_algorithm", "expire_time", "enterprise_project_id", "deploy_support" }

-- One sample per certificate id (a repeated id would be a duplicate
-- series), in id order so that the text only changes with the data.
local function unique_sorted(certs)
  local seen, list = {}, {}
  for _, cert in ipairs(certs) do
    if type(cert) == "table" and cert.id ~= nil then
      local key = label_value(cert.id)
      if not seen[key] then
        seen[key] = true
        list[#list + 1] = { key = key, cert = cert }
      end
    end
  end
  table.sort(list, function(a, b) return a.key < b.key end)
  return list
end

function M.render(certs, info)
  if certs ~= nil and type(certs) ~= "table" then
    error("bad argument #1 to 'render' (certificates must be a table or nil)", 2)
  end
  if type(info) ~= "table" then
    error("bad argument #2 to 'render' (info must be a table { success, duration, timestamp })", 2)
  end
  for _, k in ipairs({ "duration", "timestamp" }) do
    if info[k] ~= nil and type(info[k]) ~= "number" then
      error(("bad argument #2 to 'render' (info.%s must be a number of seconds)"):format(k), 2)
    end
  end
  local out = {}
  if certs then
    local list = unique_sorted(certs)
    local readable, unreadable, by_status = {}, {}, {}
    for _, entry in ipairs(list) do
      local epoch = scm.expiry(entry.cert, info.utc_offset, info.timestamp)
      if epoch then
        readable[#readable + 1] = { cert = entry.cert, epoch = epoch }
      else
        unreadable[#unreadable + 1] = entry.cert
      end
      local status = label_value(entry.cert.status)
      by_status[status] = (by_status[status] or 0) + 1
    end

    family(out, "scm_certificate_expiry_timestamp_seconds",
      "When the certificate expires (its expire_time), in seconds since the epoch.")
    for _, r in ipairs(readable) do
      out[#out + 1] = "scm_certificate_expiry_timestamp_seconds" .. labels(CERT_LABELS, r.cert)
        .. " " .. number(r.epoch)
    end
    family(out, "scm_certificate_expiry_unreadable",
      "1 for a certificate whose expire_time cannot be read as a date.")
    for _, cert in ipairs(unreadable) do
      out[#out + 1] = "scm_certificate_expiry_unreadable" .. labels(CERT_LABELS, cert) .. " 1"
    end
    family(out, "scm_certificate_info", "Details of each certificate; always 1.")
    for _, entry in ipairs(list) do
      out[#out + 1] = "scm_certificate_info" .. labels(INFO_LABELS, entry.cert) .. " 1"
    end
    family(out, "scm_certificates", "Certificates listed, by status.")
    local statuses = {}
    for status in pairs(by_status) do statuses[#statuses + 1] = status end
    table.sort(statuses)
    for _, status in ipairs(statuses) do
      out[#out + 1] = ('scm_certificates{status="%s"} %d'):format(status, by_status[status])
    end
  end
  family(out, "scm_list_success", "1 when the last listing of certificates succeeded, 0 when it failed.")
  out[#out + 1] = "scm_list_success " .. (info.success and "1" or "0")
  if info.duration then
    family(out, "scm_list_duration_seconds", "How long the last listing took.")
    out[#out + 1] = "scm_list_duration_seconds " .. number(info.duration)
  end
  if info.timestamp then
    family(out, "scm_list_timestamp_seconds", "When the last listing ended, in seconds since the epoch.")
    out[#out + 1] = "scm_list_timestamp_seconds " .. number(info.timestamp)
  end
  out[#out + 1] = ""
  return table.concat(out, "\n")
end

return M
