/* Temporary keys from the ECS metadata service, for a server with an
 * agency bound to it (credentials = "ecs", opt-in only): a session token
 * (PUT /meta-data/latest/api/token, optional), then the keys
 * (GET /openstack/latest/securitykey). Keys are kept for the process, per
 * metadata address, and fetched again once fewer than 40 minutes remain
 * before they expire, as the official SDKs do. Building the requests and
 * reading the answers do no I/O: scm.resty sends them over cosockets, the
 * libcurl path here. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "decode.h"
#include "metadata.h"

#define ENV_METADATA "HUAWEICLOUD_SDK_METADATA_ENDPOINT"
#define DEFAULT_METADATA "http://169.254.169.254"
#define TOKEN_PATH "/meta-data/latest/api/token"
#define KEYS_PATH "/openstack/latest/securitykey"
#define TOKEN_TTL "21600" /* seconds a session token lives (6 h) */
#define MAX_WAIT 3.0      /* seconds: connect and answer, each request */
#define REFRESH_BEFORE (40 * 60)
#define NO_AGENCY "Please configure Cloud Service Agency first"
#define MAX_ENTRIES 8

/* ---- the cache: metadata address -> keys ---------------------------------- */

typedef struct keys {
	char *url, *ak, *sk, *token;
	long long expires_at;
} keys;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static keys cache[MAX_ENTRIES];
static int next_slot;

static void wipe_free(char *s)
{
	if (s != NULL) {
		scm_wipe(s, strlen(s));
		free(s);
	}
}

static char *copy_string(lua_State *L, int idx)
{
	size_t len;
	const char *s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, &len) : NULL;
	char *c = s ? malloc(len + 1) : NULL;
	if (c != NULL)
		memcpy(c, s, len + 1);
	return c;
}

/* Stores the keys table at idx for url; 0, or -1 when out of memory. */
static int cache_put(lua_State *L, int idx, const char *url)
{
	keys k;
	int i, top = lua_gettop(L);
	/* every Lua call (which may raise) before the first malloc */
	idx = scm_absindex(L, idx);
	lua_getfield(L, idx, "ak");
	lua_getfield(L, idx, "sk");
	lua_getfield(L, idx, "security_token");
	lua_getfield(L, idx, "expires_at");
	k.expires_at = (long long)lua_tonumber(L, -1);
	k.url = malloc(strlen(url) + 1);
	k.ak = copy_string(L, top + 1);
	k.sk = copy_string(L, top + 2);
	k.token = copy_string(L, top + 3);
	lua_settop(L, top);
	if (k.url == NULL || k.ak == NULL || k.sk == NULL || k.token == NULL) {
		free(k.url);
		wipe_free(k.ak);
		wipe_free(k.sk);
		wipe_free(k.token);
		return -1;
	}
	strcpy(k.url, url);
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_ENTRIES; i++)
		if (cache[i].url != NULL && strcmp(cache[i].url, url) == 0)
			break;
	if (i == MAX_ENTRIES) {
		i = next_slot;
		next_slot = (next_slot + 1) % MAX_ENTRIES;
	}
	free(cache[i].url);
	wipe_free(cache[i].ak);
	wipe_free(cache[i].sk);
	wipe_free(cache[i].token);
	cache[i] = k;
	pthread_mutex_unlock(&lock);
	return 0;
}

static void push_keys(lua_State *L, const char *ak, const char *sk, const char *token,
		      long long expires_at)
{
	lua_createtable(L, 0, 4);
	lua_pushstring(L, ak);
	lua_setfield(L, -2, "ak");
	lua_pushstring(L, sk);
	lua_setfield(L, -2, "sk");
	lua_pushstring(L, token);
	lua_setfield(L, -2, "security_token");
	lua_pushnumber(L, (lua_Number)expires_at);
	lua_setfield(L, -2, "expires_at");
}

void scm_metadata_forget(void)
{
	int i;
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_ENTRIES; i++) {
		free(cache[i].url);
		wipe_free(cache[i].ak);
		wipe_free(cache[i].sk);
		wipe_free(cache[i].token);
		memset(&cache[i], 0, sizeof cache[i]);
	}
	next_slot = 0;
	pthread_mutex_unlock(&lock);
}

/* Pushes the keys kept for url when more than REFRESH_BEFORE seconds are
 * left (returns 1); returns 0 otherwise. */
