-- scm.resty: scm's list, each and all for OpenResty request handlers and
-- timers, without blocking nginx. The C module builds each request
-- (validated options, URL, headers, signature) and decodes each response
-- (page or err), doing no I/O; this module does the I/O through nginx's
-- cosockets, with the same options, results and errors as the libcurl
-- path. Pages of a listing are fetched side by side in light threads.
local scm = require("scm")

local ngx = ngx
local tcp = ngx.socket.tcp
local spawn, wait, kill = ngx.thread.spawn, ngx.thread.wait, ngx.thread.kill
local now, sleep, random = ngx.now, ngx.sleep, math.random
local floor, min, max = math.floor, math.min, math.max
local concat = table.concat

local M = { _VERSION = scm._VERSION }

local KEEPALIVE_MS = 60000 -- idle time of a pooled connection
local POOL_SIZE = 32       -- pooled connections per host and port, per worker
local BACKOFF_BASE, BACKOFF_CAP, MAX_RETRY_AFTER = 0.25, 8, 30
local RETRY_STATUS = { [429] = true, [500] = true, [502] = true, [503] = true, [504] = true }

-- ---- HTTP over a cosocket ------------------------------------------------

local function parse_url(url)
  local scheme, authority, target = url:match("^(https?)://([^/]+)(.*)$")
  local host, port = authority:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return scheme, host, port, target ~= "" and target or "/"
end

-- A transport failure: kind, message, and whether another attempt may do.
local function failure(kind, message, retryable, status)
  return { kind = kind, message = message, status = status }, retryable
end

local function io_kind(err)
  return (err == "timeout" or (err and err:find("timeout", 1, true))) and "timeout" or "network"
end

