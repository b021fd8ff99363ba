-- Emulator settings: the start-up values (read once from DIR/conf/emulator.json,
-- written by the launcher) and the current values (changed by
-- POST /_emulator/reset). One rule table checks both sources.

local cjson = require "cjson.safe"
local timeutil = require "scm_emulator.timeutil"

local M = {}

M.DEFAULTS = {
  certs = 123,
  seed = 1,
  -- The real API rejects tokens shorter than 32 characters.
  token = "emulator-token-0123456789abcdef0123456789",
  -- The one AK/SK pair whose request signatures are accepted.
  ak = "EMULATORAKEXAMPLE0001",
  sk = "emulator-secret-key-0123456789",
  latency_ms = 0,
  -- The account id (domain_id) of the key pair, answered by IAM's
  -- /v3/auth/domains and required in X-Domain-Id of signed SCM requests.
  domain_id = "0a1b2c3d4e5f4a5b8c9d0e1f2a3b4c5d",
  require_domain_id = true,
  -- The ECS metadata service: an agency bound (else 401 "Please configure
  -- Cloud Service Agency first"), whether the securitykey GET needs a
  -- session token, and how long issued keys live.
  metadata_agency = true,
  metadata_token_required = false,
  metadata_expires_in = 21600,
  now = nil, -- nil: today at 00:00:00 UTC, worked out whenever the data set is built
}

local function integer_rule(min, max)
  return function(v)
    if type(v) ~= "number" or v ~= math.floor(v) or v < min or v > max then
      return ("must be an integer between %d and %d"):format(min, max)
    end
  end
end

local RULES = {
  certs = integer_rule(0, 100000),
  seed = integer_rule(0, 2 ^ 53),
  latency_ms = integer_rule(0, 600000),
  token = function(v)
    -- Visible ASCII only: it travels in an HTTP header.
    if type(v) ~= "string" or #v < 32 or #v > 2097152 or v:find("[^\33-\126]") then
      return "must be a string of 32 to 2097152 visible ASCII characters"
    end
  end,
  ak = function(v)
    -- It travels in the Authorization header, between "Access=" and ",".
    if type(v) ~= "string" or #v < 1 or #v > 128 or v:find("[^%w%-_.]") then
      return "must be a string of 1 to 128 letters, digits, '-', '_' or '.'"
    end
  end,
  sk = function(v)
    if type(v) ~= "string" or #v < 1 or #v > 1024 or v:find("[^\33-\126]") then
      return "must be a string of 1 to 1024 visible ASCII characters"
    end
  end,
  domain_id = function(v)
    if type(v) ~= "string" or #v < 1 or #v > 64 or v:find("[^%w%-_]") then
      return "must be a string of 1 to 64 letters, digits, '-' or '_'"
    end
  end,
  require_domain_id = function(v)
    if type(v) ~= "boolean" then return "must be true or false" end
  end,
  metadata_agency = function(v)
    if type(v) ~= "boolean" then return "must be true or false" end
  end,
  metadata_token_required = function(v)
    if type(v) ~= "boolean" then return "must be true or false" end
  end,
  metadata_expires_in = integer_rule(-86400, 7 * 86400),
  now = function(v)
    if type(v) ~= "string" or not timeutil.parse(v) or #v ~= 19 then
      return 'must be a UTC time "YYYY-MM-DD HH:MM:SS"'
    end
  end,
}

-- Returns a full settings table: base overlaid with the keys of overrides
-- (a JSON null counts as not given), or nil and a message.
function M.merge(base, overrides)
  if type(overrides) ~= "table" then return nil, "settings must be a JSON object" end
  local result = {}
  for k, v in pairs(base) do result[k] = v end
  for k, v in pairs(overrides) do
    local rule = RULES[k]
    if not rule then return nil, ("unknown setting %q"):format(tostring(k)) end
    if v ~= cjson.null then
      local problem = rule(v)
      if problem then return nil, k .. " " .. problem end
      result[k] = v
    end
  end
  return result
end

M.startup = nil  -- settings the emulator was started with
M.current = nil  -- settings in force now
M.now_epoch = nil -- the base "now" of the current data set, epoch seconds

-- Reads the launcher's settings file. Returns true or nil and a message.
function M.load(path)
  local file, err = io.open(path, "rb")
  if not file then return nil, err end
  local text = file:read("*a")
  file:close()
  local decoded, decode_err = cjson.decode(text)
  if decoded == nil then return nil, path .. ": " .. tostring(decode_err) end
  local merged, problem = M.merge(M.DEFAULTS, decoded)
  if not merged then return nil, path .. ": " .. problem end
  M.startup, M.current = merged, merged
  return true
end

-- Makes s the current settings and fixes the base time for a new data set.
function M.apply(s)
  M.current = s
  M.now_epoch = s.now and timeutil.parse(s.now) or timeutil.today()
end

-- The current settings as the control API shows them.
function M.describe()
  local s = M.current
  return {
    certs = s.certs,
    seed = s.seed,
    token = s.token,
    ak = s.ak,
    sk = s.sk,
    latency_ms = s.latency_ms,
    domain_id = s.domain_id,
    require_domain_id = s.require_domain_id,
    metadata_agency = s.metadata_agency,
    metadata_token_required = s.metadata_token_required,
    metadata_expires_in = s.metadata_expires_in,
    now = timeutil.format(M.now_epoch),
    now_is_today = s.now == nil,
  }
end

return M
