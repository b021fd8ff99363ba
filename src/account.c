/* The account id (domain_id) of an access key. SCM is a global service:
 * with AK/SK the gateway wants X-Domain-Id on every call. When no source
 * gives it, it is looked up through IAM (GET {iam}/v3/auth/domains, signed
 * with the key pair; the first domain's id), as the official SDKs do, and
 * kept for the life of the process, per access key. Building the request
 * and reading the answer do no I/O: scm.resty sends it over cosockets,
 * the libcurl path here. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "account.h"
#include "client.h"
#include "credentials.h"
#include "decode.h"
#include "metadata.h"
#include "sign.h"

#define IAM_PATH "/v3/auth/domains"
#define ENV_IAM "HUAWEICLOUD_SDK_IAM_ENDPOINT"
#define DEFAULT_IAM "https://iam.myhuaweicloud.com"
#define MAX_ID 128
#define MAX_ENTRIES 256

/* Regions with an IAM endpoint of their own, https://iam.<region>.myhuaweicloud.com
 * (the official SDKs' table); any other region uses DEFAULT_IAM. */
static const char *const IAM_REGIONS[] = {
	"cn-north-1", "cn-north-2", "cn-north-4", "cn-north-9", "cn-east-2",
	"cn-east-3", "cn-east-4", "cn-east-5", "cn-south-1", "cn-south-2",
	"cn-southwest-2", "ap-southeast-1", "ap-southeast-2", "ap-southeast-3",
	"ap-southeast-4", "af-south-1", "sa-brazil-1", "la-south-2", "la-north-2",
	"na-mexico-1", "eu-west-0", "my-kualalumpur-1", "ru-moscow-1", "me-east-1",
	"ae-ad-1", NULL};

/* ---- the cache: access key -> account id, for the whole process -------- */

typedef struct entry {
	char *ak, *id;
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry entries[MAX_ENTRIES];
static int nentries, oldest;

int scm_account_get(const char *ak, size_t ak_len, char *out, size_t size)
{
	int i, found = 0;
	pthread_mutex_lock(&lock);
	for (i = 0; i < nentries && !found; i++) {
		if (strlen(entries[i].ak) == ak_len && memcmp(entries[i].ak, ak, ak_len) == 0 &&
		    strlen(entries[i].id) < size) {
			strcpy(out, entries[i].id);
			found = 1;
		}
	}
	pthread_mutex_unlock(&lock);
	return found;
}

static char *copy(const char *s, size_t len)
{
	char *c = malloc(len + 1);
	if (c != NULL) {
		memcpy(c, s, len);
		c[len] = '\0';
	}
	return c;
}

int scm_account_put(const char *ak, size_t ak_len, const char *id, size_t id_len)
{
	char *k = copy(ak, ak_len), *v = copy(id, id_len);
	int i;
	if (k == NULL || v == NULL) {
		free(k);
		free(v);
		return -1;
	}
	pthread_mutex_lock(&lock);
	for (i = 0; i < nentries; i++)
		if (strcmp(entries[i].ak, k) == 0)
			break;
	if (i == nentries) {
		if (nentries < MAX_ENTRIES) {
			i = nentries++;
		} else { /* full: the oldest entry goes */
			i = oldest;
			oldest = (oldest + 1) % MAX_ENTRIES;
		}
	}
	free(entries[i].ak);
	free(entries[i].id);
	entries[i].ak = k;
	entries[i].id = v;
	pthread_mutex_unlock(&lock);
	return 0;
}

/* Lua states using the caches: the last one to close frees them (the
 * module's memory may be unmapped once every state has unloaded it). */
static int users;

static int anchor_gc(lua_State *L)
{
	int last;
	(void)L;
	pthread_mutex_lock(&lock);
	last = --users == 0;
	if (last) {
		int i;
		for (i = 0; i < nentries; i++) {
			free(entries[i].ak);
			free(entries[i].id);
			entries[i].ak = entries[i].id = NULL;
		}
		nentries = oldest = 0;
	}
	pthread_mutex_unlock(&lock);
	if (last)
		scm_metadata_forget();
	return 0;
}

void scm_caches_anchor(lua_State *L)
{
	static const char KEY = 'a';
	lua_newuserdata(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, anchor_gc);
	lua_setfield(L, -2, "__gc");
	lua_setmetatable(L, -2);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &KEY);
	pthread_mutex_lock(&lock);
	users++;
	pthread_mutex_unlock(&lock);
}

