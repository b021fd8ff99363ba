-- Handlers of the private nginx of the OpenResty specs (the server that
-- spec/support/nginx.lua's openresty() starts has spec/ on its
-- lua_package_path). Options come as a JSON body; answers are JSON.
local cjson = require("cjson")
local resty = require("scm.resty")

local M = {}

local function body_opts()
  ngx.req.read_body()
  return cjson.decode(ngx.req.get_body_data() or "{}")
end

local function rss_kb()
  local f = io.open("/proc/self/status")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return tonumber(s:match("VmRSS:%s*(%d+)"))
end

local function err_table(err)
  if type(err) ~= "table" then return { raised = tostring(err) } end
  return { kind = err.kind, status = err.status, code = err.code, message = err.message,
    request_id = err.request_id, attempts = err.attempts, text = tostring(err) }
end

local ids = require("support.tables").ids_of

local function say(out)
  ngx.header.content_type = "application/json"
  ngx.say(cjson.encode(out))
end

-- /t/list, /t/all, /t/each: what the call gave, how long it took, the
-- worker's RSS after it.
function M.call(name)
  local opts = body_opts()
  ngx.update_time()
  local t0 = ngx.now()
  local out
  local ok, raised = pcall(function()
    if name == "list" then
      local page, err = resty.list(opts)
      out = page and { ids = ids(page.certificates), total_count = page.total_count,
        request_id = page.request_id, first = page.certificates[1] } or { err = err_table(err) }
    elseif name == "all" then
      local certs, err = resty.all(opts)
      out = certs and { ids = ids(certs), total_count = certs.total_count } or { err = err_table(err) }
    else
      local list = {}
      local it = resty.each(opts)
      local eok, eerr = pcall(function()
        for cert in it do list[#list + 1] = cert.id end
      end)
      out = eok and { ids = list } or { err = err_table(it.err or eerr), raised = tostring(eerr) }
    end
  end)
  if not ok then out = { raised = tostring(raised) } end
  ngx.update_time()
  out.elapsed = ngx.now() - t0
  out.rss_kb = rss_kb()
  say(out)
end

local function break_at(opts, n)
  local i = 0
  for _ in resty.each(opts) do
    i = i + 1
    if i == n then break end
  end
  return i
end

-- /break?n=51: leaves each at certificate n.
function M.break_at()
  local n = tonumber(ngx.var.arg_n) or 51
  say({ got = break_at(body_opts(), n) })
end

-- /uncaught: an each that fails, its error left to nginx.
function M.uncaught()
  local opts = body_opts()
  for _ in resty.each(opts) do end
  ngx.say("not reached")
end

-- /timers?n=300: n timers that each break out of each at 51.
function M.timers()
  local opts = body_opts()
  local n = tonumber(ngx.var.arg_n) or 300
  local state = ngx.shared.state
  state:set("broke", 0)
  state:set("normal", false)
  local started = 0
  for _ = 1, n do
    local ok = ngx.timer.at(0, function(premature)
      if premature then return end
      local got = break_at(opts, 51)
      if got == 51 then state:incr("broke", 1, 0) end
    end)
    if ok then started = started + 1 end
  end
  say({ started = started })
end

-- /normal: a plain timer that sets a flag.
function M.normal()
  local ok, err = ngx.timer.at(0, function() ngx.shared.state:set("normal", true) end)
  say({ ok = ok and true or false, err = err })
end

function M.state()
  local state = ngx.shared.state
  say({ broke = state:get("broke"), normal = state:get("normal"),
    running = ngx.timer.running_count(), pending = ngx.timer.pending_count(), rss_kb = rss_kb() })
end

-- /retrying: a timer whose list waits out the retries the upstream asks for.
function M.retrying()
  local opts = body_opts()
  local ok, err = ngx.timer.at(0, function()
    local _, lerr = resty.list(opts)
    ngx.log(ngx.NOTICE, "retrying timer ended: ", tostring(lerr))
  end)
  say({ ok = ok and true or false, err = err })
end

function M.rss()
  say({ rss_kb = rss_kb() })
end

return M
