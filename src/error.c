/* The err object every runtime failure produces: a plain table with kind,
 * status, code, message and request_id, and a one-line __tostring. */
#include <string.h>

#include "scm.h"

#define MAX_MESSAGE 400

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
	if (lua_type(L, -1) == LUA_TNUMBER)
		lua_pushfstring(L, " %d", (int)lua_tonumber(L, -1));
	else
		lua_pushliteral(L, "");
	lua_remove(L, -2);
	lua_getfield(L, 1, "code");
	if (lua_type(L, -1) == LUA_TSTRING)
		lua_pushfstring(L, " %s", lua_tostring(L, -1));
	else
		lua_pushliteral(L, "");
	lua_remove(L, -2);
	lua_getfield(L, 1, "message");
	if (lua_type(L, -1) == LUA_TSTRING)
		lua_pushfstring(L, ": %s", lua_tostring(L, -1));
	else
		lua_pushliteral(L, "");
	lua_remove(L, -2);
	lua_getfield(L, 1, "request_id");
	if (lua_type(L, -1) == LUA_TSTRING)
		lua_pushfstring(L, " (request %s)", lua_tostring(L, -1));
	else
		lua_pushliteral(L, "");
	lua_remove(L, -2);
	lua_concat(L, lua_gettop(L) - base);
	return 1;
}

void scm_error_init(lua_State *L)
{
	if (luaL_newmetatable(L, SCM_ERROR_MT)) {
		lua_pushcfunction(L, error_tostring);
		lua_setfield(L, -2, "__tostring");
	}
	lua_pop(L, 1);
}

/* Replaces each occurrence of secret in s[0..*len) with "***". */
static void redact(char *s, size_t *len, const char *secret, size_t slen)
{
	size_t i = 0;
	if (secret == NULL || slen < 4)
		return;
	while (i + slen <= *len) {
		if (memcmp(s + i, secret, slen) == 0) {
			memcpy(s + i, "***", 3);
			memmove(s + i + 3, s + i + slen, *len - i - slen);
			*len -= slen - 3;
			i += 3;
		} else {
			i++;
		}
	}
}

void scm_push_error(lua_State *L, const char *kind, long status,
		    const char *code, size_t code_len, const char *message,
		    const char *request_id, const scm_opts *o)
{
	char line[MAX_MESSAGE + 4];
	size_t len = 0, i;
	static const int secrets[] = {SCM_OPT_TOKEN, SCM_OPT_SK,
				      SCM_OPT_SECURITY_TOKEN};

	/* One line: control characters become spaces, runs of them fold. */
	for (i = 0; message != NULL && message[i] != '\0' && len < MAX_MESSAGE; i++) {
		unsigned char c = (unsigned char)message[i];
		if (c < 0x20 || c == 0x7f) {
			if (len > 0 && line[len - 1] != ' ')
				line[len++] = ' ';
		} else {
			line[len++] = (char)c;
		}
	}
	if (message != NULL && message[i] != '\0') {
		memcpy(line + len, "...", 3);
		len += 3;
	}
	while (len > 0 && line[len - 1] == ' ')
		len--;
	if (o != NULL)
		for (i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
			if (o->v[secrets[i]].set)
				redact(line, &len, o->v[secrets[i]].s,
				       o->v[secrets[i]].len);

	lua_createtable(L, 0, 6);
	lua_pushstring(L, kind);
	lua_setfield(L, -2, "kind");
	if (status > 0) {
		lua_pushinteger(L, (lua_Integer)status);
		lua_setfield(L, -2, "status");
	}
	if (code != NULL && code_len > 0) {
		lua_pushlstring(L, code, code_len);
		lua_setfield(L, -2, "code");
	}
	lua_pushlstring(L, line, len);
	lua_setfield(L, -2, "message");
	if (request_id != NULL && request_id[0] != '\0') {
		lua_pushstring(L, request_id);
		lua_setfield(L, -2, "request_id");
	}
	luaL_setmetatable(L, SCM_ERROR_MT);
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