/* An account id as it may go in a header. */
static int usable_id(const char *s, size_t len)
{
	size_t i;
	if (len == 0 || len > MAX_ID)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || s[i] == 0x7f)
			return 0;
	return 1;
}

/* ---- the request ---------------------------------------------------------- */

/* The IAM base URL: the iam_endpoint option, HUAWEICLOUD_SDK_IAM_ENDPOINT,
 * the region's IAM, or the global one. Raises on a bad address. */
static void iam_base(lua_State *L, int arg, const scm_opts *o, scm_buf *out)
{
	const scm_value *opt = &o->v[SCM_OPT_IAM_ENDPOINT];
	const char *env = getenv(ENV_IAM), *region = scm_opts_region(o), *url;
	size_t len;
	int k;
	if (opt->set) {
		url = opt->s;
		len = opt->len;
	} else if (env != NULL && env[0] != '\0') {
		url = env;
		len = strlen(env);
		scm_check_url(L, arg, o, ENV_IAM, env, len, 0);
	} else {
		for (k = 0; region != NULL && IAM_REGIONS[k] != NULL; k++)
			if (strcmp(IAM_REGIONS[k], region) == 0)
				break;
		if (region != NULL && IAM_REGIONS[k] != NULL) {
			if (scm_buf_adds(out, "https://iam.") != 0 || scm_buf_adds(out, region) != 0 ||
			    scm_buf_adds(out, ".myhuaweicloud.com") != 0)
				luaL_error(L, "scm: not enough memory");
			return;
		}
		url = DEFAULT_IAM;
		len = strlen(url);
	}
	while (len > 0 && url[len - 1] == '/')
		len--;
	if (scm_buf_add(out, url, len) != 0)
		luaL_error(L, "scm: not enough memory");
}

scm_request *scm_account_request(lua_State *L, int arg, const scm_opts *o)
{
	const scm_value *v = o->v;
	scm_request *r = scm_request_new(L);
	scm_signed s;
	char host[300];
	size_t i;
	int rc = 0;

	if (!v[SCM_OPT_AK].set)
		luaL_argerror(L, arg, "the account id lookup needs ak and sk");
	iam_base(L, arg, o, &r->url);
	if (scm_buf_adds(&r->url, IAM_PATH) != 0 ||
	    scm_url_host(r->url.data, host, sizeof host) != 0)
		luaL_argerror(L, arg, "cannot build the IAM request: bad IAM address");
	r->timeout = v[SCM_OPT_TIMEOUT].set ? v[SCM_OPT_TIMEOUT].n : SCM_DEFAULT_TIMEOUT;
	r->connect_timeout = v[SCM_OPT_CONNECT_TIMEOUT].set ? v[SCM_OPT_CONNECT_TIMEOUT].n
							     : SCM_DEFAULT_CONNECT_TIMEOUT;
	r->retries = scm_opt_retries(o);
	r->max_body = 1024 * 1024;
	/* signed: Host, X-Sdk-Date and, for temporary keys, X-Security-Token;
	 * never X-Domain-Id, which is what is being looked up */
	if (scm_credentials_sign(o, r->url.data, 0, &s) != 0)
		rc = -1;
	rc = rc || scm_request_header(r, "Accept", "application/json", 16);
	for (i = 0; rc == 0 && i < s.n; i++)
		rc = scm_request_header(r, s.headers[i].name, s.headers[i].value,
					s.headers[i].value_len);
	rc = rc || scm_request_header(r, "Authorization", s.auth.data, s.auth.len);
	scm_buf_wipe(&s.auth);
	if (rc != 0)
		luaL_error(L, "scm: not enough memory for the IAM request");
	return r;
}

/* ---- the answer ------------------------------------------------------------ */

