/* Shared declarations of the scm module: one header for the C files that
 * each own one concern (options, transport, decoding, errors, the Lua API). */
#ifndef SCM_H
#define SCM_H

#include <stddef.h>
#include <curl/curl.h>

#include "compat.h"

/* The release, from the VERSION file: make, the rockspecs and debian/rules
 * all pass it as -DSCM_VERSION. */
#ifndef SCM_VERSION
#error "SCM_VERSION is not defined: build with make, LuaRocks or debian/rules"
#endif
#define SCM_PATH "/v3/scm/certificates"
#define SCM_DEFAULT_RETRIES 2
#define SCM_DEFAULT_TIMEOUT 30.0
#define SCM_DEFAULT_CONNECT_TIMEOUT 10.0
#define SCM_DEFAULT_MAX_BODY (8 * 1024 * 1024)
#define SCM_DEFAULT_PAGE_SIZE 50
#define SCM_DEFAULT_CONCURRENCY 4
/* The largest offset option: far above any account's certificates, far
 * below where offset + pages * limit could overflow. */
#define SCM_MAX_OFFSET 2147483647
#define SCM_DEFAULT_POOL_SIZE 32        /* idle connections per host, per worker */
#define SCM_DEFAULT_KEEPALIVE_MS 60000  /* idle time of a pooled connection */
/* Response header limits, libcurl's (CURL_MAX_HTTP_HEADER and its 300 KB
 * block): scm.resty applies the same. */
#define SCM_MAX_HEADER_LINE (100 * 1024)
#define SCM_MAX_HEADER_BLOCK (300 * 1024)

/* Metatable names. */
#define SCM_CLIENT_MT "scm.client"
#define SCM_ERROR_MT "scm.error"

/* ---- options.c: the option table, validation, query building ---------- */

/* Every option the module knows; the query options stand in alphabetical
 * order, which is the order they are sent in (and the canonical order). */
enum scm_opt_id {
	SCM_OPT_ENDPOINT,
	SCM_OPT_REGION,
	SCM_OPT_TOKEN,
	SCM_OPT_AK,
	SCM_OPT_SK,
	SCM_OPT_SECURITY_TOKEN,
	SCM_OPT_DOMAIN_ID,
	SCM_OPT_CREDENTIALS,
	SCM_OPT_CONTENT,
	SCM_OPT_DEPLOY_SUPPORT,
	SCM_OPT_ENTERPRISE_PROJECT_ID,
	SCM_OPT_EXPIRED_DAYS_SINCE,
	SCM_OPT_LIMIT,
	SCM_OPT_OFFSET,
	SCM_OPT_OWNED_BY_SELF,
	SCM_OPT_SORT_DIR,
	SCM_OPT_SORT_KEY,
	SCM_OPT_STATUS,
	SCM_OPT_TIMEOUT,
	SCM_OPT_CONNECT_TIMEOUT,
	SCM_OPT_RETRIES,
	SCM_OPT_CAFILE,
	SCM_OPT_VERIFY,
	SCM_OPT_ALLOW_HTTP,
	SCM_OPT_USER_AGENT,
	SCM_OPT_MAX_BODY,
	SCM_OPT_CONCURRENCY,
	SCM_OPT_PROXY,
	SCM_OPT_NO_PROXY,
	/* a whole listing's time; and the pool and TLS knobs of scm.resty,
	 * named as lua-resty-http names them (libcurl: see plan.c) */
	SCM_OPT_DEADLINE,
	SCM_OPT_POOL_SIZE,
	SCM_OPT_BACKLOG,
	SCM_OPT_KEEPALIVE_TIMEOUT,
	SCM_OPT_SSL_SERVER_NAME,
	SCM_OPT_SSL_SESSION_REUSE,
	SCM_OPT_IAM_ENDPOINT,
	SCM_OPT_COUNT
};

/* One option's value. Strings point into Lua strings (or the environment)
 * and stay valid while the option tables they came from are on the stack. */
