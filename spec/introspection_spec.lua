-- scm.options(): the module's own option list, each option with its type,
-- its rule in the words an error uses, its default and choices; enough
-- for a command line to build its flags and help. Checked against what
-- the module does, so the list cannot say one thing and the checks another.
local scm = require("scm")
local emulator = require("emulator")

local function by_name(list)
  local t = {}
  for _, o in ipairs(list) do t[o.name] = o end
  return t
end

-- A value of the wrong type for every rule.
local function wrong(o)
  if o.type == "boolean" then return "yes" end
  return {}
end

describe("scm.options()", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("lists every option once, in order, each with a name, type and rule", function()
    local list = scm.options()
    assert.is_true(#list >= 30)
    local seen = {}
    for _, o in ipairs(list) do
      assert.is_string(o.name)
      assert.is_nil(seen[o.name], o.name .. " twice")
      seen[o.name] = true
      assert.truthy(({ integer = true, number = true, boolean = true, string = true })[o.type], o.name)
      assert.is_string(o.rule)
      assert.equal("must", o.rule:match("^(%a+)"), o.name)
    end
    for _, name in ipairs({ "endpoint", "region", "token", "limit", "retries", "concurrency", "iam_endpoint" }) do
      assert.is_true(seen[name], name)
    end
  end)

  it("names only options the module takes, and every rule is the one a bad value raises", function()
    for _, o in ipairs(scm.options()) do
      local ok, err = pcall(scm.request, { endpoint = emu.url, token = "t", [o.name] = wrong(o) })
      assert.is_false(ok, o.name)
      assert.is_nil(err:find("unknown option", 1, true), err)
      assert.truthy(err:find(o.name .. " " .. o.rule, 1, true),
        ("%s: %q lacks %q"):format(o.name, err, o.rule))
    end
    assert.same({}, emu:log())
  end)

  it("gives the defaults a request uses", function()
    local opts = by_name(scm.options())
    local req = scm.request({ endpoint = emu.url, token = "t" })
    for _, name in ipairs({ "timeout", "connect_timeout", "retries", "max_body", "concurrency", "verify" }) do
      assert.equal(opts[name].default, req[name], name)
    end
    assert.equal(math.type and "integer" or "number", math.type and math.type(opts.retries.default) or "number")
    assert.equal("ap-southeast-1", opts.region.default)
    assert.equal(false, opts.allow_http.default)
    assert.is_nil(opts.endpoint.default)
  end)

  it("gives ranges and choices as data", function()
    local opts = by_name(scm.options())
    assert.same({ 10, 20, 50 }, opts.limit.choices)
    assert.same({ "ASC", "DESC" }, opts.sort_dir.choices)
    assert.equal(1, opts.concurrency.min)
    assert.equal(16, opts.concurrency.max)
    assert.is_true(opts.limit.query)
    assert.is_true(opts.token.secret)
    assert.is_nil(opts.timeout.query)
    assert.equal("credentials", opts.ak.group)
    assert.equal("where", opts.endpoint.group)
  end)

  it("region: the known regions are its choices, and its error lists them", function()
    local region = by_name(scm.options()).region
    assert.is_true(#region.choices >= 3)
    local ok, err = pcall(scm.request, { region = "xx-nowhere-1", token = "t" })
    assert.is_false(ok)
    assert.truthy(err:find("region must be one of " .. table.concat(region.choices, ", ") .. ", or", 1, true), err)
  end)

  it("retries: the rule states the upper bound the module keeps", function()
    local retries = by_name(scm.options()).retries
    assert.is_number(retries.max)
    local req = scm.request({ endpoint = emu.url, token = "t", retries = retries.max })
    assert.equal(retries.max, req.retries)
    local ok, err = pcall(scm.request, { endpoint = emu.url, token = "t", retries = retries.max + 1 })
    assert.is_false(ok)
    assert.truthy(err:find("retries " .. retries.rule, 1, true), err)
  end)

  it("returns a fresh list each call", function()
    local a = scm.options()
    a[1].name = "changed"
    a[2] = nil
    local b = scm.options()
    assert.are_not.equal("changed", b[1].name)
    assert.is_table(b[2])
  end)

  it("is where scm-certs --help takes its module defaults, ranges and choices", function()
    local cli = require("cli")
    local out, _, code = cli.run("--help", nil, true)
    assert.equal(0, code)
    local opts = by_name(scm.options())
    -- a flag's entry: its line and the indented lines under it, as one line
    local function line(flag)
      local entry = assert(out:match("\n  (" .. flag:gsub("%-", "%%-") .. " [^\n]*\n[^\n]*)"), flag)
      local text = entry:match("^[^\n]*")
      for more in out:sub(out:find(entry, 1, true) + #text + 1):gmatch("([^\n]*)\n") do
        if not more:match("^%s%s%s%s+%S") then break end
        text = text .. " " .. more:gsub("^%s+", "")
      end
      return text
    end
    local function g(v) return ("%g"):format(v) end
    assert.truthy(line("--timeout"):find("(default " .. g(opts.timeout.default) .. ")", 1, true))
    assert.truthy(line("--connect-timeout"):find("(default " .. g(opts.connect_timeout.default) .. ")", 1, true))
    assert.truthy(line("--retries"):find("default " .. g(opts.retries.default), 1, true))
    assert.truthy(line("--concurrency"):find(("%d..%d (default %d)"):format(opts.concurrency.min,
      opts.concurrency.max, opts.concurrency.default), 1, true))
    assert.truthy(line("--expired-days-since"):find(("%d..%d"):format(opts.expired_days_since.min,
      opts.expired_days_since.max), 1, true))
    assert.truthy(line("--sort-key"):find(table.concat(opts.sort_key.choices, ", "), 1, true))
    assert.truthy(line("--sort-dir"):find(table.concat(opts.sort_dir.choices, "|"), 1, true))
    for _, region in ipairs(opts.region.choices) do
      assert.truthy(line("--region"):find(region, 1, true), region)
    end
    assert.truthy(line("--region"):find(opts.region.default .. " (default)", 1, true))
  end)
end)
