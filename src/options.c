/* The options the module accepts, as data: one row per option with its rule.
 * Validation, error messages and the query string are all derived from the
 * table, so a new option is one row (and, for a query option, nothing else). */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "credentials.h"
#include "options.h"

enum rule {
	R_INT_CHOICE, /* one of ints[] */
	R_INT_RANGE,  /* integer in [min, max]; max < 0: no upper bound */
	R_STR_CHOICE, /* one of strs[] */
	R_STRING,     /* non-empty string without NUL */
	R_HEADER,     /* non-empty string without CR, LF or NUL */
	R_BOOL,
	R_SECONDS,    /* number > 0, at most a day */
	R_URL,        /* checked in scm_opts_finish */
	R_PROXY       /* false, or a proxy URL */
};

enum { F_QUERY = 1, F_SECRET = 2 };
enum { G_NONE, G_WHERE, G_CREDENTIALS };

enum { D_NONE, D_NUM, D_BOOL, D_STR }; /* what kind of default an option has */

typedef struct option_rule {
	const char *name;
	unsigned char rule, group, flags;
	lua_Integer min, max;
	const lua_Integer *ints; /* R_INT_CHOICE, ended by -1 */
	const char *const *strs; /* R_STR_CHOICE (and region's known names), ended by NULL */
	unsigned char dkind;     /* the default, for scm.options() */
	double dnum;
	const char *dstr;
	const char *flag; /* scm-certs's flag, or NULL; and its value's name */
	const char *arg;
	const char *help; /* one line, as scm-certs --help shows it */
} option_rule;

static const char *const CREDENTIAL_KINDS[] = {"ecs", NULL};
static const lua_Integer PAGE_SIZES[] = {10, 20, 50, -1};
static const char *const SORT_DIRS[] = {"ASC", "DESC", NULL};
static const char *const SORT_KEYS[] = {"certExpiredTime", "certStatus",
					"certUpdateTime", NULL};
static const char *const STATUSES[] = {
	"ALL", "PAID", "ISSUED", "CHECKING", "CANCELCHECKING", "UNPASSED",
	"EXPIRED", "REVOKING", "REVOKED", "UPLOAD", "CHECKING_ORG", "ISSUING",
	"SUPPLEMENTCHECKING", NULL};
/* The regions with an address of their own; any other needs its
 * HUAWEICLOUD_SDK_REGION_SCM_<REGION>. */
static const char *const REGIONS[] = {"cn-north-4", "ap-southeast-1",
				      "my-kualalumpur-1", NULL};

#define DFLT_NONE D_NONE, 0, NULL
#define DFLT_NUM(x) D_NUM, (double)(x), NULL
#define DFLT_BOOL(b) D_BOOL, (double)(b), NULL
#define DFLT_STR(s) D_STR, 0, (s)
#define CLI(flag, arg) (flag), (arg)
#define NO_CLI NULL, NULL