typedef struct scm_value {
	int set;
	lua_Integer i; /* integers; booleans as 0/1 */
	double n;      /* seconds */
	const char *s; /* strings */
	size_t len;
} scm_value;

typedef struct scm_opts {
	scm_value v[SCM_OPT_COUNT];
	/* Resolved by scm_opts_finish; read through scm_opts_base. The
	 * struct may be copied: a region's address lives inside it. */
	const char *base; /* the endpoint option, or NULL: base_buf */
	size_t base_len;  /* without a trailing "/" */
	char base_buf[256];
} scm_opts;

/* Reads the option table at idx into o; raises (as argument arg) on an
 * unknown key or a value outside its rule. */
void scm_opts_read(lua_State *L, int idx, int arg, scm_opts *o);
/* Lays call options over client defaults: a call that names any option of
 * a group (where, credentials) replaces that whole group. */
void scm_opts_merge(scm_opts *dst, const scm_opts *call);
/* Checks the rules between options and resolves where the request goes
 * and the credentials; raises. Strings read from a credentials file are
 * kept in the table at index holder. */
void scm_opts_finish(lua_State *L, int arg, scm_opts *o, int holder);

/* ---- credentials.c: options, environment, credentials file ------------- */
void scm_credentials_resolve(lua_State *L, int arg, scm_opts *o, int holder);
/* Appends "?k=v&..." for the query options that are set. */
struct scm_buf;
int scm_query_append(struct scm_buf *b, const scm_opts *o);
/* Checks where the options send requests (endpoint or region), when they
 * say; raises. For defaults, which need not hold credentials. */
void scm_opts_check_where(lua_State *L, int arg, scm_opts *o);
/* The base URL the request goes to (no trailing "/"), and its length. */
const char *scm_opts_base(const scm_opts *o, size_t *len);
/* Checks a base URL given for `what` (an option or an environment
 * variable) by the endpoint's rules: http(s), no query, fragment or user,
 * plain http only to loopback unless allow_http (or allow_any_http);
 * raises. */
void scm_check_url(lua_State *L, int arg, const scm_opts *o, const char *what,
		   const char *url, size_t len, int allow_any_http);
/* The region the options name (the default region when none is named and
 * no endpoint is), or NULL when an endpoint is given. */
const char *scm_opts_region(const scm_opts *o);
/* The option value as an integer, or dflt when it is not set. */
lua_Integer scm_opt_int(const scm_opts *o, int id, lua_Integer dflt);
/* Lowers timeout to left seconds (what is left of a deadline) if larger. */
void scm_cap_timeout(scm_opts *o, double left);
/* retries, default SCM_DEFAULT_RETRIES. */
int scm_opt_retries(const scm_opts *o);

/* ---- buffer.c: a growable byte buffer ---------------------------------- */
typedef struct scm_buf {
	char *data;
	size_t len, cap;
} scm_buf;

int scm_buf_reserve(scm_buf *b, size_t extra);
int scm_buf_add(scm_buf *b, const char *s, size_t n);
int scm_buf_adds(scm_buf *b, const char *s);
void scm_buf_free(scm_buf *b);
/* Appends s with every byte but A-Z a-z 0-9 - _ . ~ as %XX. */
int scm_buf_add_encoded(scm_buf *b, const char *s, size_t len);
/* Overwrites the contents before freeing: for buffers that held secrets. */
void scm_buf_wipe(scm_buf *b);

/* ---- redact.c: secrets out of server text ------------------------------ */
typedef struct scm_secret {
	const char *s;
	size_t len;
} scm_secret;
#define SCM_MAX_SECRETS 3
/* Replaces in b every occurrence of each secret, and every run of 8 bytes
 * or more that begins one, with "***". Returns 1 when something was
 * replaced, 0 when not, -1 when out of memory. */
int scm_redact(scm_buf *b, const scm_secret *secrets, size_t count);
/* The secrets among o's options (token, sk, security_token); returns how
 * many were stored in out. */
size_t scm_opts_secrets(const scm_opts *o, scm_secret out[SCM_MAX_SECRETS]);

