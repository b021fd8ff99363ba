/* Requests: built without I/O (the SCM listing request scm.request shows;
 * those to IAM and the metadata service), sent over libcurl with the
 * retry rule; and scm.sign, which signs any Huawei Cloud API request with
 * SDK-HMAC-SHA256 for callers that do the I/O themselves. */
#include <string.h>

#include "client.h"
#include "request.h"
#include "retry.h"
#include "sign.h"

/* scm.sign{ak=, sk=, url=, method="GET", headers={...}, body=""}:
 * the Authorization header value. Every header given is signed; X-Sdk-Date
 * must be among them. */
int scm_l_sign(lua_State *L)
{
	scm_header h[SCM_SIGN_MAX_HEADERS] = {{NULL, NULL, 0}};
	size_t n = 0, ak_len, sk_len, url_len, body_len = 0, method_len;
	const char *ak, *sk, *url, *method, *body;
	size_t date;
	scm_buf *out;

	luaL_checktype(L, 1, LUA_TTABLE);
	ak = scm_field_string(L, 1, "ak", 1, &ak_len);
	sk = scm_field_string(L, 1, "sk", 1, &sk_len);
	url = scm_field_string(L, 1, "url", 1, &url_len);
	method = scm_field_string(L, 1, "method", 0, &method_len);
	body = scm_field_string(L, 1, "body", 0, &body_len);
	lua_getfield(L, 1, "headers");
	luaL_argcheck(L, lua_type(L, -1) == LUA_TTABLE, 1, "headers must be a table");
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		size_t len;
		luaL_argcheck(L, lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING,
			      1, "headers must map names to string values");
		luaL_argcheck(L, n < SCM_SIGN_MAX_HEADERS, 1, "too many headers to sign");
		h[n].name = lua_tostring(L, -2);
		h[n].value = lua_tolstring(L, -1, &len);
		h[n].value_len = len;
		n++;
		lua_pop(L, 1); /* the value stays reachable from headers */
	}
	for (date = 0; date < n; date++) {
		if (scm_equal_nocase(h[date].name, strlen(h[date].name), "x-sdk-date"))
			break;
	}
	luaL_argcheck(L, date < n, 1, "headers must include X-Sdk-Date");
	/* boxed: pushing the value may raise */
	out = scm_buf_box(L);
	if (scm_sign_url(ak, ak_len, sk, sk_len, method ? method : "GET", url, h, n,
			 body, body_len, out) != 0) {
		scm_buf_wipe(out);
		return luaL_argerror(L, 1, "cannot sign: url must be an absolute http(s) URL");
	}
	lua_pushlstring(L, out->data, out->len);
	scm_buf_wipe(out);
	return 1;
}

/* Into the table at the top: how an I/O layer of its own (scm.resty)
 * keeps its connections and where it stops reading headers, for SCM's
 * requests and for those of IAM and the metadata service alike. */
static void push_io_settings(lua_State *L, const scm_opts *o)
{
	lua_pushinteger(L, scm_opt_int(o, SCM_OPT_POOL_SIZE, SCM_DEFAULT_POOL_SIZE));
	lua_setfield(L, -2, "pool_size");
	if (o->v[SCM_OPT_BACKLOG].set) {
		lua_pushinteger(L, o->v[SCM_OPT_BACKLOG].i);
		lua_setfield(L, -2, "backlog");
	}
	lua_pushinteger(L, scm_opt_int(o, SCM_OPT_KEEPALIVE_TIMEOUT, SCM_DEFAULT_KEEPALIVE_MS));
	lua_setfield(L, -2, "keepalive_timeout");
	lua_pushboolean(L, (int)scm_opt_int(o, SCM_OPT_SSL_SESSION_REUSE, 1));
	lua_setfield(L, -2, "ssl_session_reuse");
	lua_pushinteger(L, SCM_MAX_HEADER_LINE);
	lua_setfield(L, -2, "max_header_line");
	lua_pushinteger(L, SCM_MAX_HEADER_BLOCK);
	lua_setfield(L, -2, "max_header_block");
}