/* The rule table, from optlist.h. */
static const option_rule OPTIONS[SCM_OPT_COUNT] = {
#define SCM_OPT(id, name, rule, group, flags, min, max, ints, strs, dflt, cli, help) \
	[SCM_OPT_##id] = {name, rule, group, flags, min, max, ints, strs, dflt, cli, help},
#include "optlist.h"
#undef SCM_OPT
};

/* ---- messages ------------------------------------------------------------ */

/* The rule of an option in words, as in "limit must be 10, 20 or 50". */
static void describe_rule(char *out, size_t size, const option_rule *r)
{
	size_t n = 0;
	int i, count;
#define PUT(...) \
	do { \
		int w_ = snprintf(out + n, n < size ? size - n : 0, __VA_ARGS__); \
		if (w_ > 0) \
			n += (size_t)w_; \
	} while (0)
	switch (r->rule) {
	case R_INT_CHOICE:
		for (count = 0; r->ints[count] >= 0; count++)
			;
		PUT("must be ");
		for (i = 0; i < count; i++)
			PUT("%s%lld", i == 0 ? "" : i == count - 1 ? " or " : ", ",
			    (long long)r->ints[i]);
		break;
	case R_INT_RANGE:
		if (r->max < 0)
			PUT("must be an integer >= %lld", (long long)r->min);
		else
			PUT("must be an integer from %lld to %lld",
			    (long long)r->min, (long long)r->max);
		break;
	case R_STR_CHOICE:
		PUT("must be one of ");
		for (i = 0; r->strs[i] != NULL; i++)
			PUT("%s%s", i == 0 ? "" : ", ", r->strs[i]);
		break;
	case R_STRING:
		PUT("must be a non-empty string");
		break;
	case R_HEADER:
		PUT("must be a non-empty string without CR, LF or NUL");
		break;
	case R_BOOL:
		PUT("must be a boolean");
		break;
	case R_SECONDS:
		PUT("must be a number of seconds > 0 and <= %.0f", SCM_MAX_SECONDS);
		break;
	case R_URL:
		PUT("must be an http:// or https:// URL without query or fragment");
		break;
	case R_PROXY:
		PUT("must be false or an http://, https://, socks5:// or socks5h:// URL "
		    "of a host (and port)");
		break;
	}
#undef PUT
	if (size > 0 && n >= size)
		out[size - 1] = '\0';
}

/* A short, printable rendering of a string value: quoted, control bytes
 * escaped, long values cut. */
static void quote(char *out, size_t size, const char *s, size_t len)
{
	size_t n = 0, i;
	const size_t shown = 48;
	if (size < 8)
		return;
	out[n++] = '"';
	for (i = 0; i < len && i < shown && n + 6 < size; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			n += (size_t)snprintf(out + n, size - n, "\\x%02X", c);
		} else {
			out[n++] = (char)c;
		}
	}
	if (i < len && n + 4 < size) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n++] = '"';
	out[n] = '\0';
}

/* What the caller gave, for "(got ...)": secrets are never echoed. */
static void describe_value(lua_State *L, int idx, const option_rule *r,
			   char *out, size_t size)
{
	int t = lua_type(L, idx);
	lua_Integer i;
	if ((r->flags & F_SECRET) && t != LUA_TSTRING) {
		snprintf(out, size, "a %s", lua_typename(L, t));
	} else if (t == LUA_TSTRING) {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		if (r->rule == R_PROXY && memchr(s, '@', len) != NULL) {
			snprintf(out, size, "a URL with credentials, not shown");
		} else if (r->flags & F_SECRET) {
			const char *what = len == 0 ? "an empty string"
					 : memchr(s, '\0', len) ? "a string containing NUL"
					 : memchr(s, '\r', len) ? "a string containing CR"
					 : memchr(s, '\n', len) ? "a string containing LF"
					 : "a string";
			snprintf(out, size, "%s", what);
		} else {
			quote(out, size, s, len);
		}
	} else if (t == LUA_TNUMBER) {
		if (scm_tointeger(L, idx, &i))
			snprintf(out, size, "%lld", (long long)i);
		else
			snprintf(out, size, "%.14g", (double)lua_tonumber(L, idx));
	} else if (t == LUA_TBOOLEAN) {
		snprintf(out, size, "%s", lua_toboolean(L, idx) ? "true" : "false");
	} else {
		snprintf(out, size, "%s", lua_typename(L, t));
	}
}

static int invalid(lua_State *L, int arg, const option_rule *r, int idx)
{
	char rule[256], got[96];
	describe_rule(rule, sizeof rule, r);
	describe_value(L, idx, r, got, sizeof got);
	return luaL_argerror(L, arg, lua_pushfstring(L, "%s %s (got %s)", r->name,
						     rule, got));
}

/* Edit distance, for "did you mean" on a mistyped option name. */
static size_t distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[40];
	if (la >= 40 || lb >= 40)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t best, up = row[j];
			best = diag + (a[i - 1] == b[j - 1] ? 0 : 1);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

static int unknown(lua_State *L, int arg, const char *name)
{
	int id, best = -1;
	size_t best_d = 3;
	for (id = 0; id < SCM_OPT_COUNT; id++) {
		size_t d = distance(name, OPTIONS[id].name);
		if (d < best_d) {
			best_d = d;
			best = id;
		}
	}
	if (best >= 0)
		return luaL_argerror(L, arg, lua_pushfstring(L,
			"unknown option '%s' (did you mean '%s'?)", name,
			OPTIONS[best].name));
	return luaL_argerror(L, arg, lua_pushfstring(L, "unknown option '%s'", name));
}

