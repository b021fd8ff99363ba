/* optlist.h: every option the module knows, once, as Lua-cURLv3's
 * lcopteasy.h lists libcurl's. Include it with SCM_OPT defined:
 *
 *   SCM_OPT(ID, name, rule, group, flags, min, max, ints, strs, default)
 *
 * options.h makes the enum of it (SCM_OPT_<ID>), options.c the rule table
 * and scm.options(), fuzz/fuzz_options.c its list of names. The query
 * options stand in alphabetical order, which is the order they are sent in
 * (and the canonical order). rule, group, flags and default are
 * options.c's names (R_*, G_*, F_*, DFLT_*); ints (ended by -1) and strs
 * (ended by NULL) are its choice arrays. No include guard: it is meant to
 * be included more than once. */

/* where the requests go, and the credentials: each group is replaced as a
 * whole by a call that names any of its options */
SCM_OPT(ENDPOINT, "endpoint", R_URL, G_WHERE, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(REGION, "region", R_STRING, G_WHERE, 0, 0, 0, NULL, REGIONS, DFLT_STR(SCM_DEFAULT_REGION))
SCM_OPT(TOKEN, "token", R_HEADER, G_CREDENTIALS, F_SECRET, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(AK, "ak", R_HEADER, G_CREDENTIALS, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(SK, "sk", R_HEADER, G_CREDENTIALS, F_SECRET, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(SECURITY_TOKEN, "security_token", R_HEADER, G_CREDENTIALS, F_SECRET, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(DOMAIN_ID, "domain_id", R_HEADER, G_CREDENTIALS, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(CREDENTIALS, "credentials", R_STR_CHOICE, G_CREDENTIALS, 0, 0, 0, NULL, CREDENTIAL_KINDS, DFLT_NONE)
/* the query, in the order it is sent */
SCM_OPT(CONTENT, "content", R_HEADER, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(DEPLOY_SUPPORT, "deploy_support", R_BOOL, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(ENTERPRISE_PROJECT_ID, "enterprise_project_id", R_STRING, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(EXPIRED_DAYS_SINCE, "expired_days_since", R_INT_RANGE, G_NONE, F_QUERY, 0, 1095, NULL, NULL, DFLT_NONE)
SCM_OPT(LIMIT, "limit", R_INT_CHOICE, G_NONE, F_QUERY, 0, 0, PAGE_SIZES, NULL, DFLT_NUM(SCM_DEFAULT_PAGE_SIZE))
/* bounded so that no sum of offsets and page sizes can overflow */
SCM_OPT(OFFSET, "offset", R_INT_RANGE, G_NONE, F_QUERY, 0, SCM_MAX_OFFSET, NULL, NULL, DFLT_NUM(0))
SCM_OPT(OWNED_BY_SELF, "owned_by_self", R_BOOL, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(SORT_DIR, "sort_dir", R_STR_CHOICE, G_NONE, F_QUERY, 0, 0, NULL, SORT_DIRS, DFLT_NONE)
SCM_OPT(SORT_KEY, "sort_key", R_STR_CHOICE, G_NONE, F_QUERY, 0, 0, NULL, SORT_KEYS, DFLT_NONE)
SCM_OPT(STATUS, "status", R_STR_CHOICE, G_NONE, F_QUERY, 0, 0, NULL, STATUSES, DFLT_NONE)
/* the transfers */
SCM_OPT(TIMEOUT, "timeout", R_SECONDS, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NUM(SCM_DEFAULT_TIMEOUT))
SCM_OPT(CONNECT_TIMEOUT, "connect_timeout", R_SECONDS, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NUM(SCM_DEFAULT_CONNECT_TIMEOUT))
SCM_OPT(RETRIES, "retries", R_INT_RANGE, G_NONE, 0, 0, SCM_MAX_RETRIES, NULL, NULL, DFLT_NUM(SCM_DEFAULT_RETRIES))
SCM_OPT(CAFILE, "cafile", R_STRING, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(VERIFY, "verify", R_BOOL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_BOOL(1))
SCM_OPT(ALLOW_HTTP, "allow_http", R_BOOL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_BOOL(0))
SCM_OPT(USER_AGENT, "user_agent", R_HEADER, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(MAX_BODY, "max_body", R_INT_RANGE, G_NONE, 0, 1, 1073741824, NULL, NULL, DFLT_NUM(SCM_DEFAULT_MAX_BODY))
SCM_OPT(CONCURRENCY, "concurrency", R_INT_RANGE, G_NONE, 0, 1, SCM_MAX_CONCURRENCY, NULL, NULL, DFLT_NUM(SCM_DEFAULT_CONCURRENCY))
SCM_OPT(PROXY, "proxy", R_PROXY, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(NO_PROXY, "no_proxy", R_HEADER, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE)
/* a whole listing's time; and the pool and TLS knobs of scm.resty, named
 * as lua-resty-http names them (libcurl: see plan.c) */
SCM_OPT(DEADLINE, "deadline", R_SECONDS, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(POOL_SIZE, "pool_size", R_INT_RANGE, G_NONE, 0, 1, 10000, NULL, NULL, DFLT_NUM(SCM_DEFAULT_POOL_SIZE))
SCM_OPT(BACKLOG, "backlog", R_INT_RANGE, G_NONE, 0, 0, 100000, NULL, NULL, DFLT_NONE)
SCM_OPT(KEEPALIVE_TIMEOUT, "keepalive_timeout", R_INT_RANGE, G_NONE, 0, 0, 86400000, NULL, NULL, DFLT_NUM(SCM_DEFAULT_KEEPALIVE_MS))
SCM_OPT(SSL_SERVER_NAME, "ssl_server_name", R_HEADER, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE)
SCM_OPT(SSL_SESSION_REUSE, "ssl_session_reuse", R_BOOL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_BOOL(1))
SCM_OPT(IAM_ENDPOINT, "iam_endpoint", R_URL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE)
