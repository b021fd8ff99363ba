/* optlist.h: every option the module knows, once, as Lua-cURLv3's
 * lcopteasy.h lists libcurl's. Include it with SCM_OPT defined:
 *
 *   SCM_OPT(ID, name, rule, group, flags, min, max, ints, strs, default,
 *           cli, help)
 *
 * options.h makes the enum of it (SCM_OPT_<ID>), options.c the rule table
 * and scm.options(), fuzz/fuzz_options.c its list of names; bin/scm-certs
 * builds its flags and --help from scm.options(). The query options stand
 * in alphabetical order, which is the order they are sent in (and the
 * canonical order). rule, group, flags and default are options.c's names
 * (R_*, G_*, F_*, DFLT_*); ints (ended by -1) and strs (ended by NULL) are
 * its choice arrays. cli is CLI(flag, arg), the option's scm-certs flag
 * and the name of its value in --help (NULL: the choices, "A|B"; for a
 * boolean with a default, a switch that sets the other value), or NO_CLI;
 * help is one line saying what the option does, as --help shows it. No
 * include guard: it is meant to be included more than once. */

/* where the requests go, and the credentials: each group is replaced as a
 * whole by a call that names any of its options */
SCM_OPT(ENDPOINT, "endpoint", R_URL, G_WHERE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	CLI("--endpoint", "URL"), "http(s) base URL of the SCM API (e.g. an emulator)")
SCM_OPT(REGION, "region", R_STRING, G_WHERE, 0, 0, 0, NULL, REGIONS, DFLT_STR(SCM_DEFAULT_REGION),
	CLI("--region", "ID"), "the region the requests go to")
SCM_OPT(TOKEN, "token", R_HEADER, G_CREDENTIALS, F_SECRET, 0, 0, NULL, NULL, DFLT_NONE,
	CLI("--token", "TOKEN"), "an IAM token, sent as X-Auth-Token")
SCM_OPT(AK, "ak", R_HEADER, G_CREDENTIALS, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "access key id: each request is signed")
SCM_OPT(SK, "sk", R_HEADER, G_CREDENTIALS, F_SECRET, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "secret access key")
SCM_OPT(SECURITY_TOKEN, "security_token", R_HEADER, G_CREDENTIALS, F_SECRET, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "the security token of temporary AK/SK")
SCM_OPT(DOMAIN_ID, "domain_id", R_HEADER, G_CREDENTIALS, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "with AK/SK: the account id, sent as X-Domain-Id")
SCM_OPT(CREDENTIALS, "credentials", R_STR_CHOICE, G_CREDENTIALS, 0, 0, 0, NULL, CREDENTIAL_KINDS, DFLT_NONE,
	NO_CLI, "temporary AK/SK from the ECS metadata service")
/* the query, in the order it is sent */
SCM_OPT(CONTENT, "content", R_HEADER, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE,
	CLI("--search", "KEYWORD"), "certificate name or domain keyword")
SCM_OPT(DEPLOY_SUPPORT, "deploy_support", R_BOOL, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE,
	CLI("--deploy-support", "true|false"), "only certificates that can (or cannot) be deployed to other services")
SCM_OPT(ENTERPRISE_PROJECT_ID, "enterprise_project_id", R_STRING, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE,
	CLI("--enterprise-project-id", "ID"), "only this enterprise project's: all, 0 (the default one) or an id")
SCM_OPT(EXPIRED_DAYS_SINCE, "expired_days_since", R_INT_RANGE, G_NONE, F_QUERY, 0, 1095, NULL, NULL, DFLT_NONE,
	CLI("--expired-days-since", "N"), "the API's filter on days since expiry")
SCM_OPT(LIMIT, "limit", R_INT_CHOICE, G_NONE, F_QUERY, 0, 0, PAGE_SIZES, NULL, DFLT_NUM(SCM_DEFAULT_PAGE_SIZE),
	NO_CLI, "certificates per page")
/* bounded so that no sum of offsets and page sizes can overflow */
SCM_OPT(OFFSET, "offset", R_INT_RANGE, G_NONE, F_QUERY, 0, SCM_MAX_OFFSET, NULL, NULL, DFLT_NUM(0),
	NO_CLI, "certificates to skip")
SCM_OPT(OWNED_BY_SELF, "owned_by_self", R_BOOL, G_NONE, F_QUERY, 0, 0, NULL, NULL, DFLT_NONE,
	CLI("--owned-by-self", "true|false"), "only this account's certificates (the API's default) or not")
