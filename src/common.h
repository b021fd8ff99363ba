/* common.h: the constants every layer shares (release, API path, defaults
 * and limits), each stated once. No Lua, no libcurl. */
#ifndef SCM_COMMON_H
#define SCM_COMMON_H

/* The release, from the VERSION file: make, the rockspecs and debian/rules
 * all pass it as -DSCM_VERSION. */
#ifndef SCM_VERSION
#error "SCM_VERSION is not defined: build with make, LuaRocks or debian/rules"
#endif
#define SCM_PATH "/v3/scm/certificates"

/* Defaults of the options (optlist.h shows them to scm.options()). */
#define SCM_DEFAULT_REGION "ap-southeast-1"
#define SCM_DEFAULT_RETRIES 2
#define SCM_DEFAULT_TIMEOUT 30.0
#define SCM_DEFAULT_CONNECT_TIMEOUT 10.0
#define SCM_DEFAULT_MAX_BODY (8 * 1024 * 1024)
#define SCM_DEFAULT_PAGE_SIZE 50
#define SCM_DEFAULT_CONCURRENCY 4
#define SCM_DEFAULT_POOL_SIZE 32        /* idle connections per host, per worker */
#define SCM_DEFAULT_KEEPALIVE_MS 60000  /* idle time of a pooled connection */

/* Limits of the options. */
#define SCM_MAX_CONCURRENCY 16 /* pages in flight: the iterator's slots */
#define SCM_MAX_RETRIES 1000000
#define SCM_MAX_SECONDS 86400.0 /* timeout, connect_timeout, deadline */
/* The largest offset option: far above any account's certificates, far
 * below where offset + pages * limit could overflow. */
#define SCM_MAX_OFFSET 2147483647

/* Response header limits, libcurl's (CURL_MAX_HTTP_HEADER and its 300 KB
 * block): scm.resty applies the same. */
#define SCM_MAX_HEADER_LINE (100 * 1024)
#define SCM_MAX_HEADER_BLOCK (300 * 1024)

#endif
