/* From a finished transfer to what the caller gets: the page as native Lua
 * tables, or nil and an err. JSON is decoded by a private lua-cjson
 * instance, so the caller's own cjson settings are never touched. */
#include <errno.h>
#include <float.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"
#include "retry.h"

/* Registry key of the private cjson instance's decode function. */
static const char DECODER_KEY = 'd';
#define MAX_DEPTH 64

void scm_decode_init(lua_State *L)
{
	lua_getglobal(L, "require");
	lua_pushliteral(L, "cjson");
	lua_call(L, 1, 1);
	lua_getfield(L, -1, "new");
	lua_call(L, 0, 1);
	lua_getfield(L, -1, "decode_max_depth");
	lua_pushinteger(L, MAX_DEPTH);
	lua_call(L, 1, 0);
	lua_getfield(L, -1, "decode_invalid_numbers");
	lua_pushboolean(L, 0);
	lua_call(L, 1, 0);
	lua_getfield(L, -1, "decode");
	lua_rawsetp(L, LUA_REGISTRYINDEX, &DECODER_KEY);
	lua_pop(L, 2);
}

/* Decodes the body as JSON; pushes the value (returns 1) or the decoder's
 * message (returns 0). body: 0, or the stack index of the Lua string that
 * is r's body (a response handed over from Lua), pushed without a copy. */
static int decode_json(lua_State *L, const scm_response *r, int body)
{
	if (body <= 0)
		return scm_decode_json(L, r->body.data, r->body.len);
	lua_rawgetp(L, LUA_REGISTRYINDEX, &DECODER_KEY);
	lua_pushvalue(L, body);
	return lua_pcall(L, 1, 1, 0) == 0;
}

int scm_decode_json(lua_State *L, const char *text, size_t len)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &DECODER_KEY);
	lua_pushlstring(L, text ? text : "", len);
	return lua_pcall(L, 1, 1, 0) == 0;
}

/* JSON text must be UTF-8 (RFC 8259); lua-cjson passes any byte through
 * inside strings, so the body is checked first. ASCII runs are skipped
 * eight bytes at a time. */
static int valid_utf8(const unsigned char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c;
		size_t need, k;
		uint32_t cp;
		while (i + 8 <= n) {
			uint64_t w;
			memcpy(&w, s + i, 8);
			if (w & 0x8080808080808080ULL)
				break;
			i += 8;
		}
		if (i >= n)
			break;
		c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xC2 && c <= 0xDF)
			need = 1, cp = c & 0x1F;
		else if (c >= 0xE0 && c <= 0xEF)
			need = 2, cp = c & 0x0F;
		else if (c >= 0xF0 && c <= 0xF4)
			need = 3, cp = c & 0x07;
		else
			return 0;
		if (n - i <= need)
			return 0;
		for (k = 1; k <= need; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		/* overlong forms, surrogates, beyond U+10FFFF */
		if ((need == 2 && cp < 0x800) || (need == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		i += need + 1;
	}
	return 1;
}

/* Makes the decoded table at the top native: cjson's null sentinel becomes
 * an absent field and, on Lua 5.3+, integral numbers become integers
 * (this cjson decodes every number as a float). Returns 0, or -1 for a
 * number JSON cannot hold (1e400 decodes to infinity); the table stays at
 * the top either way. */
static int normalize(lua_State *L)
{
	luaL_checkstack(L, 4, "nesting too deep");
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		int t = lua_type(L, -1);
		if (t == LUA_TTABLE) {
			if (normalize(L) != 0) {
				lua_pop(L, 2);
				return -1;
			}
		} else if (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, -1) == NULL) {
			/* Clearing a field during traversal is allowed. */
			lua_pushvalue(L, -2);
			lua_pushnil(L);
			lua_rawset(L, -5);
		} else if (t == LUA_TNUMBER
#if SCM_HAS_INTEGERS
			   && !lua_isinteger(L, -1)
#endif
		) {
			lua_Number n = lua_tonumber(L, -1);
			if (n != n || n > DBL_MAX || n < -DBL_MAX) {
				lua_pop(L, 2);
				return -1;
			}
#if SCM_HAS_INTEGERS
			if (n >= -9223372036854775808.0 && n < 9223372036854775808.0 &&
			    n == (lua_Number)(lua_Integer)n) {
				lua_pushvalue(L, -2);
				lua_pushinteger(L, (lua_Integer)n);
				lua_rawset(L, -5);
			}
#endif
		}
		lua_pop(L, 1);
	}
	return 0;
}

