-- make bench: every way of listing 10,000 certificates from the emulator
-- (20 ms per request), side by side in one run, as ratios; written to
-- bench/RESULTS.md. Each case runs RUNS times in a process of its own
-- under /usr/bin/time; the median of each figure is reported.
--   lua5.4 bench/run.lua MODULE_DIR [RUNS]
local module_dir = assert(arg[1], "usage: run.lua MODULE_DIR [RUNS]")
local RUNS = tonumber(arg[2]) or 5
local CERTS, LATENCY_MS, PAGE = 10000, 20, 50
local LUA = os.getenv("LUA") or "lua5.4"

local function sh(cmd)
  local p = assert(io.popen(cmd, "r"))
  local out = p:read("*a")
  local ok = p:close()
  assert(ok, "failed: " .. cmd .. "\n" .. out)
  return (out:gsub("%s+$", ""))
end

local function median(t)
  table.sort(t)
  local n = #t
  return n % 2 == 1 and t[(n + 1) / 2] or (t[n / 2] + t[n / 2 + 1]) / 2
end

local dir = sh("mktemp -d /tmp/scm-bench.XXXXXX")
local url = sh(("emulator/scm-emulator start --dir %s --certs %d --latency %d")
  :format(dir, CERTS, LATENCY_MS))
local token = sh("curl -sf " .. url .. "/_emulator/config | jq -r .token")
local ok, err = pcall(function()
  local env = ("LUA_CPATH='%s/?.so;;' "):format(module_dir)

  -- Runs cmd RUNS times; returns the medians of wall s, CPU s, peak RSS KiB,
  -- and the count it printed.
  local expected_count = CERTS
  local function measure(cmd)
    local wall, cpu, rss = {}, {}, {}
    for _ = 1, RUNS do
      local out = sh(env .. "/usr/bin/time -f '@@ %e %U %S %M' " .. cmd .. " 2>&1")
      local printed, w, u, s, m = out:match("^(.-)%s*@@ (%S+) (%S+) (%S+) (%S+)$")
      assert(printed, out)
      local count = tonumber(printed:match("(%d+)%s*$"))
      assert(count == expected_count, ("%s listed %s, not %d"):format(cmd, tostring(count), expected_count))
      wall[#wall + 1], cpu[#cpu + 1], rss[#rss + 1] = tonumber(w), tonumber(u) + tonumber(s), tonumber(m)
    end
    return { wall = median(wall), cpu = median(cpu), rss = median(rss) }
  end

  local rows = {}
  local function case(name, cmd)
    io.stderr:write("bench: ", name, "\n")
    local r = measure(cmd)
    r.name = name
    rows[#rows + 1] = r
    return r
  end
  local pages = math.ceil(CERTS / PAGE)
  local function floor(c) return (math.ceil((pages - 1) / c) + 1) * LATENCY_MS / 1000 end

  local scm = {}
  for _, c in ipairs({ 1, 4, 16 }) do
    scm[c] = case(("scm.each, concurrency %d"):format(c),
      ("%s bench/scm_each.lua %s %s %d"):format(LUA, url, token, c))
    scm[c].floor = floor(c)
  end
  local peer = case("LuaSocket + cjson, sequential", ("%s bench/luasocket_peer.lua %s %s"):format(LUA, url, token))
  peer.floor = floor(1)
  local shell = case("curl + jq, shell loop", ("sh bench/curl_jq.sh %s %s"):format(url, token))
  shell.floor = floor(1)

  -- peak RSS of each for 1,000 certificates, against 10,000
  sh(("curl -sf -X POST -d '{\"certs\":1000}' %s/_emulator/reset"):format(url))
  expected_count = 1000
  io.stderr:write("bench: scm.each, 1,000 certificates\n")
  local small = measure(("%s bench/scm_each.lua %s %s 16"):format(LUA, url, token))
  expected_count = CERTS
  sh(("curl -sf -X POST -d '{}' %s/_emulator/reset"):format(url))

  -- soak: 10,000 list calls in one process, no latency
  sh(("curl -sf -X POST -d '{\"latency_ms\":0}' %s/_emulator/reset"):format(url))
  io.stderr:write("bench: soak\n")
  local soak = {}
  for line in sh(("%s%s bench/soak.lua %s %s 10000"):format(env, LUA, url, token)):gmatch("[^\n]+") do
    local i, lua_kib, rss = line:match("(%d+) (%S+) (%d+)")
    soak[#soak + 1] = { calls = tonumber(i), lua = tonumber(lua_kib), rss = tonumber(rss) }
  end

  -- scm.all against scm.each at 0 ms: the CPU of the process (as
  -- /usr/bin/time counts it, to the microsecond) and of the listing alone,
  -- each in a fresh process, the three in turn
  io.stderr:write("bench: all against each\n")
  local hows = { "each", "keep", "all" }
  local listing_cpu, process_cpu = {}, {}
  for _, how in ipairs(hows) do listing_cpu[how], process_cpu[how] = {}, {} end
  for _ = 1, 3 * RUNS do
    for _, how in ipairs(hows) do
      local count, l, p = sh(("%s%s bench/all_cpu.lua %s %s %s"):format(env, LUA, url, token, how))
        :match("^(%d+)%s+(%S+)%s+(%S+)$")
      assert(tonumber(count) == CERTS, how .. " listed " .. tostring(count))
      listing_cpu[how][#listing_cpu[how] + 1] = tonumber(l)
      process_cpu[how][#process_cpu[how] + 1] = tonumber(p)
    end
  end
  for _, how in ipairs(hows) do
    listing_cpu[how], process_cpu[how] = median(listing_cpu[how]), median(process_cpu[how])
  end
  sh(("curl -sf -X POST -d '{}' %s/_emulator/reset"):format(url))

  -- CPU per page
  local body_file = dir .. "/page.json"
  sh(("curl -sf -H 'X-Auth-Token: %s' '%s/v3/scm/certificates?limit=50' -o %s"):format(token, url, body_file))
  io.stderr:write("bench: decoding\n")
  local s_cpu, c_cpu, rounds = sh(("%s%s bench/decode_cpu.lua %s 20000"):format(env, LUA, body_file))
    :match("(%S+) (%S+) (%S+)")
  s_cpu, c_cpu = tonumber(s_cpu), tonumber(c_cpu)

  local cpuinfo = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'")
  local out = {}
  local function w(...) out[#out + 1] = table.concat({ ... }) end
  w("# Benchmark results")
  w("")
  w(("Made by `make bench` on %s UTC: %s, %s cores, %s; %s, libcurl %s."):format(
    os.date("!%Y-%m-%d %H:%M"), cpuinfo, sh("nproc"), sh("uname -sr"), sh(LUA .. " -v 2>&1"),
    sh("curl --version | head -1 | cut -d' ' -f2")))
  w("")
  w(("The emulator holds %d certificates and answers each request after %d ms; "
    .. "%d pages of %d. Each figure is the median of %d runs, each in a process "
    .. "of its own (`/usr/bin/time`). The floor is the least time the pages can "
    .. "take at that concurrency: ceil((pages - 1) / C) x latency + latency.")
    :format(CERTS, LATENCY_MS, pages, PAGE, RUNS))
  w("")
  w("| case | wall s | floor s | wall / floor | CPU s | peak RSS MiB | hand-rolled wall / this wall |")
  w("|---|---|---|---|---|---|---|")
  for _, r in ipairs(rows) do
    w(("| %s | %.3f | %.2f | %.2f | %.3f | %.1f | %.1fx |"):format(r.name, r.wall, r.floor,
      r.wall / r.floor, r.cpu, r.rss / 1024, peer.wall / r.wall))
  end
  w("")
  w("Targets:")
  w("")
  local function verdict(okay) return okay and "met" or "NOT met" end
  w(("- concurrency 16 within 1.5x of the floor: %.2fx — %s"):format(scm[16].wall / scm[16].floor,
    verdict(scm[16].wall / scm[16].floor <= 1.5)))
  w(("- concurrency 16 at least 10x faster than the hand-rolled peer: %.1fx — %s"):format(
    peer.wall / scm[16].wall, verdict(peer.wall / scm[16].wall >= 10)))
  w(("- CPU per page at most 1.3x bare cjson.decode: %.2fx (%.1f us against %.1f us a page, "
    .. "best of 3 x %s pages) — %s"):format(s_cpu / c_cpu, s_cpu / rounds * 1e6, c_cpu / rounds * 1e6,
    rounds, verdict(s_cpu / c_cpu <= 1.3)))
  w(("- peak RSS of each for 10,000 certificates within 10%% of that for 1,000: %.1f MiB "
    .. "against %.1f MiB, %.2fx — %s"):format(scm[16].rss / 1024, small.rss / 1024,
    scm[16].rss / small.rss, verdict(scm[16].rss / small.rss <= 1.10)))
  w(("- scm.all within 1.2x the CPU of scm.each at 0 ms (10,000 certificates, user + sys of the "
    .. "process, median of %d each, in turn): %.2fx (%.1f ms against %.1f ms) — %s"):format(3 * RUNS,
    process_cpu.all / process_cpu.each, process_cpu.all * 1e3, process_cpu.each * 1e3,
    verdict(process_cpu.all / process_cpu.each <= 1.2)))
  w("")
  w("The listing alone at 0 ms, without the process's start-up (the same runs): each certificate "
    .. "dropped as it comes, all kept by the caller, all kept by scm.all:")
  w("")
  w("| case | CPU ms | / scm.each |")
  w("|---|---|---|")
  for _, r in ipairs({ { "each", "scm.each" }, { "keep", "scm.each, the caller keeping every certificate" },
    { "all", "scm.all" } }) do
    w(("| %s | %.1f | %.2fx |"):format(r[2], listing_cpu[r[1]] * 1e3, listing_cpu[r[1]] / listing_cpu.each))
  end
  w("")
  w("## Soak")
  w("")
  w("10,000 `list` calls in one process (a client and the module-level function in turn), "
    .. "against the emulator without latency; memory after a full collection:")
  w("")
  w("| calls | Lua heap KiB | RSS KiB |")
  w("|---|---|---|")
  for _, s in ipairs(soak) do w(("| %d | %.1f | %d |"):format(s.calls, s.lua, s.rss)) end
  w("")
  w(("From 1,000 to 10,000 calls the Lua heap went from %.1f to %.1f KiB (%+.1f) and RSS from "
    .. "%d to %d KiB (%+d).")
    :format(soak[1].lua, soak[#soak].lua, soak[#soak].lua - soak[1].lua, soak[1].rss, soak[#soak].rss,
      soak[#soak].rss - soak[1].rss))
  local f = assert(io.open("bench/RESULTS.md", "w"))
  f:write(table.concat(out, "\n"), "\n")
  f:close()
  print(table.concat(out, "\n"))
end)
sh(("emulator/scm-emulator stop --dir %s; rm -rf %s"):format(dir, dir))
if not ok then error(err, 0) end
