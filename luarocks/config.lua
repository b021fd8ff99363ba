-- LuaRocks settings for the one thing Debian's stock configuration cannot
-- do offline: Debian's lua-cjson package is not registered with LuaRocks,
-- so the rockspec's lua-cjson dependency would be fetched from the network.
-- Declared provided here, it is taken from the system instead:
--   LUAROCKS_CONFIG=luarocks/config.lua luarocks --lua-version=5.4 make rockspec/scm-dev-1.rockspec
-- Everything else builds with the stock configuration (or pass
-- --deps-mode=none to it when lua-cjson is installed).
rocks_provided = { ["lua-cjson"] = "2.1.0-1" }