/* ---- reading ------------------------------------------------------------- */

static int find_option(const char *name)
{
	int id;
	for (id = 0; id < SCM_OPT_COUNT; id++)
		if (strcmp(name, OPTIONS[id].name) == 0)
			return id;
	return -1;
}

/* A proxy URL: http, https, socks5 or socks5h, a host, at most "/" as a
 * path, no query or fragment, nothing libcurl would read otherwise. */
static int proxy_url(const char *s, size_t len)
{
	static const char *const SCHEMES[] = {"http://", "https://", "socks5://",
					      "socks5h://", NULL};
	CURLU *u;
	char *host = NULL, *path = NULL, *query = NULL, *fragment = NULL;
	int k, ok;
	size_t i;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] == 0x7f)
			return 0;
	for (k = 0; SCHEMES[k] != NULL; k++)
		if (len > strlen(SCHEMES[k]) && strncmp(s, SCHEMES[k], strlen(SCHEMES[k])) == 0)
			break;
	if (SCHEMES[k] == NULL || memchr(s, '#', len) != NULL || memchr(s, '?', len) != NULL)
		return 0;
	u = curl_url();
	if (u == NULL)
		return 0;
	/* s is a Lua string: NUL-terminated, and free of NUL (checked above) */
	ok = curl_url_set(u, CURLUPART_URL, s, CURLU_NON_SUPPORT_SCHEME) == CURLUE_OK &&
	     curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK && host[0] != '\0' &&
	     curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	     (path[0] == '\0' || strcmp(path, "/") == 0) &&
	     curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK &&
	     curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) != CURLUE_OK;
	curl_free(host);
	curl_free(path);
	curl_free(query);
	curl_free(fragment);
	curl_url_cleanup(u);
	return ok;
}

/* Checks the value at the top of the stack against option id's rule and
 * stores it. */
static void read_value(lua_State *L, int arg, int id, scm_value *v)
{
	const option_rule *r = &OPTIONS[id];
	int t = lua_type(L, -1);
	lua_Integer i;
	size_t len;
	const char *s;
	int k;

	switch (r->rule) {
	case R_INT_CHOICE:
		if (!scm_tointeger(L, -1, &i))
			invalid(L, arg, r, -1);
		for (k = 0; r->ints[k] >= 0 && r->ints[k] != i; k++)
			;
		if (r->ints[k] < 0)
			invalid(L, arg, r, -1);
		v->i = i;
		break;
	case R_INT_RANGE:
		if (!scm_tointeger(L, -1, &i) || i < r->min ||
		    (r->max >= 0 && i > r->max))
			invalid(L, arg, r, -1);
		v->i = i;
		break;
	case R_STR_CHOICE:
		if (t != LUA_TSTRING)
			invalid(L, arg, r, -1);
		s = lua_tolstring(L, -1, &len);
		for (k = 0; r->strs[k] != NULL; k++)
			if (strlen(r->strs[k]) == len && memcmp(r->strs[k], s, len) == 0)
				break;
		if (r->strs[k] == NULL)
			invalid(L, arg, r, -1);
		v->s = s;
		v->len = len;
		break;
	case R_STRING:
	case R_HEADER:
	case R_URL:
		if (t != LUA_TSTRING)
			invalid(L, arg, r, -1);
		s = lua_tolstring(L, -1, &len);
		if (len == 0 || memchr(s, '\0', len) != NULL)
			invalid(L, arg, r, -1);
		if (r->rule == R_HEADER &&
		    (memchr(s, '\r', len) != NULL || memchr(s, '\n', len) != NULL))
			invalid(L, arg, r, -1);
		v->s = s;
		v->len = len;
		break;
	case R_BOOL:
		if (t != LUA_TBOOLEAN)
			invalid(L, arg, r, -1);
		v->i = lua_toboolean(L, -1);
		break;
	case R_PROXY:
		v->s = NULL;
		v->len = 0;
		if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))
			break; /* false: no proxy */
		if (t != LUA_TSTRING)
			invalid(L, arg, r, -1);
		s = lua_tolstring(L, -1, &len);
		if (!proxy_url(s, len))
			invalid(L, arg, r, -1);
		v->s = s;
		v->len = len;
		break;
	case R_SECONDS:
		if (t != LUA_TNUMBER)
			invalid(L, arg, r, -1);
		v->n = (double)lua_tonumber(L, -1);
		if (!(v->n > 0 && v->n <= SCM_MAX_SECONDS))
			invalid(L, arg, r, -1);
		break;
	}
	v->set = 1;
}

