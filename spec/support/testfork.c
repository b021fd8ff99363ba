/* Test-only: fork(2), waitpid(2) and _exit(2) for Lua, so a spec can run
 * the module in two real processes (lua-posix has no Lua 5.4 build on
 * Debian 12). Built by `make check` next to scm.so, never installed. */
#define _POSIX_C_SOURCE 200809L
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

/* fork() -> pid in the parent, 0 in the child; raises on failure. */
static int l_fork(lua_State *L)
{
	pid_t pid = fork();
	if (pid < 0)
		return luaL_error(L, "fork failed");
	lua_pushinteger(L, (lua_Integer)pid);
	return 1;
}

/* wait(pid) -> the child's exit status, or -signal when it was killed. */
static int l_wait(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	int status;
	while (waitpid(pid, &status, 0) < 0)
		;
	lua_pushinteger(L, WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status));
	return 1;
}

/* _exit(code): leaves at once, without closing the Lua state (whose
 * finalisers belong to the parent's objects too). */
static int l_exit(lua_State *L)
{
	_exit((int)luaL_optinteger(L, 1, 0));
	return 0;
}

static int l_getpid(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)getpid());
	return 1;
}

int luaopen_scm_testfork(lua_State *L);

int luaopen_scm_testfork(lua_State *L)
{
	lua_createtable(L, 0, 4);
	lua_pushcfunction(L, l_fork);
	lua_setfield(L, -2, "fork");
	lua_pushcfunction(L, l_wait);
	lua_setfield(L, -2, "wait");
	lua_pushcfunction(L, l_exit);
	lua_setfield(L, -2, "exit");
	lua_pushcfunction(L, l_getpid);
	lua_setfield(L, -2, "getpid");
	return 1;
}
