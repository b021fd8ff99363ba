/* One HTTP exchange with the SCM endpoint over libcurl. Nothing here calls
 * into Lua: a Lua error can never unwind through libcurl's frames. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <dirent.h>
#include <netinet/in.h>
#include <unistd.h>

#include "credentials.h"
#include "transport.h"

/* A response buffer larger than this is not kept between calls. */
#define KEEP_BUFFER (1024 * 1024)

static void reset_response(scm_response *r)
{
	r->code = CURLE_OK;
	r->status = 0;
	r->too_large = 0;
	r->oom = 0;
	r->headers_too_large = 0;
	r->header_bytes = 0;
	r->declared = -1;
	r->encoded = 0;
	r->os_errno = 0;
	r->in_headers = 0;
	r->request_id[0] = r->location[0] = r->content_type[0] = '\0';
	r->retry_after[0] = r->errbuf[0] = r->reason[0] = '\0';
	r->body.len = 0;
	if (r->body.data != NULL)
		r->body.data[0] = '\0';
}

static size_t on_body(char *data, size_t size, size_t count, void *ud)
{
	scm_transfer *t = ud;
	size_t n = size * count;
	/* Enforced while receiving: returning short aborts the transfer. */
	if (n > t->max_body - t->res.body.len) {
		t->res.too_large = 1;
		return 0;
	}
	if (scm_buf_add(&t->res.body, data, n) != 0) {
		t->res.oom = 1;
		return 0;
	}
	return n;
}

void scm_keep_value(const scm_response *r, char *field, size_t size,
		    const char *v, size_t n, int strict)
{
	scm_buf b = {NULL, 0, 0};
	int redacted;
	field[0] = '\0';
	v += scm_trim(v, &n, "\r\n");
	/* Secrets out of the whole value first: cut first, a secret's start
	 * would no longer match and would be kept. */
	if (scm_buf_add(&b, v, n) != 0 ||
	    (redacted = scm_redact(&b, r->secrets, r->nsecrets)) < 0) {
		scm_buf_wipe(&b);
		return;
	}
	if (strict) {
		size_t i;
		for (i = 0; i < b.len; i++)
			if ((unsigned char)b.data[i] < 0x20 || (unsigned char)b.data[i] == 0x7f)
				break;
		if (redacted || i < b.len || b.len >= size) {
			scm_buf_wipe(&b);
			return;
		}
	}
	n = b.len < size ? b.len : size - 1;
	if (n > 0)
		memcpy(field, b.data, n);
	field[n] = '\0';
	scm_buf_wipe(&b);
}

static void keep(const scm_response *r, char *field, size_t size, const char *v, size_t n)
{
	scm_keep_value(r, field, size, v, n, 0);
}

static int is_header(const char *line, size_t n, const char *name, size_t *vstart)
{
	size_t len = strlen(name);
	if (n <= len || line[len] != ':' || !scm_equal_nocase(line, len, name))
		return 0;
	*vstart = len + 1;
	return 1;
}