static int cache_get(lua_State *L, const char *url)
{
	long long now = (long long)time(NULL);
	int i, found = 0, top = lua_gettop(L);
	/* boxed copies: pushing them may raise, and they are secrets */
	scm_buf *ak = scm_buf_box(L), *sk = scm_buf_box(L), *token = scm_buf_box(L);
	long long expires_at = 0;
	pthread_mutex_lock(&lock);
	for (i = 0; i < MAX_ENTRIES; i++) {
		keys *k = &cache[i];
		if (k->url != NULL && strcmp(k->url, url) == 0 &&
		    k->expires_at - now >= REFRESH_BEFORE) {
			/* copied out, so that no Lua allocation (which may
			 * raise) happens under the lock */
			if (scm_buf_add(ak, k->ak, strlen(k->ak) + 1) == 0 &&
			    scm_buf_add(sk, k->sk, strlen(k->sk) + 1) == 0 &&
			    scm_buf_add(token, k->token, strlen(k->token) + 1) == 0) {
				expires_at = k->expires_at;
				found = 1;
			}
			break;
		}
	}
	pthread_mutex_unlock(&lock);
	if (found) {
		lua_pushstring(L, ak->data);
		lua_pushstring(L, sk->data);
		lua_pushstring(L, token->data);
	}
	scm_buf_wipe(ak);
	scm_buf_wipe(sk);
	scm_buf_wipe(token);
	for (i = 0; i < 3; i++)
		lua_remove(L, top + 1); /* the boxes */
	if (!found)
		return 0;
	push_keys(L, lua_tostring(L, -3), lua_tostring(L, -2), lua_tostring(L, -1), expires_at);
	lua_replace(L, -4);
	lua_pop(L, 2);
	return 1;
}

/* ---- requests --------------------------------------------------------------- */

/* The metadata address: HUAWEICLOUD_SDK_METADATA_ENDPOINT or the
 * link-local default, without a trailing "/". Plain http is its nature. */
static void metadata_base(lua_State *L, int arg, const scm_opts *o, scm_buf *out)
{
	const char *env = getenv(ENV_METADATA), *url = DEFAULT_METADATA;
	size_t len;
	if (env != NULL && env[0] != '\0') {
		url = env;
		scm_check_url(L, arg, o, ENV_METADATA, env, strlen(env), 1);
	}
	len = strlen(url);
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (scm_buf_add(out, url, len) != 0)
		luaL_error(L, "scm: not enough memory");
}

/* Pushes the metadata address as a string (built in a boxed buffer:
 * pushing it may raise). */
static void push_base(lua_State *L, const scm_opts *o)
{
	scm_buf *url = scm_buf_box(L);
	metadata_base(L, 1, o, url);
	lua_pushlstring(L, url->data, url->len);
	scm_buf_free(url);
	lua_remove(L, -2);
}

static double capped(const scm_opts *o, int id, double dflt)
{
	double s = o->v[id].set ? o->v[id].n : dflt;
	return s < MAX_WAIT ? s : MAX_WAIT;
}

scm_request *scm_metadata_request(lua_State *L, int arg, const scm_opts *o,
				  int which, const char *session, size_t session_len)
{
	scm_request *r = scm_request_new(L);
	int rc;
	metadata_base(L, arg, o, &r->url);
	r->timeout = capped(o, SCM_OPT_TIMEOUT, SCM_DEFAULT_TIMEOUT);
	r->connect_timeout = capped(o, SCM_OPT_CONNECT_TIMEOUT, SCM_DEFAULT_CONNECT_TIMEOUT);
	r->retries = 0; /* a server without the service should not wait longer */
	r->max_body = 64 * 1024;
	if (which == SCM_METADATA_TOKEN) {
		r->method = "PUT";
		rc = scm_buf_adds(&r->url, TOKEN_PATH) ||
		     scm_request_header(r, "X-Metadata-Token-Ttl-Seconds", TOKEN_TTL,
					strlen(TOKEN_TTL));
	} else {
		rc = scm_buf_adds(&r->url, KEYS_PATH) ||
		     scm_request_header(r, "Accept", "application/json", 16);
		if (rc == 0 && session != NULL)
			rc = scm_request_header(r, "X-Metadata-Token", session, session_len);
	}
	if (rc != 0)
		luaL_error(L, "scm: not enough memory for the metadata request");
	return r;
}

/* ---- answers ----------------------------------------------------------------- */

