-- scm.resty with the credentials the official SDKs handle for the user:
-- the account id looked up through IAM, the content keyword, and ECS
-- metadata keys, all over cosockets, on a real nginx against the emulator.
-- The nginx has HUAWEICLOUD_SDK_AK/SK in its environment (a key pair of
-- its own) and IAM and the metadata service at the emulator.
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local requests = require("support.requests")
local test_nginx = require("support.nginx")

local ENV_AK, ENV_SK = "RESTYENVAK", "resty-env-secret"

-- POST /t: steps ({ call, opts, client = defaults or nil }) run in one
-- request handler; the answer is their results, as JSON.
local SERVER = [[
    location = /t {
      client_body_buffer_size 64k;
      content_by_lua_block {
        local cjson = require("cjson")
        local resty = require("scm.resty")
        ngx.req.read_body()
        local req = cjson.decode(ngx.req.get_body_data())
        local function err_table(err)
          if type(err) ~= "table" then return { raised = tostring(err) } end
          return { kind = err.kind, status = err.status, code = err.code, message = err.message,
            service = err.service, attempts = err.attempts }
        end
        local out = {}
        for i, step in ipairs(req) do
          local client = step.client and resty.new(step.client) or resty
          local ok, raised = pcall(function()
            if step.call == "list" then
              local page, err
              if client == resty then page, err = resty.list(step.opts) else page, err = client:list(step.opts) end
              out[i] = page and { total_count = page.total_count, n = #page.certificates }
                or { err = err_table(err) }
            elseif step.call == "all" then
              local certs, err
              if client == resty then certs, err = resty.all(step.opts) else certs, err = client:all(step.opts) end
              local ids = {}
              for k, c in ipairs(certs or {}) do ids[k] = c.id end
              out[i] = certs and { total_count = certs.total_count, n = #certs, ids = ids }
                or { err = err_table(err) }
            else
              local ids = {}
              local eok, eerr = pcall(function()
                local iter = client == resty and resty.each(step.opts) or client:each(step.opts)
                for cert in iter do ids[#ids + 1] = cert.id end
              end)
              out[i] = eok and { n = #ids, ids = ids } or { err = err_table(eerr) }
            end
          end)
          if not ok then out[i] = { err = err_table(raised) } end
        end
        ngx.header.content_type = "application/json"
        ngx.say(cjson.encode(out))
      }
    }
]]


describe("OpenResty path (scm.resty): account id, content, ECS keys", function()
  local emu, nginx

  setup(function()
    emu = emulator.shared()
    nginx = test_nginx.openresty({ server = SERVER, env = {
      HUAWEICLOUD_SDK_AK = ENV_AK, HUAWEICLOUD_SDK_SK = ENV_SK,
      HUAWEICLOUD_SDK_IAM_ENDPOINT = emu.url, HUAWEICLOUD_SDK_METADATA_ENDPOINT = emu.url .. "/ecs-resty",
    } })
  end)

  teardown(function()
    if nginx then nginx:stop() end
  end)

  before_each(function() emu:reset() end)

  -- Runs the steps ({ call, opts, client = defaults or nil }) in one
  -- request handler; returns their results.
  -- Runs the steps ({ call, opts, client = defaults or nil }) in one
  -- request handler; returns their results.
  local function run(steps) return (nginx:post_json("/t", steps)) end

  local function requests_to(path) return emu:requests_to(path) end
  local signed_headers = requests.signed_headers

  it("env AK/SK alone: one IAM call across list, each, all and a second client", function()
    emu:reset({ ak = ENV_AK, sk = ENV_SK })
    local where = { endpoint = emu.url }
    local got = run({
      { call = "list", opts = where },
      { call = "each", opts = { endpoint = emu.url, limit = 20 } },
      { call = "all", opts = where },
      { call = "all", client = where, opts = { concurrency = 8 } },
      { call = "each", client = where, opts = { limit = 10 } },
    })
    assert.same({ 123, 123, 123, 123, 123 },
      { got[1].total_count, got[2].n, got[3].n, got[4].n, got[5].n })
    assert.equal(1, (requests_to("/v3/auth/domains")))
    local _, list = requests_to("/v3/scm/certificates")
    assert.is_true(#list >= 1 + 7 + 3 + 3 + 13)
    for _, req in ipairs(list) do
      assert.equal(emu:config().domain_id, req.headers["x-domain-id"])
      assert.equal("host;x-domain-id;x-sdk-date", signed_headers(req))
    end
  end)

  it("an IAM 403 is the documented err, and nothing goes to SCM", function()
    emu:reset({ ak = "RESTY403AK", sk = "resty-403-secret" })
    emu:faults({ { type = "status", status = 403, service = "iam", count = 3, content_type = "application/json",
      body = '{"error_code":"IAM.0003","error_msg":"Policy doesn\'t allow iam:users:getUser to be performed."}' } })
    local o = { endpoint = emu.url, ak = "RESTY403AK", sk = "resty-403-secret" }
    local got = run({ { call = "list", opts = o }, { call = "all", opts = o }, { call = "each", opts = o } })
    -- each raises the err as a string (nginx logs only strings)
    assert.matches("iam:users:getUser", got[3].err.raised)
    assert.matches("403 IAM.0003", got[3].err.raised)
    for i = 1, 2 do
      local err = got[i].err
      assert.same({ "api", 403, "IAM.0003", "iam" }, { err.kind, err.status, err.code, err.service })
      assert.matches("iam:users:getUser", err.message)
      assert.matches("set domain_id", err.message)
    end
    assert.equal(0, (requests_to("/v3/scm/certificates")))
    assert.equal(3, (requests_to("/v3/auth/domains")))
  end)

  it("content narrows the listing, and each pages through the narrowed set", function()
    local token = emu:config().token
    local got = run({
      { call = "all", opts = { endpoint = emu.url, token = token } },
      { call = "all", opts = { endpoint = emu.url, token = token, content = "SHOP" } },
      { call = "each", opts = { endpoint = emu.url, token = token, content = "shop", limit = 10 } },
    })
    local names = {}
    for _, c in ipairs(emu:certificates()) do names[c.id] = (c.name .. " " .. c.domain):lower() end
    local expected = 0
    for _, text in pairs(names) do
      if text:find("shop", 1, true) then expected = expected + 1 end
    end
    assert.is_true(expected > 10 and expected < 123)
    assert.equal(expected, got[2].n)
    assert.equal(expected, got[2].total_count)
    assert.same(got[2].ids, got[3].ids)
    for _, id in ipairs(got[3].ids) do assert.truthy(names[id]:find("shop", 1, true)) end
    local pages = 0
    for _, req in ipairs(emu:log()) do
      if req.args.content == "shop" then pages = pages + 1 end
    end
    assert.equal(math.ceil(expected / 10), pages)
  end)

  it("keeps the worker answering while IAM is slow", function()
    emu:reset({ ak = "RESTYSLOWAK", sk = "resty-slow-secret" })
    emu:faults({ { type = "delay", ms = 8000, service = "iam" } })
    local body = shell.temp_file(cjson.encode({ { call = "list", opts = { endpoint = emu.url,
      ak = "RESTYSLOWAK", sk = "resty-slow-secret" } } }))
    local bg = shell.popen(("curl -s --max-time 30 --data-binary @%s %s/t"):format(body, nginx.base))
    -- wait until the lookup is in flight
    assert.is_truthy(shell.wait_for(5, function() return requests_to("/v3/auth/domains") > 0 end, 0.05),
      "the IAM lookup did not start")
    -- every ping comes back while the lookup is still in flight: before
    -- the listing's own request (a blocked worker would answer after it)
    for _ = 1, 3 do
      assert.equal("200", shell.run(("curl -s -o /dev/null -w '%%{http_code}' %s/ping"):format(nginx.base)))
    end
    local during = requests_to("/v3/scm/certificates")
    local got = cjson.decode(bg:read("*a"))
    bg:close()
    os.remove(body)
    assert.equal(123, got[1].total_count)
    assert.equal(0, during, "the pings came back after the listing's request")
  end)

  -- The worker keeps ECS keys for its life: these run in this order.
  describe("ECS metadata keys", function()
    it("a server without an agency fails at once with the message", function()
      emu:reset({ metadata_agency = false })
      local got = run({ { call = "list", opts = { endpoint = emu.url, credentials = "ecs" } } })
      local err = got[1].err
      assert.same({ "api", 401, "metadata" }, { err.kind, err.status, err.service })
      assert.matches("no agency bound to this server", err.message)
      assert.equal(2, #emu:log())
    end)

    it("lists with the keys, the session token sent where the service wants it", function()
      emu:reset({ metadata_token_required = true, metadata_expires_in = 39 * 60 })
      local got = run({ { call = "all", opts = { endpoint = emu.url, credentials = "ecs" } } })
      assert.equal(123, got[1].n)
      local log = emu:log()
      assert.same({ "PUT", "/ecs-resty/meta-data/latest/api/token" }, { log[1].method, log[1].path })
      assert.matches("^emulator%-session", log[2].headers["x-metadata-token"])
      assert.equal("host;x-sdk-date;x-security-token", signed_headers(log[3]))
      local _, list = requests_to("/v3/scm/certificates")
      for _, req in ipairs(list) do
        assert.matches("Access=EMUTEMPAK", req.headers.authorization)
        assert.equal("host;x-domain-id;x-sdk-date;x-security-token", signed_headers(req))
      end
    end)

    it("fetches fresh keys once fewer than 40 minutes are left", function()
      -- the clock faked through the emulator's expiry, as in account_spec
      local o = { endpoint = emu.url, credentials = "ecs" }
      emu:reset({ metadata_expires_in = 39 * 60 })
      local got = run({ { call = "list", opts = o }, { call = "all", opts = o } })
      assert.same({ 123, 123 }, { got[1].total_count, got[2].n })
      assert.equal(2, (requests_to("/openstack/latest/securitykey")))
      emu:reset({ metadata_expires_in = 6 * 3600 })
      got = run({ { call = "list", opts = o }, { call = "list", opts = o }, { call = "all", client = o } })
      assert.same({ 123, 123, 123 }, { got[1].total_count, got[2].total_count, got[3].n })
      assert.equal(1, (requests_to("/openstack/latest/securitykey")))
    end)
  end)
end)
