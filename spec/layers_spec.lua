-- The code map in README.md (Development, "Code map") against src/: every
-- C file is in one layer of the table, and no file includes the header of
-- a module in a higher layer.
local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end

-- module name ("options") -> layer number, from the table's rows.
local function layers()
  local readme = read("README.md")
  local start = assert(readme:find("\n### Code map\n", 1, true), "README.md has no Code map")
  local map = readme:sub(start + 1):match("^[^\n]*\n(.-)\n#") or readme:sub(start + 1)
  local out = {}
  for n, files in map:gmatch("\n| (%d+) [^|]*| ([^|]+) |") do
    for name in files:gmatch("`([%w_]+)%.[ch]`") do out[name] = tonumber(n) end
  end
  return out
end

local function sources()
  local p = assert(io.popen("ls src"))
  local list = {}
  for name in p:lines() do
    if name:match("%.[ch]$") then list[#list + 1] = name end
  end
  p:close()
  return list
end

describe("the code map", function()
  it("places every file of src/ in a layer", function()
    local map = layers()
    for _, file in ipairs(sources()) do
      assert.is_number(map[file:match("^(.-)%.[ch]$")], file .. " is not in README's code map")
    end
  end)

  it("has no file include a header of a higher layer", function()
    local map = layers()
    for _, file in ipairs(sources()) do
      local own = map[file:match("^(.-)%.[ch]$")]
      for header in read("src/" .. file):gmatch('#include "([%w_]+)%.h"') do
        assert.is_number(map[header], header .. ".h is not in the code map")
        assert.is_true(map[header] <= own,
          ("%s (layer %d) includes %s.h (layer %d)"):format(file, own, header, map[header]))
      end
    end
  end)

  it("keeps Lua and libcurl out of the byte layer's headers", function()
    for _, header in ipairs({ "common.h", "buffer.h", "redact.h", "sign.h" }) do
      local text = read("src/" .. header)
      assert.is_nil(text:find("#include <lua", 1, true), header)
      assert.is_nil(text:find("#include <curl", 1, true), header)
      assert.is_nil(text:find('#include "compat.h"', 1, true), header)
    end
  end)

  it("keeps the Lua stack out of the transport", function()
    -- one HTTP exchange: no Lua state, no Lua call, no stack index
    for _, file in ipairs({ "transport.h", "transport.c" }) do
      local code = read("src/" .. file)
      assert.is_nil(code:find("#include <lua", 1, true), file .. " includes a Lua header")
      assert.is_nil(code:find("lua_State", 1, true), file .. " mentions lua_State")
      assert.is_nil(code:match("%f[%w_]lua_%l[%w_]*"), file .. " calls into Lua")
      assert.is_nil(code:match("%f[%w_]luaL_%l[%w_]*"), file .. " calls into Lua")
      assert.is_nil(code:lower():find("stack", 1, true), file .. " speaks of a stack")
    end
  end)

  it("has each header declare only what its own .c defines", function()
    for _, file in ipairs(sources()) do
      local name = file:match("^(.-)%.h$")
      local c = name and io.open("src/" .. name .. ".c", "rb")
      if c then
        local code = "\n" .. c:read("*a")
        c:close()
        for line in read("src/" .. file):gmatch("[^\n]+") do
          local fn = line:match("^%a[^(#]*[ *](scm_[%w_]+)%(") or line:match("^%a[^(#]*[ *](luaopen_[%w_]+)%(")
          if fn then
            assert.truthy(code:find("\n[%a][^\n;]-[ *]" .. fn .. "%("),
              ("%s declares %s, which %s.c does not define"):format(file, fn, name))
          end
        end
      end
    end
  end)

  it("defines each Lua function in the module it belongs to", function()
    -- scm.NAME -> the file whose layer it belongs to (README's code map)
    local homes = {
      scm_l_error = "error.c", scm_l_decode = "decode.c",
      scm_l_sign = "request.c", scm_l_request = "request.c",
    }
    for fn, home in pairs(homes) do
      for _, file in ipairs(sources()) do
        local defines = file:match("%.c$") ~= nil and
          ("\n" .. read("src/" .. file)):find("\nint " .. fn .. "%(") ~= nil
        if file == home then
          assert.is_true(defines, home .. " does not define " .. fn)
        else
          assert.is_false(defines, file .. " defines " .. fn .. ", which belongs in " .. home)
        end
      end
    end
  end)
end)
