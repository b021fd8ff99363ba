-- scm.resty resumes TLS sessions: in a real nginx, against the emulator
-- serving HTTPS, every new connection after the first resumes the session
-- of an earlier one (the emulator's request log says "r"), for TLS 1.2 and
-- 1.3; with ssl_session_reuse = false every handshake is a full one (".").
local cjson = require("cjson")
local emulator = require("emulator")
local shell = require("support.shell")
local pki = require("support.pki")
local test_nginx = require("support.nginx")

-- POST /listings {opts, n, call}: n listings (resty.list or resty.all) one
-- after the other; answers how many succeeded and the errs of the others.
local HANDLERS = [[
    location = /listings {
      content_by_lua_block {
        local cjson = require("cjson")
        local resty = require("scm.resty")
        ngx.req.read_body()
        local body = cjson.decode(ngx.req.get_body_data())
        local out = { ok = 0, errs = {} }
        for _ = 1, body.n do
          local got, err = resty[body.call](body.opts)
          if got then out.ok = out.ok + 1 else out.errs[#out.errs + 1] = tostring(err) end
        end
        ngx.header.content_type = "application/json"
        ngx.say(cjson.encode(out))
      }
    }
]]

-- A page the emulator sends, then closes the connection: every listing
-- that gets it must open a new connection for the next.
local CLOSING_PAGE = '{"certificates":[],"total_count":0}'
local function closing(n)
  return {
    type = "raw", count = n, body = CLOSING_PAGE,
    head = "HTTP/1.1 200 OK\r\nContent-Type: application/json;charset=utf8\r\nContent-Length: "
      .. #CLOSING_PAGE .. "\r\nConnection: close",
  }
end

-- The TLS session mark ("r" or ".") of each connection opened while the
-- log was kept (the first request on it), in order; connections taken
-- from the pool do not count.
local function handshakes(log)
  local marks = {}
  for _, entry in ipairs(log) do
    if entry.connection_requests == 1 then marks[#marks + 1] = entry.ssl_session_reused end
  end
  return marks
end

local function count(marks, mark)
  local n = 0
  for _, m in ipairs(marks) do if m == mark then n = n + 1 end end
  return n
end

for _, protocol in ipairs({ "TLSv1.2", "TLSv1.3" }) do
  describe("scm.resty TLS session reuse over " .. protocol, function()
    local dir, emu, nginx

    setup(function()
      dir = shell.tmpdir("scm-resty-reuse")
      local ca = pki.ca(dir, "ca", "scm-reuse-ca")
      emu = emulator.start(pki.server(dir, "ca"), ca)
      nginx = test_nginx.openresty({
        http = "lua_ssl_trusted_certificate @CA@;\n  lua_ssl_verify_depth 2;\n  lua_ssl_protocols @PROTOCOL@;",
        server = HANDLERS,
        vars = { CA = ca, PROTOCOL = protocol },
      })
    end)

    teardown(function()
      if nginx then nginx:stop() end
      if emu then emu:stop() end
      if dir then shell.run("rm -rf " .. shell.quote(dir)) end
    end)

    before_each(function() emu:reset() end)

    local function listings(n, call, extra)
      -- nginx checks the certificate's DNS names, not its IP addresses
      extra.ssl_server_name = "localhost"
      local got = nginx:post_json("/listings", { n = n, call = call, opts = emu:opts(extra) })
      assert.equal(n, got.ok, cjson.encode(got.errs))
      return handshakes(emu:log())
    end

    -- runs first: the worker has no session yet
    it("each of 10 listings on a new connection: the first handshake is full, the 9 others resume", function()
      emu:faults({ closing(10) })
      local marks = listings(10, "list", { retries = 0 })
      assert.equal(10, #marks, cjson.encode(emu:log()))
      assert.equal(".", marks[1])
      for i = 2, 10 do assert.equal("r", marks[i], table.concat(marks, " ")) end
    end)

    it("a pooled connection the server dropped is replaced by a new one that resumes, no attempt lost", function()
      -- after the first test the pool is empty (its pages closed their
      -- connections): this listing leaves one connection in it
      listings(1, "list", { retries = 0 })
      emu:clear_log()
      -- the server closes the pooled connection as the next request arrives
      emu:faults({ { type = "reset" } })
      local marks = listings(1, "list", { retries = 0 })
      local log = emu:log()
      assert.equal(2, #log, cjson.encode(log))
      assert.is_true(log[1].connection_requests > 1, "the first request did not reuse the pooled connection")
      assert.same({ "r" }, marks)
    end)

    it("a listing of 20 pages, 4 at a time with pool_size = 1: every new connection resumes", function()
      emu:reset({ certs = 200 })
      listings(1, "list", { retries = 0 }) -- a session to resume, whatever ran before
      emu:clear_log()
      local marks = listings(1, "all", { concurrency = 4, pool_size = 1, limit = 10, retries = 0 })
      assert.is_true(#marks >= 2, "connections: " .. #marks)
      assert.equal(#marks, count(marks, "r"), table.concat(marks, " "))
    end)

    it("with ssl_session_reuse = false, every handshake is full, even with a session at hand", function()
      listings(1, "list", { retries = 0 }) -- a session scm.resty could resume
      emu:clear_log()
      emu:faults({ closing(10) })
      local marks = listings(10, "list", { retries = 0, ssl_session_reuse = false })
      -- the pool holds at most the 4 connections of the listing before
      assert.is_true(#marks >= 6, "connections: " .. #marks)
      assert.equal(#marks, count(marks, "."), table.concat(marks, " "))
      emu:reset({ certs = 200 })
      marks = listings(1, "all", { concurrency = 4, pool_size = 1, limit = 10, retries = 0,
        ssl_session_reuse = false })
      assert.is_true(#marks >= 2, "connections: " .. #marks)
      assert.equal(#marks, count(marks, "."), table.concat(marks, " "))
    end)
  end)
end
