/* The Lua face of the module: scm.list, scm.new and the client methods. */
#include <string.h>

#include "scm.h"

#include "account.h"
#include "client.h"
#include "decode.h"
#include "expiry.h"
#include "iterate.h"
#include "metadata.h"
#include "plan.h"
#include "retry.h"
#include "request.h"

/* Registry key of the client behind the module-level functions. */
static const char DEFAULT_CLIENT_KEY = 'c';

static int push_default_client(lua_State *L)
{
	lua_rawgetp(L, LUA_REGISTRYINDEX, &DEFAULT_CLIENT_KEY);
	return lua_gettop(L);
}

/* Each call exists twice: scm.NAME(opts) on the module's own client, and
 * client:NAME(opts). Both take the same path, op(L, client, opts, arg). */
#define CALL_PAIR(name, op)                                          \
	static int module_##name(lua_State *L)                           \
	{                                                             \
		lua_settop(L, 1);                                     \
		return op(L, push_default_client(L), 1, 1);           \
	}                                                             \
	static int method_##name(lua_State *L)                        \
	{                                                             \
		lua_settop(L, 2);                                     \
		return op(L, 1, 2, 2);                                \
	}

CALL_PAIR(list, scm_list)
CALL_PAIR(each, scm_each)
CALL_PAIR(all, scm_all)
CALL_PAIR(request, scm_l_request)
CALL_PAIR(credentials, scm_l_credentials)
CALL_PAIR(account_request, scm_l_account_request)
CALL_PAIR(plan, scm_l_plan)

static int scm_new(lua_State *L)
{
	scm_opts o;
	lua_settop(L, 1);
	/* Each default is checked against its rule now, not at first use. */
	memset(&o, 0, sizeof o);
	scm_opts_read(L, 1, 1, &o);
	scm_opts_check_where(L, 1, &o);
	scm_client_new(L, 1);
	return 1;
}

static int client_close(lua_State *L)
{
	scm_client_close(luaL_checkudata(L, 1, SCM_CLIENT_MT));
	return 0;
}

static int client_tostring(lua_State *L)
{
	scm_client *c = luaL_checkudata(L, 1, SCM_CLIENT_MT);
	lua_pushfstring(L, "scm.client (%s%p)", c->closed ? "closed, " : "", (void *)c);
	return 1;
}

static const luaL_Reg client_methods[] = {
	{"list", method_list},
	{"each", method_each},
	{"all", method_all},
	{"request", method_request},
	{"credentials", method_credentials},
	{"account_request", method_account_request},
	{"plan", method_plan},
	{"close", client_close},
	{NULL, NULL}};

static const luaL_Reg client_meta[] = {
	{"__gc", client_close},
	{"__close", client_close},
	{"__tostring", client_tostring},
	{NULL, NULL}};

static const luaL_Reg functions[] = {
	{"list", module_list},
	{"each", module_each},
	{"all", module_all},
	{"new", scm_new},
	{"sign", scm_l_sign},
	{"options", scm_l_options},
	{"request", module_request},
	{"plan", module_plan},
	{"retry", scm_l_retry},
	{"decode", scm_l_decode},
	{"error", scm_l_error},
	{"credentials", module_credentials},
	{"account_request", module_account_request},
	{"account_decode", scm_l_account_decode},
	{"account_id", scm_l_account_id},
	{"metadata_request", scm_l_metadata_request},
	{"metadata_decode", scm_l_metadata_decode},
	{"metadata_cached", scm_l_metadata_cached},
	{"expiry", scm_l_expiry},
	{NULL, NULL}};

int luaopen_scm(lua_State *L)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return luaL_error(L, "scm: libcurl failed to initialise");
	if (luaL_newmetatable(L, SCM_CLIENT_MT)) {
		luaL_setfuncs(L, client_meta, 0);
		luaL_newlib(L, client_methods);
		lua_setfield(L, -2, "__index");
	}
	lua_pop(L, 1);
	scm_error_init(L);
	scm_decode_init(L);
	scm_iterate_init(L);
	scm_plan_init(L);
	scm_caches_anchor(L);
	scm_client_new(L, 0);
	lua_rawsetp(L, LUA_REGISTRYINDEX, &DEFAULT_CLIENT_KEY);

	luaL_newlib(L, functions);
	lua_pushliteral(L, "scm " SCM_VERSION);
	lua_setfield(L, -2, "_VERSION");
	return 1;
}
