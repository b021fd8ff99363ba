/* account.h: the account id (domain_id) of an access key, found through
 * IAM and cached for the process; scm.account_request, account_decode,
 * account_id. */
#ifndef SCM_ACCOUNT_H
#define SCM_ACCOUNT_H

#include "request.h"

/* The cache, per access key: get copies the id into out (returns 1 when
 * known); put stores it (returns 0, or -1 when out of memory). */
int scm_account_get(const char *ak, size_t ak_len, char *out, size_t size);
int scm_account_put(const char *ak, size_t ak_len, const char *id, size_t id_len);
/* Pushes the signed IAM request that finds the account id of o's key
 * pair; raises (as argument arg) when o has none or the IAM address is
 * bad. No I/O. */
scm_request *scm_account_request(lua_State *L, int arg, const scm_opts *o);
/* Reads IAM's answer in t: pushes the account id (returns 1, and caches
 * it for ak when ak is not NULL), or nil and an err (returns 2). */
int scm_account_parse(lua_State *L, const scm_transfer *t, const scm_opts *o,
		      int attempts, const char *ak, size_t ak_len);
/* The libcurl path: with ak and no domain_id, fills domain_id from the
 * cache or through IAM; its string goes into the table at holder.
 * Returns 0, or 2 with nil and an err pushed. */
int scm_account_resolve(lua_State *L, CURLSH *share, scm_opts *o, int holder);

/* Called once per Lua state at load: the caches are freed when the last
 * state using them closes. */
void scm_caches_anchor(lua_State *L);

int scm_l_account_request(lua_State *L, int client, int opts, int arg);
int scm_l_account_decode(lua_State *L);
int scm_l_account_id(lua_State *L);

#endif