static size_t on_header(char *line, size_t size, size_t count, void *ud)
{
	scm_transfer *t = ud;
	scm_response *r = &t->res;
	size_t n = size * count, v;
	char num[32];

	/* libcurl's own limits, kept here too so both paths say the same */
	r->header_bytes += n;
	if (n > SCM_MAX_HEADER_LINE || r->header_bytes > SCM_MAX_HEADER_BLOCK) {
		r->headers_too_large = 1;
		return 0;
	}
	if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
		/* A new response (after a 1xx): forget the last one's fields,
		 * keep its reason phrase ("HTTP/1.1 502 Bad Gateway"). */
		const char *sp = memchr(line, ' ', n);
		const char *reason = sp ? memchr(sp + 1, ' ', n - (size_t)(sp + 1 - line)) : NULL;
		r->reason[0] = '\0';
		if (reason != NULL)
			keep(r, r->reason, sizeof r->reason, reason + 1,
			     n - (size_t)(reason + 1 - line));
		r->in_headers = 1;
		r->request_id[0] = r->location[0] = r->content_type[0] = '\0';
		r->retry_after[0] = '\0';
		r->declared = -1;
		r->encoded = 0;
	} else if (is_header(line, n, "X-Request-Id", &v)) {
		scm_keep_value(r, r->request_id, sizeof r->request_id, line + v, n - v, 1);
	} else if (is_header(line, n, "Location", &v)) {
		/* without its query and fragment: an error shows it, and a
		 * server may have put anything there */
		const char *q = line + v;
		size_t len = n - v, k;
		for (k = 0; k < len && q[k] != '?' && q[k] != '#'; k++)
			;
		keep(r, r->location, sizeof r->location, q, k);
	} else if (is_header(line, n, "Content-Type", &v)) {
		keep(r, r->content_type, sizeof r->content_type, line + v, n - v);
	} else if (is_header(line, n, "Retry-After", &v)) {
		keep(r, r->retry_after, sizeof r->retry_after, line + v, n - v);
	} else if (is_header(line, n, "Content-Encoding", &v)) {
		keep(r, num, sizeof num, line + v, n - v);
		r->encoded = !scm_equal_nocase(num, strlen(num), "identity");
	} else if (is_header(line, n, "Content-Length", &v)) {
		char *end;
		long long len;
		keep(r, num, sizeof num, line + v, n - v);
		len = strtoll(num, &end, 10);
		if (end != num && *end == '\0' && len >= 0)
			r->declared = (curl_off_t)len;
	} else if (n <= 2) {
		r->in_headers = 0;
		/* End of the headers: refuse at once a body that cannot fit,
		 * rather than after max_body bytes of it have arrived. (A
		 * compressed length says nothing of the decoded size.) */
		if (r->declared >= 0 && !r->encoded &&
		    (unsigned long long)r->declared > (unsigned long long)t->max_body) {
			r->too_large = 1;
			return 0;
		}
	}
	return n;
}

CURLSH *scm_share_new(void)
{
	CURLSH *share = curl_share_init();
	if (share == NULL)
		return NULL;
	/* The connection pool, DNS answers and TLS sessions of one client,
	 * used by every transfer it makes. */
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	return share;
}

static void free_headers(scm_transfer *t)
{
	struct curl_slist *h;
	for (h = t->headers; h != NULL; h = h->next)
		scm_wipe(h->data, strlen(h->data));
	curl_slist_free_all(t->headers);
	t->headers = NULL;
}

/* Appends "name: value" to t's header list; the temporary copy is wiped. */
static int add_header(scm_transfer *t, const char *name, const char *value,
		      size_t len)
{
	scm_buf line = {NULL, 0, 0};
	struct curl_slist *h = NULL;
	if (scm_buf_adds(&line, name) == 0 && scm_buf_adds(&line, ": ") == 0 &&
	    scm_buf_add(&line, value, len) == 0)
		h = curl_slist_append(t->headers, line.data);
	scm_buf_wipe(&line);
	if (h == NULL)
		return -1;
	t->headers = h;
	return 0;
}

/* AK/SK: Host, X-Sdk-Date and, when given, X-Domain-Id and
 * X-Security-Token are signed; the Authorization header carries the
 * signature. */
static int add_signature(scm_transfer *t, const scm_opts *o)
{
	scm_signed s;
	size_t n;
	int rc = 0;

	if (scm_credentials_sign(o, t->url.data, 1, &s) != 0)
		return -1;
	for (n = s.n; rc == 0 && n > 0; n--)
		rc = add_header(t, s.headers[n - 1].name, s.headers[n - 1].value,
				s.headers[n - 1].value_len);
	if (rc == 0)
		rc = add_header(t, "Authorization", s.auth.data, s.auth.len);
	scm_buf_wipe(&s.auth);
	return rc;
}

/* The first of the environment variables named that is set and not empty. */
static const char *env_first(const char *const *names)
{
	for (; *names != NULL; names++) {
		const char *v = getenv(*names);
		if (v != NULL && v[0] != '\0')
			return v;
	}
	return NULL;
}