static int usable(const char *s, size_t len)
{
	size_t i;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

static int failure(lua_State *L, const scm_transfer *t, const scm_opts *o,
		   enum scm_kind kind, const char *message)
{
	lua_pushnil(L);
	scm_push_error(L, kind, t->res.status, NULL, 0, message, t->res.request_id, o);
	scm_error_attempts(L, 1);
	scm_error_service(L, "metadata");
	return 2;
}

/* A transport failure or a non-2xx answer, as any call's err. */
static int call_failure(lua_State *L, const scm_transfer *t, const scm_opts *o)
{
	if (scm_push_result(L, t, o, 1) != 2)
		return failure(L, t, o, SCM_KIND_DECODE, "unexpected answer");
	scm_error_service(L, "metadata");
	return 2;
}

static int transport_failed(const scm_transfer *t)
{
	return t->res.code != CURLE_OK;
}

int scm_metadata_parse_token(lua_State *L, const scm_transfer *t, const scm_opts *o)
{
	const scm_response *r = &t->res;
	size_t len = r->body.len;
	const char *body = r->body.data ? r->body.data : "";
	if (transport_failed(t) || r->too_large)
		return call_failure(L, t, o);
	if (r->status == 404 || r->status == 405 || r->status == 503) {
		lua_pushboolean(L, 0); /* this service wants no session token */
		return 1;
	}
	if (r->status < 200 || r->status > 299)
		return call_failure(L, t, o);
	while (len > 0 && (body[len - 1] == '\n' || body[len - 1] == '\r' ||
			   body[len - 1] == ' '))
		len--;
	if (!usable(body, len))
		return failure(L, t, o, SCM_KIND_DECODE, "the session token answer is empty or not text");
	lua_pushlstring(L, body, len);
	return 1;
}

/* Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.ffffff]Z", or -1. */
static long long parse_time(const char *s)
{
	int y, mo, d, h, mi, sec, n = 0;
	long long days;
	unsigned yy, era, yoe, doy, doe;
	if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6 ||
	    n == 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 ||
	    y < 1970)
		return -1;
	/* days from civil (proleptic Gregorian) */
	yy = (unsigned)(y - (mo <= 2));
	era = yy / 400;
	yoe = yy - era * 400;
	doy = (153u * (unsigned)(mo + (mo > 2 ? -3 : 9)) + 2) / 5 + (unsigned)d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	days = (long long)era * 146097 + (long long)doe - 719468;
	return days * 86400 + h * 3600 + mi * 60 + sec;
}

int scm_metadata_parse_keys(lua_State *L, const scm_transfer *t, const scm_opts *o,
			    const char *url)
{
	const scm_response *r = &t->res;
	static const char *const FIELDS[] = {"access", "secret", "securitytoken"};
	static const char *const NAMES[] = {"ak", "sk", "security_token"};
	int top = lua_gettop(L), k;
	long long expires_at;

	if (r->status == 401 && r->body.data != NULL &&
	    strstr(r->body.data, NO_AGENCY) != NULL)
		return failure(L, t, o, SCM_KIND_API,
			       "no agency bound to this server (\"" NO_AGENCY "\"): bind an "
			       "agency to the ECS server, or give other credentials");
	if (transport_failed(t) || r->too_large || r->status < 200 || r->status > 299)
		return call_failure(L, t, o);
	if (!scm_decode_json(L, r->body.data, r->body.len) || lua_type(L, -1) != LUA_TTABLE) {
		lua_settop(L, top);
		return failure(L, t, o, SCM_KIND_DECODE, "the securitykey answer is not a JSON object");
	}
	lua_getfield(L, -1, "credential");
	if (lua_type(L, -1) != LUA_TTABLE) {
		lua_settop(L, top);
		return failure(L, t, o, SCM_KIND_DECODE, "the securitykey answer has no credential object");
	}
	lua_createtable(L, 0, 4);
	for (k = 0; k < 3; k++) {
		size_t len;
		const char *v;
		lua_getfield(L, -2, FIELDS[k]);
		v = lua_tolstring(L, -1, &len);
		if (lua_type(L, -1) != LUA_TSTRING || !usable(v, len)) {
			lua_settop(L, top);
			return failure(L, t, o, SCM_KIND_DECODE,
				       "the securitykey answer lacks access, secret or securitytoken");
		}
		lua_setfield(L, -2, NAMES[k]);
	}
	lua_getfield(L, -2, "expires_at");
	expires_at = lua_type(L, -1) == LUA_TSTRING ? parse_time(lua_tostring(L, -1)) : -1;
	lua_pop(L, 1);
	if (expires_at < 0) {
		lua_settop(L, top);
		return failure(L, t, o, SCM_KIND_DECODE, "the securitykey answer has no readable expires_at");
	}
	lua_pushnumber(L, (lua_Number)expires_at);
	lua_setfield(L, -2, "expires_at");
	if (url != NULL && cache_put(L, lua_gettop(L), url) != 0)
		return luaL_error(L, "scm: not enough memory");
	lua_replace(L, top + 1);
	lua_settop(L, top + 1);
	return 1;
}

