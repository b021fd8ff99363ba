/* expiry.h: expire_time strings as epoch seconds (scm.expiry). */
#ifndef SCM_EXPIRY_H
#define SCM_EXPIRY_H

#include <stddef.h>
#include <stdint.h>

#include "compat.h"

/* Reads "YYYY-MM-DD HH:MM:SS[.f][zone]" ('T' for the space too; zone Z,
 * +HH:MM, +HHMM or +HH, after an optional space). Without a zone the time
 * is taken at offset seconds east of UTC. Returns 0 and the epoch seconds
 * (the fraction dropped), or -1 and a reason. Knows nothing of Lua. */
int scm_expiry_parse(const char *s, size_t len, long offset, int64_t *epoch,
		     const char **reason);

/* scm.expiry(cert_or_string[, utc_offset[, now]]) */
int scm_l_expiry(lua_State *L);

#endif
