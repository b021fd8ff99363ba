-- scm.resty.timer: a job that runs once per nginx, not once per worker.
-- every(interval, fn, { dict = ..., name = ... }), called in
-- init_worker_by_lua by every worker, runs fn at most once per interval
-- in the whole nginx (and across reloads: the lua_shared_dict outlives
-- them), never two runs at once, and stops a run as soon as its worker
-- starts exiting (a reload or a quit) instead of holding the worker.
local ngx = ngx
local now, update_time, sleep = ngx.now, ngx.update_time, ngx.sleep
local exiting = ngx.worker.exiting
local spawn, wait, kill = ngx.thread.spawn, ngx.thread.wait, ngx.thread.kill
local max, min = math.max, math.min

local M = {}

local WATCH = 0.1   -- seconds between looks at ngx.worker.exiting() during a run
local LOCK_TTL = 10 -- seconds a run's lock lives unless renewed (a worker that died)

local function bad(name, rule, got)
  error(("scm.resty.timer: %s must be %s (got %s)"):format(name, rule, got), 3)
end

local function describe(v)
  return type(v) == "number" and tostring(v) or type(v) == "string" and ("%q"):format(v) or type(v)
end

-- Runs fn, logging what it raises; the thread's result says it finished.
local function run(job)
  local ok, err = xpcall(job.fn, debug.traceback)
  if not ok then ngx.log(ngx.ERR, "scm.resty.timer ", job.name, ": ", tostring(err)) end
  return "done"
end

-- Keeps the run's lock alive; returns once the worker starts exiting.
local function watch(job, token)
  local renewed = now()
  while not exiting() do
    sleep(WATCH)
    if now() - renewed >= LOCK_TTL / 3 then
      if job.dict:get(job.lock) == token then job.dict:set(job.lock, token, LOCK_TTL) end
      renewed = now()
    end
  end
  return "exiting"
end

local function unlock(job, token)
  if job.dict:get(job.lock) == token then job.dict:delete(job.lock) end
end

local serial = 0

-- One look, in every worker, every tick: runs fn when it is due and no
-- run is going on anywhere.
local function tick(premature, job)
  if premature or exiting() then return end
  serial = serial + 1
  local token = ngx.worker.pid() .. ":" .. serial
  if not job.dict:add(job.lock, token, LOCK_TTL) then return end -- a run is going on
  update_time()
  local started = now()
  local due = job.dict:get(job.next)
  if due and started < due then
    unlock(job, token)
    return
  end
  -- the next run: a whole interval after this one starts
  job.dict:set(job.next, started + job.interval)

  local worker = spawn(run, job)
  local watcher = spawn(watch, job, token)
  local _, why = wait(worker, watcher)
  if why == "exiting" then
    unlock(job, token)
    ngx.log(ngx.NOTICE, "scm.resty.timer ", job.name, ": run stopped, the worker is exiting")
    -- ends the timer with every light thread it started, the run's own
    -- (a listing's page threads) included
    return ngx.exit(ngx.OK)
  end
  kill(watcher)
  unlock(job, token)
end

-- Runs fn() every `interval` seconds, once for the whole nginx: every
-- worker calls it (init_worker_by_lua) and the first worker to look once
-- a run is due runs it. A run also starts at once unless one ran less
-- than an interval ago. opts.dict names a lua_shared_dict (a few KB) and
-- opts.name the job (its keys in that dict). Returns true, or nil and
-- ngx.timer's err.
function M.every(interval, fn, opts)
  if type(interval) ~= "number" or interval ~= interval or interval <= 0 or interval >= math.huge then
    bad("interval", "a number of seconds > 0", describe(interval))
  end
  if type(fn) ~= "function" then bad("fn", "a function", describe(fn)) end
  if type(opts) ~= "table" then bad("opts", "a table { dict = ..., name = ... }", describe(opts)) end
  if type(opts.name) ~= "string" or opts.name == "" then
    bad("name", "a non-empty string naming the job", describe(opts.name))
  end
  if type(opts.dict) ~= "string" then bad("dict", "the name of a lua_shared_dict", describe(opts.dict)) end
  local dict = ngx.shared[opts.dict]
  if not dict then
    error(("scm.resty.timer: dict: no lua_shared_dict named %q (add `lua_shared_dict %s 1m;` "
      .. "to the http block)"):format(opts.dict, opts.dict), 2)
  end
  local job = {
    interval = interval, fn = fn, dict = dict, name = opts.name,
    lock = "scm:timer:" .. opts.name .. ":running",
    next = "scm:timer:" .. opts.name .. ":next",
  }
  -- each worker looks ten times an interval (0.05 s .. 10 s apart): a
  -- run starts at most that late; the lock keeps runs from overlapping
  local every = min(max(interval / 10, 0.05), 10)
  local ok, err = ngx.timer.every(every, tick, job)
  if not ok then return nil, err end
  ok, err = ngx.timer.at(0, tick, job)
  if not ok then return nil, err end
  return true
end

return M
