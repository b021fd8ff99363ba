/* redact.h: secrets out of server text, before any of it is kept.
 * No Lua, no libcurl. */
#ifndef SCM_REDACT_H
#define SCM_REDACT_H

#include "buffer.h"

typedef struct scm_secret {
	const char *s;
	size_t len;
} scm_secret;
#define SCM_MAX_SECRETS 3
/* Replaces in b every occurrence of each secret, and every run of 8 bytes
 * or more that begins one, with "***". Returns 1 when something was
 * replaced, 0 when not, -1 when out of memory. */
int scm_redact(scm_buf *b, const scm_secret *secrets, size_t count);

#endif
