#include <math.h>

#include "compat.h"

#if LUA_VERSION_NUM < 502
void scm_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup)
{
	luaL_checkstack(L, nup + 1, "too many upvalues");
	for (; l->name != NULL; l++) {
		int i;
		for (i = 0; i < nup; i++)
			lua_pushvalue(L, -nup);
		lua_pushcclosure(L, l->func, nup);
		lua_setfield(L, -(nup + 2), l->name);
	}
	lua_pop(L, nup);
}

void scm_compat_rawgetp(lua_State *L, int idx, const void *p)
{
	idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
	lua_pushlightuserdata(L, (void *)p);
	lua_rawget(L, idx);
}

void scm_compat_rawsetp(lua_State *L, int idx, const void *p)
{
	idx = idx < 0 && idx > LUA_REGISTRYINDEX ? lua_gettop(L) + idx + 1 : idx;
	lua_pushlightuserdata(L, (void *)p);
	lua_insert(L, -2);
	lua_rawset(L, idx);
}
#endif

int scm_tointeger(lua_State *L, int idx, lua_Integer *out)
{
	lua_Number n;
	if (lua_type(L, idx) != LUA_TNUMBER)
		return 0;
#if SCM_HAS_INTEGERS
	if (lua_isinteger(L, idx)) {
		*out = lua_tointeger(L, idx);
		return 1;
	}
#endif
	n = lua_tonumber(L, idx);
	/* Integral and well inside the range every lua_Integer can hold. */
	if (n != floor(n) || n < -9007199254740992.0 || n > 9007199254740992.0)
		return 0;
	*out = (lua_Integer)n;
	return 1;
}

const char *scm_field_string(lua_State *L, int arg, const char *name, int required,
			     size_t *len)
{
	const char *s;
	size_t ignored;
	if (len == NULL)
		len = &ignored;
	lua_getfield(L, arg, name);
	if (lua_isnil(L, -1) && !required) {
		lua_pop(L, 1);
		return NULL;
	}
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_argerror(L, arg, lua_pushfstring(L, "%s must be a string (got %s)",
						     name, luaL_typename(L, -1)));
	s = lua_tolstring(L, -1, len);
	lua_pop(L, 1);
	return s;
}

void scm_copy_table(lua_State *L, int idx)
{
	int copy;
	idx = idx == 0 ? 0 : scm_absindex(L, idx);
	lua_newtable(L);
	if (idx == 0 || lua_type(L, idx) != LUA_TTABLE)
		return;
	copy = lua_gettop(L);
	lua_pushnil(L);
	while (lua_next(L, idx) != 0) {
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, copy);
	}
}
