-- scm.each / scm.all: every certificate across pages, pages fetched side by
-- side once total_count is known, in the server's order, each id once.
local scm = require("scm")
local emulator = require("emulator")
local shell = require("support.shell")
local tables = require("support.tables")
local support_requests = require("support.requests")

describe("iteration", function()
  local emu

  setup(function() emu = emulator.shared() end)
  before_each(function() emu:reset() end)

  local ids_of = tables.ids_of

  local function each_ids(opts)
    local ids = {}
    for cert in scm.each(opts) do ids[#ids + 1] = cert.id end
    return ids
  end

  -- The ids the server holds, in the order a single sequential walk
  -- through its pages gives.
  local function server_ids(extra)
    local ids, offset = {}, 0
    repeat
      local page = assert(scm.list(emu:opts(setmetatable({ limit = 50, offset = offset },
        { __index = extra }))))
      for _, c in ipairs(page.certificates) do ids[#ids + 1] = c.id end
      offset = offset + 50
    until #page.certificates < 50 or offset >= page.total_count
    return ids
  end

  local requests = support_requests.api_requests

  it("gives the same ids in the same order at concurrency 1 and 16", function()
    emu:reset({ certs = 500 })
    local expected = server_ids()
    assert.equal(500, #expected)
    assert.same(expected, each_ids(emu:opts({ concurrency = 1 })))
    assert.same(expected, each_ids(emu:opts({ concurrency = 16 })))
    local all = assert(scm.all(emu:opts({ concurrency = 7 })))
    assert.same(expected, ids_of(all))
    assert.equal(500, all.total_count)
  end)

  for _, total in ipairs({ 0, 1, 49, 50, 51, 100, 123, 10000 }) do
    it("lists every certificate of an account of " .. total, function()
      emu:reset({ certs = total })
      local certs = assert(scm.all(emu:opts({ concurrency = 8 })))
      assert.equal(total, #certs)
      assert.equal(total, certs.total_count)
      local seen = {}
      for _, c in ipairs(certs) do
        assert.is_nil(seen[c.id], "duplicate " .. c.id)
        seen[c.id] = true
      end
      -- one request per page, no more
      assert.equal(math.max(1, math.ceil(total / 50)), requests(emu:log()))
    end)
  end

  it("uses limit as the page size and offset as the start", function()
    emu:reset({ certs = 95 })
    local expected = server_ids()
    emu:clear_log()
    local ids = each_ids(emu:opts({ limit = 20, offset = 30, concurrency = 3 }))
    assert.equal(65, #ids)
    for i = 1, 65 do assert.equal(expected[30 + i], ids[i]) end
    local offsets = {}
    for _, req in ipairs(emu:log()) do
      assert.equal("20", req.args.limit)
      offsets[#offsets + 1] = tonumber(req.args.offset)
    end
    table.sort(offsets)
    assert.same({ 30, 50, 70, 90 }, offsets)
  end)

  it("keeps the query options on every page", function()
    local certs = assert(scm.all(emu:opts({ status = "ISSUED", sort_key = "certExpiredTime",
      sort_dir = "ASC", limit = 10 })))
    for i, c in ipairs(certs) do
      assert.equal("ISSUED", c.status)
      if i > 1 then assert.is_true(certs[i - 1].expire_time <= c.expire_time) end
    end
    for _, req in ipairs(emu:log()) do
      assert.equal("ISSUED", req.args.status)
      assert.equal("certExpiredTime", req.args.sort_key)
    end
  end)

  it("fetches pages side by side over reused connections", function()
    emu:reset({ certs = 1000, latency_ms = 50 })
    assert(scm.all(emu:opts({ concurrency = 8 })))
    local conns = {}
    for _, req in ipairs(emu:log()) do conns[req.connection] = true end
    local n = 0
    for _ in pairs(conns) do n = n + 1 end
    assert.is_true(n >= 2, "pages were not fetched in parallel")
    assert.is_true(n <= 9, "connections were not reused: " .. n)
  end)

  describe("failures", function()
    it("an error on page k: each raises the err, all returns nil, err", function()
      emu:reset({ certs = 300 })
      -- page 1 passes, page 2 (the first parallel one) fails
      emu:faults({ { type = "pass" }, { type = "status", status = 500,
        content_type = "application/json",
        body = '{"error_code":"SCM.4001","error_msg":"internal"}' } })
      local n = 0
      local ok, err = pcall(function()
        for _ in scm.each(emu:opts({ concurrency = 1, retries = 0 })) do n = n + 1 end
      end)
      assert.is_false(ok)
      assert.is_table(err)
      assert.equal("api", err.kind)
      assert.equal(500, err.status)
      assert.equal(50, n)

      emu:reset({ certs = 300 })
      -- a client of its own: one pooled connection. libcurl sends a request
      -- that dies on a reused connection once more on a new one; both die.
      emu:faults({ { type = "pass" }, { type = "reset", count = 2 } })
      local client = scm.new(emu:opts({ concurrency = 1, retries = 0 }))
      local certs, err2 = client:all()
      client:close()
      assert.is_nil(certs)
      assert.equal("network", err2.kind)
    end)

    it("never returns a silently shortened list", function()
      emu:reset({ certs = 200 })
      emu:faults({ { type = "pass", count = 2 }, { type = "invalid_json" } })
      local certs, err = scm.all(emu:opts({ concurrency = 1, retries = 0 }))
      assert.is_nil(certs)
      assert.equal("decode", err.kind)
    end)
  end)

  describe("a list that changes while it is listed", function()
    it("yields no id twice when records are added in front", function()
      emu:reset({ certs = 150, latency_ms = 20 })
      local first = assert(scm.list(emu:opts({ limit = 50 }))).certificates
      local ids = {}
      local added = false
      for cert in scm.each(emu:opts({ concurrency = 1 })) do
        ids[#ids + 1] = cert.id
        if not added then
          -- the same records again, shifted: one new record in front
          local all = emu:certificates()
          table.insert(all, 1, { id = "scs9999999999999", name = "new", domain = "new.example.com",
            status = "ISSUED", expire_time = "2031-01-01 00:00:00.0" })
          emu:put_certificates(all)
          added = true
        end
      end
      local seen = {}
      for _, id in ipairs(ids) do
        assert.is_nil(seen[id], "duplicate " .. id)
        seen[id] = true
      end
      assert.equal(first[1].id, ids[1])
    end)

    it("ends on the short page when total_count says more than there is", function()
      emu:reset({ certs = 120 })
      emu:faults({ { type = "pass", total_count = 400 } })
      -- a first page that claims 400: the third page (20 records) is short
      local certs = assert(scm.all(emu:opts({ concurrency = 1 })))
      assert.equal(120, #certs)
    end)
  end)

  describe("stopping early", function()
    -- Connections from this process to the emulator, as the kernel sees them.
    -- The connections to the emulator open now, by their local address.
    local function open_connections()
      local port = emu.url:match(":(%d+)$")
      local out = shell.run(("ss -tnH state established '( dport = :%s )'"):format(port))
      local set = {}
      for line in out:gmatch("[^\n]+") do
        local addr = line:match("^%s*%d+%s+%d+%s+(%S+)")
        if addr then set[addr] = true end
      end
      return set
    end

    -- How many connections of now were not open at `before`.
    local function new_connections(before)
      local n = 0
      for addr in pairs(open_connections()) do
        if not before[addr] then n = n + 1 end
      end
      return n
    end

    it("a break leaves no request in flight: closing ends the transfers", function()
      emu:reset({ certs = 2000, latency_ms = 300 })
      -- other clients of this process (scm.list's own) keep theirs open
      local baseline = open_connections()
      local client = scm.new(emu:opts({ concurrency = 4 }))
      local n = 0
      local iter, state, init, closing = client:each()
      for _ in iter, state, init do
        n = n + 1
        if n == 60 then break end
      end
      -- page 1 and the window of 4 pages: nothing beyond
      local asked = #emu:log()
      assert.is_true(asked <= 6, "requests: " .. asked)
      -- the pages in flight hold their connections until the iterator closes
      assert.is_true(new_connections(baseline) >= 3, "pages were not in flight")
      getmetatable(closing).__close(closing)
      client:close()
      -- (one of the baseline's may have closed meanwhile: idle too long)
      assert.equal(0, new_connections(baseline))
      assert.equal(asked, #emu:log())
    end)

    if _VERSION == "Lua 5.4" then
      it("a break out of a Lua 5.4 for loop closes the iterator", function()
        emu:reset({ certs = 2000, latency_ms = 100 })
        local client = scm.new(emu:opts({ concurrency = 4 }))
        local chunk = assert(load([[
          local iter, state, init, closing = ...
          local n = 0
          for _ in iter, state, init, closing do
            n = n + 1
            if n == 60 then break end
          end
        ]]))
        local iter, state, init, closing = client:each()
        chunk(iter, state, init, closing)
        local asked = #emu:log()
        -- closed by the loop: it hands out nothing more, and asks nothing
        assert.is_nil(iter(state))
        assert.equal(asked, #emu:log())
        client:close()
      end)
    end

    it("an iterator dropped mid-way is collected without harm", function()
      emu:reset({ certs = 500 })
      do
        local iter, state = scm.each(emu:opts({ concurrency = 8 }))
        iter(state)
      end
      collectgarbage()
      collectgarbage()
      assert(scm.list(emu:opts()))
    end)
  end)

  describe("a server whose listing never ends", function()
    -- Each test counts its own requests (by User-Agent): a request an
    -- earlier test left in flight may reach the emulator after a reset.
    local function mine(agent) return support_requests.api_requests_from(emu:log(), agent) end
    -- every offset answered with the same page, claiming 10^12 certificates
    it("same page at every offset: each raises once a page brings no new id", function()
      emu:reset({ certs = 200 })
      emu:faults({ { type = "repeat_page", total_count = 1000000000000, count = 100000 } })
      local handed = 0
      local ok, err = pcall(function()
        for _ in scm.each(emu:opts({ user_agent = "repeat-each" })) do handed = handed + 1 end
      end)
      assert.is_false(ok)
      assert.equal(50, handed)
      assert.is_table(err)
      assert.equal("decode", err.kind)
      assert.matches("no new certificate", err.message)
      -- the first page, the four in flight after it, one sent in its place
      assert.is_true(mine("repeat-each") <= 2 + 4, "requests: " .. mine("repeat-each"))
    end)

    it("same page at every offset: all returns nil, err", function()
      emu:reset({ certs = 200 })
      emu:faults({ { type = "repeat_page", total_count = 1000000000000, count = 100000 } })
      local certs, err = scm.all(emu:opts({ concurrency = 16, user_agent = "repeat-all" }))
      assert.is_nil(certs)
      assert.equal("decode", err.kind)
      assert.is_true(mine("repeat-all") <= 2 + 16, "requests: " .. mine("repeat-all"))
    end)

    -- new ids on every page, and a total always beyond the next offset
    it("a total that rises with every page: stops past the first total's pages", function()
      emu:faults({ { type = "rising", count = 100000 } })
      local handed = 0
      local ok, err = pcall(function()
        for _ in scm.each(emu:opts({ limit = 10, concurrency = 1, user_agent = "rising-each" })) do
          handed = handed + 1
        end
      end)
      assert.is_false(ok)
      assert.equal("decode", err.kind)
      assert.matches("total_count", err.message)
      -- the first page said 20: two pages, plus one of slack
      assert.is_true(handed <= 30, "handed out " .. handed)
      assert.is_true(mine("rising-each") <= 4, "requests: " .. mine("rising-each"))
      emu:reset()
      emu:faults({ { type = "rising", count = 100000 } })
      local certs, err2 = scm.all(emu:opts({ limit = 50, concurrency = 16, user_agent = "rising-all" }))
      assert.is_nil(certs)
      assert.equal("decode", err2.kind)
      assert.is_true(mine("rising-all") <= 3 + 16, "requests: " .. mine("rising-all"))
    end)

    it("a listing that grows a little while it runs still completes", function()
      emu:reset({ certs = 500 })
      -- the first page claims 480: the 500 there are fit in the slack
      emu:faults({ { type = "pass", total_count = 480 } })
      local certs = assert(scm.all(emu:opts({ concurrency = 1 })))
      assert.equal(500, #certs)
    end)

    it("ids that are numbers are handed out once too", function()
      emu:faults({ { type = "status", status = 200, content_type = "application/json",
        body = '{"certificates":[{"id":7},{"id":7},{"id":8},{"id":true},{"id":true}],"total_count":5}' } })
      local certs = assert(scm.all(emu:opts()))
      assert.equal(3, #certs)
    end)
  end)

  describe("a stored iterator", function()
    it("is called by hand, as string.gmatch's and io.lines' are", function()
      emu:reset({ certs = 120 })
      local expected = server_ids()
      local next_cert = scm.each(emu:opts({ limit = 50, concurrency = 2 }))
      assert.equal("function", type(next_cert))
      local ids = {}
      for _ = 1, 200 do
        local cert = next_cert()
        if cert == nil then break end
        ids[#ids + 1] = cert.id
      end
      assert.same(expected, ids)
      assert.is_nil(next_cert()) -- after the end: nil again, no raise
    end)

    it("takes and ignores the generic for's state and control values", function()
      emu:reset({ certs = 3 })
      local f, s, c = scm.each(emu:opts())
      local a = f(s, c)
      local b = f(s, a)
      assert.is_not_nil(a)
      assert.is_not_nil(b)
      assert.are_not.equal(a.id, b.id)
    end)

    it("a client's iterator too", function()
      emu:reset({ certs = 2 })
      local client = scm.new(emu:opts())
      local next_cert = client:each()
      assert.is_not_nil(next_cert())
      assert.is_not_nil(next_cert())
      assert.is_nil(next_cert())
      client:close()
    end)
  end)

  describe("options", function()
    it("concurrency must be an integer from 1 to 16", function()
      for _, bad in ipairs({ 0, 17, 2.5, "4" }) do
        local ok, err = pcall(scm.each, emu:opts({ concurrency = bad }))
        assert.is_false(ok)
        assert.truthy(err:find("concurrency must be an integer from 1 to 16", 1, true))
      end
      assert.same({}, emu:log())
    end)

    it("the client methods merge their defaults", function()
      emu:reset({ certs = 60 })
      local client = scm.new(emu:opts({ limit = 20, concurrency = 2 }))
      local ids = {}
      for cert in client:each() do ids[#ids + 1] = cert.id end
      assert.equal(60, #ids)
      local all = assert(client:all({ status = "ALL" }))
      assert.equal(60, #all)
      for _, req in ipairs(emu:log()) do assert.equal("20", req.args.limit) end
      client:close()
    end)
  end)
end)
