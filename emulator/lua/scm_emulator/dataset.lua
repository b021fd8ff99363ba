-- Generates the certificate data set from (count, seed, base time).
--
-- The same inputs always give the same certificates, and a larger count only
-- appends certificates: the first k of N are the k of a data set of size k.
-- Each certificate is a table of API fields (JSON null as cjson.null) plus
-- the internal update time used by sort_key=certUpdateTime.

local cjson = require "cjson"
local prng = require "scm_emulator.prng"
local timeutil = require "scm_emulator.timeutil"

local null = cjson.null
local weights = prng.weights
local DAY = timeutil.DAY

local M = {}

-- Enterprise project ids used by the data set ("0" is the default project).
M.ENTERPRISE_PROJECTS = {
  "0d4d8b2e-7f43-4a1c-9c1e-5b6a3f2e8d10",
  "6f1e9a3c-2b7d-4e58-a0c4-93d2e1f7b6a5",
  "b3c8e2d1-5a6f-4c79-8e0b-1d2f3a4b5c6e",
}

local BASE_DOMAINS = {
  "example-shop.com", "acme-corp.net", "contoso.cn", "northwind-traders.com",
  "fabrikam.io", "globex.com.cn", "initech.org", "umbrella-health.co.uk",
  "hooli.xyz", "wayne-logistics.de", "stark-energy.com", "tyrell-labs.ai",
  "cyberdyne.cloud", "soylent-foods.com", "gringotts-bank.com.cn",
}
local HOSTS = {
  "www", "api", "shop", "mail", "portal", "cdn", "img", "m", "admin", "pay",
  "auth", "login", "static", "blog", "docs", "vpn", "git", "status", "app",
  "gateway", "console", "open", "sso", "upload", "search",
}
local ZONES = { "eu", "us", "ap", "cn-north", "staging", "test", "internal" }
local ENVIRONMENTS = { "prod", "staging", "test", "dev", "lb", "waf", "cdn" }
local DESCRIPTIONS = {
  "Production certificate for %s",
  "Renewed from the SCM console",
  "Managed by the platform team",
  "Bound to the ELB HTTPS listener of %s",
  'Owner: "web" team, ticket OPS-%d',
  "生产环境证书 %s",
  "Legacy certificate, keep until the migration is done",
  "Uploaded for the WAF domain %s",
}

local DOMAIN_TYPES = weights { { "SINGLE_DOMAIN", 60 }, { "MULTI_DOMAIN", 25 }, { "WILDCARD", 15 } }
local CERT_TYPES = weights {
  { "DV_SSL_CERT", 35 }, { "DV_SSL_CERT_BASIC", 15 }, { "OV_SSL_CERT", 25 },
  { "OV_SSL_CERT_PRO", 10 }, { "EV_SSL_CERT", 10 }, { "EV_SSL_CERT_PRO", 5 },
}
local BRANDS = weights { { "GLOBALSIGN", 35 }, { "GEOTRUST", 30 }, { "SYMANTEC", 20 }, { "CFCA", 15 } }
local SIGNATURES = weights {
  { "SHA256WITHRSA", 65 }, { "SHA256WITHECDSA", 20 }, { "SHA384WITHRSA", 8 }, { "SHA384WITHECDSA", 7 },
}
-- Certificates ordered but not issued yet.
local PENDING = weights {
  { "PAID", 15 }, { "CHECKING", 30 }, { "CHECKING_ORG", 10 }, { "ISSUING", 15 },
  { "SUPPLEMENTCHECKING", 10 }, { "UNPASSED", 10 }, { "CANCELCHECKING", 10 },
}
local VALID = weights { { "ISSUED", 84 }, { "UPLOAD", 12 }, { "REVOKING", 1 }, { "REVOKED", 3 } }
local PROJECTS = weights {
  { "0", 50 }, { M.ENTERPRISE_PROJECTS[1], 15 }, { M.ENTERPRISE_PROJECTS[2], 12 },
  { M.ENTERPRISE_PROJECTS[3], 8 }, { null, 15 },
}

local function host_name(rng, base)
  local host = rng:pick(HOSTS)
  if rng:chance(0.4) then host = host .. rng:int(1, 99) end
  if rng:chance(0.15) then host = host .. "." .. rng:pick(ZONES) end
  return host .. "." .. base
end

