-- luacheck configuration: every Lua file of the project, no warnings.
std = "max"
max_line_length = 120
exclude_files = { "build/**", "luarocks-tree/**" }

files["spec/**"] = { std = "+busted" }
-- handlers of the specs' private nginx
files["spec/resty_handlers.lua"] = { globals = { "ngx" } }
-- code that runs inside nginx
files["lua/scm/resty.lua"] = { globals = { "ngx" } }
files["lua/scm/resty/**"] = { globals = { "ngx" } }
files["examples/openresty/**"] = { globals = { "ngx" } }
files["emulator/**"] = { globals = { "ngx" } }
-- LuaRocks reads its configuration as global assignments
files["luarocks/config.lua"] = { ignore = { "131" },
  globals = { "rocks_provided" } }
