/* The err object every runtime failure produces: a plain table with kind,
 * status, code, message and request_id, and a one-line __tostring. */
#include <stdio.h>
#include <string.h>

#include "error.h"

const char *const SCM_KINDS[SCM_KIND_COUNT + 1] = {"api", "http", "timeout", "network",
						  "tls", "decode", NULL};

const char *scm_push_kind_rule(lua_State *L)
{
	int k;
	lua_pushliteral(L, "kind must be one of ");
	for (k = 0; k < SCM_KIND_COUNT; k++)
		lua_pushfstring(L, "%s%s", k == 0 ? "" : ", ", SCM_KINDS[k]);
	lua_concat(L, SCM_KIND_COUNT + 1);
	return lua_tostring(L, -1);
}

#define MAX_MESSAGE 400 /* bytes of err.message */
#define MAX_FIELD 128   /* bytes of err.code, err.request_id */

/* Pushes the string field name of the err at 1 in format (one %s), or ""
 * when it is not a string. */
static void push_part(lua_State *L, const char *name, const char *format)
{
	lua_getfield(L, 1, name);
	if (lua_type(L, -1) == LUA_TSTRING)
		lua_pushfstring(L, format, lua_tostring(L, -1));
	else
		lua_pushliteral(L, "");
	lua_remove(L, -2);
}

/* "scm: <kind> error[ <status>][ <code>]: <message>[ (request <id>)]" */
static int error_tostring(lua_State *L)
{
	int base;
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_settop(L, 1);
	base = lua_gettop(L);
	lua_getfield(L, 1, "kind");
	lua_pushfstring(L, "scm: %s error",
			lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "unknown");
	lua_remove(L, -2);
	lua_getfield(L, 1, "status");
	if (lua_type(L, -1) == LUA_TNUMBER) {
		/* any number in full: not through an int (2^40 is no status,
		 * but scm.error takes what it is given) */
		char num[64];
		lua_Integer i;
		if (scm_tointeger(L, -1, &i))
			snprintf(num, sizeof num, " %lld", (long long)i);
		else
			snprintf(num, sizeof num, " %.14g", (double)lua_tonumber(L, -1));
		lua_pushstring(L, num);
	} else {
		lua_pushliteral(L, "");
	}
	lua_remove(L, -2);
	push_part(L, "code", " %s");
	push_part(L, "message", ": %s");
	push_part(L, "request_id", " (request %s)");
	lua_concat(L, lua_gettop(L) - base);
	return 1;
}

#define BOX_MT "scm.buffer"

/* A boxed buffer's __gc and __close: wiped, it may have held a secret. */
static int box_gc(lua_State *L)
{
	scm_buf_wipe(lua_touserdata(L, 1));
	return 0;
}

scm_buf *scm_buf_box(lua_State *L)
{
	scm_buf *b = lua_newuserdata(L, sizeof *b);
	memset(b, 0, sizeof *b);
	luaL_getmetatable(L, BOX_MT); /* made at load time: nothing to allocate */
	lua_setmetatable(L, -2);
	return b;
}

void scm_error_init(lua_State *L)
{
	if (luaL_newmetatable(L, SCM_ERROR_MT)) {
		lua_pushcfunction(L, error_tostring);
		lua_setfield(L, -2, "__tostring");
	}
	lua_pop(L, 1);
	if (luaL_newmetatable(L, BOX_MT)) {
		lua_pushcfunction(L, box_gc);
		lua_setfield(L, -2, "__gc");
		lua_pushcfunction(L, box_gc);
		lua_setfield(L, -2, "__close");
	}
	lua_pop(L, 1);
}

size_t scm_opts_secrets(const scm_opts *o, scm_secret out[SCM_MAX_SECRETS])
{
	static const int ids[SCM_MAX_SECRETS] = {SCM_OPT_TOKEN, SCM_OPT_SK,
						 SCM_OPT_SECURITY_TOKEN};
	size_t i, n = 0;
	for (i = 0; i < SCM_MAX_SECRETS; i++)
		if (o != NULL && o->v[ids[i]].set) {
			out[n].s = o->v[ids[i]].s;
			out[n++].len = o->v[ids[i]].len;
		}
	return n;
}

/* Pushes text as err shows it: every secret of o removed first (from the
 * whole text, so no cut can leave part of one), then one line (control
 * characters fold into a space), then at most max bytes. */
static void push_clean(lua_State *L, const char *text, size_t len, size_t max,
		       const scm_opts *o)
{
	scm_secret secrets[SCM_MAX_SECRETS];
	/* boxed: pushing the text may raise, and the copy may hold a
	 * secret until redacted */
	scm_buf *box = scm_buf_box(L);
	size_t i, n = 0;
	if (scm_buf_add(box, text, len) != 0 ||
	    scm_redact(box, secrets, scm_opts_secrets(o, secrets)) < 0) {
		scm_buf_wipe(box);
		lua_pop(L, 1);
		lua_pushliteral(L, "(not enough memory for the message)");
		return;
	}
	for (i = 0; i < box->len && n < max; i++) {
		unsigned char c = (unsigned char)box->data[i];
		if (c < 0x20 || c == 0x7f) {
			if (n > 0 && box->data[n - 1] != ' ')
				box->data[n++] = ' ';
		} else {
			box->data[n++] = (char)c;
		}
	}
	while (n > 0 && box->data[n - 1] == ' ')
		n--;
	if (i < box->len) {
		/* room: the text was at least as long as max */
		memcpy(box->data + (n > max - 3 ? max - 3 : n), "...", 3);
		n = (n > max - 3 ? max - 3 : n) + 3;
	}
	lua_pushlstring(L, box->data, n);
	scm_buf_wipe(box);
	lua_remove(L, -2); /* the box */
}