/* ---- request.c: a request to IAM or the metadata service, built without
 * I/O, sent by libcurl (transport.c) or handed to Lua (scm.resty) -------- */
#define SCM_REQUEST_MT "scm.request"
#define SCM_REQUEST_MAX_HEADERS 8
typedef struct scm_request {
	const char *method;   /* "GET" or "PUT" */
	scm_buf url;
	scm_buf headers[SCM_REQUEST_MAX_HEADERS]; /* "Name: value" */
	int nheaders;
	double timeout, connect_timeout;
	int retries;
	size_t max_body;
} scm_request;
/* Pushes a new empty request: a userdata whose __gc wipes and frees what
 * it holds, so that a raise cannot leak it. */
scm_request *scm_request_new(lua_State *L);
int scm_request_header(scm_request *r, const char *name, const char *value,
		       size_t len);
void scm_request_free(scm_request *r);
/* Pushes a transfer in a userdata whose __gc frees it. */
struct scm_transfer;
struct scm_transfer *scm_transfer_push(lua_State *L);
/* Sends r over libcurl (blocking), with retries by the rules of SCM
 * calls; pushes the transfer holding the response (*out) and returns the
 * number of attempts. */
int scm_perform_request(lua_State *L, CURLSH *share, const struct scm_opts *o,
			const scm_request *r, struct scm_transfer **out);
/* Fills t's response from Lua values: status, the body string at
 * body_idx, the headers table at headers_idx (X-Request-Id or
 * X-IAM-Trace-Id, Location, Content-Type). The body is read in place. */
void scm_response_from_lua(lua_State *L, struct scm_transfer *t, const struct scm_opts *o,
			   lua_Integer status, int body_idx, int headers_idx);
/* Pushes r as scm.request shows a request: { method, url, headers = {},
 * timeout, connect_timeout, retries, max_body, verify[, cafile] }. */
void scm_request_push(lua_State *L, const scm_request *r, const scm_opts *o);

/* ---- transport.c: one HTTP exchange over libcurl ------------------------ */
typedef struct scm_response {
	CURLcode code;        /* libcurl's result of the transfer */
	long status;          /* HTTP status, 0 when none arrived */
	int too_large;        /* the body passed max_body */
	int oom;              /* out of memory while receiving */
	int headers_too_large; /* a header line or the block over its limit */
	size_t header_bytes;  /* of the response so far */
	int encoded;          /* a Content-Encoding other than identity */
	curl_off_t declared;  /* Content-Length, -1 when absent */
	char reason[64];      /* the status line's reason phrase */
	char request_id[96];
	char location[384];
	char content_type[96];
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];
	int os_errno;         /* errno of a failed connect, 0 when none */
	int in_headers;       /* a status line came, the blank line not yet */
	scm_secret secrets[SCM_MAX_SECRETS]; /* removed from every kept value */
	size_t nsecrets;
	scm_buf body;
	int body_index; /* > 0: the body is also this Lua string on the stack */
} scm_response;

typedef struct scm_transfer {
	CURL *easy;
	struct curl_slist *headers;
	scm_buf url;
	size_t max_body;
	scm_response res;
} scm_transfer;

/* Prepares t for one GET of the certificate list described by o; the
 * connection pool comes from share. Returns 0, or -1 on out of memory. */
int scm_transfer_setup(scm_transfer *t, CURLSH *share, const scm_opts *o);
/* Prepares t for the request r, with o's TLS settings and user agent. */
int scm_transfer_setup_request(scm_transfer *t, CURLSH *share, const scm_opts *o,
			       const scm_request *r);
/* Runs a prepared transfer to its end (blocking). */
void scm_transfer_perform(scm_transfer *t);
/* curl_multi_init, with its sockets close-on-exec. */
CURLM *scm_multi_new(void);
/* Notes how a transfer ended (libcurl's code, status, errno). */
void scm_transfer_ended(scm_transfer *t, CURLcode code);
/* Frees what one exchange holds (headers are wiped: they carry secrets),
 * keeping the easy handle and its connection. */