void scm_opts_read(lua_State *L, int idx, int arg, scm_opts *o)
{
	int t = lua_type(L, idx);
	if (t == LUA_TNONE || t == LUA_TNIL)
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		int id;
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_argerror(L, arg, lua_pushfstring(L,
				"option names must be strings (got a %s key)",
				luaL_typename(L, -2)));
		id = find_option(lua_tostring(L, -2));
		if (id < 0) {
			unknown(L, arg, lua_tostring(L, -2)); /* raises */
			return;
		}
		/* The string stays reachable from the table at idx. */
		read_value(L, arg, id, &o->v[id]);
		lua_pop(L, 1);
	}
}

static int group_named(const scm_opts *o, int group)
{
	int id;
	for (id = 0; id < SCM_OPT_COUNT; id++)
		if (OPTIONS[id].group == group && o->v[id].set)
			return 1;
	return 0;
}

void scm_opts_merge(scm_opts *dst, const scm_opts *call)
{
	int id;
	int replace_where = group_named(call, G_WHERE);
	int replace_credentials = group_named(call, G_CREDENTIALS);
	for (id = 0; id < SCM_OPT_COUNT; id++) {
		int g = OPTIONS[id].group;
		if ((g == G_WHERE && replace_where) ||
		    (g == G_CREDENTIALS && replace_credentials) ||
		    call->v[id].set)
			dst->v[id] = call->v[id];
	}
}

/* ---- rules between options ----------------------------------------------- */

static int is_loopback(const char *host)
{
	unsigned char addr[16];
	char plain[64];
	size_t len = strlen(host);
	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, addr) == 1)
		return addr[0] == 127;
	/* curl gives IPv6 hosts in brackets. */
	if (len > 2 && len < sizeof plain + 2 && host[0] == '[' &&
	    host[len - 1] == ']') {
		memcpy(plain, host + 1, len - 2);
		plain[len - 2] = '\0';
		/* a zone id ("%eth0") is not part of the address */
		char *zone = strchr(plain, '%');
		if (zone != NULL)
			*zone = '\0';
		if (inet_pton(AF_INET6, plain, addr) == 1) {
			static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0,
							      0, 0, 0, 0, 0, 0, 0, 1};
			return memcmp(addr, one, 16) == 0;
		}
	}
	return 0;
}

/* 1 when base + the API path + a query parses back with that path and
 * query: what is sent is what was built. */
static int carries_query(const char *base, size_t len)
{
	static const char TAIL[] = SCM_PATH "?limit=10";
	CURLU *u = curl_url();
	char *url, *path = NULL, *query = NULL;
	int ok = 0;
	if (u == NULL || (url = malloc(len + sizeof TAIL)) == NULL) {
		curl_url_cleanup(u);
		return 0;
	}
	memcpy(url, base, len);
	memcpy(url + len, TAIL, sizeof TAIL);
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK) {
		size_t plen = strlen(path);
		ok = strcmp(query, "limit=10") == 0 && plen >= sizeof SCM_PATH - 1 &&
		     strcmp(path + plen - (sizeof SCM_PATH - 1), SCM_PATH) == 0;
	}
	curl_free(path);
	curl_free(query);
	free(url);
	curl_url_cleanup(u);
	return ok;
}

/* Checks the base URL (endpoint, region address or its override); raises
 * naming `what`. */