/* ---- the libcurl path -------------------------------------------------------- */

/* Sets ak, sk and security_token in o from the keys table at the top,
 * whose strings go into the holder table. Pops the table. */
static void use_keys(lua_State *L, scm_opts *o, int holder)
{
	static const int IDS[] = {SCM_OPT_AK, SCM_OPT_SK, SCM_OPT_SECURITY_TOKEN};
	static const char *const NAMES[] = {"ak", "sk", "security_token"};
	int k;
	for (k = 0; k < 3; k++) {
		scm_value *v = &o->v[IDS[k]];
		lua_getfield(L, -1, NAMES[k]);
		v->set = 1;
		v->s = lua_tolstring(L, -1, &v->len);
		lua_rawseti(L, holder, (int)lua_rawlen(L, holder) + 1);
	}
	lua_pop(L, 1);
}

int scm_metadata_resolve(lua_State *L, CURLSH *share, scm_opts *o, int holder)
{
	scm_transfer *t;
	const char *session = NULL;
	size_t session_len = 0;
	int top = lua_gettop(L);

	if (!o->v[SCM_OPT_CREDENTIALS].set || o->v[SCM_OPT_AK].set)
		return 0;
	push_base(L, o);
	if (!cache_get(L, lua_tostring(L, top + 1))) {
		scm_request *r = scm_metadata_request(L, 1, o, SCM_METADATA_TOKEN, NULL, 0);
		scm_perform_request(L, share, o, r, &t);
		if (scm_metadata_parse_token(L, t, o) == 2)
			return 2;
		if (lua_type(L, -1) == LUA_TSTRING)
			session = lua_tolstring(L, -1, &session_len);
		r = scm_metadata_request(L, 1, o, SCM_METADATA_KEYS, session, session_len);
		scm_perform_request(L, share, o, r, &t);
		scm_request_free(r);
		if (scm_metadata_parse_keys(L, t, o, lua_tostring(L, top + 1)) == 2)
			return 2;
	}
	use_keys(L, o, holder);
	lua_settop(L, top);
	return 0;
}

/* ---- Lua --------------------------------------------------------------------- */

static int which_arg(lua_State *L, int idx)
{
	static const char *const KINDS[] = {"token", "securitykey", NULL};
	return luaL_checkoption(L, idx, NULL, KINDS) == 0 ? SCM_METADATA_TOKEN : SCM_METADATA_KEYS;
}

/* scm.metadata_request(which[, session_token[, opts]]): the request for the
 * session token ("token") or the keys ("securitykey"). Sends nothing. */
int scm_l_metadata_request(lua_State *L)
{
	scm_opts o;
	size_t len = 0;
	const char *session;
	int which = which_arg(L, 1);
	scm_request *r;
	session = luaL_optlstring(L, 2, NULL, &len);
	memset(&o, 0, sizeof o);
	scm_opts_read(L, 3, 3, &o);
	if (session != NULL && !usable(session, len))
		luaL_argerror(L, 2, "the session token must be text without control characters");
	r = scm_metadata_request(L, 1, &o, which, session, len);
	scm_request_push(L, r, &o);
	return 1;
}

/* scm.metadata_decode(which, status, body[, headers]): for "token", the
 * session token, or false when the service wants none; for "securitykey",
 * the keys { ak, sk, security_token, expires_at } (kept for the process);
 * or nil and an err. */
int scm_l_metadata_decode(lua_State *L)
{
	scm_transfer t;
	scm_opts o;
	int which = which_arg(L, 1), n;
	scm_response_from_lua(L, 2, 0, &t, &o);
	if (which == SCM_METADATA_TOKEN)
		return scm_metadata_parse_token(L, &t, &o);
	push_base(L, &o);
	n = scm_metadata_parse_keys(L, &t, &o, lua_tostring(L, -1));
	lua_remove(L, -n - 1);
	return n;
}

int scm_metadata_cached(lua_State *L, const scm_opts *o)
{
	push_base(L, o);
	if (!cache_get(L, lua_tostring(L, -1))) {
		lua_pop(L, 1);
		return 0;
	}
	lua_remove(L, -2);
	return 1;
}

/* scm.metadata_cached(): the keys kept for the metadata address while
 * more than 40 minutes are left, or nil. */
int scm_l_metadata_cached(lua_State *L)
{
	scm_opts o;
	memset(&o, 0, sizeof o);
	if (!scm_metadata_cached(L, &o))
		lua_pushnil(L);
	return 1;
}
