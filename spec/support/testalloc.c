/* Test-only: a Lua allocator that fails at the Nth allocation, for specs
 * that run the module's calls with every allocation failing in turn; and
 * an environment variable whose storage the spec owns and can change, as
 * a host program may (putenv). Built by `make check` next to scm.so, never
 * installed. */
#define _XOPEN_SOURCE 700
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

typedef struct failing {
	lua_Alloc real;
	void *real_ud;
	long seen;   /* allocations (growing) since arm */
	long fail_at; /* the one that fails (1-based) */
	int failed;
	int retry;    /* the failed request, which Lua 5.4 tries again */
	void *retry_ptr;
	size_t retry_size;
} failing;

static failing state;

static void *failing_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	failing *f = ud;
	/* Only what asks for memory can fail: Lua assumes frees and
	 * shrinks succeed. */
	if (nsize > 0 && (ptr == NULL || nsize > osize)) {
		/* Lua 5.4 collects and asks again at once: that fails too */
		if (f->retry) {
			f->retry = 0;
			if (ptr == f->retry_ptr && nsize == f->retry_size)
				return NULL;
		}
		if (++f->seen == f->fail_at) {
			f->failed = 1;
			f->retry = 1;
			f->retry_ptr = ptr;
			f->retry_size = nsize;
			return NULL;
		}
	}
	return f->real(f->real_ud, ptr, osize, nsize);
}

/* arm(n): from now on, the nth allocation of the Lua state fails. */
static int l_arm(lua_State *L)
{
	lua_Integer n = luaL_checkinteger(L, 1);
	if (state.real == NULL)
		state.real = lua_getallocf(L, &state.real_ud);
	state.seen = 0;
	state.fail_at = (long)n;
	state.failed = 0;
	state.retry = 0;
	lua_setallocf(L, failing_alloc, &state);
	return 0;
}

/* disarm() -> allocations seen, whether the failing one was reached. */
static int l_disarm(lua_State *L)
{
	if (state.real != NULL)
		lua_setallocf(L, state.real, state.real_ud);
	lua_pushinteger(L, (lua_Integer)state.seen);
	lua_pushboolean(L, state.failed);
	return 2;
}

/* putenv(name, value): the variable lives in storage of this module's,
 * which overwrite(name, value) then changes in place (the same length)
 * and clear(name) fills with 'X', as a host program reusing its buffer
 * would; a pointer kept from getenv sees the change. */
#define SLOTS 8
static char *slots[SLOTS];

static char **slot_of(const char *name, size_t len)
{
	int k;
	for (k = 0; k < SLOTS; k++)
		if (slots[k] != NULL && strncmp(slots[k], name, len) == 0 && slots[k][len] == '=')
			return &slots[k];
	return NULL;
}

static int l_putenv(lua_State *L)
{
	size_t nlen, vlen;
	const char *name = luaL_checklstring(L, 1, &nlen);
	const char *value = luaL_checklstring(L, 2, &vlen);
	char **slot = slot_of(name, nlen);
	int k;
	if (slot == NULL) {
		for (k = 0; k < SLOTS && slots[k] != NULL; k++)
			;
		luaL_argcheck(L, k < SLOTS, 1, "too many variables");
		slot = &slots[k];
	}
	{
		char *old = *slot, *s = malloc(nlen + vlen + 2);
		if (s == NULL)
			return luaL_error(L, "out of memory");
		memcpy(s, name, nlen);
		s[nlen] = '=';
		memcpy(s + nlen + 1, value, vlen + 1);
		putenv(s);
		*slot = s;
		free(old); /* the environment points at the new storage */
	}
	return 0;
}

static int l_overwrite(lua_State *L)
{
	size_t nlen, vlen;
	const char *name = luaL_checklstring(L, 1, &nlen);
	const char *value = luaL_checklstring(L, 2, &vlen);
	char **slot = slot_of(name, nlen);
	luaL_argcheck(L, slot != NULL, 1, "not put by putenv");
	luaL_argcheck(L, strlen(*slot + nlen + 1) == vlen, 2, "not the same length");
	memcpy(*slot + nlen + 1, value, vlen);
	return 0;
}

int luaopen_scm_testalloc(lua_State *L);

int luaopen_scm_testalloc(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"arm", l_arm},
		{"disarm", l_disarm},
		{"putenv", l_putenv},
		{"overwrite", l_overwrite},
		{NULL, NULL}};
	const luaL_Reg *f;
	lua_newtable(L);
	for (f = fns; f->name != NULL; f++) {
		lua_pushcfunction(L, f->func);
		lua_setfield(L, -2, f->name);
	}
	return 1;
}