static void check_base(lua_State *L, int arg, scm_opts *o, const char *what,
		       const char *shown)
{
	CURLU *u;
	char *scheme = NULL, *host = NULL, *query = NULL, *fragment = NULL,
	     *user = NULL;
	const char *problem = NULL;
	int has_user = 0; /* the URL is not shown: it carries credentials */
	size_t i;
	const char *base = scm_opts_base(o, &i);
	for (i = 0; i < o->base_len; i++) {
		unsigned char c = (unsigned char)base[i];
		if (c <= 0x20 || c == 0x7f) {
			problem = "must not contain spaces or control characters";
			break;
		}
		/* even empty ("…/#", "…?"), which the URL parser lets pass:
		 * the query appended after them would not be sent as one */
		if (c == '#') {
			problem = "must not have a fragment";
			break;
		}
		if (c == '?') {
			problem = "must not have a query";
			break;
		}
	}
	u = curl_url();
	if (u == NULL) {
		luaL_error(L, "out of memory"); /* raises */
		return;
	}
	if (problem == NULL) {
		char *copy = malloc(o->base_len + 1);
		CURLUcode rc;
		if (copy == NULL) {
			curl_url_cleanup(u);
			luaL_error(L, "out of memory"); /* raises */
			return;
		}
		memcpy(copy, base, o->base_len);
		copy[o->base_len] = '\0';
		rc = curl_url_set(u, CURLUPART_URL, copy, 0);
		free(copy);
		if (rc != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
		    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK)
			problem = "must be an http:// or https:// URL";
	}
	if (problem == NULL) {
		int http = strcmp(scheme, "http") == 0;
		if (!http && strcmp(scheme, "https") != 0)
			problem = "must be an http:// or https:// URL";
		else if (curl_url_get(u, CURLUPART_QUERY, &query, 0) == CURLUE_OK)
			problem = "must not have a query";
		else if (curl_url_get(u, CURLUPART_FRAGMENT, &fragment, 0) == CURLUE_OK)
			problem = "must not have a fragment";
		else if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
			problem = "must not carry a user name or password";
			has_user = 1;
		}
		else if (!carries_query(base, o->base_len))
			problem = "must be a base URL that the API path and query can follow";
		else if (http && !(o->v[SCM_OPT_ALLOW_HTTP].set &&
				   o->v[SCM_OPT_ALLOW_HTTP].i) && !is_loopback(host))
			problem = "uses plain http to a host that is not loopback "
				  "(use https, or set allow_http = true)";
	}
	curl_free(scheme);
	curl_free(host);
	curl_free(query);
	curl_free(fragment);
	curl_free(user);
	curl_url_cleanup(u);
	if (problem != NULL) {
		char buf[96];
		if (has_user)
			snprintf(buf, sizeof buf, "a URL with credentials, not shown");
		else
			quote(buf, sizeof buf, shown, strlen(shown));
		luaL_argerror(L, arg, lua_pushfstring(L, "%s %s (got %s)", what,
						     problem, buf));
	}
}

void scm_check_url(lua_State *L, int arg, const scm_opts *o, const char *what,
		   const char *url, size_t len, int allow_any_http)
{
	scm_opts tmp = *o;
	tmp.base = url;
	tmp.base_len = len;
	while (tmp.base_len > 0 && url[tmp.base_len - 1] == '/')
		tmp.base_len--;
	if (allow_any_http) {
		tmp.v[SCM_OPT_ALLOW_HTTP].set = 1;
		tmp.v[SCM_OPT_ALLOW_HTTP].i = 1;
	}
	check_base(L, arg, &tmp, what, url);
}

const char *scm_opts_region(const scm_opts *o)
{
	if (o->v[SCM_OPT_REGION].set)
		return o->v[SCM_OPT_REGION].s;
	return o->v[SCM_OPT_ENDPOINT].set ? NULL : SCM_DEFAULT_REGION;
}