void scm_push_request(lua_State *L, const scm_transfer *t, const scm_opts *o)
{
	struct curl_slist *h;
	lua_createtable(L, 0, 3);
	lua_pushliteral(L, "GET");
	lua_setfield(L, -2, "method");
	lua_pushlstring(L, t->url.data, t->url.len);
	lua_setfield(L, -2, "url");
	lua_newtable(L);
	for (h = t->headers; h != NULL; h = h->next) {
		const char *colon = strchr(h->data, ':');
		const char *v = colon ? colon + 1 : "";
		if (colon == NULL)
			continue;
		while (*v == ' ')
			v++;
		lua_pushlstring(L, h->data, (size_t)(colon - h->data));
		lua_pushstring(L, v);
		lua_rawset(L, -3);
	}
	lua_setfield(L, -2, "headers");
	/* how to send it, with every default filled in */
	lua_pushnumber(L, o->v[SCM_OPT_TIMEOUT].set ? o->v[SCM_OPT_TIMEOUT].n : SCM_DEFAULT_TIMEOUT);
	lua_setfield(L, -2, "timeout");
	lua_pushnumber(L, o->v[SCM_OPT_CONNECT_TIMEOUT].set ? o->v[SCM_OPT_CONNECT_TIMEOUT].n
							   : SCM_DEFAULT_CONNECT_TIMEOUT);
	lua_setfield(L, -2, "connect_timeout");
	lua_pushinteger(L, scm_opt_retries(o));
	lua_setfield(L, -2, "retries");
	lua_pushinteger(L, scm_opt_int(o, SCM_OPT_MAX_BODY, SCM_DEFAULT_MAX_BODY));
	lua_setfield(L, -2, "max_body");
	lua_pushboolean(L, (int)scm_opt_int(o, SCM_OPT_VERIFY, 1));
	lua_setfield(L, -2, "verify");
	lua_pushinteger(L, scm_opt_int(o, SCM_OPT_CONCURRENCY, SCM_DEFAULT_CONCURRENCY));
	lua_setfield(L, -2, "concurrency");
	if (o->v[SCM_OPT_LIMIT].set) { /* left out, the API's default applies */
		lua_pushinteger(L, o->v[SCM_OPT_LIMIT].i);
		lua_setfield(L, -2, "limit");
	}
	lua_pushinteger(L, scm_opt_int(o, SCM_OPT_OFFSET, 0));
	lua_setfield(L, -2, "offset");
	if (o->v[SCM_OPT_CAFILE].set) {
		lua_pushlstring(L, o->v[SCM_OPT_CAFILE].s, o->v[SCM_OPT_CAFILE].len);
		lua_setfield(L, -2, "cafile");
	}
	/* for I/O layers of their own (scm.resty): the page size of a
	 * listing, a listing's deadline, pool and TLS settings, header limits */
	lua_pushinteger(L, scm_opt_int(o, SCM_OPT_LIMIT, SCM_DEFAULT_PAGE_SIZE));
	lua_setfield(L, -2, "page_size");
	if (o->v[SCM_OPT_DEADLINE].set) {
		lua_pushnumber(L, o->v[SCM_OPT_DEADLINE].n);
		lua_setfield(L, -2, "deadline");
	}
	push_io_settings(L, o);
	if (o->v[SCM_OPT_SSL_SERVER_NAME].set) {
		lua_pushlstring(L, o->v[SCM_OPT_SSL_SERVER_NAME].s, o->v[SCM_OPT_SSL_SERVER_NAME].len);
		lua_setfield(L, -2, "ssl_server_name");
	}
}

/* scm.request(opts): the request scm.list would send for opts, as
 * { method = "GET", url = "...", headers = { name = value, ... } },
 * signed when ak/sk are used. Nothing is sent. */
int scm_l_request(lua_State *L, int client, int opts, int arg)
{
	scm_client *c = scm_client_check(L, client);
	scm_transfer *t;
	scm_opts o;
	scm_client_options(L, client, opts, arg, &o);
	/* the X-Domain-Id it would send may need a lookup through IAM */
	if (scm_client_lookup(L, c, &o, lua_gettop(L)) != 0)
		return 2;
	/* A userdata whose __gc frees the handle and wipes the headers:
	 * pushing the request table may raise. */
	t = scm_transfer_push(L);
	if (scm_transfer_setup(t, c->share, &o) != 0) {
		scm_transfer_free(t);
		return luaL_error(L, "scm: not enough memory for the request");
	}
	scm_push_request(L, t, &o);
	scm_transfer_free(t);
	return 1;
}