static int fail(lua_State *L, enum scm_kind kind, const scm_response *r,
		const char *code, size_t code_len, const char *message,
		const scm_opts *o)
{
	lua_pushnil(L);
	scm_push_error(L, kind, r->status, code, code_len, message, r->request_id, o);
	return 2;
}

static int transport_failure(lua_State *L, const scm_transfer *t, const scm_opts *o)
{
	const scm_response *r = &t->res;
	char msg[CURL_ERROR_SIZE + 96];
	const char *detail = r->errbuf[0] ? r->errbuf : curl_easy_strerror(r->code);

	if (r->os_errno == EMFILE || r->os_errno == ENFILE) {
		snprintf(msg, sizeof msg, "request failed: too many open files (%s)", detail);
		return fail(L, SCM_KIND_NETWORK, r, NULL, 0, msg, o);
	}
	if (scm_response_cause(r) == SCM_CAUSE_MALFORMED) {
		snprintf(msg, sizeof msg, "malformed response: %s", detail);
		return fail(L, SCM_KIND_DECODE, r, NULL, 0, msg, o);
	}
	if (r->code == CURLE_PARTIAL_FILE) {
		snprintf(msg, sizeof msg, "response body truncated: got %zu of %lld bytes",
			 r->body.len, (long long)r->declared);
		return fail(L, SCM_KIND_DECODE, r, NULL, 0, msg, o);
	}
	if (r->code == CURLE_OPERATION_TIMEDOUT)
		snprintf(msg, sizeof msg, "timed out: %s", detail);
	else
		snprintf(msg, sizeof msg, "%s: %s",
			 scm_transport_kind(r->code) == SCM_KIND_TLS ? "TLS failure"
								     : "request failed",
			 detail);
	return fail(L, scm_transport_kind(r->code), r, NULL, 0, msg, o);
}

/* A non-2xx answer: "api" when the body is the API's error object, "http"
 * otherwise. */
static int http_failure(lua_State *L, const scm_transfer *t, const scm_opts *o, int body)
{
	const scm_response *r = &t->res;
	char msg[640];
	int top = lua_gettop(L);

	if (r->status >= 300 && r->status < 400) {
		snprintf(msg, sizeof msg, "HTTP %ld redirect%s%s not followed", r->status,
			 r->location[0] ? " to " : "", r->location);
		return fail(L, SCM_KIND_HTTP, r, NULL, 0, msg, o);
	}
	if (r->body.len > 0 && decode_json(L, r, body) &&
	    lua_type(L, -1) == LUA_TTABLE) {
		/* {"error_code": ..., "error_msg": ...}, or the gateway's
		 * {"error": {"code": ..., "message": ...}} */
		lua_getfield(L, -1, "error");
		if (lua_type(L, -1) != LUA_TTABLE) {
			lua_pop(L, 1);
			lua_getfield(L, -1, "error_code");
			lua_getfield(L, -2, "error_msg");
		} else {
			lua_getfield(L, -1, "code");
			lua_getfield(L, -2, "message");
		}
		if (lua_type(L, -2) == LUA_TSTRING) {
			size_t code_len;
			const char *code = lua_tolstring(L, -2, &code_len);
			/* the whole text: secrets are removed before it is cut */
			if (lua_type(L, -1) != LUA_TSTRING)
				snprintf(msg, sizeof msg, "HTTP %ld", r->status);
			fail(L, SCM_KIND_API, r, code, code_len,
			     lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : msg, o);
			/* keep nil, err; drop what decoding left below them */
			lua_replace(L, top + 2);
			lua_replace(L, top + 1);
			lua_settop(L, top + 2);
			return 2;
		}
	}
	lua_settop(L, top);
	snprintf(msg, sizeof msg, "HTTP %ld%s%s (%s%s%zu bytes)", r->status,
		 r->reason[0] ? " " : "", r->reason,
		 r->content_type[0] ? r->content_type : "no content type",
		 ", ", r->body.len);
	return fail(L, SCM_KIND_HTTP, r, NULL, 0, msg, o);
}

