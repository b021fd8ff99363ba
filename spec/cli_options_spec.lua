-- scm-certs takes its module flags from scm.options(): every option the
-- list gives a flag is a flag of the command, in --help with the list's
-- help text, and reaches the server as that option; and --help and the
-- parser follow the list when it changes (a flag list typed out in the
-- command would not).
local scm = require("scm")
local emulator = require("emulator")
local shell = require("support.shell")
local cli = require("cli")

local run = cli.run

-- --help's entries: the text of each flag's entry (its heading line and
-- the indented lines under it, on one line, spaces squeezed), by flag.
local function entries(help)
  local text_of, current = {}, nil
  for line in help:gmatch("([^\n]*)\n") do
    local head = line:match("^  (%-%S.-)%s%s+") or line:match("^  (%-%S.*)$")
    if head then
      current = {}
      for flag in head:gmatch("%-[%w%-]+") do
        current[#current + 1] = flag
        text_of[flag] = line
      end
    elseif current and line:match("^%s%s%s%s+%S") then
      for _, flag in ipairs(current) do text_of[flag] = text_of[flag] .. " " .. line end
    else
      current = nil
    end
  end
  for flag, text in pairs(text_of) do text_of[flag] = text:gsub("%s+", " "):gsub("^ ", "") end
  return text_of
end

-- The help text scm.options() gives an option.
local function help_of(name)
  for _, o in ipairs(scm.options()) do
    if o.name == name then return o.help end
  end
end

local function flagged(list)
  local out = {}
  for _, o in ipairs(list) do
    if o.flag then out[#out + 1] = o end
  end
  return out
end

-- A switch: a boolean flag without a value, which sets the other value
-- than the default.
local function is_switch(o) return o.type == "boolean" and o.arg == nil end

-- A valid value for the option other than its default, as the command
-- line and the query string write it.
local function value_for(o)
  if o.choices then return tostring(o.choices[#o.choices]) end
  if o.type == "integer" then return tostring(o.max or o.min + 1) end
  if o.type == "number" then return "5" end
  if o.type == "boolean" then return "false" end
  return "x1"
end

-- A Lua file run before scm-certs (LUA_INIT) that rewrites what
-- scm.options() returns: edit(list) changes the list in place.
local function with_options(edit_source, fn)
  local file = shell.temp_file(([[
local scm = require("scm")
local options = scm.options
scm.options = function()
  local list = options()
  local by = {}
  for _, o in ipairs(list) do by[o.name] = o end
  %s
  return list
end
]]):format(edit_source))
  local ok, err = pcall(fn, "LUA_INIT=@" .. shell.quote(file))
  os.remove(file)
  if not ok then error(err, 0) end
end

describe("scm-certs flags from scm.options()", function()
  local emu, help

  setup(function()
    emu = emulator.shared()
    local out, _, code = run("--help", nil, true)
    assert.equal(0, code)
    help = entries(out)
  end)
  before_each(function() emu:reset() end)

  it("gives the module options' flags, each with its help line, on the command and in --help", function()
    local list = flagged(scm.options())
    assert.is_true(#list >= 15, "options with a flag: " .. #list)
    for _, o in ipairs(list) do
      assert.matches("^%-%-%l[%l%-]*$", o.flag)
      assert.is_string(o.help)
      local text = help[o.flag]
      assert.is_truthy(text, o.flag .. " is not in --help")
      local shown = is_switch(o) and (o.default and "do not " .. o.help or o.help) or o.help
      assert.is_truthy(text:find(shown, 1, true), ("%s: --help says %q, the list %q"):format(o.flag, text, shown))
      local heading = o.arg and (o.flag .. " " .. o.arg)
        or (not is_switch(o) and o.flag .. " " .. table.concat(o.choices, "|")) or o.flag
      assert.equal(heading, text:sub(1, #heading), o.flag)
    end
    -- options without a flag are not on the command line (but --status,
    -- the command's own: it takes several and filters them itself)
    for _, o in ipairs(scm.options()) do
      if not o.flag and o.name ~= "status" then
        assert.is_nil(help["--" .. o.name:gsub("_", "-")], o.name)
      end
    end
  end)

  it("sends each query option's flag to the server as that option", function()
    local target = cli.target(emu)
    local sent = 0
    for _, o in ipairs(flagged(scm.options())) do
      if o.query then
        emu:clear_log()
        local value = value_for(o)
        local out, _, code = run(("%s --format json %s %s"):format(target, o.flag, shell.quote(value)))
        assert.equal(0, code, o.flag .. ": " .. out)
        local _, reqs = emu:requests_to("/v3/scm/certificates")
        local first = reqs[1]
        assert.is_truthy(first, o.flag)
        assert.equal(value, first.args[o.name], o.flag)
        sent = sent + 1
      end
    end
    assert.is_true(sent >= 5)
  end)

  it("takes every other flag of an option, and refuses a value outside its range by the module's rule", function()
    local target = cli.target(emu)
    local taken, refused = 0, 0
    for _, o in ipairs(flagged(scm.options())) do
      if not o.query and o.name ~= "endpoint" and o.name ~= "token" then
        taken = taken + 1
        local args = o.name == "region" and "--token t" or target
        args = args .. " --dry-run " .. o.flag .. (is_switch(o) and "" or " " .. shell.quote(value_for(o)))
        local out, _, code = run(args, nil, true)
        assert.equal(0, code, o.flag .. ": " .. out)
        if o.name == "region" then assert.matches(value_for(o), out, 1, true) end
      end
      if o.type == "integer" and o.max then
        local out, _, code = run(("%s --dry-run %s %d"):format(target, o.flag, o.max + 1))
        assert.equal(3, code, o.flag)
        assert.equal(("SCM UNKNOWN - %s %s"):format(o.name, o.rule), out:sub(1, 15 + #o.name + #o.rule))
        refused = refused + 1
      end
    end
    assert.is_true(taken >= 8 and refused >= 3, ("%d taken, %d refused"):format(taken, refused))
    assert.equal(0, emu:api_requests())
  end)

  it("--help and the parser follow the list: a changed help text, a new flag, a flag taken away", function()
    with_options([[
      by.timeout.help = "xyzzy: the help the list gives"
      by.user_agent.flag, by.user_agent.arg = "--user-agent", "UA"
      by.cafile.flag = nil
    ]], function(init)
      local out, _, code = run("--help", init, true)
      assert.equal(0, code)
      local changed = entries(out)
      assert.matches("xyzzy: the help the list gives", changed["--timeout"], 1, true)
      assert.equal("--user-agent UA", changed["--user-agent"]:sub(1, 15))
      assert.matches(help_of("user_agent"), changed["--user-agent"], 1, true)
      assert.is_nil(changed["--cafile"])

      out, _, code = run(cli.target(emu) .. " --dry-run --user-agent probe/1.0", init)
      assert.equal(0, code, out)
      assert.matches("\nUser%-Agent: probe/1%.0\n", out)
      out, _, code = run(cli.target(emu) .. " --dry-run --cafile /etc/ssl/certs/ca-certificates.crt", init)
      assert.equal(3, code)
      assert.matches("^SCM UNKNOWN %- unknown argument %-%-cafile", out)
    end)
    -- and without the change, the command is as before
    assert.is_truthy(help["--cafile"])
    assert.is_nil(help["--user-agent"])
  end)
end)

