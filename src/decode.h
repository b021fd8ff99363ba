/* decode.h: from a finished transfer to what the caller gets, the page as
 * Lua tables or nil and an err; JSON through a private cjson instance. */
#ifndef SCM_DECODE_H
#define SCM_DECODE_H

#include "transport.h"

/* Stores the module's private cjson instance; call once at load. */
void scm_decode_init(lua_State *L);
/* Decodes JSON text with the private cjson instance; pushes the value
 * (returns 1) or the decoder's message (returns 0). */
int scm_decode_json(lua_State *L, const char *text, size_t len);
/* Pushes the page table (returns 1) or nil and an err (returns 2); the
 * err tells how many attempts were made. */
int scm_push_result(lua_State *L, const scm_transfer *t, const scm_opts *o,
		    int attempts);

#endif