/* Which proxy a request takes. Plain http never takes one: the token
 * would cross the proxy in clear, and the proxy could forge the answer.
 * https takes the proxy option, or else https_proxy, HTTPS_PROXY,
 * all_proxy, ALL_PROXY, except for the hosts in no_proxy (the option, or
 * else no_proxy, NO_PROXY). Both are always set here, so libcurl reads
 * no variable of its own accord. */
static void set_proxy(CURL *e, const scm_opts *o, const char *base)
{
	static const char *const PROXY_ENV[] = {"https_proxy", "HTTPS_PROXY", "all_proxy",
						"ALL_PROXY", NULL};
	static const char *const NO_PROXY_ENV[] = {"no_proxy", "NO_PROXY", NULL};
	const scm_value *proxy = &o->v[SCM_OPT_PROXY];
	const scm_value *no_proxy = &o->v[SCM_OPT_NO_PROXY];
	const char *use = NULL, *except = NULL;
	if (strncmp(base, "https://", 8) == 0) {
		if (!proxy->set)
			use = env_first(PROXY_ENV);
		else if (proxy->s != NULL) /* proxy = false: none */
			use = proxy->s;
		except = no_proxy->set ? no_proxy->s : env_first(NO_PROXY_ENV);
	}
	/* "" is no proxy, and no exception, whatever the environment says */
	curl_easy_setopt(e, CURLOPT_PROXY, use != NULL ? use : "");
	curl_easy_setopt(e, CURLOPT_NOPROXY, except != NULL ? except : "");
}

static long millis(const scm_opts *o, int id, double dflt)
{
	double s = o->v[id].set ? o->v[id].n : dflt;
	long ms = (long)(s * 1000.0 + 0.5);
	return ms < 1 ? 1 : ms;
}

/* Adds the User-Agent header: the option, or the module's own. */
static int add_user_agent(scm_transfer *t, const scm_opts *o)
{
	const scm_value *v = o->v;
	char agent[128];
	if (v[SCM_OPT_USER_AGENT].set)
		return add_header(t, "User-Agent", v[SCM_OPT_USER_AGENT].s,
				  v[SCM_OPT_USER_AGENT].len);
	snprintf(agent, sizeof agent, "lua-scm/%s libcurl/%s %s", SCM_VERSION,
		 curl_version_info(CURLVERSION_NOW)->version, LUA_VERSION);
	return add_header(t, "User-Agent", agent, strlen(agent));
}

/* Every socket the module opens is close-on-exec: a process the script
 * starts (os.execute, io.popen, nginx's workers' children) inherits no
 * connection of the module's, kept alive or in flight. SOCK_CLOEXEC sets
 * it atomically; fcntl where the flag is missing. */
static curl_socket_t open_socket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
	curl_socket_t fd;
	(void)ud;
	(void)purpose;
#ifdef SOCK_CLOEXEC
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
#else
	fd = socket(a->family, a->socktype, a->protocol);
	if (fd != CURL_SOCKET_BAD && fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
		close(fd);
		fd = CURL_SOCKET_BAD;
	}
#endif
	return fd;
}

/* A socket libcurl got otherwise (accepted): close-on-exec as well. */
static int socket_options(void *ud, curl_socket_t fd, curlsocktype purpose)
{
	int flags = fcntl(fd, F_GETFD);
	(void)ud;
	(void)purpose;
	if (flags < 0 || fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0)
		return CURL_SOCKOPT_ERROR;
	return CURL_SOCKOPT_OK;
}

/* The libcurl options every request shares: t's URL and headers, the
 * connection pool, timeouts, TLS, protocols, no redirects, callbacks. */
static void configure(scm_transfer *t, CURLSH *share, const scm_opts *o,
		      long timeout_ms, long connect_ms)
{
	const scm_value *v = o->v;
	int verify = v[SCM_OPT_VERIFY].set ? (int)v[SCM_OPT_VERIFY].i : 1;
	CURL *e = t->easy;
	curl_easy_setopt(e, CURLOPT_URL, t->url.data);
	curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
	curl_easy_setopt(e, CURLOPT_SHARE, share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	if (v[SCM_OPT_CAFILE].set)
		curl_easy_setopt(e, CURLOPT_CAINFO, v[SCM_OPT_CAFILE].s);
	set_proxy(e, o, t->url.data);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->res.errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
	curl_easy_setopt(e, CURLOPT_PRIVATE, t);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
	curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, socket_options);
}

