-- Where credentials come from, first found wins: options, the SDK
-- environment variables, the SDK credentials file. Each case runs in a
-- fresh interpreter with an environment of its own.
local emulator = require("emulator")
local shell = require("support.shell")
local child_lua = require("support.child")
local requests = require("support.requests")
local tables = require("support.tables")

describe("credentials", function()
  local emu, home

  setup(function()
    emu = emulator.shared()
    home = shell.tmpdir("scm-home")
  end)
  teardown(function() shell.run("rm -rf " .. shell.quote(home)) end)
  before_each(function() emu:reset() end)

  local write = shell.write_file

  -- Runs scm.list(opts) in a child with exactly env (plus HOME); returns
  -- what it printed: "page", "err <err>" or the error raised.
  local function child(env, opts_source, prefix)
    local code = ("package.cpath = %q; local scm = require('scm'); "
      .. "local ok, page, err = pcall(scm.list, %s); "
      .. "io.write(not ok and tostring(page) or page and 'page' or ('err ' .. tostring(err)))"):format(package.cpath,
      opts_source or ("{ endpoint = %q }"):format(emu.url))
    local command = child_lua.command(tables.merge(env, { HOME = home }), code, emu.url)
    if prefix then
      return shell.run(prefix .. " " .. command .. " 2>&1; echo \" rc=$?\"", true)
    end
    return shell.run(command .. " 2>&1", true)
  end

  local function last_request()
    local log = emu:log()
    return log[#log]
  end

  local access_key = requests.access_key

  -- The emulator accepts only the key pair given here: a page proves that
  -- the request was signed with it.
  local function accept(ak, sk) emu:reset({ ak = ak, sk = sk }) end

  it("takes ak/sk from the options before the environment", function()
    accept("OPTAK", "optsk")
    local out = child({ HUAWEICLOUD_SDK_AK = "ENVAK", HUAWEICLOUD_SDK_SK = "envsk" },
      ("{ endpoint = %q, ak = 'OPTAK', sk = 'optsk' }"):format(emu.url))
    assert.equal("page", out)
    assert.equal("OPTAK", access_key(last_request()))
  end)

  it("takes a token from the options before the environment", function()
    local out = child({ HUAWEICLOUD_SDK_AK = "ENVAK", HUAWEICLOUD_SDK_SK = "envsk" },
      ("{ endpoint = %q, token = %q }"):format(emu.url, emu:config().token))
    assert.equal("page", out)
    local req = last_request()
    assert.equal(emu:config().token, req.headers["x-auth-token"])
    assert.is_nil(req.headers.authorization)
  end)

  it("uses the SDK environment variables", function()
    accept("ENVAK", "envsk")
    local out = child({ HUAWEICLOUD_SDK_AK = "ENVAK", HUAWEICLOUD_SDK_SK = "envsk",
      HUAWEICLOUD_SDK_SECURITY_TOKEN = "env-security-token", HUAWEICLOUD_SDK_DOMAIN_ID = emu:config().domain_id })
    assert.equal("page", out)
    local req = last_request()
    assert.equal("ENVAK", access_key(req))
    assert.equal("env-security-token", req.headers["x-security-token"])
    assert.equal(emu:config().domain_id, req.headers["x-domain-id"])
    assert.matches("x%-domain%-id;x%-sdk%-date;x%-security%-token", req.headers.authorization)
  end)

  it("uses the environment before the credentials file", function()
    write(home .. "/.huaweicloud/credentials", "[global]\nak = FILEAK\nsk = filesk\n")
    accept("ENVAK", "envsk")
    local out = child({ HUAWEICLOUD_SDK_AK = "ENVAK", HUAWEICLOUD_SDK_SK = "envsk" })
    assert.equal("page", out)
    assert.equal("ENVAK", access_key(last_request()))
    os.remove(home .. "/.huaweicloud/credentials")
  end)

  it("reads the [global] section of ~/.huaweicloud/credentials", function()
    write(home .. "/.huaweicloud/credentials", table.concat({
      "# SDK credentials", "[basic]", "ak = BASICAK", "sk = basicsk", "",
      "[global]", "ak = FILEAK", "sk = filesk", "domain_id = " .. emu:config().domain_id,
      "security_token = file-security-token", "" }, "\n"))
    accept("FILEAK", "filesk")
    local out = child({})
    assert.equal("page", out)
    local req = last_request()
    assert.equal("FILEAK", access_key(req))
    assert.equal(emu:config().domain_id, req.headers["x-domain-id"])
    assert.equal("file-security-token", req.headers["x-security-token"])
    os.remove(home .. "/.huaweicloud/credentials")
  end)

  it("reads the file named by HUAWEICLOUD_SDK_CREDENTIALS_FILE", function()
    local path = home .. "/elsewhere.ini"
    write(path, "[global]\r\nak=OTHERAK\r\nsk=othersk\r\n")
    accept("OTHERAK", "othersk")
    local out = child({ HUAWEICLOUD_SDK_CREDENTIALS_FILE = path })
    assert.equal("page", out)
    assert.equal("OTHERAK", access_key(last_request()))
    local missing = child({ HUAWEICLOUD_SDK_CREDENTIALS_FILE = home .. "/nope" })
    assert.matches("cannot read the credentials file", missing)
  end)

  describe("the credentials file, diagnosed", function()
    it("a file without [global] says so", function()
      write(home .. "/.huaweicloud/credentials", "[basic]\nak = BASICAK\nsk = basicsk\n")
      local out = child({})
      assert.matches("the credentials file .*/%.huaweicloud/credentials has no %[global%] section", out)
      write(home .. "/.huaweicloud/credentials", "[global]\nregion = cn-north-4\n")
      assert.matches("%[global%] of the credentials file .* has no ak and sk", child({}))
      os.remove(home .. "/.huaweicloud/credentials")
      assert.same({}, emu:log())
    end)

    it("a UTF-8 byte order mark is skipped", function()
      write(home .. "/.huaweicloud/credentials", "\239\187\191[global]\nak = BOMAK\nsk = bomsk\n")
      accept("BOMAK", "bomsk")
      assert.equal("page", child({}))
      assert.equal("BOMAK", access_key(last_request()))
      os.remove(home .. "/.huaweicloud/credentials")
    end)

    it("a directory or a FIFO is refused at once, never read", function()
      local dir = home .. "/a-directory"
      shell.run("mkdir -p " .. shell.quote(dir))
      assert.matches("cannot read .*a%-directory: not a regular file",
        child({ HUAWEICLOUD_SDK_CREDENTIALS_FILE = dir }))
      local fifo = home .. "/a-fifo"
      shell.run("rm -f " .. shell.quote(fifo) .. "; mkfifo " .. shell.quote(fifo))
      -- nobody writes to it: reading would wait for ever; timeout(1) says if it did
      local out = child({ HUAWEICLOUD_SDK_CREDENTIALS_FILE = fifo }, nil, "timeout 20")
      assert.matches("cannot read .*a%-fifo: not a regular file", out)
      assert.matches("rc=0%s*$", out)
      os.remove(fifo)
    end)
  end)

  describe("half a credential raises, naming what is missing", function()
    it("in the environment", function()
      assert.matches("HUAWEICLOUD_SDK_AK is set in the environment but HUAWEICLOUD_SDK_SK is missing",
        child({ HUAWEICLOUD_SDK_AK = "ENVAK" }))
      assert.matches("HUAWEICLOUD_SDK_SK is set in the environment but HUAWEICLOUD_SDK_AK is missing",
        child({ HUAWEICLOUD_SDK_SK = "envsk" }))
    end)

    it("in the credentials file", function()
      write(home .. "/.huaweicloud/credentials", "[global]\nak = FILEAK\n")
      local out = child({})
      assert.matches("ak is set in %[global%] of .* but sk is missing", out)
      os.remove(home .. "/.huaweicloud/credentials")
    end)

    it("in the options", function()
      assert.matches("ak is set but sk is missing",
        child({}, ("{ endpoint = %q, ak = 'A' }"):format(emu.url)))
      assert.matches("token and ak/sk are exclusive",
        child({}, ("{ endpoint = %q, ak = 'A', sk = 'B', token = 'T' }"):format(emu.url)))
      assert.matches("security_token and domain_id go with ak and sk",
        child({}, ("{ endpoint = %q, token = 'T', domain_id = 'D' }"):format(emu.url)))
    end)

    it("and none at all names every source", function()
      local out = child({})
      assert.matches("no credentials", out)
      assert.matches("HUAWEICLOUD_SDK_AK", out)
      assert.matches("credentials", out)
      assert.same({}, emu:log())
    end)
  end)

  describe("region", function()
    local scm = require("scm")

    it("maps each known region to its endpoint", function()
      for _, region in ipairs({ "cn-north-4", "ap-southeast-1", "my-kualalumpur-1" }) do
        local req = scm.request({ region = region, token = "t" })
        assert.equal("https://scm." .. region .. ".myhuaweicloud.com/v3/scm/certificates", req.url)
      end
      assert.equal("https://scm.ap-southeast-1.myhuaweicloud.com/v3/scm/certificates",
        scm.request({ token = "t" }).url)
    end)

    it("raises for an unknown region, naming the known ones", function()
      local ok, err = pcall(scm.request, { region = "eu-west-101", token = "t" })
      assert.is_false(ok)
      assert.matches("region must be one of cn%-north%-4, ap%-southeast%-1, my%-kualalumpur%-1", err)
      assert.matches("HUAWEICLOUD_SDK_REGION_SCM_EU_WEST_101", err)
    end)

    it("takes the endpoint from HUAWEICLOUD_SDK_REGION_SCM_<ID>", function()
      local out = child({ HUAWEICLOUD_SDK_REGION_SCM_CN_NORTH_4 = emu.url },
        ("{ region = 'cn-north-4', token = %q }"):format(emu:config().token))
      assert.equal("page", out)
      assert.equal(1, #emu:log())
      -- also for a region the module does not know
      out = child({ HUAWEICLOUD_SDK_REGION_SCM_EU_WEST_101 = emu.url },
        ("{ region = 'eu-west-101', token = %q }"):format(emu:config().token))
      assert.equal("page", out)
    end)
  end)

  it("a FIFO as the credentials file does not block: it is not a regular file", function()
    local fifo = home .. "/credentials.fifo"
    shell.run("rm -f " .. shell.quote(fifo) .. "; mkfifo " .. shell.quote(fifo))
    -- timeout: before the fix, opening the FIFO waited for a writer forever
    local code = ("package.cpath = %q; local ok, err = pcall(require('scm').list, { endpoint = %q }); "
      .. "io.write(ok and 'no error' or tostring(err))"):format(package.cpath, emu.url)
    local out = shell.run("env -u HUAWEICLOUD_SDK_AK -u HUAWEICLOUD_SDK_SK HOME=" .. shell.quote(home)
      .. " HUAWEICLOUD_SDK_CREDENTIALS_FILE=" .. shell.quote(fifo) .. " timeout 60 " .. child_lua.LUA
      .. " -e " .. shell.quote(code) .. " 2>&1", true)
    assert.truthy(out:find("cannot read " .. fifo .. ": not a regular file", 1, true), out)
    assert.same({}, emu:log())
  end)
end)
