-- scm.resty.credentials: the credential lookups of scm.resty, done over
-- nginx's cosockets so that the worker never blocks. The C module builds
-- every request and reads every answer (scm.account_request,
-- scm.account_decode, scm.metadata_request, scm.metadata_decode) and keeps
-- what was found for the process (account ids per access key, ECS keys per
-- metadata address); this file only moves the bytes.
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

local ngx = ngx
local tcp = ngx.socket.tcp
local now, sleep, random = ngx.now, ngx.sleep, math.random
local floor, min, max = math.floor, math.min, math.max
local concat = table.concat

local M = {}

local KEEPALIVE_MS, POOL_SIZE = 60000, 32
local BACKOFF_BASE, BACKOFF_CAP, MAX_RETRY_AFTER = 0.25, 8, 30
local RETRY_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

local function parse_url(url)
  local scheme, authority, target = url:match("^(https?)://([^/]+)(.*)$")
  local host, port = authority:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return scheme, host, port, target ~= "" and target or "/"
end

local function io_kind(err)
  return (err == "timeout" or (err and err:find("timeout", 1, true))) and "timeout" or "network"
end

-- The small answers of IAM and the metadata service: Content-Length,
-- chunked, or up to the close; at most max_body bytes.
local function read_body(sock, headers, max_body)
  local te = headers["transfer-encoding"]
  if te and te:lower():find("chunked", 1, true) then
    local parts, size = {}, 0
    while true do
      local line, err = sock:receive("*l")
      if not line then return nil, err end
      local n = tonumber(line:match("^%s*(%x+)") or "", 16)
      if not n then return nil, "bad chunk size" end
      if n == 0 then
        repeat line, err = sock:receive("*l") until not line or line == ""
        if not line then return nil, err end
        return concat(parts)
      end
      size = size + n
      if size > max_body then return nil, "too large" end
      local data, derr = sock:receive(n)
      if not data then return nil, derr end
      parts[#parts + 1] = data
      sock:receive(2)
    end
  end
  local length = tonumber(headers["content-length"])
  if length then
    if length > max_body then return nil, "too large" end
    if length == 0 then return "" end
    return sock:receive(length)
  end
  local parts, size = {}, 0
  while true do
    local data, err = sock:receiveany(65536)
    if not data then
      if err == "closed" then return concat(parts), nil, true end
      return nil, err
    end
    size = size + #data
    if size > max_body then return nil, "too large" end
    parts[#parts + 1] = data
  end
end

-- One exchange: { status, headers, body }, or nil and a failure
-- { kind, message } and whether another attempt may help.
local function exchange(req)
  local scheme, host, port, target = parse_url(req.url)
  local deadline = now() + req.timeout
  local function left() return max(1, floor((deadline - now()) * 1000)) end
  local sock = tcp()
  sock:settimeouts(min(floor(req.connect_timeout * 1000), left()), left(), left())
  local ok, err = sock:connect(host, port, {
    pool = ("%s://%s:%d/%s"):format(scheme, host, port, req.verify and "verified" or "unverified") })
  if not ok then
    return nil, { kind = io_kind(err), message = "connect to " .. host .. ": " .. err }, true
  end
  if scheme == "https" and sock:getreusedtimes() == 0 then
    local session, herr = sock:sslhandshake(nil, host, req.verify)
    if not session then
      sock:close()
      local kind = herr and herr:find("timeout", 1, true) and "timeout" or "tls"
      return nil, { kind = kind, message = "TLS handshake: " .. tostring(herr) }, kind == "timeout"
    end
  end
  local lines = { req.method .. " " .. target .. " HTTP/1.1" }
  if not req.headers.Host then
    local name = host:find(":", 1, true) and ("[" .. host .. "]") or host
    lines[#lines + 1] = "Host: " .. name .. (port ~= (scheme == "https" and 443 or 80) and (":" .. port) or "")
  end
  for name, value in pairs(req.headers) do lines[#lines + 1] = name .. ": " .. value end
  if req.method ~= "GET" then lines[#lines + 1] = "Content-Length: 0" end
  lines[#lines + 1] = "\r\n"
  sock:settimeout(left())
  local sent, serr = sock:send(concat(lines, "\r\n"))
  if not sent then
    sock:close()
    return nil, { kind = io_kind(serr), message = "send: " .. serr }, true
  end
  local status_line, rerr = sock:receive("*l")
  local version, code = (status_line or ""):match("^HTTP/(%d%.%d) (%d%d%d)")
  if not code then
    sock:close()
    return nil, { kind = io_kind(rerr), message = "no response: " .. tostring(rerr or "not HTTP") }, true
  end
  local headers = {}
  while true do
    local line, herr = sock:receive("*l")
    if not line then
      sock:close()
      return nil, { kind = io_kind(herr), message = "headers: " .. herr }, true
    end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then headers[name:lower()] = value end
  end
  local body, berr, closed = read_body(sock, headers, req.max_body)
  if not body then
    sock:close()
    if berr == "too large" then
      return nil, { kind = "decode", message = "answer exceeds " .. req.max_body .. " bytes" }, false
    end
    return nil, { kind = io_kind(berr), message = "body: " .. tostring(berr) }, true
  end
  local connection = (headers["connection"] or ""):lower()
  if not closed and version == "1.1" and connection ~= "close" then
    sock:setkeepalive(KEEPALIVE_MS, POOL_SIZE)
  else
    sock:close()
  end
  return { status = tonumber(code), headers = headers, body = body }
end

-- req sent with the retry rules of SCM calls: the response, or nil, a
-- failure and the attempts made.
local function send(req)
  local attempt = 0
  while true do
    attempt = attempt + 1
    local res, fail, retryable = exchange(req)
    local wait_s
    if res then
      retryable = RETRY_STATUS[res.status]
      local after = res.headers["retry-after"]
      wait_s = after and tonumber(after)
      if wait_s and wait_s > MAX_RETRY_AFTER then retryable = false end
    end
    if not retryable or attempt > req.retries then return res, fail, attempt end
    sleep(wait_s or random() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ^ (attempt - 1)))
  end
end

local function secrets(o)
  return { sk = o.sk, security_token = o.security_token }
end

-- The ECS keys: the session token (when the service wants one), then the
-- keys, which the C module keeps for the process.
local function ecs_keys(opts)
  local res, fail = send(scm.metadata_request("token", nil, opts))
  if not res then return nil, scm.error({ kind = fail.kind, message = fail.message, service = "metadata" }) end
  local session, err = scm.metadata_decode("token", res.status, res.body, res.headers)
  if session == nil then return nil, err end
  res, fail = send(scm.metadata_request("securitykey", session or nil, opts))
  if not res then return nil, scm.error({ kind = fail.kind, message = fail.message, service = "metadata" }) end
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
      local res, fail, attempts = send(req)
      if not res then
        return nil, scm.error({ kind = fail.kind, message = fail.message, service = "iam",
          attempts = attempts }, secrets(out))
      end
      local err
      id, err = scm.account_decode(res.status, res.body, res.headers,
        { ak = out.ak, sk = out.sk, security_token = out.security_token })
      if not id then return nil, err end
    end
    out.domain_id = id
  end
  return out
end

return M
