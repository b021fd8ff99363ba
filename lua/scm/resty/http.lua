-- scm.resty.http: the one HTTP exchange of scm.resty, over nginx's
-- cosockets, for the pages of a listing (scm.resty) and for the lookups
-- on the way (scm.resty.credentials: IAM's account id, the ECS metadata
-- service's keys). Every receive is bounded by the attempt's deadline,
-- reads happen in bounded chunks, header lines and the header block have
-- the libcurl path's limits, a TLS handshake that fails comes back as
-- kind "tls", the upstream connections of a worker are capped
-- (resty.configure{ max_connections }), and no value an upstream sends
-- can raise. Whether a failed attempt is tried again, and when, is the C
-- module's rule (plan:retry, scm.retry): this file only applies it.
-- Internal to scm.resty: not a public API.
local ngx = ngx
local tcp = ngx.socket.tcp
local now, sleep, update_time = ngx.now, ngx.sleep, ngx.update_time
local exiting = ngx.worker.exiting
local floor, min, max = math.floor, math.min, math.max
local concat = table.concat

local M = {}

local READ_CHUNK = 65536 -- bytes asked of one receive

-- ---- a cap on upstream connections, per worker, for all requests --------

-- Each connection in use holds a lease until it is closed or pooled. A
-- lease also ends at its attempt's deadline (+1 s): a light thread killed
-- while holding one cannot keep the slot.
local max_connections = 64
local leases, in_use = {}, 0
local wakeup -- an ngx.semaphore, posted when a lease ends

local function reap(t)
  for lease, expiry in pairs(leases) do
    if expiry <= t then
      leases[lease] = nil
      in_use = in_use - 1
    end
  end
end

local function acquire(deadline)
  while true do
    local t = now()
    if in_use >= max_connections then reap(t) end
    if in_use < max_connections then
      local lease = {}
      leases[lease] = deadline + 1
      in_use = in_use + 1
      return lease
    end
    if deadline - t <= 0 then return nil end
    wakeup = wakeup or require("ngx.semaphore").new()
    wakeup:wait(min(deadline - t, 1)) -- and look again for leases run out
  end
end

local function release(lease)
  if leases[lease] then
    leases[lease] = nil
    in_use = in_use - 1
    if wakeup and wakeup:count() < 0 then wakeup:post(1) end
  end
end

-- configure{ max_connections = n }: the cap, per worker.
function M.configure(o)
  if type(o) ~= "table" then error("bad argument #1 to 'configure' (a table expected)", 2) end
  for k, v in pairs(o) do
    if k ~= "max_connections" then
      error(("bad argument #1 to 'configure' (unknown option '%s')"):format(tostring(k)), 2)
    end
    if type(v) ~= "number" or v ~= floor(v) or v < 1 or v > 100000 then
      error(("bad argument #1 to 'configure' (max_connections must be an integer from 1 to 100000 (got %s))")
        :format(tostring(v)), 2)
    end
    max_connections = v
  end
end

-- The connections in use in this worker, and the cap.
function M.connections() return in_use, max_connections end

-- ---- reading a response, every receive bounded by the attempt's deadline --

local function new_reader(sock, deadline)
  return { sock = sock, deadline = deadline, buf = "", pos = 1 }
end

-- At most n bytes as they come (nil, "timeout" once the deadline passes).
local function receive(r, n)
  local left = r.deadline - now()
  if left <= 0 then return nil, "timeout" end
  r.sock:settimeout(max(1, floor(left * 1000)))
  return r.sock:receiveany(n)
end

-- One line without its line end; nil, "too_large" past limit bytes.
local function read_line(r, limit)
  local from = r.pos
  while true do
    local i = r.buf:find("\n", from, true)
    if i then
      if i - r.pos > limit then return nil, "too_large" end
      local line = r.buf:sub(r.pos, i - 1)
      r.pos = i + 1
      if line:byte(-1) == 13 then line = line:sub(1, -2) end
      return line
    end
    if #r.buf - r.pos + 1 > limit then return nil, "too_large" end
    local data, err = receive(r, READ_CHUNK)
    if not data then return nil, err end
    r.buf = r.buf:sub(r.pos) .. data
    from = #r.buf - #data + 1
    r.pos = 1
  end
end

-- Exactly n bytes (nil, err and what arrived when the input ends first).
local function read_n(r, n)
  local parts, got = {}, 0
  local avail = #r.buf - r.pos + 1
  if avail > 0 then
    local take = min(avail, n)
    parts[1] = r.buf:sub(r.pos, r.pos + take - 1)
    r.pos = r.pos + take
    got = take
  end
  while got < n do
    local data, err = receive(r, min(READ_CHUNK, n - got))
    if not data then return nil, err, concat(parts) end
    parts[#parts + 1] = data
    got = got + #data
  end
  return concat(parts)
end

-- Up to the end of the connection, at most max_body bytes.
local function read_to_close(r, max_body)
  local parts = { r.buf:sub(r.pos) }
  local size = #parts[1]
  r.buf, r.pos = "", 1
  while true do
    if size > max_body then return nil, "max_body" end
    local data, err = receive(r, READ_CHUNK)
    if not data then
      if err == "closed" then return concat(parts) end
      return nil, err
    end
    parts[#parts + 1] = data
    size = size + #data
  end
end

-- ---- one exchange over a cosocket ------------------------------------------

local function parse_url(url)
  local scheme, authority, target = url:match("^(https?)://([^/]+)(.*)$")
  local host, port = authority:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = authority:match("^([^:]+):?(%d*)$") end
  port = tonumber(port) or (scheme == "https" and 443 or 80)
  return scheme, host, port, target ~= "" and target or "/"
end

-- The kind of err of each cause (the causes are scm.retry's).
local KIND = { network = "network", timeout = "timeout", truncated = "decode", handshake = "tls",
  verify = "tls", too_large = "decode", malformed = "decode" }

local function io_cause(err)
  return err and tostring(err):find("timeout", 1, true) and "timeout" or "network"
end

local sessions = {} -- TLS sessions to resume, by pool

-- The response body as the headers describe it; or nil, cause, message.
local function read_body(r, req, status, headers)
  if status == 204 or status == 304 or (status >= 100 and status < 200) or req.method == "HEAD" then
    return "", true
  end
  local te = headers["transfer-encoding"]
  if te and te:lower():find("chunked", 1, true) then
    local parts, size, block = {}, 0, 0
    while true do
      local line, err = read_line(r, req.max_header_line)
      if not line then
        if err == "too_large" then return nil, "malformed", "bad chunk size line" end
        return nil, io_cause(err), "body: " .. tostring(err)
      end
      local hex = line:match("^%s*(%x+)%s*$") or line:match("^%s*(%x+)%s*;")
      if not hex or #hex > 12 then return nil, "malformed", "bad chunk size" end
      local n = tonumber(hex, 16)
      if n == 0 then
        repeat -- trailers, up to the empty line, within the header limits
          line, err = read_line(r, req.max_header_line)
          if not line then
            if err == "too_large" then return nil, "too_large", "trailers exceed their limit" end
            return nil, io_cause(err), "trailers: " .. tostring(err)
          end
          block = block + #line + 2
          if block > req.max_header_block then return nil, "too_large", "trailers exceed their limit" end
        until line == ""
        return concat(parts), true
      end
      size = size + n
      if size > req.max_body then return nil, "too_large", "max_body" end
      local data, derr = read_n(r, n)
      if not data then return nil, io_cause(derr), "body: " .. tostring(derr) end
      parts[#parts + 1] = data
      local crlf, cerr = read_n(r, 2)
      if not crlf then return nil, io_cause(cerr), "body: " .. tostring(cerr) end
      if crlf ~= "\r\n" then return nil, "malformed", "bad chunk" end
    end
  end
  local cl = headers["content-length"]
  if cl then
    local digits = cl:match("^%s*(%d+)%s*$")
    if not digits or #digits > 15 then return nil, "malformed", "invalid Content-Length: " .. cl:sub(1, 40) end
    local length = tonumber(digits)
    if length > req.max_body then return nil, "too_large", "max_body" end
    local data, err, partial = read_n(r, length)
    if not data then
      if err == "closed" then
        return nil, "truncated", ("response body truncated: got %d of %d bytes"):format(#partial, length)
      end
      return nil, io_cause(err), "body: " .. tostring(err)
    end
    return data, true
  end
  local data, err = read_to_close(r, req.max_body)
  if not data then
    if err == "max_body" then return nil, "too_large", "max_body" end
    return nil, io_cause(err), "body: " .. tostring(err)
  end
  return data, false
end

-- One request on sock: {status, headers, body, keep}; or nil, cause,
-- message, status, and true when the connection failed before a byte of
-- the response came (a send that failed, or an end or reset of the
-- connection before the status line began; never a timeout).
local function converse(sock, req, host, port, scheme, target, deadline)
  local method = req.method or "GET"
  local lines = { method .. " " .. target .. " HTTP/1.1" }
  if not req.headers.Host then
    local name = host:find(":", 1, true) and ("[" .. host .. "]") or host -- IPv6
    local default_port = (scheme == "https" and 443 or 80)
    lines[#lines + 1] = "Host: " .. name .. (port ~= default_port and (":" .. port) or "")
  end
  for name, value in pairs(req.headers) do lines[#lines + 1] = name .. ": " .. value end
  if method ~= "GET" and method ~= "HEAD" then lines[#lines + 1] = "Content-Length: 0" end
  lines[#lines + 1] = "\r\n"
  local left = deadline - now()
  if left <= 0 then return nil, "timeout", "timed out before sending" end
  sock:settimeout(max(1, floor(left * 1000)))
  local sent, serr = sock:send(concat(lines, "\r\n"))
  if not sent then
    local cause = io_cause(serr)
    return nil, cause, "send: " .. tostring(serr), nil, cause == "network"
  end

  local r = new_reader(sock, deadline)
  local status, version, headers
  repeat -- 1xx answers come before the real one
    local line, err = read_line(r, req.max_header_line)
    if not line then
      if err == "too_large" then return nil, "malformed", "not an HTTP response" end
      local cause = io_cause(err)
      return nil, cause, "no response: " .. tostring(err), nil, cause == "network" and r.buf == ""
    end
    local v, code = line:match("^HTTP/(%d%.%d) (%d%d%d)")
    if not v then return nil, "malformed", "not an HTTP response" end
    version, status = v, tonumber(code)
    headers = {}
    local block = #line + 2
    while true do
      local h, herr = read_line(r, req.max_header_line)
      if not h then
        if herr == "too_large" then
          return nil, "too_large", ("response headers exceed %d KB (a line %d KB)"):format(
            req.max_header_block / 1024, req.max_header_line / 1024), status
        end
        return nil, io_cause(herr), "headers: " .. tostring(herr), status
      end
      block = block + #h + 2
      if block > req.max_header_block then
        return nil, "too_large", ("response headers exceed %d KB (a line %d KB)"):format(
          req.max_header_block / 1024, req.max_header_line / 1024), status
      end
      if h == "" then break end
      local name, value = h:match("^([^:]+):%s*(.-)%s*$")
      if name then
        name = name:lower()
        if headers[name] == nil then headers[name] = value end
      end
    end
  until status >= 200 or status == 101

  local body, delimited_or_cause, message = read_body(r, req, status, headers)
  if not body then return nil, delimited_or_cause, message, status end
  local connection = (headers["connection"] or ""):lower()
  local keep = delimited_or_cause and r.pos > #r.buf
    and ((version == "1.1" and connection ~= "close") or (version == "1.0" and connection == "keep-alive"))
  return { status = status, headers = headers, body = body, keep = keep }
end

-- One request on one connection, taken from the pool or new: the
-- response, or nil, cause, message[, status[, again]], again when a pooled
-- connection failed before a byte of the answer came. The socket is
-- closed or pooled.
local function attempt_once(req, deadline, scheme, host, port, target)
  local sock = tcp()
  local left = deadline - now()
  sock:settimeouts(max(1, floor(min(req.connect_timeout, left) * 1000)), max(1, floor(left * 1000)),
    max(1, floor(left * 1000)))
  local name = req.ssl_server_name or host
  -- pooled connections are kept apart by scheme, verification and name,
  -- so an unverified TLS connection is never handed to a verifying request
  local pool = ("%s://%s:%d/%s/%s"):format(scheme, host, port, req.verify and "verified" or "unverified", name)
  local ok, err = sock:connect(host, port, { pool = pool, pool_size = req.pool_size, backlog = req.backlog })
  if not ok then
    return nil, io_cause(err), "connect to " .. host .. ": " .. tostring(err)
  end
  local reused = sock:getreusedtimes() > 0
  local fresh_tls = scheme == "https" and not reused
  if fresh_tls then
    -- The CA bundle is nginx's lua_ssl_trusted_certificate. The session
    -- argument is never false: with false, resty.core reports some failed
    -- verifications as success; with nil or a session it may raise
    -- "assertion failed!" for them instead, which the pcall turns into
    -- the failed verification it is. With ssl_session_reuse = false no
    -- session is offered (nil), so the handshake is a full one.
    local offered = req.ssl_session_reuse and sessions[pool] or nil
    local hok, sess, herr = pcall(sock.sslhandshake, sock, offered, name, req.verify)
    if not hok or not sess then
      sock:close()
      local msg = hok and tostring(herr) or "certificate verification failed"
      local cause = msg:find("timeout", 1, true) and "timeout"
        or (not hok or msg:find("^%d+: ") or msg:find("certificate", 1, true)) and "verify" or "handshake"
      return nil, cause, "TLS handshake: " .. msg
    end
    if req.ssl_session_reuse then sessions[pool] = sess end
  end
  local res, cause, message, status, silent = converse(sock, req, host, port, scheme, target, deadline)
  if res and fresh_tls and req.ssl_session_reuse then
    -- TLS 1.3 servers send their session tickets after the handshake: the
    -- session the handshake returned cannot be resumed, the one the
    -- connection holds once a response has been read can. Asked on a
    -- connection already handshaken, sslhandshake only hands it out.
    local sok, current = pcall(sock.sslhandshake, sock, nil, name, req.verify)
    if sok and type(current) == "cdata" then sessions[pool] = current end
  end
  if res and res.keep then
    sock:setkeepalive(req.keepalive_timeout, req.pool_size)
  else
    sock:close()
  end
  if not res then return nil, cause, message, status, silent and reused end
  return res
end

-- One attempt at req (a request table as plan:request, scm.account_request
-- or scm.metadata_request give it) that ends by deadline: the response,
-- or nil, cause, message[, status]. The socket is closed or pooled, and
-- its connection lease given back, on every path.
local function exchange(req, deadline)
  local scheme, host, port, target = parse_url(req.url)
  local lease = acquire(deadline)
  if not lease then
    return nil, "timeout", ("no upstream connection free within the timeout (max_connections %d)")
      :format(max_connections)
  end
  -- A pooled connection the server closed while it sat idle (its idle
  -- timeout struck as it was taken) fails before any byte of the answer:
  -- the request goes again on the next connection, the attempt not
  -- counted, as libcurl does. Each pass takes one pooled connection
  -- (closed) or opens a new one, which ends the loop.
  while true do
    local res, cause, message, status, again = attempt_once(req, deadline, scheme, host, port, target)
    if not again then
      release(lease)
      if not res then return nil, cause, message, status end
      return res
    end
  end
end
-- The fields of scm.error for a failed exchange.
local function failure(req, cause, message, status)
  if cause == "too_large" and message == "max_body" then
    message = ("response body exceeds max_body (%d bytes)"):format(req.max_body)
  elseif cause == "malformed" then
    message = "malformed response: " .. message
  end
  return { kind = KIND[cause], message = message, status = status }
end

-- ---- a request, with retries -------------------------------------------------

-- Sends the request request_of(attempt) returns until an attempt succeeds
-- or retry(what, attempt, retry_after) (plan:retry, or scm.retry with the
-- request's retries counted) gives no delay. Each attempt ends by its
-- request's timeout, and by stop_at (a listing's deadline) when given.
-- Returns the response (a 2xx, or the last answer when no more attempts
-- are made), nil and the attempts made; or nil, the fields of scm.error
-- for the failure ({ kind, message, status }) and the attempts made.
function M.send(request_of, retry, stop_at)
  local attempt = 0
  while true do
    attempt = attempt + 1
    local req = request_of(attempt)
    update_time()
    local deadline = now() + req.timeout
    if stop_at and stop_at < deadline then deadline = stop_at end
    local res, cause, message, status = exchange(req, deadline)
    local what, retry_after
    if res then
      if res.status >= 200 and res.status < 300 then return res, nil, attempt end
      what, retry_after = res.status, res.headers["retry-after"]
    else
      what = cause
    end
    local delay = retry(what, attempt, retry_after)
    update_time()
    local give_up = not delay or exiting() or (stop_at and now() + delay >= stop_at)
    if not give_up then
      -- waited in slices: a worker told to exit stops waiting at once
      local wake = now() + delay
      repeat
        sleep(min(0.2, max(0, wake - now())))
        update_time()
        give_up = exiting()
      until give_up or now() >= wake
    end
    if give_up then
      if res then return res, nil, attempt end
      return nil, failure(req, cause, message, status), attempt
    end
  end
end

-- err with the attempts made counted in, as the C module counts them.
function M.with_attempts(err, attempts)
  err.attempts = attempts
  if attempts > 1 then err.message = err.message .. (" (after %d attempts)"):format(attempts) end
  return err
end

return M
