/* libFuzzer target: whole HTTP responses, as a server sends them (status
 * line, headers, body), through libcurl's own parsing (chunked coding,
 * gzip, 1xx, header limits), the module's header handling, decoding and
 * err building. libcurl connects to a listener on 127.0.0.1 that writes
 * the input and closes, as a server that answers and hangs up.
 * Whatever the bytes: a page or nil and an err, never a crash, and never
 * the token in the err or a request id with a control byte. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lualib.h>

#include "../src/decode.h"

#define TOKEN "fuzz-token-0123456789abcdefghijklmnopqrstuvwxyz"
#define MAX_RESPONSE 65536

/* The server side: a listener on 127.0.0.1 (port chosen by the kernel) */
static int listener = -1;
static char base[64];

static int listen_loopback(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 16) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		close(fd);
		return -1;
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	snprintf(base, sizeof base, "http://127.0.0.1:%d", (int)ntohs(a.sin_port));
	return fd;
}

/* Runs t to its end, serving data (size bytes) on the one connection it
 * makes, then closing the server's side. */
static void serve(scm_transfer *t, const uint8_t *data, size_t size)
{
	CURLM *m = curl_multi_init();
	int running = 1, server = -1, shut = 0, rounds = 0;
	size_t sent = 0;
	CURLMsg *msg;
	int left;
	if (m == NULL || curl_multi_add_handle(m, t->easy) != CURLM_OK) {
		curl_multi_cleanup(m);
		return;
	}
	while (running && rounds++ < 100000) {
		curl_multi_perform(m, &running);
		if (server < 0) {
			server = accept(listener, NULL, NULL);
			if (server >= 0)
				fcntl(server, F_SETFL, fcntl(server, F_GETFL) | O_NONBLOCK);
		}
		if (server >= 0 && sent < size) {
			ssize_t w = write(server, data + sent, size - sent);
			if (w > 0)
				sent += (size_t)w;
		}
		if (server >= 0 && sent == size && !shut) {
			shutdown(server, SHUT_WR);
			shut = 1;
		}
		if (running)
			curl_multi_poll(m, NULL, 0, shut ? 1000 : 1, NULL);
	}
	while ((msg = curl_multi_info_read(m, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			scm_transfer_ended(t, msg->data.result);
	curl_multi_remove_handle(m, t->easy);
	curl_multi_cleanup(m);
	if (server >= 0)
		close(server);
}

static int contains(const char *s, size_t n, const char *what)
{
	size_t w = strlen(what), i;
	for (i = 0; i + w <= n; i++)
		if (memcmp(s + i, what, w) == 0)
			return 1;
	return 0;
}

static int run(lua_State *L)
{
	scm_transfer *t = lua_touserdata(L, 1);
	const scm_opts *o = lua_touserdata(L, 2);
	const char *s;
	size_t n, i;
	int results = scm_push_result(L, t, o, 1);
	if (lua_type(L, -1) != LUA_TTABLE)
		__builtin_trap();
	if (getenv("FUZZ_SHOW") != NULL) /* to see what an input gives */
		fprintf(stderr, "%s\n", results == 2 ? luaL_tolstring(L, -1, NULL) : "page");
	lua_getfield(L, -1, "request_id");
	if (lua_type(L, -1) == LUA_TSTRING) {
		s = lua_tolstring(L, -1, &n);
		for (i = 0; i < n; i++)
			if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
				__builtin_trap();
		if (contains(s, n, "fuzz-tok"))
			__builtin_trap();
	}
	lua_pop(L, 1);
	if (results == 2) {
		/* the whole err as tostring shows it */
		luaL_tolstring(L, -1, &n);
		s = lua_tostring(L, -1);
		if (contains(s, n, "fuzz-tok") || memchr(s, '\n', n) != NULL)
			__builtin_trap();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	scm_transfer t;
	scm_opts o;

	if (L == NULL) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		L = luaL_newstate();
		luaL_openlibs(L);
		scm_error_init(L);
		scm_decode_init(L);
		listener = listen_loopback();
	}
	if (listener < 0 || size < 1 || size > MAX_RESPONSE)
		return 0;
	memset(&o, 0, sizeof o);
	o.v[SCM_OPT_TOKEN].set = 1;
	o.v[SCM_OPT_TOKEN].s = TOKEN;
	o.v[SCM_OPT_TOKEN].len = strlen(TOKEN);
	o.v[SCM_OPT_TIMEOUT].set = 1;
	o.v[SCM_OPT_TIMEOUT].n = 5;
	/* the first byte: a small max_body, or the default */
	o.v[SCM_OPT_MAX_BODY].set = 1;
	o.v[SCM_OPT_MAX_BODY].i = (data[0] & 1) ? 1000 : SCM_DEFAULT_MAX_BODY;
	o.base = base;
	o.base_len = strlen(base);

	memset(&t, 0, sizeof t);
	if (scm_transfer_setup(&t, NULL, &o) != 0) {
		scm_transfer_free(&t);
		return 0;
	}
	curl_easy_setopt(t.easy, CURLOPT_FORBID_REUSE, 1L);
	serve(&t, data + 1, size - 1);
	scm_transfer_forget_request(&t);

	lua_pushcfunction(L, run);
	lua_pushlightuserdata(L, &t);
	lua_pushlightuserdata(L, &o);
	lua_pcall(L, 2, 0, 0);
	lua_settop(L, 0);
	scm_transfer_free(&t);
	lua_gc(L, LUA_GCCOLLECT, 0);
	return 0;
}
