/* compat.h: Lua version differences, confined to this header, and the few
 * Lua helpers every module shares.
 * The module is built against 5.1 (and LuaJIT, which shares its headers),
 * 5.3 and 5.4; everything else includes this file instead of guessing. */
#ifndef SCM_COMPAT_H
#define SCM_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 502
#define lua_rawlen(L, i) lua_objlen((L), (i))
#ifndef luaL_newlib /* LuaJIT 2.1 has it */
#define luaL_newlib(L, l) (lua_newtable(L), luaL_setfuncs((L), (l), 0))
#endif
void scm_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
#define luaL_setfuncs scm_compat_setfuncs
void scm_compat_rawgetp(lua_State *L, int idx, const void *p);
void scm_compat_rawsetp(lua_State *L, int idx, const void *p);
#define lua_rawgetp scm_compat_rawgetp
#define lua_rawsetp scm_compat_rawsetp
#define luaL_setmetatable(L, tname) \
	(luaL_getmetatable((L), (tname)), (void)lua_setmetatable((L), -2))
/* 5.1 userdata carry an environment table where 5.2+ have a user value. */
#define scm_setuservalue(L, idx) lua_setfenv((L), (idx))
#define scm_getuservalue(L, idx) lua_getfenv((L), (idx))
#else
#define scm_setuservalue(L, idx) lua_setuservalue((L), (idx))
#define scm_getuservalue(L, idx) ((void)lua_getuservalue((L), (idx)))
#endif

/* Integers: 5.3+ has a distinct integer subtype; earlier versions hold
 * every number as a double. */
#if LUA_VERSION_NUM >= 503
#define SCM_HAS_INTEGERS 1
#else
#define SCM_HAS_INTEGERS 0
#endif

/* idx made independent of the stack top. */
#define scm_absindex(L, i) ((i) > 0 || (i) <= LUA_REGISTRYINDEX ? (i) : lua_gettop(L) + (i) + 1)

/* Pushes a new table with the pairs of the table at idx (raw); an empty
 * one when idx is 0 or not a table. */
void scm_copy_table(lua_State *L, int idx);

/* The number at idx as an integer when it has an integral value. */
int scm_tointeger(lua_State *L, int idx, lua_Integer *out);

/* Field name of the table argument arg: its string (and length in *len
 * when len is not NULL), or NULL when absent and not required; raises
 * "bad argument #arg (NAME must be a string (got TYPE))" otherwise. The
 * string stays reachable from the table. */
const char *scm_field_string(lua_State *L, int arg, const char *name, int required,
			     size_t *len);

#endif