int scm_account_parse(lua_State *L, const scm_transfer *t, const scm_opts *o,
		      int attempts, const char *ak, size_t ak_len)
{
	const scm_response *r = &t->res;
	const char *problem = "IAM's answer names no account";
	int top = lua_gettop(L);

	if (r->code != CURLE_OK || r->status < 200 || r->status > 299 || r->too_large) {
		/* the failure as any call's: kind, status, code, request id */
		if (scm_push_result(L, t, o, attempts) == 2) {
			scm_error_service(L, "iam");
			return 2;
		}
		lua_settop(L, top); /* a 1xx page shape: cannot happen */
	} else if (!scm_decode_json(L, r->body.data, r->body.len) || lua_type(L, -1) != LUA_TTABLE) {
		problem = "IAM's answer is not a JSON object";
	} else {
		lua_getfield(L, -1, "domains");
		if (lua_type(L, -1) == LUA_TTABLE) {
			lua_rawgeti(L, -1, 1);
			if (lua_type(L, -1) == LUA_TTABLE) {
				lua_getfield(L, -1, "id");
				if (lua_type(L, -1) == LUA_TSTRING) {
					size_t len;
					const char *id = lua_tolstring(L, -1, &len);
					if (usable_id(id, len)) {
						if (ak != NULL && scm_account_put(ak, ak_len, id, len) != 0)
							return luaL_error(L, "scm: not enough memory");
						lua_replace(L, top + 1);
						lua_settop(L, top + 1);
						return 1;
					}
					problem = "IAM's answer holds an unusable account id";
				}
			} else {
				problem = "IAM lists no account for this key pair";
			}
		}
	}
	lua_settop(L, top);
	lua_pushnil(L);
	scm_push_error(L, SCM_KIND_DECODE, r->status, NULL, 0, problem, r->request_id, o);
	scm_error_attempts(L, attempts);
	scm_error_service(L, "iam");
	return 2;
}

/* ---- the libcurl path ------------------------------------------------------ */

int scm_account_resolve(lua_State *L, CURLSH *share, scm_opts *o, int holder)
{
	scm_value *v = o->v;
	char id[MAX_ID + 1];

	if (!v[SCM_OPT_AK].set || v[SCM_OPT_DOMAIN_ID].set)
		return 0;
	if (scm_account_get(v[SCM_OPT_AK].s, v[SCM_OPT_AK].len, id, sizeof id)) {
		lua_pushstring(L, id);
	} else {
		scm_transfer *t;
		scm_request *r = scm_account_request(L, 1, o);
		int n, attempts = scm_perform_request(L, share, o, r, &t);
		scm_request_free(r); /* wiped now: it held a signature */
		n = scm_account_parse(L, t, o, attempts, v[SCM_OPT_AK].s, v[SCM_OPT_AK].len);
		if (n == 2)
			return 2;
		lua_replace(L, -3); /* the id over the request */
		lua_pop(L, 1);      /* the transfer */
	}
	/* kept alive by the holder table while o is used */
	v[SCM_OPT_DOMAIN_ID].set = 1;
	v[SCM_OPT_DOMAIN_ID].s = lua_tolstring(L, -1, &v[SCM_OPT_DOMAIN_ID].len);
	lua_rawseti(L, holder, (int)lua_rawlen(L, holder) + 1);
	return 0;
}

/* ---- Lua ------------------------------------------------------------------- */

/* scm.account_request(opts) / client:account_request(opts): the IAM
 * request that finds the account id of opts' key pair. Sends nothing. */
int scm_l_account_request(lua_State *L, int client, int opts, int arg)
{
	scm_opts o;
	scm_request *r;
	scm_client_options(L, client, opts, arg, &o);
	r = scm_account_request(L, arg, &o);
	scm_request_push(L, r, &o);
	return 1;
}

/* scm.account_decode(status, body[, headers[, opts]]): the account id in
 * IAM's answer (cached for opts.ak), or nil and an err. */
int scm_l_account_decode(lua_State *L)
{
	scm_transfer t;
	scm_opts o;
	const scm_value *ak = &o.v[SCM_OPT_AK];
	scm_response_from_lua(L, 1, 4, &t, &o);
	return scm_account_parse(L, &t, &o, 1, ak->set ? ak->s : NULL, ak->len);
}

/* scm.account_id(ak) -> the cached account id or nil;
 * scm.account_id(ak, id) stores it. */
int scm_l_account_id(lua_State *L)
{
	size_t ak_len, id_len;
	const char *ak = luaL_checklstring(L, 1, &ak_len);
	char id[MAX_ID + 1];
	if (!lua_isnoneornil(L, 2)) {
		const char *value = luaL_checklstring(L, 2, &id_len);
		luaL_argcheck(L, usable_id(value, id_len), 2,
			      "must be 1 to 128 visible ASCII characters");
		if (scm_account_put(ak, ak_len, value, id_len) != 0)
			return luaL_error(L, "scm: not enough memory");
		lua_pushvalue(L, 2);
		return 1;
	}
	if (scm_account_get(ak, ak_len, id, sizeof id))
		lua_pushstring(L, id);
	else
		lua_pushnil(L);
	return 1;
}
