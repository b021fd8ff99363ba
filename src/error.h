/* error.h: the err object every runtime failure produces, its kinds, and
 * scm.error, which builds one for callers that do the I/O themselves. */
#ifndef SCM_ERROR_H
#define SCM_ERROR_H

#include "options.h"
#include "redact.h"

#define SCM_ERROR_MT "scm.error"

/* What err.kind says; SCM_KINDS holds the names, in this order. */
enum scm_kind {
	SCM_KIND_API,     /* the API's own error object */
	SCM_KIND_HTTP,    /* another non-2xx answer */
	SCM_KIND_TIMEOUT,
	SCM_KIND_NETWORK,
	SCM_KIND_TLS,
	SCM_KIND_DECODE,  /* an answer that is not what was asked for */
	SCM_KIND_COUNT
};
/* The names of the kinds, ended by NULL (a luaL_checkoption list). */
extern const char *const SCM_KINDS[SCM_KIND_COUNT + 1];

/* Pushes (and returns) "kind must be one of api, http, ...". */
const char *scm_push_kind_rule(lua_State *L);

void scm_error_init(lua_State *L);
/* Pushes a userdata holding an empty buffer, wiped and freed by its
 * __gc (and __close): C memory that survives a raise (lauxlib's UBox).
 * scm_buf_wipe it when done, then pop it. */
scm_buf *scm_buf_box(lua_State *L);
/* Pushes an err table. status <= 0 and NULL strings are left out; the
 * message is folded to one line and cleared of any secret in o. */
void scm_push_error(lua_State *L, enum scm_kind kind, long status,
		    const char *code, size_t code_len, const char *message,
		    const char *request_id, const scm_opts *o);
/* Marks the err at the top as a failure of a credential lookup: service
 * "iam" or "metadata" in err.service, and the message says what it was
 * for and what to do. */
void scm_error_service(lua_State *L, const char *service);
/* Sets err.attempts (the err at the top) and notes it in the message. */
void scm_error_attempts(lua_State *L, int attempts);
/* The secrets among o's options (token, sk, security_token); returns how
 * many were stored in out. */
size_t scm_opts_secrets(const scm_opts *o, scm_secret out[SCM_MAX_SECRETS]);

/* scm.error{kind=, message=, ...}[, opts] */
int scm_l_error(lua_State *L);

#endif
