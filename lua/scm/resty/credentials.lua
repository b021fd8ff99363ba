-- scm.resty.credentials: the credential lookups of scm.resty, done over
-- nginx's cosockets so that the worker never blocks. The C module builds
-- every request and reads every answer (scm.account_request,
-- scm.account_decode, scm.metadata_request, scm.metadata_decode) and keeps
-- what was found for the process (account ids per access key, ECS keys per
-- metadata address); this file only moves the bytes, through scm.resty's
-- one exchange (scm.resty.http).
--
--   resolved, err = credentials.resolve(opts[, client])
--
-- opts are a call's options, client the C client (scm.new) whose defaults
-- apply. resolved is a copy of opts naming the credentials to use: for
-- ak/sk (from any source, or from the ECS metadata service when
-- credentials = "ecs"), ak, sk, security_token and domain_id are filled in,
-- the account id found through IAM when no source gives it. With a token,
-- opts come back as they are. Programmer errors raise, as on the libcurl
-- path; lookups that fail return nil and an err (err.service "iam" or
-- "metadata").
local scm = require("scm")
local http = require("scm.resty.http")

local M = {}

-- req (scm.account_request's or scm.metadata_request's) sent as the
-- libcurl path sends it, through scm.resty's one exchange (its deadline,
-- limits and connection cap): tried again by SCM's rule (scm.retry) up to
-- req.retries more times; the metadata service's requests say 0 retries
-- and a timeout of at most 3 s. The response, or nil and an err of
-- service; keys: the secrets to keep out of the err.
local function send(req, service, keys)
  local res, fail, attempts = http.send(function() return req end, function(what, attempt, retry_after)
    if attempt > req.retries then return nil end
    return scm.retry(what, attempt, retry_after)
  end)
  if res then return res, nil, attempts end
  fail.service, fail.attempts = service, attempts
  return nil, scm.error(fail, keys)
end

local function secrets(o)
  return { sk = o.sk, security_token = o.security_token }
end

-- The ECS keys: the session token (when the service wants one), then the
-- keys, which the C module keeps for the process.
local function ecs_keys(opts)
  local res, err = send(scm.metadata_request("token", nil, opts), "metadata")
  if not res then return nil, err end
  local session
  session, err = scm.metadata_decode("token", res.status, res.body, res.headers)
  if session == nil then return nil, err end
  res, err = send(scm.metadata_request("securitykey", session or nil, opts), "metadata")
  if not res then return nil, err end
  return scm.metadata_decode("securitykey", res.status, res.body, res.headers)
end

function M.resolve(opts, client)
  local plan = client and client:credentials(opts) or scm.credentials(opts) -- raises on a mistake
  if plan.token then return opts end
  local out = {}
  for k, v in pairs(opts or {}) do out[k] = v end
  if plan.credentials == "ecs" and not plan.ak then
    local keys, err = ecs_keys(out)
    if not keys then return nil, err end
    plan.ak, plan.sk, plan.security_token = keys.ak, keys.sk, keys.security_token
  end
  out.token, out.credentials = nil, nil
  out.ak, out.sk, out.security_token, out.domain_id = plan.ak, plan.sk, plan.security_token, plan.domain_id
  if not out.domain_id then
    local id = scm.account_id(out.ak)
    if not id then
      local req = client and client:account_request(out) or scm.account_request(out)
      local res, err, attempts = send(req, "iam", secrets(out))
      if not res then return nil, err end
      id, err = scm.account_decode(res.status, res.body, res.headers,
        { ak = out.ak, sk = out.sk, security_token = out.security_token })
      if not id then return nil, http.with_attempts(err, attempts) end
    end
    out.domain_id = id
  end
  return out
end

return M