/* The page must be {certificates = {obj, ...}, total_count = n >= 0}. */
static const char *check_page(lua_State *L)
{
	lua_Integer total;
	size_t i, n;
	if (lua_type(L, -1) != LUA_TTABLE)
		return "response is not a JSON object";
	lua_getfield(L, -1, "total_count");
	if (!scm_tointeger(L, -1, &total) || total < 0) {
		lua_pop(L, 1);
		return "response total_count is missing or not a non-negative integer";
	}
	lua_pop(L, 1);
	lua_getfield(L, -1, "certificates");
	if (lua_type(L, -1) != LUA_TTABLE) {
		lua_pop(L, 1);
		return "response certificates is missing or not an array";
	}
	n = lua_rawlen(L, -1);
	/* an array: no key but 1..n (a JSON object decodes to a table too) */
	lua_pushnil(L);
	while (lua_next(L, -2) != 0) {
		lua_Integer k;
		lua_pop(L, 1);
		if (!scm_tointeger(L, -1, &k) || k < 1 || (size_t)k > n) {
			lua_pop(L, 2);
			return "response certificates is not an array";
		}
	}
	for (i = 1; i <= n; i++) {
		lua_rawgeti(L, -1, (int)i);
		if (lua_type(L, -1) != LUA_TTABLE) {
			lua_pop(L, 2);
			return "response certificates holds an element that is not an object";
		}
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	return NULL;
}

/* body: as for decode_json */
static int push_result(lua_State *L, const scm_transfer *t, const scm_opts *o, int body)
{
	const scm_response *r = &t->res;
	char msg[160];
	const char *problem;

	if (r->headers_too_large) {
		snprintf(msg, sizeof msg, "response headers exceed %d KB (a line %d KB)",
			 SCM_MAX_HEADER_BLOCK / 1024, SCM_MAX_HEADER_LINE / 1024);
		return fail(L, SCM_KIND_DECODE, r, NULL, 0, msg, o);
	}
	if (r->oom)
		return luaL_error(L, "scm: not enough memory for the response");
	/* A non-2xx answer is "api" or "http" even when its body was cut
	 * short or passed max_body: the status says what went wrong. */
	if (r->status >= 100 && (r->status < 200 || r->status > 299) &&
	    (r->code == CURLE_OK || r->too_large || r->code == CURLE_PARTIAL_FILE))
		return http_failure(L, t, o, body);
	if (r->too_large) {
		snprintf(msg, sizeof msg, "response body exceeds max_body (%zu bytes)",
			 t->max_body);
		return fail(L, SCM_KIND_DECODE, r, NULL, 0, msg, o);
	}
	if (r->code != CURLE_OK)
		return transport_failure(L, t, o);
	if (r->status < 200 || r->status > 299)
		return http_failure(L, t, o, body);
	if (r->body.data != NULL &&
	    !valid_utf8((const unsigned char *)r->body.data, r->body.len))
		return fail(L, SCM_KIND_DECODE, r, NULL, 0, "response body is not valid UTF-8", o);
	/* No JSON text holds a NUL byte, and the decoder stops at one: what
	 * follows it would go unread ("{...}\0garbage"). */
	if (r->body.len > 0 && memchr(r->body.data, '\0', r->body.len) != NULL)
		return fail(L, SCM_KIND_DECODE, r, NULL, 0,
			    "response body holds a NUL byte: bytes after the JSON text", o);
	if (!decode_json(L, r, body)) {
		snprintf(msg, sizeof msg, "invalid JSON in response: %s",
			 lua_isstring(L, -1) ? lua_tostring(L, -1) : "?");
		lua_pop(L, 1);
		return fail(L, SCM_KIND_DECODE, r, NULL, 0, msg, o);
	}
	/* The shape first: normalizing turns a null certificate into a
	 * hole, which a trailing one would leave unseen. */
	problem = check_page(L);
	if (problem == NULL && normalize(L) != 0)
		problem = "response holds a number out of range";
	if (problem != NULL) {
		lua_pop(L, 1);
		return fail(L, SCM_KIND_DECODE, r, NULL, 0, problem, o);
	}
	if (r->request_id[0] != '\0') {
		lua_pushstring(L, r->request_id);
		lua_setfield(L, -2, "request_id");
	}
	return 1;
}

static int result(lua_State *L, const scm_transfer *t, const scm_opts *o, int attempts,
		  int body)
{
	int n = push_result(L, t, o, body);
	if (n == 2)
		scm_error_attempts(L, attempts);
	return n;
}

int scm_push_result(lua_State *L, const scm_transfer *t, const scm_opts *o,
		    int attempts)
{
	return result(L, t, o, attempts, 0);
}

/* ---- responses handed over from Lua ------------------------------------ */

/* Keeps the value of header name (any case) from the table at idx, as
 * the transport keeps one it received (secrets removed before cutting). */
static void header_field(lua_State *L, int idx, const char *name, const scm_response *r,
			 char *out, size_t size, int strict)
{
	out[0] = '\0';
	if (lua_type(L, idx) != LUA_TTABLE)
		return;
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
			size_t klen;
			const char *k = lua_tolstring(L, -2, &klen);
			if (scm_equal_nocase(k, klen, name)) {
				size_t len;
				const char *v = lua_tolstring(L, -1, &len);
				scm_keep_value(r, out, size, v, len, strict);
			}
		}
		lua_pop(L, 1);
	}
}

