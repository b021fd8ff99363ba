-- Building and sending responses.
--
-- A response is a plain table { status, body, content_type, headers } so the
-- API handler can build it once and a fault can decide how (or whether) it
-- reaches the client. X-Request-Id is added by nginx itself
-- (add_header X-Request-Id $request_id always) so that every response carries
-- it, including those nginx produces on its own; only send_raw, which bypasses
-- nginx's header filters, writes it by hand.

local cjson = require "cjson"

local M = {}

M.JSON = "application/json;charset=utf8"

-- cjson escapes "/" as "\/": legal JSON, but paths and URLs read better plain.
-- In cjson's output a backslash followed by "/" is always that escape (a
-- literal backslash is written "\\" and a literal "/" after it as "\/"), so
-- the substitution cannot change the decoded value.
function M.encode(value)
  return (cjson.encode(value):gsub("\\/", "/"))
end

-- A JSON object with the keys in `order` first, then any others sorted by
-- name: stable output that is easy to read, which cjson's hash order is not.
function M.encode_object(tbl, order)
  local parts, listed = {}, {}
  local function add(name)
    parts[#parts + 1] = M.encode(tostring(name)) .. ":" .. M.encode(tbl[name])
  end
  for _, name in ipairs(order) do
    listed[name] = true
    if tbl[name] ~= nil then add(name) end
  end
  local others = {}
  for name in pairs(tbl) do
    if not listed[name] then others[#others + 1] = name end
  end
  table.sort(others, function(a, b) return tostring(a) < tostring(b) end)
  for _, name in ipairs(others) do add(name) end
  return "{" .. table.concat(parts, ",") .. "}"
end

-- items: already encoded JSON texts. Writes "[]" for none, which encoding an
-- empty Lua table would turn into "{}".
function M.encode_array(items)
  return "[" .. table.concat(items, ",") .. "]"
end

-- The request body as a string ("" for none). nginx keeps bodies larger than
-- client_body_buffer_size in a file.
function M.request_body()
  ngx.req.read_body()
  local text = ngx.req.get_body_data()
  if not text then
    local path = ngx.req.get_body_file()
    local file = path and io.open(path, "rb")
    if file then
      text = file:read("*a")
      file:close()
    end
  end
  return text or ""
end

function M.response(status, body, content_type, headers)
  return { status = status, body = body, content_type = content_type, headers = headers }
end

function M.json(status, value)
  return M.response(status, M.encode(value), M.JSON)
end

-- The API's error body, error_code first as in the published examples.
local ERROR_FIELDS = { "error_code", "error_msg" }

function M.api_error(status, code, message)
  return M.response(status, M.encode_object({ error_code = code, error_msg = message }, ERROR_FIELDS), M.JSON)
end

-- Errors of the control API (/_emulator/...).
function M.control_error(status, message)
  return M.json(status, { error = message })
end

-- Sends resp through nginx with an exact Content-Length (no chunking).
function M.send(resp)
  ngx.status = resp.status
  ngx.header["Content-Type"] = resp.content_type
  for name, value in pairs(resp.headers or {}) do
    ngx.header[name] = value
  end
  ngx.header["Content-Length"] = #resp.body
  ngx.send_headers()
  if #resp.body > 0 then ngx.print(resp.body) end
  return ngx.exit(ngx.HTTP_OK)
end

local REASONS = {
  [200] = "OK", [400] = "Bad Request", [401] = "Unauthorized",
  [404] = "Not Found", [405] = "Method Not Allowed",
}

local function raw_head(resp)
  local lines = {
    ("HTTP/1.1 %d %s"):format(resp.status, REASONS[resp.status] or "Unknown"),
    "Server: nginx",
    "Date: " .. ngx.http_time(ngx.time()),
    "Content-Type: " .. resp.content_type,
    "Content-Length: " .. #resp.body,
    "X-Request-Id: " .. ngx.var.request_id,
  }
  for name, value in pairs(resp.headers or {}) do
    lines[#lines + 1] = name .. ": " .. tostring(value)
  end
  return table.concat(lines, "\r\n") .. "\r\n\r\n"
end

-- The client connection as a raw socket, or nil (logged).
local function raw_socket()
  -- The raw socket refuses to open while a request body is still unread.
  ngx.req.read_body()
  local sock, err = ngx.req.socket(true)
  if not sock then ngx.log(ngx.ERR, "scm-emulator: raw socket unavailable: ", err) end
  return sock
end

-- Writes resp on the raw client connection, declaring the full Content-Length
-- but sending only the first `body_bytes` bytes of the body, then closes the
-- connection. nginx's own output path would never send fewer bytes than it
-- declared, hence the raw socket.
--
-- bytes_per_second: nil sends at once; otherwise the body trickles out at
-- about that rate (at most 10 writes a second) until done or the client
-- goes away.
function M.send_raw(resp, body_bytes, bytes_per_second)
  return M.send_bytes(raw_head(resp), resp.body:sub(1, body_bytes), bytes_per_second)
end

-- Writes bytes on the raw client connection: head, then body (at about
-- bytes_per_second when given), then whatever more(i) returns for i = 1, 2,
-- ... until it returns nil or the client goes away; then closes.
function M.send_bytes(head, body, bytes_per_second, more)
  local sock = raw_socket()
  if not sock then return ngx.exit(ngx.HTTP_INTERNAL_SERVER_ERROR) end
  if not sock:send(head) then return ngx.exit(444) end
  body = body or ""
  if not bytes_per_second then
    if body ~= "" and not sock:send(body) then return ngx.exit(444) end
  else
    local step, interval = 1, 1 / bytes_per_second
    if bytes_per_second > 10 then step, interval = math.ceil(bytes_per_second / 10), 0.1 end
    for pos = 1, #body, step do
      ngx.sleep(interval)
      if not sock:send(body:sub(pos, pos + step - 1)) then return ngx.exit(444) end
    end
  end
  local i = 0
  while more do
    i = i + 1
    local data = more(i)
    if data == nil then break end
    if data ~= "" and not sock:send(data) then break end
  end
  return ngx.exit(444)
end

-- Streams a 200 response of exactly `total` bytes: `head`, then `filler`
-- repeated, then `tail` (cut short if total is smaller than head + tail).
-- Written in pieces with flushes so memory use stays flat whatever the size.
-- chunked: leave out Content-Length, so nginx uses chunked transfer coding.
function M.stream(content_type, total, chunked, head, filler, tail)
  ngx.status = 200
  ngx.header["Content-Type"] = content_type
  if not chunked then ngx.header["Content-Length"] = total end
  ngx.send_headers()

  local piece = 65536
  local block = filler:rep(math.ceil(piece / #filler)):sub(1, piece)
  local fill = math.max(0, total - #head - #tail)
  local sent = 0
  local function write(text)
    text = text:sub(1, total - sent)
    if text == "" then return true end
    sent = sent + #text
    -- flush(true) waits for the data to leave: a client that stops reading
    -- holds the handler here instead of making nginx buffer everything.
    return ngx.print(text) and ngx.flush(true)
  end

  if not write(head) then return ngx.exit(444) end
  while fill > 0 do
    local n = math.min(fill, piece)
    if not write(n == piece and block or block:sub(1, n)) then return ngx.exit(444) end
    fill = fill - n
  end
  write(tail)
  return ngx.exit(ngx.HTTP_OK)
end

return M