SCM_OPT(SORT_DIR, "sort_dir", R_STR_CHOICE, G_NONE, F_QUERY, 0, 0, NULL, SORT_DIRS, DFLT_NONE,
	CLI("--sort-dir", NULL), "the order of the sort")
SCM_OPT(SORT_KEY, "sort_key", R_STR_CHOICE, G_NONE, F_QUERY, 0, 0, NULL, SORT_KEYS, DFLT_NONE,
	CLI("--sort-key", "KEY"), "the field to sort by")
SCM_OPT(STATUS, "status", R_STR_CHOICE, G_NONE, F_QUERY, 0, 0, NULL, STATUSES, DFLT_NONE,
	NO_CLI, "only certificates in this status")
/* the transfers */
SCM_OPT(TIMEOUT, "timeout", R_SECONDS, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NUM(SCM_DEFAULT_TIMEOUT),
	CLI("--timeout", "SECONDS"), "the limit of one attempt")
SCM_OPT(CONNECT_TIMEOUT, "connect_timeout", R_SECONDS, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NUM(SCM_DEFAULT_CONNECT_TIMEOUT),
	CLI("--connect-timeout", "SECONDS"), "the limit of one connection attempt")
SCM_OPT(RETRIES, "retries", R_INT_RANGE, G_NONE, 0, 0, SCM_MAX_RETRIES, NULL, NULL, DFLT_NUM(SCM_DEFAULT_RETRIES),
	CLI("--retries", "N"), "retries of a network error, 429 or 5xx")
SCM_OPT(CAFILE, "cafile", R_STRING, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	CLI("--cafile", "PATH"), "CA bundle for https")
SCM_OPT(VERIFY, "verify", R_BOOL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_BOOL(1),
	CLI("--insecure", NULL), "verify the TLS peer")
SCM_OPT(ALLOW_HTTP, "allow_http", R_BOOL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_BOOL(0),
	CLI("--allow-http", NULL), "allow plain http to hosts that are not loopback")
SCM_OPT(USER_AGENT, "user_agent", R_HEADER, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "the User-Agent header")
SCM_OPT(MAX_BODY, "max_body", R_INT_RANGE, G_NONE, 0, 1, 1073741824, NULL, NULL, DFLT_NUM(SCM_DEFAULT_MAX_BODY),
	NO_CLI, "bytes of a response body at most")
SCM_OPT(CONCURRENCY, "concurrency", R_INT_RANGE, G_NONE, 0, 1, SCM_MAX_CONCURRENCY, NULL, NULL, DFLT_NUM(SCM_DEFAULT_CONCURRENCY),
	CLI("--concurrency", "N"), "pages in flight")
SCM_OPT(PROXY, "proxy", R_PROXY, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "https proxy URL, or false for none")
SCM_OPT(NO_PROXY, "no_proxy", R_HEADER, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "hosts that go direct, comma-separated")
/* a whole listing's time; and the pool and TLS knobs of scm.resty, named
 * as lua-resty-http names them (libcurl: see plan.c) */
SCM_OPT(DEADLINE, "deadline", R_SECONDS, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "seconds for a whole call, every page and retry")
SCM_OPT(POOL_SIZE, "pool_size", R_INT_RANGE, G_NONE, 0, 1, 10000, NULL, NULL, DFLT_NUM(SCM_DEFAULT_POOL_SIZE),
	NO_CLI, "idle connections kept per host (scm.resty)")
SCM_OPT(BACKLOG, "backlog", R_INT_RANGE, G_NONE, 0, 0, 100000, NULL, NULL, DFLT_NONE,
	NO_CLI, "connects queued when the pool is busy (scm.resty)")
SCM_OPT(KEEPALIVE_TIMEOUT, "keepalive_timeout", R_INT_RANGE, G_NONE, 0, 0, 86400000, NULL, NULL, DFLT_NUM(SCM_DEFAULT_KEEPALIVE_MS),
	NO_CLI, "milliseconds a pooled connection stays idle (scm.resty)")
SCM_OPT(SSL_SERVER_NAME, "ssl_server_name", R_HEADER, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "the TLS server name, when not the endpoint's host")
SCM_OPT(SSL_SESSION_REUSE, "ssl_session_reuse", R_BOOL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_BOOL(1),
	NO_CLI, "resume TLS sessions (scm.resty)")
SCM_OPT(IAM_ENDPOINT, "iam_endpoint", R_URL, G_NONE, 0, 0, 0, NULL, NULL, DFLT_NONE,
	NO_CLI, "base URL of IAM, for the account id lookup")