static void resolve_where(lua_State *L, int arg, scm_opts *o)
{
	const scm_value *endpoint = &o->v[SCM_OPT_ENDPOINT];
	const scm_value *region = &o->v[SCM_OPT_REGION];
	const char *name = region->set ? region->s : SCM_DEFAULT_REGION;
	char env[96], shown[160];
	const char *override;
	size_t i, n;
	int k;

	if (endpoint->set && region->set)
		luaL_argerror(L, arg, "endpoint and region are exclusive: give one");
	if (endpoint->set) {
		o->base = endpoint->s;
		o->base_len = endpoint->len;
		while (o->base_len > 0 && o->base[o->base_len - 1] == '/')
			o->base_len--;
		check_base(L, arg, o, "endpoint", endpoint->s);
		return;
	}
	/* HUAWEICLOUD_SDK_REGION_SCM_<ID>: the SDKs' per-service override. */
	n = (size_t)snprintf(env, sizeof env, "HUAWEICLOUD_SDK_REGION_SCM_");
	for (i = 0; name[i] != '\0' && n + 1 < sizeof env; i++) {
		unsigned char c = (unsigned char)name[i];
		env[n++] = c == '-' ? '_' : scm_upper((char)c);
	}
	env[n] = '\0';
	override = name[i] == '\0' ? getenv(env) : NULL;
	if (override != NULL && override[0] != '\0') {
		o->base = NULL;
		o->base_len = strlen(override);
		while (o->base_len > 0 && override[o->base_len - 1] == '/')
			o->base_len--;
		snprintf(shown, sizeof shown, "%s", env);
		if (o->base_len >= sizeof o->base_buf)
			luaL_argerror(L, arg, lua_pushfstring(L, "%s is longer than %d bytes",
							     shown, (int)sizeof o->base_buf - 1));
		memcpy(o->base_buf, override, o->base_len);
		o->base_buf[o->base_len] = '\0';
		check_base(L, arg, o, shown, override);
		return;
	}
	for (k = 0; REGIONS[k] != NULL; k++)
		if (strcmp(REGIONS[k], name) == 0)
			break;
	if (REGIONS[k] == NULL) {
		quote(shown, sizeof shown, name, strlen(name));
		lua_pushliteral(L, "region must be one of ");
		for (k = 0; REGIONS[k] != NULL; k++)
			lua_pushfstring(L, "%s, ", REGIONS[k]);
		lua_pushfstring(L, "or have its endpoint in %s (got %s)", env, shown);
		lua_concat(L, k + 2);
		luaL_argerror(L, arg, lua_tostring(L, -1));
	}
	n = (size_t)snprintf(o->base_buf, sizeof o->base_buf,
			     "https://scm.%s.myhuaweicloud.com", name);
	o->base = NULL;
	o->base_len = n;
}

void scm_opts_check_where(lua_State *L, int arg, scm_opts *o)
{
	if (o->v[SCM_OPT_ENDPOINT].set || o->v[SCM_OPT_REGION].set)
		resolve_where(L, arg, o);
}

const char *scm_opts_base(const scm_opts *o, size_t *len)
{
	*len = o->base_len;
	return o->base != NULL ? o->base : o->base_buf;
}

void scm_opts_finish(lua_State *L, int arg, scm_opts *o, int holder)
{
	const scm_value *iam = &o->v[SCM_OPT_IAM_ENDPOINT];
	scm_credentials_resolve(L, arg, o, holder);
	resolve_where(L, arg, o);
	if (iam->set)
		scm_check_url(L, arg, o, "iam_endpoint", iam->s, iam->len, 0);
}

lua_Integer scm_opt_int(const scm_opts *o, int id, lua_Integer dflt)
{
	return o->v[id].set ? o->v[id].i : dflt;
}

int scm_opt_retries(const scm_opts *o)
{
	/* the rule bounds it by SCM_MAX_RETRIES */
	return (int)scm_opt_int(o, SCM_OPT_RETRIES, SCM_DEFAULT_RETRIES);
}

/* ---- the query string ---------------------------------------------------- */

int scm_query_append(scm_buf *b, const scm_opts *o)
{
	int id, first = 1;
	for (id = 0; id < SCM_OPT_COUNT; id++) {
		const option_rule *r = &OPTIONS[id];
		const scm_value *v = &o->v[id];
		char num[32];
		int rc;
		if (!(r->flags & F_QUERY) || !v->set)
			continue;
		if (scm_buf_adds(b, first ? "?" : "&") != 0 ||
		    scm_buf_adds(b, r->name) != 0 || scm_buf_adds(b, "=") != 0)
			return -1;
		first = 0;
		switch (r->rule) {
		case R_BOOL:
			rc = scm_buf_adds(b, v->i ? "true" : "false");
			break;
		case R_INT_CHOICE:
		case R_INT_RANGE:
			snprintf(num, sizeof num, "%lld", (long long)v->i);
			rc = scm_buf_adds(b, num);
			break;
		default:
			rc = scm_buf_add_encoded(b, v->s, v->len);
			break;
		}
		if (rc != 0)
			return -1;
	}
	return 0;
}

