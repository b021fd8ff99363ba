/* decode.h: from a finished transfer, or a response handed over from Lua
 * (scm.decode), to what the caller gets: the page as Lua tables or nil and
 * an err; JSON through a private cjson instance. */
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
/* A response a Lua caller hands over, as the arguments from arg on: the
 * status (arg), the body string (arg + 1), and a headers table (arg + 2,
 * name -> value, or nil) giving X-Request-Id or X-IAM-Trace-Id, Location
 * and Content-Type. The options at index opts (0: none) go into o; they
 * name the secrets kept out of an err. Fills t and o; raises on a bad
 * argument. t's body is the Lua string itself, read in place. */
void scm_response_from_lua(lua_State *L, int arg, int opts, scm_transfer *t, scm_opts *o);

/* scm.decode(status, body[, headers[, opts]]) */
int scm_l_decode(lua_State *L);

#endif
