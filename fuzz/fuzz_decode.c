/* libFuzzer target: response decoding. The first two bytes choose the
 * HTTP status and how the transfer ended; the rest is the body. Whatever
 * the body, the result is a page or nil and an err, never a crash. */
#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../src/decode.h"

static const long STATUSES[] = {200, 200, 200, 201, 204, 302, 400, 401, 403,
				404, 429, 500, 502, 503};
static const CURLcode ENDINGS[] = {CURLE_OK, CURLE_OK, CURLE_OK, CURLE_OK,
				   CURLE_PARTIAL_FILE, CURLE_OPERATION_TIMEDOUT,
				   CURLE_WRITE_ERROR, CURLE_PEER_FAILED_VERIFICATION};

static int run(lua_State *L)
{
	const scm_transfer *t = lua_touserdata(L, 1);
	scm_opts o;
	int n;
	memset(&o, 0, sizeof o);
	o.v[SCM_OPT_TOKEN].set = 1;
	o.v[SCM_OPT_TOKEN].s = "fuzz-token";
	o.v[SCM_OPT_TOKEN].len = 10;
	n = scm_push_result(L, t, &o, 1);
	if (n == 2 && lua_type(L, -1) != LUA_TTABLE)
		__builtin_trap();
	if (n == 1 && lua_type(L, -1) != LUA_TTABLE)
		__builtin_trap();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	scm_transfer t;
	if (L == NULL) {
		L = luaL_newstate();
		luaL_openlibs(L);
		scm_error_init(L);
		scm_decode_init(L);
	}
	if (size < 2)
		return 0;
	memset(&t, 0, sizeof t);
	t.res.status = STATUSES[data[0] % (sizeof STATUSES / sizeof STATUSES[0])];
	t.res.code = ENDINGS[data[1] % (sizeof ENDINGS / sizeof ENDINGS[0])];
	t.res.too_large = data[1] == 0xff;
	t.res.declared = -1;
	t.max_body = 8 << 20;
	if (data[0] & 0x80)
		strcpy(t.res.request_id, "0123456789abcdef");
	if (data[1] & 0x40)
		strcpy(t.res.location, "https://elsewhere.example/");
	if (scm_buf_add(&t.res.body, (const char *)data + 2, size - 2) != 0)
		return 0;
	lua_pushcfunction(L, run);
	lua_pushlightuserdata(L, &t);
	lua_pcall(L, 1, 0, 0);
	lua_settop(L, 0);
	scm_buf_free(&t.res.body);
	lua_gc(L, LUA_GCCOLLECT, 0);
	return 0;
}
