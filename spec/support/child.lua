-- Test support: a fresh interpreter under test (LUA), for cases that need
-- empty caches or an environment of their own.
local shell = require("support.shell")

local M = {}

-- The interpreter the specs run under (scripts/check sets LUA).
M.LUA = os.getenv("LUA") or "lua5.4"

-- The shell command that runs code (a Lua chunk) in the interpreter under
-- test with exactly env (NAME = value; false leaves a name out), PATH and
-- the sanitizer's settings. IAM and the metadata service are at iam (the
-- emulator's URL, "/metadata-unset" for the metadata service) unless env
-- names its own: never a real host.
function M.command(env, code, iam)
  local all = { HUAWEICLOUD_SDK_IAM_ENDPOINT = iam, HUAWEICLOUD_SDK_METADATA_ENDPOINT = iam .. "/metadata-unset" }
  for k, v in pairs(env or {}) do all[k] = v end
  local words = shell.sanitizer_env()
  for k, v in pairs(all) do
    if v ~= false then words[#words + 1] = k .. "=" .. shell.quote(v) end
  end
  return "env -i PATH=/usr/bin:/bin " .. table.concat(words, " ") .. " " .. M.LUA .. " -e " .. shell.quote(code)
end

return M
