/* Preloaded for `make asan` (after the ASan runtime) and `make memcheck`. Under the
 * sanitizer runtime, glibc 2.36's locale lock is left in a broken state
 * once strerror_r has translated a message (libcurl does, for "Connection
 * refused"), and the freelocale() that libp11-kit's destructor calls at
 * exit then waits on it forever. The leak check has already run by then;
 * skipping that last freelocale only leaves memory the process is about to
 * give back. */
#define _GNU_SOURCE
#include <locale.h>

void freelocale(locale_t locale)
{
	(void)locale;
}

/* Libraries stay loaded: Lua unloads its C modules (scm.so, cjson) at
 * lua_close, before the leak check, which would then name their frames
 * "<unknown module>", out of the suppressions' reach (lsan.supp) and of
 * the reader's. */
int dlclose(void *handle);

int dlclose(void *handle)
{
	(void)handle;
	return 0;
}