/* A fresh exchange on t's easy handle (kept, with its connections). */
static int begin(scm_transfer *t, size_t max_body, const scm_opts *o)
{
	scm_transfer_clear(t);
	if (t->easy == NULL && (t->easy = curl_easy_init()) == NULL)
		return -1;
	/* Every option is set anew for each request; the handle keeps its
	 * connections across the reset. */
	curl_easy_reset(t->easy);
	t->max_body = max_body;
	t->res.nsecrets = scm_opts_secrets(o, t->res.secrets);
	t->url.len = 0;
	return 0;
}

int scm_transfer_setup(scm_transfer *t, CURLSH *share, const scm_opts *o)
{
	const scm_value *v = o->v;
	const char *base;
	size_t base_len;

	if (begin(t, (size_t)scm_opt_int(o, SCM_OPT_MAX_BODY, SCM_DEFAULT_MAX_BODY), o) != 0)
		return -1;
	base = scm_opts_base(o, &base_len);
	if (scm_buf_add(&t->url, base, base_len) != 0 ||
	    scm_buf_adds(&t->url, SCM_PATH) != 0 || scm_query_append(&t->url, o) != 0)
		return -1;

	if (add_header(t, "Accept", "application/json", 16) != 0)
		return -1;
	if (v[SCM_OPT_TOKEN].set &&
	    add_header(t, "X-Auth-Token", v[SCM_OPT_TOKEN].s, v[SCM_OPT_TOKEN].len) != 0)
		return -1;
	if (v[SCM_OPT_AK].set && add_signature(t, o) != 0)
		return -1;
	if (add_user_agent(t, o) != 0)
		return -1;
	configure(t, share, o, millis(o, SCM_OPT_TIMEOUT, SCM_DEFAULT_TIMEOUT),
		  millis(o, SCM_OPT_CONNECT_TIMEOUT, SCM_DEFAULT_CONNECT_TIMEOUT));
	return 0;
}

int scm_transfer_setup_request(scm_transfer *t, CURLSH *share, const scm_opts *o,
			       const scm_request *r)
{
	struct curl_slist *h;
	int i;
	if (begin(t, r->max_body, o) != 0 || scm_buf_add(&t->url, r->url.data, r->url.len) != 0)
		return -1;
	for (i = 0; i < r->nheaders; i++) {
		if ((h = curl_slist_append(t->headers, r->headers[i].data)) == NULL)
			return -1;
		t->headers = h;
	}
	if (add_user_agent(t, o) != 0)
		return -1;
	configure(t, share, o, (long)(r->timeout * 1000.0 + 0.5),
		  (long)(r->connect_timeout * 1000.0 + 0.5));
	if (strcmp(r->method, "GET") != 0) {
		/* a PUT without a body: Content-Length: 0 */
		curl_easy_setopt(t->easy, CURLOPT_CUSTOMREQUEST, r->method);
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(t->easy, CURLOPT_POSTFIELDSIZE, 0L);
	}
	return 0;
}

void scm_transfer_ended(scm_transfer *t, CURLcode code)
{
	scm_response *r = &t->res;
	long err = 0;
	r->code = code;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
	if (code == CURLE_OK)
		return;
	if (curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &err) == CURLE_OK)
		r->os_errno = (int)err;
	/* libcurl gives no errno when it could not even make a socket: ask
	 * for one to learn why (too many open files, say) */
	if (code == CURLE_COULDNT_CONNECT && r->os_errno == 0) {
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			r->os_errno = errno;
		else
			close(fd);
	}
	/* libcurl refuses a header line over CURL_MAX_HTTP_HEADER (100 KB)
	 * itself, before the header callback sees it, and ends the transfer
	 * with "out of memory": the server's headers, not this process's
	 * memory */
	if (r->in_headers && (code == CURLE_OUT_OF_MEMORY || code == CURLE_RECV_ERROR
#if LIBCURL_VERSION_NUM >= 0x080600
			      || code == CURLE_TOO_LARGE
#endif
			      ))
		r->headers_too_large = 1;
}