void scm_response_from_lua(lua_State *L, int arg, int opts, scm_transfer *t, scm_opts *o)
{
	lua_Integer status;
	size_t len;
	const char *body;
	int headers = arg + 2;

	if (!scm_tointeger(L, arg, &status) || status < 100 || status > 999)
		luaL_argerror(L, arg, "status must be an HTTP status code");
	memset(o, 0, sizeof *o);
	if (opts > 0)
		scm_opts_read(L, opts, opts, o);
	body = luaL_checklstring(L, arg + 1, &len);
	if (!lua_isnoneornil(L, headers))
		luaL_checktype(L, headers, LUA_TTABLE);
	memset(t, 0, sizeof *t);
	t->res.status = (long)status;
	t->res.declared = -1;
	t->max_body = (size_t)-1;
	t->res.nsecrets = scm_opts_secrets(o, t->res.secrets);
	header_field(L, headers, "X-Request-Id", &t->res, t->res.request_id,
		     sizeof t->res.request_id, 1);
	if (t->res.request_id[0] == '\0')
		header_field(L, headers, "X-IAM-Trace-Id", &t->res, t->res.request_id,
			     sizeof t->res.request_id, 1);
	header_field(L, headers, "Location", &t->res, t->res.location,
		     sizeof t->res.location, 0);
	header_field(L, headers, "Content-Type", &t->res, t->res.content_type,
		     sizeof t->res.content_type, 0);
	/* The body is read in place: decoding copies what it keeps. */
	t->res.body.data = (char *)body;
	t->res.body.len = len;
}

/* scm.decode(status, body[, headers[, opts]]): what scm.list returns for
 * that response: the page, or nil and an err. headers (name -> value)
 * give the request id, Location and Content-Type; opts name the secrets
 * that must not appear in an err. Nothing is sent. */
int scm_l_decode(lua_State *L)
{
	scm_transfer t;
	scm_opts o;
	scm_response_from_lua(L, 1, 4, &t, &o);
	/* the body is argument 2: decoded from the Lua string, no copy */
	return result(L, &t, &o, 1, 2);
}
