/* Preloaded after the ASan runtime for `make asan` only. Under the
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