void scm_cap_timeout(scm_opts *o, double left)
{
	double t = o->v[SCM_OPT_TIMEOUT].set ? o->v[SCM_OPT_TIMEOUT].n : SCM_DEFAULT_TIMEOUT;
	if (left < 0.001)
		left = 0.001;
	o->v[SCM_OPT_TIMEOUT].set = 1;
	o->v[SCM_OPT_TIMEOUT].n = left < t ? left : t;
}

/* ---- scm.options() ------------------------------------------------------- */

static const char *type_name(const option_rule *r)
{
	switch (r->rule) {
	case R_INT_CHOICE:
	case R_INT_RANGE:
		return "integer";
	case R_SECONDS:
		return "number";
	case R_BOOL:
		return "boolean";
	default:
		return "string";
	}
}

/* { { name, type, rule, default, choices, min, max, group, query, secret,
 * help, flag, arg }, ... } in optlist.h's order: a new table each call. */
int scm_l_options(lua_State *L)
{
	static const char *const GROUPS[] = {NULL, "where", "credentials"};
	int id, k;
	lua_createtable(L, SCM_OPT_COUNT, 0);
	for (id = 0; id < SCM_OPT_COUNT; id++) {
		const option_rule *r = &OPTIONS[id];
		char rule[512];
		lua_createtable(L, 0, 13);
		lua_pushstring(L, r->name);
		lua_setfield(L, -2, "name");
		lua_pushstring(L, type_name(r));
		lua_setfield(L, -2, "type");
		describe_rule(rule, sizeof rule, r);
		lua_pushstring(L, rule);
		lua_setfield(L, -2, "rule");
		switch (r->dkind) {
		case D_NUM:
			if (r->rule == R_SECONDS)
				lua_pushnumber(L, r->dnum);
			else
				lua_pushinteger(L, (lua_Integer)r->dnum);
			break;
		case D_BOOL:
			lua_pushboolean(L, r->dnum != 0);
			break;
		case D_STR:
			lua_pushstring(L, r->dstr);
			break;
		default:
			lua_pushnil(L);
			break;
		}
		lua_setfield(L, -2, "default");
		if (r->ints != NULL || r->strs != NULL) {
			lua_newtable(L);
			for (k = 0; r->ints != NULL && r->ints[k] >= 0; k++) {
				lua_pushinteger(L, r->ints[k]);
				lua_rawseti(L, -2, k + 1);
			}
			for (k = 0; r->strs != NULL && r->strs[k] != NULL; k++) {
				lua_pushstring(L, r->strs[k]);
				lua_rawseti(L, -2, k + 1);
			}
			lua_setfield(L, -2, "choices");
		}
		if (r->rule == R_INT_RANGE) {
			lua_pushinteger(L, r->min);
			lua_setfield(L, -2, "min");
			if (r->max >= 0) {
				lua_pushinteger(L, r->max);
				lua_setfield(L, -2, "max");
			}
		} else if (r->rule == R_SECONDS) {
			lua_pushnumber(L, SCM_MAX_SECONDS);
			lua_setfield(L, -2, "max");
		}
		if (GROUPS[r->group] != NULL) {
			lua_pushstring(L, GROUPS[r->group]);
			lua_setfield(L, -2, "group");
		}
		if (r->flags & F_QUERY) {
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, "query");
		}
		if (r->flags & F_SECRET) {
			lua_pushboolean(L, 1);
			lua_setfield(L, -2, "secret");
		}
		lua_pushstring(L, r->help);
		lua_setfield(L, -2, "help");
		if (r->flag != NULL) {
			lua_pushstring(L, r->flag);
			lua_setfield(L, -2, "flag");
		}
		if (r->arg != NULL) {
			lua_pushstring(L, r->arg);
			lua_setfield(L, -2, "arg");
		}
		lua_rawseti(L, -2, id + 1);
	}
	return 1;
}
