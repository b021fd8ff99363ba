-- scm.metrics and scm-certs --format prometheus: the text exposition
-- format, checked by promtool (Debian's prometheus package) and line by
-- line.
package.path = "lua/?.lua;" .. package.path
local metrics = require("scm.metrics")
local emulator = require("emulator")
local shell = require("support.shell")
local cli = require("cli")

local run = cli.run

-- promtool's verdict on a text: true, or false and what it said.
local function promtool(text)
  return shell.with_temp_file(text, function(file)
    local said, code = shell.status("promtool check metrics < " .. shell.quote(file) .. " 2>&1")
    return code == 0, said
  end)
end

local function lines_of(text, prefix)
  local out = {}
  for line in text:gmatch("([^\n]*)\n") do
    if line:sub(1, #prefix) == prefix then out[#out + 1] = line end
  end
  return out
end

local INFO = { success = true, duration = 0.25, timestamp = cli.NOW }

describe("scm.metrics.render", function()
  it("writes one expiry timestamp per certificate, with HELP and TYPE", function()
    local text = metrics.render(cli.certs({ { 3 }, { -2, "EXPIRED" } }), INFO)
    assert.equal(table.concat({
      "# HELP scm_certificate_expiry_timestamp_seconds When the certificate expires (its expire_time),"
        .. " in seconds since the epoch.",
      "# TYPE scm_certificate_expiry_timestamp_seconds gauge",
      'scm_certificate_expiry_timestamp_seconds{id="scs0000000000001",domain="d1.example.com",name="c1",'
        .. 'status="ISSUED",type="DV_SSL_CERT"} 1732924800',
      'scm_certificate_expiry_timestamp_seconds{id="scs0000000000002",domain="d2.example.com",name="c2",'
        .. 'status="EXPIRED",type="DV_SSL_CERT"} 1732492800',
      "# HELP scm_certificate_expiry_unreadable 1 for a certificate whose expire_time cannot be read as a date.",
      "# TYPE scm_certificate_expiry_unreadable gauge",
      "# HELP scm_certificate_info Details of each certificate; always 1.",
      "# TYPE scm_certificate_info gauge",
      'scm_certificate_info{id="scs0000000000001",domain="d1.example.com",name="c1",status="ISSUED",'
        .. 'type="DV_SSL_CERT",brand="GEOTRUST",domain_type="",signature_algorithm="",'
        .. 'expire_time="2024-11-30 00:00:00.0",enterprise_project_id="",deploy_support="true"} 1',
      'scm_certificate_info{id="scs0000000000002",domain="d2.example.com",name="c2",status="EXPIRED",'
        .. 'type="DV_SSL_CERT",brand="GEOTRUST",domain_type="",signature_algorithm="",'
        .. 'expire_time="2024-11-25 00:00:00.0",enterprise_project_id="",deploy_support="true"} 1',
      "# HELP scm_certificates Certificates listed, by status.",
      "# TYPE scm_certificates gauge",
      'scm_certificates{status="EXPIRED"} 1',
      'scm_certificates{status="ISSUED"} 1',
      "# HELP scm_list_success 1 when the last listing of certificates succeeded, 0 when it failed.",
      "# TYPE scm_list_success gauge",
      "scm_list_success 1",
      "# HELP scm_list_duration_seconds How long the last listing took.",
      "# TYPE scm_list_duration_seconds gauge",
      "scm_list_duration_seconds 0.25",
      "# HELP scm_list_timestamp_seconds When the last listing ended, in seconds since the epoch.",
      "# TYPE scm_list_timestamp_seconds gauge",
      "scm_list_timestamp_seconds 1732665600",
      "" }, "\n"), text)
    assert.is_true(promtool(text))
  end)

  it("escapes label values and replaces bytes that are not UTF-8", function()
    local text = metrics.render({ { id = 'a"b\\c\nd', domain = "x\255y", name = "生产", status = "ISSUED",
      expire_time = "2024-11-30 00:00:00" } }, INFO)
    assert.same({ 'scm_certificate_expiry_timestamp_seconds{id="a\\"b\\\\c\\nd",domain="x\239\191\189y",'
      .. 'name="生产",status="ISSUED",type=""} 1732924800' },
      lines_of(text, "scm_certificate_expiry_timestamp_seconds{"))
    assert.is_true(promtool(text))
  end)

  it("names certificates whose expiry cannot be read, and a repeated id once", function()
    local certs = cli.certs({ { 3 }, { nil, "ISSUED", { expire_time = "01/02/2020" } } })
    certs[3] = certs[1]
    local text = metrics.render(certs, INFO)
    assert.same({ 'scm_certificate_expiry_unreadable{id="scs0000000000002",domain="d2.example.com",name="c2",'
      .. 'status="ISSUED",type="DV_SSL_CERT"} 1' }, lines_of(text, "scm_certificate_expiry_unreadable{"))
    assert.equal(1, #lines_of(text, "scm_certificate_expiry_timestamp_seconds{"))
    assert.same({ 'scm_certificates{status="ISSUED"} 2' }, lines_of(text, "scm_certificates{"))
    assert.is_true(promtool(text))
  end)

  it("honours a zone in expire_time and info.utc_offset for the rest", function()
    local text = metrics.render({ { id = "a", expire_time = "2024-11-30T08:00:00+08:00" },
      { id = "b", expire_time = "2024-11-30 08:00:00.0" } }, { success = true, utc_offset = "+08:00" })
    assert.equal(2, #lines_of(text, "scm_certificate_expiry_timestamp_seconds{"))
    for _, line in ipairs(lines_of(text, "scm_certificate_expiry_timestamp_seconds{")) do
      assert.matches(" 1732924800$", line)
    end
  end)

  it("says only that the listing failed when there are no certificates", function()
    local text = metrics.render(nil, { success = false, duration = 1.5, timestamp = 1732665600.25 })
    assert.equal(table.concat({
      "# HELP scm_list_success 1 when the last listing of certificates succeeded, 0 when it failed.",
      "# TYPE scm_list_success gauge",
      "scm_list_success 0",
      "# HELP scm_list_duration_seconds How long the last listing took.",
      "# TYPE scm_list_duration_seconds gauge",
      "scm_list_duration_seconds 1.5",
      "# HELP scm_list_timestamp_seconds When the last listing ended, in seconds since the epoch.",
      "# TYPE scm_list_timestamp_seconds gauge",
      "scm_list_timestamp_seconds 1732665600.25",
      "" }, "\n"), text)
    assert.is_true(promtool(text))
  end)

  it("raises on wrong arguments", function()
    assert.has_error(function() metrics.render("x", INFO) end,
      "bad argument #1 to 'render' (certificates must be a table or nil)")
    assert.has_error(function() metrics.render({}) end,
      "bad argument #2 to 'render' (info must be a table { success, duration, timestamp })")
    assert.has_error(function() metrics.render({}, { duration = "1" }) end,
      "bad argument #2 to 'render' (info.duration must be a number of seconds)")
  end)

  it("promtool does refuse a broken exposition (the check can fail)", function()
    local ok, said = promtool('scm_x{id="a} 1\n')
    assert.is_false(ok)
    assert.is_string(said)
  end)
end)

describe("scm-certs --format prometheus", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  it("promtool accepts its output on the emulator's data", function()
    local out, _, code = run(cli.target(emu) .. " --format prometheus")
    assert.equal(0, code)
    local ok, said = promtool(out)
    assert.is_true(ok, said)
    assert.equal(123, #lines_of(out, "scm_certificate_expiry_timestamp_seconds{"))
    assert.equal(123, #lines_of(out, "scm_certificate_info{"))
    assert.same({ "scm_list_success 1" }, lines_of(out, "scm_list_success "))
    assert.matches("\nscm_list_duration_seconds %d[%d.e-]*\n", out)
    assert.matches("\nscm_list_timestamp_seconds %d+\n", out)
  end)

  it("writes --output through a renamed temporary file; a failed listing still says so there", function()
    local dir = shell.tmpdir("scm-textfile")
    local file = dir .. "/scm.prom"
    local out, _, code = run(cli.target(emu) .. " --format prometheus --output " .. file)
    assert.equal(0, code)
    assert.equal("", out)
    assert.equal("scm.prom\n", shell.run("ls -A " .. shell.quote(dir)))
    assert.is_true(promtool(assert(io.open(file)):read("*a")))

    out, _, code = run(("--endpoint %s --token %s --format prometheus --output %s")
      :format(emu.url, ("w"):rep(40), file))
    assert.equal(3, code)
    assert.matches("^SCM UNKNOWN %- listing failed: scm: api error 401", out)
    local text = assert(io.open(file)):read("*a")
    assert.same({ "scm_list_success 0" }, lines_of(text, "scm_list_success "))
    assert.same({}, lines_of(text, "scm_certificate_info{"))
    assert.equal("scm.prom\n", shell.run("ls -A " .. shell.quote(dir)))
    shell.run("rm -rf " .. shell.quote(dir))
  end)

  it("the installed command finds scm.metrics", function()
    local tree = shell.tmpdir("scm-install-metrics")
    local LUA = cli.LUA
    local version = ({ ["lua5.1"] = "5.1", ["lua5.3"] = "5.3", ["lua5.4"] = "5.4", luajit = "5.1" })[LUA]
    shell.run(("make --no-print-directory install LUA=%s PREFIX=/opt/scm DESTDIR=%s >/dev/null 2>&1")
      :format(LUA, shell.quote(tree)))
    local root = tree .. "/opt/scm"
    local out = shell.run(("cd / && LUA_CPATH=%s LUA_PATH=%s %s/bin/scm-certs %s --format prometheus")
      :format(shell.quote(root .. "/lib/lua/" .. version .. "/?.so;;"),
        shell.quote(root .. "/share/lua/" .. version .. "/?.lua;;"), root, cli.target(emu)), true)
    assert.equal(123, #lines_of(out, "scm_certificate_info{"))
    shell.run("rm -rf " .. shell.quote(tree))
  end)
end)
