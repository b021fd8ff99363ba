-- Test support: the shell, files and waiting, for every spec.
--
-- Commands run through /bin/sh with LD_PRELOAD unset: under `make asan`
-- LD_PRELOAD carries the sanitizer runtime for the interpreter, and the
-- tools the specs run (curl, nginx, openssl) go without it unless a call
-- says keep_preload.
local M = {}

-- A word the shell reads back as s, whatever s holds.
function M.quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

-- Runs a shell command; returns its output and its exit code (Lua 5.1's
-- io.popen does not give the status: the shell prints it).
function M.status(cmd, keep_preload)
  local full = (keep_preload and "" or "unset LD_PRELOAD; ") .. "{ " .. cmd .. "\n}; echo \"@@$?\""
  local p = assert(io.popen(full, "r"))
  local out = p:read("*a")
  p:close()
  local text, code = out:match("^(.-)@@(%d+)%s*$")
  return text or out, tonumber(code)
end

-- Runs a shell command and returns its output; errors when it fails.
function M.run(cmd, keep_preload)
  local text, code = M.status(cmd, keep_preload)
  if code == 0 then return text end
  error("command failed: " .. cmd .. "\n" .. text, 2)
end

-- Runs a shell command; true when it exits 0.
function M.ok(cmd)
  local r = os.execute("unset LD_PRELOAD; " .. cmd)
  return r == true or r == 0
end

-- io.popen for reading, without the sanitizer runtime.
function M.popen(cmd)
  return assert(io.popen("unset LD_PRELOAD; " .. cmd, "r"))
end

-- A fresh directory under the run's own temporary directory.
function M.tmpdir(name)
  local base = os.getenv("SCM_TEST_TMP") or os.getenv("TMPDIR") or "/tmp"
  return (M.run("mktemp -d " .. M.quote(base .. "/" .. name .. ".XXXXXX")):gsub("%s+$", ""))
end

-- The whole content of a file, or nil and the error when it cannot be read.
function M.read_file(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("*a")
  f:close()
  return s
end

-- Writes text to path, making its directory first.
function M.write_file(path, text)
  local parent = path:match("^(.*)/")
  if parent then M.run("mkdir -p " .. M.quote(parent)) end
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
  return path
end

-- A temporary file holding text (os.tmpname); the caller removes it.
function M.temp_file(text)
  local file = os.tmpname()
  local f = assert(io.open(file, "wb"))
  f:write(text)
  f:close()
  return file
end

-- Calls fn(path) with a temporary file holding text, removes the file,
-- and returns what fn returned (an error in fn is raised again, after).
local function removed(file, ok, ...)
  os.remove(file)
  if not ok then error((...), 0) end
  return ...
end
function M.with_temp_file(text, fn)
  local file = M.temp_file(text)
  return removed(file, pcall(fn, file))
end

-- Waits until check() gives a true value, polling every `step` seconds
-- (default 0.1) for at most `seconds`; returns that value, or what one
-- last check() gives once the deadline has passed.
function M.wait_for(seconds, check, step)
  local deadline = os.time() + seconds
  repeat
    local v = check()
    if v then return v end
    M.run("sleep " .. (step or 0.1))
  until os.time() > deadline
  return check()
end

-- No spec may reach a real IAM or the ECS metadata address: both must
-- point at a loopback server (scripts/check points them at the emulator).
function M.check_isolated()
  for _, name in ipairs({ "HUAWEICLOUD_SDK_IAM_ENDPOINT", "HUAWEICLOUD_SDK_METADATA_ENDPOINT" }) do
    local v = os.getenv(name) or ""
    if not v:match("^https?://127%.0%.0%.1[:/]") and not v:match("^https?://localhost[:/]") then
      error(name .. " must point at a loopback server (got '" .. v .. "'): run the specs "
        .. "through make check, or set it to the emulator's URL", 0)
    end
  end
end

-- NAME=value words for a child interpreter run under `env -i`: the
-- sanitizer build's runtime and settings, when there are any.
function M.sanitizer_env()
  local words = {}
  for _, name in ipairs({ "LD_PRELOAD", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS" }) do
    local v = os.getenv(name)
    if v then words[#words + 1] = name .. "=" .. M.quote(v) end
  end
  return words
end

-- Waits up to seconds for every process in pids to be gone; true when
-- they are.
function M.wait_gone(seconds, pids)
  return M.wait_for(seconds, function()
    for _, pid in ipairs(pids) do
      if M.ok("kill -0 " .. pid .. " 2>/dev/null") then return false end
    end
    return true
  end, 0.2)
end

return M
