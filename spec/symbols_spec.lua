-- What scm.so shows the process it is loaded into: in OpenResty it shares
-- nginx's symbol space, so its dynamic symbol table holds the entry point
-- alone; every internal scm_* function stays hidden.
local function module_path()
  local path = package.searchpath("scm", package.cpath)
  assert(path, "scm.so not found on package.cpath")
  return path
end

-- The defined, exported symbols of a shared object, as nm -D lists them.
local function exported(path)
  -- without the sanitizer preload of `make asan`: nm is not built for it
  local p = assert(io.popen("env -u LD_PRELOAD nm -D --defined-only " .. ("%q"):format(path) .. " 2>&1"))
  local out = p:read("*a")
  local ok = p:close()
  assert(ok, "nm failed: " .. out)
  local names = {}
  for line in out:gmatch("[^\n]+") do
    local kind, name = line:match("^%x*%s+(%a)%s+(%S+)$")
    assert(kind, "unexpected nm line: " .. line)
    -- code and data; not the linker's own markers (_init, _fini, ...)
    if kind:match("[TtDdBbRrVvWwiu]") and not name:match("^_") then
      names[#names + 1] = name
    end
  end
  table.sort(names)
  return names
end

describe("the module's exported symbols", function()
  it("are luaopen_scm alone", function()
    assert.same({ "luaopen_scm" }, exported(module_path()))
  end)

  it("include no internal scm_ function or table", function()
    for _, name in ipairs(exported(module_path())) do
      assert.is_nil(name:lower():match("^scm_"), name .. " is exported")
    end
  end)
end)