/* ---- requests to IAM and the metadata service ------------------------- */

static int request_gc(lua_State *L)
{
	scm_request_free(luaL_checkudata(L, 1, SCM_REQUEST_MT));
	return 0;
}

scm_request *scm_request_new(lua_State *L)
{
	scm_request *r = lua_newuserdata(L, sizeof *r);
	memset(r, 0, sizeof *r);
	r->method = "GET";
	if (luaL_newmetatable(L, SCM_REQUEST_MT)) {
		lua_pushcfunction(L, request_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return r;
}

int scm_request_header(scm_request *r, const char *name, const char *value, size_t len)
{
	scm_buf *h;
	if (r->nheaders >= SCM_REQUEST_MAX_HEADERS)
		return -1;
	h = &r->headers[r->nheaders++];
	return scm_buf_adds(h, name) != 0 || scm_buf_adds(h, ": ") != 0 ||
	       scm_buf_add(h, value, len) != 0 ? -1 : 0;
}

void scm_request_free(scm_request *r)
{
	int i;
	/* the headers carry signatures and security tokens */
	for (i = 0; i < SCM_REQUEST_MAX_HEADERS; i++)
		scm_buf_wipe(&r->headers[i]);
	r->nheaders = 0;
	scm_buf_free(&r->url);
}

void scm_request_push(lua_State *L, const scm_request *r, const scm_opts *o)
{
	int i;
	lua_createtable(L, 0, 15);
	lua_pushstring(L, r->method);
	lua_setfield(L, -2, "method");
	lua_pushlstring(L, r->url.data ? r->url.data : "", r->url.len);
	lua_setfield(L, -2, "url");
	lua_newtable(L);
	for (i = 0; i < r->nheaders; i++) {
		const char *line = r->headers[i].data;
		const char *colon = strchr(line, ':');
		lua_pushlstring(L, line, (size_t)(colon - line));
		lua_pushstring(L, colon + 2);
		lua_rawset(L, -3);
	}
	lua_setfield(L, -2, "headers");
	lua_pushnumber(L, r->timeout);
	lua_setfield(L, -2, "timeout");
	lua_pushnumber(L, r->connect_timeout);
	lua_setfield(L, -2, "connect_timeout");
	lua_pushinteger(L, r->retries);
	lua_setfield(L, -2, "retries");
	lua_pushinteger(L, (lua_Integer)r->max_body);
	lua_setfield(L, -2, "max_body");
	lua_pushboolean(L, (int)scm_opt_int(o, SCM_OPT_VERIFY, 1));
	lua_setfield(L, -2, "verify");
	if (o->v[SCM_OPT_CAFILE].set) {
		lua_pushlstring(L, o->v[SCM_OPT_CAFILE].s, o->v[SCM_OPT_CAFILE].len);
		lua_setfield(L, -2, "cafile");
	}
	push_io_settings(L, o);
}

static int transfer_gc(lua_State *L)
{
	scm_transfer_free(luaL_checkudata(L, 1, "scm.transfer"));
	return 0;
}

scm_transfer *scm_transfer_push(lua_State *L)
{
	scm_transfer *t = lua_newuserdata(L, sizeof *t);
	memset(t, 0, sizeof *t);
	if (luaL_newmetatable(L, "scm.transfer")) {
		lua_pushcfunction(L, transfer_gc);
		lua_setfield(L, -2, "__gc");
	}
	lua_setmetatable(L, -2);
	return t;
}

int scm_perform_request(lua_State *L, CURLSH *share, const scm_opts *o,
			const scm_request *r, scm_transfer **out)
{
	scm_transfer *t = scm_transfer_push(L);
	int attempt;
	double delay;
	for (attempt = 0;; attempt++) {
		if (scm_transfer_setup_request(t, share, o, r) != 0) {
			scm_transfer_clear(t);
			return luaL_error(L, "scm: not enough memory for the request");
		}
		scm_transfer_perform(t);
		if (attempt >= r->retries || !scm_retry_delay(&t->res, attempt, &delay))
			break;
		scm_sleep(delay);
	}
	scm_transfer_forget_request(t);
	*out = t;
	return attempt + 1;
}
