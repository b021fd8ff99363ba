rockspec_format = "3.0"
package = "scm"
version = "dev-1"
source = {
   url = "git+https://github.com/lua-scm/scm.git",
   branch = "main",
}
description = {
   summary = "List the SSL certificates of a Huawei Cloud account (SCM API)",
   detailed = [[
A C module on libcurl and lua-cjson for the SSL Certificate Manager API
(GET /v3/scm/certificates): validated options, structured errors,
connection reuse, pages fetched in parallel, token or AK/SK
(SDK-HMAC-SHA256) authentication; scm.resty for OpenResty; the scm-certs
command for scripts and monitoring.
]],
   homepage = "https://github.com/lua-scm/scm",
   license = "MIT",
   labels = { "huaweicloud", "ssl", "certificates", "curl", "openresty" },
}
dependencies = {
   "lua >= 5.1, < 5.5",
   "lua-cjson >= 2.1",
}
-- curl by its library alone: its header is under the multiarch include
-- directory on Debian, which LuaRocks does not search but gcc does.
external_dependencies = {
   CURL = { library = "curl" },
   OPENSSL = { header = "openssl/hmac.h", library = "crypto" },
}
-- The Makefile builds every src/*.c into scm.so and installs every
-- lua/scm/**.lua (install-lib): a new file needs no change here.
build = {
   type = "make",
   variables = {
      CFLAGS = "$(CFLAGS)",
      LUA_INCDIR = "$(LUA_INCDIR)",
      CURL_INCDIR = "$(CURL_INCDIR)",
      CURL_LIBDIR = "$(CURL_LIBDIR)",
      OPENSSL_INCDIR = "$(OPENSSL_INCDIR)",
      OPENSSL_LIBDIR = "$(OPENSSL_LIBDIR)",
      LUA_CDIR = "$(LIBDIR)",
      LUA_LDIR = "$(LUADIR)",
   },
   build_target = "all",
   install_target = "install-lib",
   install = {
      bin = { ["scm-certs"] = "bin/scm-certs" },
   },
}
