/* metadata.h: temporary keys from the ECS metadata service (credentials =
 * "ecs"); scm.metadata_request, metadata_decode, metadata_cached. */
#ifndef SCM_METADATA_H
#define SCM_METADATA_H

#include "request.h"

enum { SCM_METADATA_TOKEN, SCM_METADATA_KEYS };

/* Pushes the request for the session token or (with the session token,
 * when there is one) the keys; raises on a bad metadata address. No I/O. */
scm_request *scm_metadata_request(lua_State *L, int arg, const scm_opts *o,
				  int which, const char *session, size_t session_len);
/* Pushes the session token, or false when none is needed (returns 1), or
 * nil and an err (returns 2). */
int scm_metadata_parse_token(lua_State *L, const scm_transfer *t, const scm_opts *o);
/* Pushes the keys { ak, sk, security_token, expires_at } and keeps them
 * for url (returns 1), or nil and an err (returns 2). */
int scm_metadata_parse_keys(lua_State *L, const scm_transfer *t, const scm_opts *o,
			    const char *url);
/* The libcurl path: with credentials = "ecs" and no keys yet, fills ak, sk
 * and security_token from the cache or the service; strings go into the
 * table at holder. Returns 0, or 2 with nil and an err pushed. */
int scm_metadata_resolve(lua_State *L, CURLSH *share, scm_opts *o, int holder);
/* Pushes the kept keys for the configured address when fresh (returns 1). */
int scm_metadata_cached(lua_State *L, const scm_opts *o);

/* Wipes and frees every kept key. */
void scm_metadata_forget(void);

int scm_l_metadata_request(lua_State *L);
int scm_l_metadata_decode(lua_State *L);
int scm_l_metadata_cached(lua_State *L);

#endif