void scm_transfer_clear(scm_transfer *t);
void scm_transfer_free(scm_transfer *t);
/* Wipes and frees the request headers (they carry credentials) once the
 * transfer is over, keeping the response. */
void scm_transfer_forget_request(scm_transfer *t);
CURLSH *scm_share_new(void);
/* Keeps header value v (n bytes) in field: trimmed, secrets of r removed,
 * then cut to size. strict (a request id): the field stays empty when the
 * value held a secret or a control byte, or does not fit. */
void scm_keep_value(const scm_response *r, char *field, size_t size,
		    const char *v, size_t n, int strict);

/* ---- retry.c: which failures are tried again, and when ---------------- */
/* What went wrong with an attempt, as far as retrying goes; the names
 * (SCM_CAUSES, in this order) are what scm.retry takes. */
enum scm_cause {
	SCM_CAUSE_STATUS,    /* an answer arrived: its status decides */
	SCM_CAUSE_NETWORK,   /* no connection, a reset, … */
	SCM_CAUSE_TIMEOUT,
	SCM_CAUSE_TRUNCATED, /* the body was cut short */
	SCM_CAUSE_HANDSHAKE, /* the network broke a TLS handshake */
	SCM_CAUSE_VERIFY,    /* the TLS peer failed verification */
	SCM_CAUSE_TOO_LARGE, /* body over max_body, headers over their limits */
	SCM_CAUSE_MALFORMED, /* not HTTP: a bad status line, Content-Length, chunk */
	SCM_CAUSE_DECODE     /* a 2xx whose body is not the page */
};
extern const char *const SCM_CAUSES[];
/* The rule: 1 and the delay in seconds when an attempt (0 for the first)
 * that failed this way is worth another; 0 when not. retry_after is the
 * header's value or NULL. */
int scm_retry_decide(int cause, long status, const char *retry_after, int attempt,
		     double *delay);
/* Retry-After in seconds (delta-seconds or an HTTP date); -1 when absent
 * or unusable (then backoff applies); huge values stay huge. */
double scm_retry_after(const char *value);
/* The cause of a finished libcurl transfer. */
int scm_response_cause(const scm_response *r);
/* scm_retry_decide for a finished libcurl transfer. */
int scm_retry_delay(const scm_response *r, int attempt, double *delay);
double scm_now(void); /* monotonic seconds */
void scm_sleep(double seconds);

/* ---- decode.c: response to page or err ---------------------------------- */
/* Stores the module's private cjson instance; call once at load. */
void scm_decode_init(lua_State *L);
/* Decodes JSON text with the private cjson instance; pushes the value
 * (returns 1) or the decoder's message (returns 0). */
int scm_decode_json(lua_State *L, const char *text, size_t len);
/* The err kind of a failed transfer: "timeout", "tls" or "network". */
const char *scm_transport_kind(CURLcode code);
/* Pushes the page table (returns 1) or nil and an err (returns 2); the
 * err tells how many attempts were made. */
int scm_push_result(lua_State *L, const scm_transfer *t, const scm_opts *o,
		    int attempts);

/* ---- error.c: the err object ------------------------------------------- */
void scm_error_init(lua_State *L);
/* Pushes a userdata holding an empty buffer, wiped and freed by its
 * __gc (and __close): C memory that survives a raise (lauxlib's UBox).
 * scm_buf_wipe it when done, then pop it. */
scm_buf *scm_buf_box(lua_State *L);
/* Pushes an err table. status <= 0 and NULL strings are left out; the
 * message is folded to one line and cleared of any secret in o. */
void scm_push_error(lua_State *L, const char *kind, long status,
		    const char *code, size_t code_len, const char *message,
		    const char *request_id, const scm_opts *o);
/* Marks the err at the top as a failure of a credential lookup: service
 * "iam" or "metadata" in err.service, and the message says what it was
 * for and what to do. */
void scm_error_service(lua_State *L, const char *service);
/* Sets err.attempts (the err at the top) and notes it in the message. */
void scm_error_attempts(lua_State *L, int attempts);

#endif
