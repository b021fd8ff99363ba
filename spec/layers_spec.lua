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
end)