-- domain, sans, domain_count, wildcard_count for a domain type.
local function domains(rng, domain_type)
  local base = rng:pick(BASE_DOMAINS)
  if domain_type == "WILDCARD" then
    return "*." .. base, rng:chance(0.5) and "" or null, 1, 1
  elseif domain_type == "SINGLE_DOMAIN" then
    return host_name(rng, base), rng:chance(0.5) and "" or null, 1, 0
  end
  local domain = host_name(rng, base)
  local seen, sans, wildcards = { [domain] = true }, {}, 0
  for _ = 1, rng:int(1, 6) do
    local san
    if rng:chance(0.15) then
      san = "*." .. base
    else
      san = host_name(rng, rng:chance(0.2) and rng:pick(BASE_DOMAINS) or base)
    end
    if not seen[san] then
      seen[san] = true
      sans[#sans + 1] = san
      if san:sub(1, 2) == "*." then wildcards = wildcards + 1 end
    end
  end
  return domain, table.concat(sans, ";"), 1 + #sans, wildcards
end

local function cert_name(rng, domain, issued_at)
  local slug = domain:gsub("^%*", "wildcard"):gsub("%.", "-")
  local style = rng:int(1, 4)
  if style == 1 then return slug end
  if style == 2 then return rng:pick(ENVIRONMENTS) .. "-" .. slug end
  if style == 3 then return slug .. "-" .. os.date("!%Y", issued_at) end
  return ("scm-%06x"):format(rng:int(0, 0xffffff))
end

local function description(rng, domain)
  local roll = rng:float()
  if roll < 0.4 then return null end
  if roll < 0.5 then return "" end
  local text = rng:pick(DESCRIPTIONS)
  if text:find("%%d") then return text:format(rng:int(1000, 9999)) end
  if text:find("%%s") then return text:format(domain) end
  return text
end

-- Status, expiry and lifecycle times of one certificate.
local function lifecycle(rng, now)
  if rng:chance(0.08) then
    -- Ordered, not issued yet: expiry is where it will be once issued.
    local months = rng:chance(0.8) and 12 or 24
    local updated = now - rng:int(3600, 20 * DAY)
    return {
      status = rng:weighted(PENDING), months = months, pending = true,
      expire = now + months / 12 * 365 * DAY + rng:int(0, DAY - 1),
      updated = updated, ordered = updated - rng:int(0, 2 * DAY),
    }
  end
  -- Issued: expiry spread from 60 days ago to two years ahead.
  local expire = now + rng:int(-60 * DAY, 730 * DAY)
  local months = 12
  if expire - now > 355 * DAY or rng:chance(0.2) then months = 24 end
  local issued = expire - months / 12 * 365 * DAY
  local status, updated
  if expire < now then
    status = rng:chance(0.9) and "EXPIRED" or "REVOKED"
    updated = expire + rng:int(0, math.min(DAY, now - 1 - expire))
  else
    status = rng:weighted(VALID)
    if status == "REVOKED" or status == "REVOKING" then
      updated = now - rng:int(3600, 30 * DAY)
    else
      updated = issued + rng:int(0, math.max(0, math.min(3 * DAY, now - 1 - issued)))
    end
  end
  return {
    status = status, months = months, expire = expire, updated = updated,
    ordered = issued - rng:int(3600, 3 * DAY), issued = issued,
  }
end

-- "scs" + 13 digits: the millisecond the certificate was ordered, bumped
-- until unique.
local function unique_id(rng, ordered, taken)
  local ms = (ordered * 1000 + rng:int(0, 999)) % 1e13
  local id = ("scs%013.0f"):format(ms)
  while taken[id] do
    ms = (ms + 1) % 1e13
    id = ("scs%013.0f"):format(ms)
  end
  taken[id] = true
  return id
end

-- Returns a list of { cert = <API fields>, updated = <epoch seconds> }.
function M.generate(count, seed, now)
  local rng = prng.new(seed)
  local taken, list = {}, {}
  for i = 1, count do
    local life = lifecycle(rng, now)
    local domain_type = rng:weighted(DOMAIN_TYPES)
    local domain, sans, domain_count, wildcard_count = domains(rng, domain_type)
    local cert_type = rng:weighted(CERT_TYPES)
    -- EV certificates cannot cover wildcard names.
    if domain_type == "WILDCARD" or wildcard_count > 0 then
      cert_type = cert_type:gsub("^EV_", "OV_")
    end
    local brand = rng:weighted(BRANDS)
    local signature = rng:weighted(SIGNATURES)
    if brand == "CFCA" and rng:chance(0.5) then signature = "SM2WITHSM3" end
    list[i] = {
      updated = life.updated,
      cert = {
        id = unique_id(rng, life.ordered, taken),
        name = cert_name(rng, domain, life.issued or life.updated),
        domain = domain,
        sans = sans,
        signature_algorithm = signature,
        deploy_support = not life.pending and rng:chance(0.8),
        type = cert_type,
        brand = brand,
        expire_time = timeutil.format_expire(life.expire),
        domain_type = domain_type,
        validity_period = life.months,
        status = life.status,
        domain_count = domain_count,
        wildcard_count = wildcard_count,
        description = description(rng, domain),
        enterprise_project_id = rng:weighted(PROJECTS),
      },
    }
  end
  return list
end

return M
