-- The manual page of scm-certs (doc/scm-certs.1, installed by make install
-- and the Debian package) against the command's own --help, so the two
-- cannot drift apart: every flag --help lists has its entry in the page's
-- OPTIONS, the page names no flag the command does not take, the numeric
-- defaults and the statuses agree. And what lintian checks of a manual
-- page: no warning from man, a whatis line lexgrog can read.
local shell = require("support.shell")
local cli = require("cli")

local run, quote = shell.run, shell.quote
local PAGE = "doc/scm-certs.1"

local function read(path) return assert(shell.read_file(path)) end

local function sorted_keys(t)
  local list = {}
  for k in pairs(t) do list[#list + 1] = k end
  table.sort(list)
  return list
end

-- Keys of a that b does not have, sorted (so a failure names them).
local function missing(a, b)
  local out = {}
  for k in pairs(a) do
    if not b[k] then out[#out + 1] = k end
  end
  table.sort(out)
  return out
end

-- Roff source as the words a reader sees: \- is a hyphen, font changes
-- and zero-width escapes go.
local function plain(roff)
  return (roff:gsub("\\%-", "-"):gsub("\\f[BIRP]", ""):gsub("\\f%(..", ""):gsub("\\[&%%]", ""))
end

-- Every long flag written in text.
local function long_flags(text)
  local set = {}
  for flag in text:gmatch("%f[%w%-]%-%-%a[%w%-]*") do set[flag] = true end
  return set
end

-- The flags of one option heading ("-w, --warning DAYS"): long flags and
-- single-letter ones.
local function heading_flags(text, set)
  for word in text:gmatch("[^%s,\"]+") do
    if word:match("^%-%-%a[%w%-]*$") or word:match("^%-%a$") then set[word] = true end
  end
  return set
end

-- --help: its text, the flags of its option entries (a line that starts
-- with a flag), and each entry's text (heading and continuation lines)
-- by flag.
local function help()
  local out, _, code = cli.run("--help", nil, true)
  assert.equal(0, code)
  local entries, text_of, current = {}, {}, nil
  for line in out:gmatch("([^\n]*)\n") do
    local head = line:match("^  (%-%S.-)%s%s+") or line:match("^  (%-%S.*)$")
    if head then
      current = heading_flags(head, {})
      for flag in pairs(current) do
        entries[flag] = true
        text_of[flag] = line
      end
    elseif current and line:match("^%s%s%s%s+%S") then
      for flag in pairs(current) do text_of[flag] = text_of[flag] .. " " .. line end
    else
      current = nil
    end
  end
  return out, entries, text_of
end

-- An entry's heading as a reader sees it: ".BI \-\-region " ID"" is
-- "--region ID".
local function heading_text(line)
  return (plain(line):gsub("^%.%a+%s*", ""):gsub('"', ""):gsub("%s+", " "):gsub("^ ", ""):gsub(" $", ""))
end

-- The page: its plain text, the flags of the headings of its OPTIONS
-- section (the line after each .TP), each entry's text and each entry's
-- heading by flag.
local function page()
  local roff = read(PAGE)
  local entries, text_of, heading_of = {}, {}, {}
  local section, current, heading_next
  for line in roff:gmatch("([^\n]*)\n?") do
    local sh = line:match("^%.SH%s+\"?([^\"]*)")
    if sh then
      section, current, heading_next = sh, nil, false
    elseif section == "OPTIONS" then
      if line:match("^%.TP") then
        heading_next, current = true, nil
      elseif line:match("^%.SS") or line:match("^%.PP") or line:match("^%.P$") then
        current = nil
      elseif heading_next then
        heading_next = false
        current = heading_flags(plain(line), {})
        for flag in pairs(current) do
          entries[flag] = true
          text_of[flag] = plain(line)
          heading_of[flag] = heading_text(line)
        end
      elseif current then
        for flag in pairs(current) do text_of[flag] = text_of[flag] .. " " .. plain(line) end
      end
    end
  end
  return plain(roff), entries, text_of, heading_of
end

describe("the manual page of scm-certs", function()
  local help_text, help_entries, help_text_of
  local page_text, page_entries, page_text_of, page_heading_of

  setup(function()
    help_text, help_entries, help_text_of = help()
    page_text, page_entries, page_text_of, page_heading_of = page()
  end)

  it("reads --help as the spec expects (entries found, each flag named in the text is one)", function()
    for _, flag in ipairs({ "--endpoint", "--status", "--format", "--warning", "-w", "--critical", "-c",
      "--include-dead", "--timeout", "--help", "-h", "--version" }) do
      assert.is_true(help_entries[flag], flag)
    end
    assert.same({}, missing(long_flags(help_text), help_entries))
  end)

  it("has an OPTIONS entry for every flag --help lists", function()
    assert.same({}, missing(help_entries, page_entries))
  end)

  it("names no flag that --help does not list, in an entry or anywhere else", function()
    assert.same({}, missing(page_entries, help_entries))
    assert.same({}, missing(long_flags(page_text), help_entries))
  end)

  -- README's scm-certs section: its flag table names every flag --help
  -- lists (but --help and --version, which need no row), and no other.
  it("README's scm-certs table lists the flags --help lists, and no other", function()
    local readme = read("README.md")
    local section = assert(readme:match("\n## scm%-certs\n(.-)\n## "), "no scm-certs section in README.md")
    local rows = {}
    for line in section:gmatch("[^\n]+") do
      local first = line:match("^|%s*(.-)%s*|")
      if first then heading_flags(first:gsub("`", ""):gsub("\\|", " "), rows) end
    end
    local expected = {}
    for flag in pairs(help_entries) do
      if flag:match("^%-%-") and flag ~= "--help" and flag ~= "--version" then expected[flag] = true end
    end
    assert.same({}, missing(expected, rows))
    assert.same({}, missing(long_flags(section), help_entries))
  end)

  it("gives the numeric defaults --help gives", function()
    local checked = 0
    for _, flag in ipairs(sorted_keys(help_text_of)) do
      local default = help_text_of[flag]:match("default (%d+)")
      if default and flag:match("^%-%-") then
        checked = checked + 1
        assert.is_truthy(page_text_of[flag], flag .. " has no entry")
        assert.is_truthy(page_text_of[flag]:find("default " .. default, 1, true),
          ("%s: --help says default %s, the page says: %s"):format(flag, default, page_text_of[flag]))
      end
    end
    assert.is_true(checked >= 4)
  end)

  it("gives each module option's flag the value name, choices, range and default scm.options() gives", function()
    local checked = 0
    for _, o in ipairs(require("scm").options()) do
      if o.flag then
        checked = checked + 1
        local text = page_text_of[o.flag]
        assert.is_truthy(text, o.flag .. " has no entry")
        local arg = o.arg or (o.type ~= "boolean" and table.concat(o.choices, "|"))
        assert.equal(o.flag .. (arg and " " .. arg or ""), page_heading_of[o.flag])
        for _, choice in ipairs(o.choices or {}) do
          assert.is_truthy(text:find(tostring(choice), 1, true), o.flag .. ": no " .. tostring(choice))
        end
        if o.type == "integer" and o.max then
          assert.is_truthy(text:find(("%d to %d"):format(o.min, o.max), 1, true),
            ("%s: the page does not say %d to %d: %s"):format(o.flag, o.min, o.max, text))
        end
        if o.default ~= nil and o.type ~= "boolean" then
          local default = ("%g"):format(tonumber(o.default) or 0)
          if type(o.default) == "string" then default = o.default .. " (the default)" end
          assert.is_truthy(text:find(default, 1, true),
            ("%s: the page does not give the default %s: %s"):format(o.flag, default, text))
        end
      end
    end
    assert.is_true(checked >= 15)
  end)

  it("names every status --help names", function()
    local statuses = {}
    for _, flag in ipairs({ "--status", "--include-dead" }) do
      for word in help_text_of[flag]:gmatch("%f[%w_]%u[%u_]+%f[^%w_]") do statuses[word] = true end
    end
    assert.is_true(statuses.CANCLEREVOKING and statuses.SUPPLEMENTCHECKING and true)
    local in_page = {}
    for word in page_text:gmatch("%f[%w_]%u[%u_]+%f[^%w_]") do in_page[word] = true end
    assert.same({}, missing(statuses, in_page))
  end)

  it("carries the release number", function()
    local version = read("VERSION"):match("^(%d+%.%d+%.%d+)\n$")
    assert.equal(version, read(PAGE):match('\n%.TH SCM%-CERTS 1 "[^"]*" "scm ([^"]*)"'))
  end)

  it("formats without a warning from man (as lintian runs it)", function()
    local out = run("LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 -l -Tutf8 -Z "
      .. quote(PAGE) .. " 2>&1 >/dev/null")
    assert.equal("", out)
  end)

  it("has a NAME line lexgrog reads (the whatis entry)", function()
    local out = run("lexgrog " .. quote(PAGE))
    assert.matches('^doc/scm%-certs%.1: "scm%-certs %- [^\n]+"\n$', out)
  end)
end)
