/* request.h: requests, built without I/O (scm_request, for IAM and the
 * metadata service; the SCM listing request scm.request shows; scm.sign
 * for any other) and sent over libcurl with the retry rule. */
#ifndef SCM_REQUEST_H
#define SCM_REQUEST_H

#include "transport.h"

#define SCM_REQUEST_MT "scm.request"

/* Pushes a new empty request: a userdata whose __gc wipes and frees what
 * it holds, so that a raise cannot leak it. */
scm_request *scm_request_new(lua_State *L);
int scm_request_header(scm_request *r, const char *name, const char *value,
		       size_t len);
void scm_request_free(scm_request *r);
/* Pushes a transfer in a userdata whose __gc frees it. */
scm_transfer *scm_transfer_push(lua_State *L);
/* Sends r over libcurl (blocking), with retries by the rules of SCM
 * calls; pushes the transfer holding the response (*out) and returns the
 * number of attempts. */
int scm_perform_request(lua_State *L, CURLSH *share, const scm_opts *o,
			const scm_request *r, scm_transfer **out);
/* Pushes r as scm.request shows a request: { method, url, headers = {},
 * timeout, connect_timeout, retries, max_body, verify[, cafile] }. */
void scm_request_push(lua_State *L, const scm_request *r, const scm_opts *o);

/* scm.sign{ak=, sk=, url=, method=, headers=, body=}: the Authorization
 * header's value. */
int scm_l_sign(lua_State *L);
/* scm.request / client:request: the request that list would send. */
int scm_l_request(lua_State *L, int client, int opts, int arg);
/* Pushes the table scm.request gives for the prepared transfer t. */
void scm_push_request(lua_State *L, const scm_transfer *t, const scm_opts *o);

#endif