-- Reads the body as the headers describe it, at most max_body bytes.
local function read_body(sock, headers, max_body, deadline)
  local function left() return max(1, floor((deadline - now()) * 1000)) end
  local te = headers["transfer-encoding"]
  if te and te:lower():find("chunked", 1, true) then
    local parts, size = {}, 0
    while true do
      sock:settimeout(left())
      local line, err = sock:receive("*l")
      if not line then return nil, err end
      local hex = line:match("^%s*(%x+)")
      local n = hex and tonumber(hex, 16)
      if not n then return nil, "bad chunk size" end
      if n == 0 then
        repeat -- trailers, up to the empty line
          line, err = sock:receive("*l")
          if not line then return nil, err end
        until line == ""
        return concat(parts)
      end
      size = size + n
      if size > max_body then return nil, "too large" end
      sock:settimeout(left())
      local data, derr = sock:receive(n)
      if not data then return nil, derr end
      parts[#parts + 1] = data
      local crlf, cerr = sock:receive(2) -- the CRLF after the chunk
      if crlf ~= "\r\n" then return nil, cerr or "bad chunk" end
    end
  end
  local length = tonumber(headers["content-length"])
  if length then
    if length > max_body then return nil, "too large" end
    sock:settimeout(left())
    local data, err, partial = sock:receive(length)
    if not data then
      return nil, err == "closed" and "truncated" or err, partial
    end
    return data
  end
  -- neither: the body ends when the connection does
  local parts, size = {}, 0
  while true do
    sock:settimeout(left())
    local data, err = sock:receiveany(65536)
    if not data then
      if err == "closed" then return concat(parts), nil, nil, true end
      return nil, err
    end
    size = size + #data
    if size > max_body then return nil, "too large" end
    parts[#parts + 1] = data
  end
end

-- One exchange: the response {status, headers, body}, or nil and a failure.
local function exchange(req)
  local scheme, host, port, target = parse_url(req.url)
  -- every step gets what is left of the attempt's timeout
  local deadline = now() + req.timeout
  local function left() return max(1, floor((deadline - now()) * 1000)) end
  local sock = tcp()
  sock:settimeouts(min(floor(req.connect_timeout * 1000), left()), left(), left())
  -- pooled connections are kept apart by scheme and verification, so an
  -- unverified TLS connection is never handed to a verifying request
  local ok, err = sock:connect(host, port, {
    pool = ("%s://%s:%d/%s"):format(scheme, host, port, req.verify and "verified" or "unverified") })
  if not ok then return nil, failure(io_kind(err), "connect to " .. host .. ": " .. err, true) end
  if scheme == "https" and sock:getreusedtimes() == 0 then
    -- cafile is nginx's lua_ssl_trusted_certificate here
    sock:settimeout(left())
    local session, herr = sock:sslhandshake(nil, host, req.verify)
    if not session then
      sock:close()
      local kind = herr and herr:find("timeout", 1, true) and "timeout" or "tls"
      return nil, failure(kind, "TLS handshake: " .. tostring(herr), kind == "timeout")
    end
  end

  local lines = { "GET " .. target .. " HTTP/1.1" }
  if not req.headers.Host then
    local name = host:find(":", 1, true) and ("[" .. host .. "]") or host -- IPv6
    local default_port = (scheme == "https" and 443 or 80)
    lines[#lines + 1] = "Host: " .. name .. (port ~= default_port and (":" .. port) or "")
  end
  for name, value in pairs(req.headers) do lines[#lines + 1] = name .. ": " .. value end
  lines[#lines + 1] = "\r\n"
  sock:settimeout(left())
  local sent, serr = sock:send(concat(lines, "\r\n"))
  if not sent then
    sock:close()
    return nil, failure(io_kind(serr), "send: " .. serr, true)
  end

  sock:settimeout(left())
  local status_line, rerr = sock:receive("*l")
  if not status_line then
    sock:close()
    return nil, failure(io_kind(rerr), "no response: " .. rerr, true)
  end
  local version, code = status_line:match("^HTTP/(%d%.%d) (%d%d%d)")
  local status = tonumber(code)
  if not status then
    sock:close()
    return nil, failure("network", "not an HTTP response", true)
  end
  local headers = {}
  while true do
    sock:settimeout(left())
    local line, herr = sock:receive("*l")
    if not line then
      sock:close()
      return nil, failure(io_kind(herr), "headers: " .. herr, true, status)
    end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    if name then headers[name:lower()] = value end
  end

  local body, berr, partial, closed = read_body(sock, headers, req.max_body, deadline)
  if not body then
    sock:close()
    if berr == "too large" then
      return nil, failure("decode", ("response body exceeds max_body (%d bytes)"):format(req.max_body),
        false, status)
    elseif berr == "truncated" then
      return nil, failure("decode", ("response body truncated: got %d of %s bytes"):format(
        #(partial or ""), headers["content-length"]), true, status)
    end
    return nil, failure(io_kind(berr), "body: " .. tostring(berr), true, status)
  end
  local connection = (headers["connection"] or ""):lower()
  local keep = not closed and ((version == "1.1" and connection ~= "close")
    or (version == "1.0" and connection == "keep-alive"))
  if keep then sock:setkeepalive(KEEPALIVE_MS, POOL_SIZE) else sock:close() end
  return { status = status, headers = headers, body = body }
end

-- ---- one page, with retries ------------------------------------------------

local function retry_after(value)
  if not value then return nil end
  local n = tonumber(value)
  if n then return max(0, n) end
  local t = ngx.parse_http_time(value)
  return t and max(0, t - ngx.time()) or nil
end

-- The secrets of a request, for scm.decode and scm.error to keep out of errs.
local function secrets(req)
  return { token = req.headers["X-Auth-Token"], security_token = req.headers["X-Security-Token"] }
end

local function with_attempts(err, attempts)
  err.attempts = attempts
  if attempts > 1 then err.message = err.message .. (" (after %d attempts)"):format(attempts) end
  return err
end

-- build(offset) gives the request for that offset (signed afresh).
local function fetch(build, offset)
  local attempt = 0
  while true do
    attempt = attempt + 1
    local req = build(offset)
    local res, fail, retryable = exchange(req)
    local page, err, wait_s
    if res then
      page, err = scm.decode(res.status, res.body, res.headers, secrets(req))
      if page then return page end
      retryable = RETRY_STATUS[res.status]
      wait_s = retry_after(res.headers["retry-after"])
      if wait_s and wait_s > MAX_RETRY_AFTER then retryable = false end
    else
      err = scm.error(fail, secrets(req))
    end
    if not retryable or attempt > req.retries then return nil, with_attempts(err, attempt) end
    sleep(wait_s or random() * min(BACKOFF_CAP, BACKOFF_BASE * 2 ^ (attempt - 1)))
  end
end

-- ---- the API --------------------------------------------------------------

local Client = {}
Client.__index = Client

-- A request builder for opts over the client's defaults: every option is
-- validated and merged by the C module, exactly as on the libcurl path.
-- build(nil) is the request list sends; build(offset) a page of a listing
-- (limit defaults to 50 there). Each call signs afresh (a new X-Sdk-Date).
local function builder(self, opts)
  local base = {}
  for k, v in pairs(opts or {}) do base[k] = v end
  local first = self.c:request(base) -- raises on a programmer error
  local page_size = first.limit or 50
  return function(offset)
    if offset ~= nil then base.offset, base.limit = offset, page_size end
    return self.c:request(base)
  end, first, page_size
end

function Client:list(opts)
  local build = builder(self, opts)
  return fetch(build, nil)
end

-- Calls on_cert(cert) for each certificate, in the server's order, each id
-- once; pages after the first are fetched up to `concurrency` at a time.
-- Returns total_count, or nil and an err.
local function walk(self, opts, on_cert)
  local build, first, limit = builder(self, opts)
  local concurrency = first.concurrency
  local seen = {}
  local function deliver(page)
    for _, cert in ipairs(page.certificates) do
      local id = cert.id
      if id == nil or not seen[id] then
        if id ~= nil then seen[id] = true end
        on_cert(cert)
      end
    end
  end

  local offset = first.offset
  local page, err = fetch(build, offset)
  if not page then return nil, err end
  deliver(page)
  local total = page.total_count
  if #page.certificates < limit then return total end

  -- pages in flight: queue[head .. tail], in offset order
  local queue, head, tail = {}, 1, 0
  local next_offset = offset + limit -- the paging rule: offset counts records
  local function fill()
    while tail - head + 1 < concurrency and next_offset < total do
      tail = tail + 1
      queue[tail] = spawn(fetch, build, next_offset)
      next_offset = next_offset + limit
    end
  end
  local function stop()
    for i = head, tail do kill(queue[i]) end
  end
  fill()
  while head <= tail do
    local ok, p, perr = wait(queue[head])
    queue[head] = nil
    head = head + 1
    if not ok then stop() return nil, scm.error({ kind = "network", message = tostring(p) }) end
    if not p then stop() return nil, perr end
    deliver(p)
    total = p.total_count
    if #p.certificates < limit then stop() return total end
    fill()
  end
  return total
end

function Client:all(opts)
  local certs = {}
  local total, err = walk(self, opts, function(cert) certs[#certs + 1] = cert end)
  if not total then return nil, err end
  certs.total_count = total
  return certs
end

-- An iterator like scm.each: certificates as their pages arrive; it
-- raises the err on failure. The listing runs in a coroutine of its own,
-- which yields each certificate.
function Client:each(opts)
  builder(self, opts) -- programmer errors raise here, not in the loop
  -- The coroutine ends with the listing's err rather than raising it:
  -- nginx aborts a request whose coroutine raises a table.
  local co = coroutine.create(function()
    local total, err = walk(self, opts, coroutine.yield)
    if not total then return nil, err end
  end)
  return function()
    if coroutine.status(co) == "dead" then return nil end
    local ok, cert, err = coroutine.resume(co)
    if not ok then error(cert, 0) end
    if cert == nil and err ~= nil then error(err, 0) end
    return cert
  end
end

function Client:close() self.c:close() end

function M.new(defaults)
  return setmetatable({ c = scm.new(defaults) }, Client)
end

local default
local function default_client()
  default = default or M.new()
  return default
end

function M.list(opts) return default_client():list(opts) end
function M.all(opts) return default_client():all(opts) end
function M.each(opts) return default_client():each(opts) end
function M.cached_all(opts, cache) return require("scm.resty.cache").all(opts, cache) end

return M