/* A request id is quoted to support as it is, or not at all: one that holds
 * a control byte or a secret, or is too long to be one, is left out. */
static int usable_request_id(const char *id, const scm_opts *o)
{
	scm_secret secrets[SCM_MAX_SECRETS];
	scm_buf b = {NULL, 0, 0};
	size_t i, len;
	int clean;
	if (id == NULL || id[0] == '\0' || (len = strlen(id)) > MAX_FIELD)
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)id[i] < 0x20 || (unsigned char)id[i] == 0x7f)
			return 0;
	clean = scm_buf_add(&b, id, len) == 0 &&
		scm_redact(&b, secrets, scm_opts_secrets(o, secrets)) == 0;
	scm_buf_wipe(&b);
	return clean;
}

void scm_push_error(lua_State *L, enum scm_kind kind, long status,
		    const char *code, size_t code_len, const char *message,
		    const char *request_id, const scm_opts *o)
{
	lua_createtable(L, 0, 7);
	lua_pushstring(L, SCM_KINDS[kind]);
	lua_setfield(L, -2, "kind");
	if (status > 0) {
		lua_pushinteger(L, (lua_Integer)status);
		lua_setfield(L, -2, "status");
	}
	if (code != NULL && code_len > 0) {
		push_clean(L, code, code_len, MAX_FIELD, o);
		lua_setfield(L, -2, "code");
	}
	push_clean(L, message ? message : "", message ? strlen(message) : 0, MAX_MESSAGE, o);
	lua_setfield(L, -2, "message");
	if (usable_request_id(request_id, o)) {
		lua_pushstring(L, request_id);
		lua_setfield(L, -2, "request_id");
	}
	luaL_setmetatable(L, SCM_ERROR_MT);
}

void scm_error_service(lua_State *L, const char *service)
{
	lua_pushstring(L, service);
	lua_setfield(L, -2, "service");
	lua_getfield(L, -1, "message");
	if (strcmp(service, "iam") == 0)
		lua_pushfstring(L, "cannot find the account id (domain_id) through IAM: %s; "
				"the key pair needs the iam:users:getUser permission, "
				"or set domain_id (or HUAWEICLOUD_SDK_DOMAIN_ID)",
				lua_tostring(L, -1));
	else
		lua_pushfstring(L, "cannot get credentials from the ECS metadata service: %s",
				lua_tostring(L, -1));
	lua_setfield(L, -3, "message");
	lua_pop(L, 1);
}

void scm_error_attempts(lua_State *L, int attempts)
{
	lua_pushinteger(L, attempts);
	lua_setfield(L, -2, "attempts");
	if (attempts > 1) {
		lua_getfield(L, -1, "message");
		lua_pushfstring(L, "%s (after %d attempts)", lua_tostring(L, -1), attempts);
		lua_setfield(L, -3, "message");
		lua_pop(L, 1);
	}
}

/* scm.error{kind=, message=, status=, code=, request_id=, attempts=,
 * service=}[, opts]: an err like the ones scm.list returns (one line,
 * secrets in opts removed), for callers that do the I/O themselves. */
int scm_l_error(lua_State *L)
{
	scm_opts o;
	const char *kind, *code, *message, *request_id, *service;
	size_t code_len = 0;
	lua_Integer status = 0, attempts = 1;
	int k;

	luaL_checktype(L, 1, LUA_TTABLE);
	memset(&o, 0, sizeof o);
	scm_opts_read(L, 2, 2, &o);
	kind = scm_field_string(L, 1, "kind", 1, NULL);
	for (k = 0; SCM_KINDS[k] != NULL && strcmp(SCM_KINDS[k], kind) != 0; k++)
		;
	if (SCM_KINDS[k] == NULL)
		luaL_argerror(L, 1, scm_push_kind_rule(L));
	message = scm_field_string(L, 1, "message", 1, NULL);
	code = scm_field_string(L, 1, "code", 0, &code_len);
	request_id = scm_field_string(L, 1, "request_id", 0, NULL);
	lua_getfield(L, 1, "status");
	luaL_argcheck(L, lua_isnil(L, -1) || scm_tointeger(L, -1, &status), 1,
		      "status must be an integer");
	lua_getfield(L, 1, "attempts");
	luaL_argcheck(L, lua_isnil(L, -1) || scm_tointeger(L, -1, &attempts), 1,
		      "attempts must be an integer");
	lua_pop(L, 2);
	service = scm_field_string(L, 1, "service", 0, NULL);
	luaL_argcheck(L, service == NULL || strcmp(service, "iam") == 0 ||
			 strcmp(service, "metadata") == 0, 1, "service must be \"iam\" or \"metadata\"");
	scm_push_error(L, (enum scm_kind)k, (long)status, code, code_len, message, request_id, &o);
	scm_error_attempts(L, (int)attempts);
	if (service != NULL)
		scm_error_service(L, service);
	return 1;
}