/* The descriptors open in this process, sorted (from /proc/self/fd);
 * -1 when they cannot be listed. */
static int int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

static int open_fds(int **fds, size_t *n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	size_t cap = 0;
	*fds = NULL;
	*n = 0;
	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		/* not the directory's own descriptor: closed on return */
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || atoi(e->d_name) == dirfd(d))
			continue;
		if (*n == cap) {
			int *more = realloc(*fds, (cap = cap ? 2 * cap : 64) * sizeof **fds);
			if (more == NULL) {
				closedir(d);
				free(*fds);
				*fds = NULL;
				return -1;
			}
			*fds = more;
		}
		(*fds)[(*n)++] = atoi(e->d_name);
	}
	closedir(d);
	if (*n == 0) { /* none: not /proc as it should be */
		free(*fds);
		*fds = NULL;
		return -1;
	}
	qsort(*fds, *n, sizeof **fds, int_cmp);
	return 0;
}

CURLM *scm_multi_new(void)
{
	int *before, *after;
	size_t nb, na, k;
	int listed = open_fds(&before, &nb) == 0;
	CURLM *m = curl_multi_init();
	/* libcurl (before 8.8) opens its wake-up socket pair without
	 * SOCK_CLOEXEC: the sockets that appeared are marked here. */
	if (m != NULL && listed && open_fds(&after, &na) == 0) {
		for (k = 0; k < na; k++) {
			struct stat st;
			int flags;
			if (bsearch(&after[k], before, nb, sizeof *before, int_cmp) != NULL ||
			    fstat(after[k], &st) != 0 || !S_ISSOCK(st.st_mode))
				continue;
			flags = fcntl(after[k], F_GETFD);
			if (flags >= 0)
				fcntl(after[k], F_SETFD, flags | FD_CLOEXEC);
		}
		free(after);
	}
	free(before);
	return m;
}

/* Through a multi handle of scm_multi_new's, not curl_easy_perform (whose
 * own multi handle, kept with the easy handle, would hold sockets that
 * are not close-on-exec). */
void scm_transfer_perform(scm_transfer *t)
{
	CURLM *m = scm_multi_new();
	CURLcode code = CURLE_OUT_OF_MEMORY;
	int running = 1, left;
	CURLMsg *msg;
	if (m == NULL || curl_multi_add_handle(m, t->easy) != CURLM_OK) {
		if (m != NULL)
			curl_multi_cleanup(m);
		scm_transfer_ended(t, code);
		return;
	}
	for (;;) {
		if (curl_multi_perform(m, &running) != CURLM_OK)
			break;
		while ((msg = curl_multi_info_read(m, &left)) != NULL)
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == t->easy)
				code = msg->data.result;
		if (running == 0)
			break;
		curl_multi_poll(m, NULL, 0, 1000, NULL);
	}
	curl_multi_remove_handle(m, t->easy);
	curl_multi_cleanup(m);
	scm_transfer_ended(t, code);
}

void scm_transfer_forget_request(scm_transfer *t)
{
	free_headers(t);
}

void scm_transfer_clear(scm_transfer *t)
{
	free_headers(t);
	if (t->res.body.cap > KEEP_BUFFER)
		scm_buf_free(&t->res.body);
	reset_response(&t->res);
}

void scm_transfer_free(scm_transfer *t)
{
	if (t->easy != NULL) {
		curl_easy_cleanup(t->easy);
		t->easy = NULL;
	}
	free_headers(t);
	scm_buf_free(&t->url);
	scm_buf_free(&t->res.body);
}

enum scm_kind scm_transport_kind(CURLcode code)
{
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return SCM_KIND_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ENGINE_INITFAILED:
	case CURLE_SSL_SHUTDOWN_FAILED:
	case CURLE_USE_SSL_FAILED:
		return SCM_KIND_TLS;
	default:
		return SCM_KIND_NETWORK;
	}
}
