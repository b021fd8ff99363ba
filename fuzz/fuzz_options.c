/* libFuzzer target: option validation and query building. The input is
 * read as a list of (key, value) pairs; values take every Lua type the
 * caller could pass. A raised error is the expected outcome for bad
 * input; a crash, leak or sanitizer report is a bug. */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../src/options.h"

typedef struct input {
	const uint8_t *p;
	size_t n;
} input;

static int take(input *in)
{
	if (in->n == 0)
		return -1;
	in->n--;
	return *in->p++;
}

/* A string of up to 31 bytes from the input. */
static void push_string(lua_State *L, input *in)
{
	int len = take(in);
	size_t n = len < 0 ? 0 : (size_t)(len & 31);
	if (n > in->n)
		n = in->n;
	lua_pushlstring(L, (const char *)in->p, n);
	in->p += n;
	in->n -= n;
}

/* Every option name, from the module's own list. */
static const char *const NAMES[] = {
#define SCM_OPT(id, name, ...) name,
#include "../src/optlist.h"
#undef SCM_OPT
};
#define NNAMES (sizeof NAMES / sizeof NAMES[0])

static int run(lua_State *L)
{
	input *in = lua_touserdata(L, 1);
	scm_opts o;
	scm_buf query = {NULL, 0, 0};
	int c;
	lua_settop(L, 0);
	lua_newtable(L);
	while ((c = take(in)) >= 0) {
		/* key: a known name most of the time, sometimes any string */
		if (c & 0x80)
			push_string(L, in);
		else
			lua_pushstring(L, NAMES[(size_t)c % NNAMES]);
		switch (take(in) & 7) {
		case 0: push_string(L, in); break;
		case 1: lua_pushinteger(L, (lua_Integer)(int8_t)take(in) * (take(in) + 1)); break;
		case 2: lua_pushnumber(L, (lua_Number)take(in) / 7.0); break;
		case 3: lua_pushboolean(L, take(in) & 1); break;
		case 4: lua_newtable(L); break;
		case 5: lua_pushinteger(L, (lua_Integer)((10 + take(in) % 5 * 10))); break;
		case 6: lua_pushstring(L, "http://127.0.0.1:9/x"); break;
		default: lua_pushnumber(L, 0.0 / 0.0); break;
		}
		lua_rawset(L, 1);
	}
	memset(&o, 0, sizeof o);
	scm_opts_read(L, 1, 1, &o);
	lua_newtable(L);
	scm_opts_finish(L, 1, &o, lua_gettop(L));
	/* valid options: the query must build, and be plain ASCII */
	if (scm_query_append(&query, &o) == 0) {
		size_t i;
		for (i = 0; i < query.len; i++)
			if ((unsigned char)query.data[i] <= 0x20 || (unsigned char)query.data[i] >= 0x7f)
				__builtin_trap();
	}
	scm_buf_free(&query);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	input in = {data, size};
	if (L == NULL) {
		L = luaL_newstate();
		luaL_openlibs(L);
	}
	lua_pushcfunction(L, run);
	lua_pushlightuserdata(L, &in);
	lua_pcall(L, 1, 0, 0);
	lua_settop(L, 0);
	return 0;
}
