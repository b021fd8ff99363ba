rockspec_format = "3.0"
package = "scm"
version = "dev-1"
source = {
   url = "git+file://./",
}
description = {
   summary = "List the SSL certificates of a Huawei Cloud account (SCM API)",
   detailed = [[
A C module on libcurl and lua-cjson for the SSL Certificate Manager API
(GET /v3/scm/certificates): validated options, structured errors,
connection reuse, pages fetched in parallel, token or AK/SK
(SDK-HMAC-SHA256) authentication.
]],
   license = "MIT",
   labels = { "huaweicloud", "ssl", "certificates", "curl" },
}
dependencies = {
   "lua >= 5.1, < 5.5",
   "lua-cjson >= 2.1",
}
external_dependencies = {
   CURL = { header = "curl/curl.h", library = "curl" },
   OPENSSL = { header = "openssl/hmac.h", library = "crypto" },
}
build = {
   type = "builtin",
   install = {
      bin = { ["scm-certs"] = "bin/scm-certs" },
   },
   modules = {
      ["scm.resty"] = "lua/scm/resty.lua",
      scm = {
         sources = {
            "src/buffer.c", "src/client.c", "src/compat.c", "src/credentials.c",
            "src/decode.c", "src/error.c", "src/iterate.c", "src/options.c", "src/plan.c", "src/retry.c",
            "src/request.c", "src/scm.c", "src/sign.c", "src/transport.c",
         },
         libraries = { "curl", "crypto" },
         incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
         libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
      },
   },
}
