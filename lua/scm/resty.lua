-- scm.resty: scm's list, each and all for OpenResty request handlers and
-- timers, without blocking nginx. Every rule comes from the C module: a
-- plan (scm.plan) gives the validated options with the credentials
-- resolved once, the signed request of each page, the offsets to fetch,
-- when the listing stops and which certificates were handed out before;
-- plan:retry says whether a failed attempt is tried again and after how
-- long; scm.decode and scm.error make the page or the err. This module
-- keeps only the nginx glue, and the socket I/O (scm.resty.http, shared
-- with the lookups of scm.resty.credentials), so the two paths agree by
-- construction.
local scm = require("scm")

local http = require("scm.resty.http")

local ngx = ngx
local spawn, wait, kill = ngx.thread.spawn, ngx.thread.wait, ngx.thread.kill
local now, update_time = ngx.now, ngx.update_time

local M = { _VERSION = scm._VERSION }

-- The one place credentials are resolved for a call: scm.resty.credentials
-- (lookups over cosockets) when it is installed, then the C module.
local credentials
do
  local ok, mod = pcall(require, "scm.resty.credentials")
  if ok then
    credentials = mod
  elseif not tostring(mod):find("module 'scm.resty.credentials' not found", 1, true) then
    error(mod, 0)
  end
end

-- resty.configure{ max_connections = n }: the cap on upstream connections,
-- per worker, for every listing and lookup (lua/scm/resty/http.lua).
M.configure = http.configure
M.connections = http.connections

-- ---- one page, with retries ------------------------------------------------

-- The secrets of a request, for scm.decode and scm.error to keep out of errs.
local function secrets(req)
  return { token = req.headers["X-Auth-Token"], security_token = req.headers["X-Security-Token"] }
end

-- The page at offset (nil: the request list sends), or nil and an err.
-- stop_at: when the whole listing must be over (its deadline), or nil.
-- Each attempt is signed afresh; plan:retry decides on another.
local function fetch(plan, offset, stop_at)
  local req
  local res, fail, attempts = http.send(function()
    req = plan:request(offset)
    return req
  end, function(what, attempt, retry_after)
    return plan:retry(what, attempt, retry_after)
  end, stop_at)
  if not res then
    fail.attempts = attempts
    return nil, scm.error(fail, secrets(req))
  end
  local page, err = scm.decode(res.status, res.body, res.headers, secrets(req))
  if page then return page end
  return nil, http.with_attempts(err, attempts)
end

-- ---- listings ----------------------------------------------------------------

local Client = {}
Client.__index = Client

-- The plan of a call: credentials resolved here, once, then the options
-- validated and merged over the client's defaults by the C module
-- (programmer errors raise here). Returns plan, settings or nil, err.
local function plan_for(self, opts)
  if credentials then
    local resolved, err = credentials.resolve(opts or {}, self.c)
    if not resolved then return nil, err end
    opts = resolved
  end
  local plan = self.c:plan(opts)
  local settings = plan:request(0)
  update_time()
  settings.stop_at = settings.deadline and now() + settings.deadline or nil
  return plan, settings
end

-- The next pages of a listing, fetched side by side (up to concurrency)
-- in light threads of the caller's coroutine, all ended before this
-- returns: no thread outlives the call, so leaving a loop early leaves
-- nothing running. Returns the pages (certificates already seen dropped),
-- false at the end, or nil and an err.
local function next_pages(l)
  if l.done then return false end
  local offsets = {}
  while #offsets < l.settings.concurrency do
    local offset = l.plan:next()
    if not offset then break end
    offsets[#offsets + 1] = offset
  end
  if #offsets == 0 then
    l.done = true
    return false
  end
  local threads = {}
  if #offsets > 1 then
    for i, offset in ipairs(offsets) do threads[i] = spawn(fetch, l.plan, offset, l.settings.stop_at) end
  end
  local function stop(from)
    for i = from, #threads do kill(threads[i]) end
  end
  local pages = {}
  for i, offset in ipairs(offsets) do
    local ok, page, err
    if #threads > 0 then
      ok, page, err = wait(threads[i])
      if not ok then page, err = nil, scm.error({ kind = "network", message = tostring(page) }) end
    else
      page, err = fetch(l.plan, offset, l.settings.stop_at)
    end
    if not page then
      stop(i + 1)
      l.done = true
      return nil, err
    end
    local state, perr = l.plan:page(page)
    if not state then
      stop(i + 1)
      l.done = true
      return nil, perr
    end
    l.total = page.total_count
    pages[#pages + 1] = page
    if state == "done" then
      stop(i + 1)
      l.done = true
      break
    end
  end
  return pages
end

local function new_listing(self, opts)
  local plan, settings = plan_for(self, opts)
  if not plan then return nil, settings end
  return { plan = plan, settings = settings, total = 0 }
end

function Client:list(opts)
  local plan, settings = plan_for(self, opts)
  if not plan then return nil, settings end
  return fetch(plan, nil, settings.stop_at)
end

function Client:all(opts)
  local l, err = new_listing(self, opts)
  if not l then return nil, err end
  local certs = {}
  while true do
    local pages, perr = next_pages(l)
    if pages == nil then return nil, perr end
    if not pages then break end
    for _, page in ipairs(pages) do
      for _, cert in ipairs(page.certificates) do certs[#certs + 1] = cert end
    end
  end
  certs.total_count = l.total
  return certs
end

-- each: an iterator object, callable, so `for cert in resty.each(o)`
-- works. On failure it raises a string (what nginx logs when it is left
-- uncaught: "scm: timeout error: ..."); the err table is the iterator's
-- `err` field. it:close() ends it at once; nothing runs between calls.
local Iterator = {}
Iterator.__index = Iterator

function Iterator:close()
  self.listing, self.pages, self.page = nil, nil, nil
end

function Iterator:__call()
  while true do
    local page = self.page
    if page then
      local i = self.i + 1
      local cert = page.certificates[i]
      if cert ~= nil or i <= #page.certificates then
        self.i = i
        return cert
      end
      self.page = nil
    end
    local pages = self.pages
    if pages and self.p < #pages then
      self.p = self.p + 1
      self.page, self.i = pages[self.p], 0
    else
      local l = self.listing
      if not l then return nil end
      local err
      pages, err = next_pages(l)
      if pages == nil then
        self:close()
        self.err = err
        error(tostring(err), 0)
      end
      if not pages then
        self:close()
        return nil
      end
      self.pages, self.p = pages, 0
    end
  end
end

function Client:each(opts)
  local l, err = new_listing(self, opts) -- programmer errors raise here, not in the loop
  if not l then error(tostring(err), 2) end
  return setmetatable({ listing = l }, Iterator)
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
-- The cached, single-flight listing (lua/scm/resty/cache.lua).
function M.cached_all(...) return require("scm.resty.cache").all(...) end

return M
