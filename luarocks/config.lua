-- LuaRocks settings for building this repository offline on Debian:
--   LUAROCKS_CONFIG=luarocks/config.lua luarocks --lua-version=5.4 make rockspec/scm-dev-1.rockspec
-- Debian's lua-cjson is not registered with LuaRocks: declare it provided.
rocks_provided = { ["lua-cjson"] = "2.1.0-1" }
rocks_servers = {}
gcc_rpath = false
-- Debian keeps libcurl's headers under the multiarch directory.
external_deps_subdirs = {
   bin = "bin",
   include = "include/x86_64-linux-gnu",
   lib = { "lib/x86_64-linux-gnu", "lib" },
}
-- OpenSSL's headers are not multiarch: name its directories outright.
variables = {
   OPENSSL_INCDIR = "/usr/include",
   OPENSSL_LIBDIR = "/usr/lib/x86_64-linux-gnu",
}
