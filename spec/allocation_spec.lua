-- Raises that cannot leak: every call runs with the Lua state's Nth
-- allocation failing, for every N up to the call's last allocation. Each
-- run ends in a result or a raise, never a crash; under `make asan` and
-- `make memcheck` nothing the module allocated outlives it (the process
-- fails at exit on a leak). Credentials from the environment are copied
-- into storage of the module's.
local scm = require("scm")
local emulator = require("emulator")
local testalloc = require("scm_testalloc")
-- LuaJIT: the interpreter only. Its compiled traces do not survive an
-- allocation failing at an arbitrary point (a crash inside LuaJIT's own
-- unwinder, no frame of the module's, about one run in three); with the
-- compiler off every run passes.
if jit then jit.off() end

describe("a memory error anywhere", function()
  local emu, cfg

  setup(function() emu = emulator.shared() end)
  before_each(function()
    emu:reset({ certs = 12, ak = "ALLOCAK", sk = "allocsk-secret" })
    cfg = emu:config()
  end)
  after_each(function() testalloc.disarm() end)

  local function signed(extra)
    local o = { endpoint = emu.url, ak = "ALLOCAK", sk = "allocsk-secret", domain_id = cfg.domain_id,
      security_token = "alloc-security-token", limit = 10, concurrency = 2, retries = 0 }
    for k, v in pairs(extra or {}) do o[k] = v end
    return o
  end

  -- Runs call with the 1st, 2nd, ... allocation failing until a run
  -- reaches none; returns how many runs raised and how many returned.
  local function every_allocation_failing(call)
    local raised, returned, n = 0, 0, 1
    -- armed inside the protected call: pcall's own set-up never fails
    local function armed(k)
      testalloc.arm(k)
      return call()
    end
    while true do
      local ok, err = pcall(armed, n)
      local _, failed = testalloc.disarm()
      if ok then
        returned = returned + 1
      else
        raised = raised + 1
        -- the memory error itself, or what the module made of it: never
        -- a secret
        local text = tostring(err)
        assert.is_nil(text:find("allocsk-secret", 1, true), text)
        assert.is_nil(text:find("alloc-security-token", 1, true), text)
      end
      if not failed then break end
      n = n + 1
      if n % 64 == 0 then collectgarbage() end
    end
    collectgarbage()
    collectgarbage()
    assert.is_true(raised > 0, "no run raised: the allocator never failed")
    return raised, returned, n
  end

  it("scm.list", function()
    every_allocation_failing(function() assert(scm.list(signed())) end)
  end)

  it("scm.each, to the end and left early", function()
    every_allocation_failing(function()
      local n = 0
      for _ in scm.each(signed()) do n = n + 1 end
      assert(n == 12)
    end)
    every_allocation_failing(function()
      for cert in scm.each(signed()) do
        if cert then break end -- left after the first
      end
    end)
  end)

  it("a stored iterator, called by hand", function()
    every_allocation_failing(function()
      local next_cert = scm.each(signed())
      assert(next_cert())
    end)
  end)

  it("scm.all", function()
    every_allocation_failing(function() assert(#assert(scm.all(signed())) == 12) end)
  end)

  it("a client's list, each and all", function()
    local client = scm.new(signed())
    every_allocation_failing(function()
      assert(client:list())
      for cert in client:each() do
        if cert then break end
      end
      assert(client:all())
    end)
    client:close()
  end)

  it("scm.sign", function()
    every_allocation_failing(function()
      return scm.sign({ ak = "ALLOCAK", sk = "allocsk-secret", url = emu.url .. "/v3/scm/certificates?limit=10",
        headers = { ["X-Sdk-Date"] = "20260101T000000Z", Host = "127.0.0.1" } })
    end)
  end)

  it("scm.request", function()
    every_allocation_failing(function() return scm.request(signed()) end)
  end)

  it("scm.plan and its requests", function()
    every_allocation_failing(function()
      local plan = scm.plan(signed())
      local req = plan:request(plan:next())
      assert(req.headers)
    end)
  end)

  it("an err whose message held a secret", function()
    every_allocation_failing(function()
      return scm.error({ kind = "api", message = "denied for allocsk-secret and alloc-security-token" },
        signed())
    end)
  end)

  it("keys from the ECS metadata service, fetched and then cached", function()
    local n = 0
    every_allocation_failing(function()
      n = n + 1
      -- a new address every few runs: the fetch, then the cache
      testalloc.putenv("HUAWEICLOUD_SDK_METADATA_ENDPOINT", emu.url .. "/ecs-alloc-" .. (n - n % 4))
      local client = scm.new({ endpoint = emu.url, credentials = "ecs", domain_id = cfg.domain_id,
        limit = 10, retries = 0 })
      assert(client:list())
      client:close()
    end)
    testalloc.putenv("HUAWEICLOUD_SDK_METADATA_ENDPOINT", emu.url .. "/metadata-unset")
  end)

  it("keys from the credentials file", function()
    local dir = emulator.tmpdir("alloc-credentials")
    local f = assert(io.open(dir .. "/credentials", "w"))
    f:write("[global]\nak = ALLOCAK\nsk = allocsk-secret\ndomain_id = ", cfg.domain_id, "\n")
    f:close()
    testalloc.putenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", dir .. "/credentials")
    local ok, err = pcall(every_allocation_failing, function()
      assert(scm.list({ endpoint = emu.url, limit = 10, retries = 0 }))
    end)
    testalloc.putenv("HUAWEICLOUD_SDK_CREDENTIALS_FILE", "")
    os.remove(dir .. "/credentials")
    os.remove(dir)
    assert(ok, err)
  end)

  it("the account id looked up through IAM", function()
    every_allocation_failing(function()
      local client = scm.new(signed({ domain_id = false }))
      assert(client:list())
      client:close()
    end)
  end)
end)

describe("credentials from the environment", function()
  local emu

  setup(function() emu = emulator.shared() end)

  it("are copied: a listing signs every page with the keys it started with", function()
    emu:reset({ certs = 30, ak = "ENVAK1", sk = "envsk1" })
    local cfg = emu:config()
    testalloc.putenv("HUAWEICLOUD_SDK_AK", "ENVAK1")
    testalloc.putenv("HUAWEICLOUD_SDK_SK", "envsk1")
    testalloc.putenv("HUAWEICLOUD_SDK_DOMAIN_ID", cfg.domain_id)
    local ok, err = pcall(function()
      local next_cert = scm.each({ endpoint = emu.url, limit = 10, concurrency = 1, retries = 0 })
      assert(next_cert())
      -- the host program reuses the variables' storage
      testalloc.overwrite("HUAWEICLOUD_SDK_AK", "ENVAK2")
      testalloc.overwrite("HUAWEICLOUD_SDK_SK", "envsk2")
      local n = 1
      while next_cert() do n = n + 1 end
      return n
    end)
    testalloc.putenv("HUAWEICLOUD_SDK_AK", "")
    testalloc.putenv("HUAWEICLOUD_SDK_SK", "")
    testalloc.putenv("HUAWEICLOUD_SDK_DOMAIN_ID", "")
    assert.is_true(ok, tostring(err))
    assert.equal(30, err)
    for _, req in ipairs(emu:log()) do
      local auth = req.headers.authorization or req.headers.Authorization or ""
      assert.truthy(auth:find("Access=ENVAK1", 1, true), auth)
    end
  end)
end)
