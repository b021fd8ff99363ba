/* credentials.h: the credentials of a call, from its options, the
 * environment or the credentials file; the signature a key pair gives a
 * GET. */
#ifndef SCM_CREDENTIALS_H
#define SCM_CREDENTIALS_H

#include "options.h"
#include "sign.h"

/* Fills o's credentials when the options give none (environment, then
 * the credentials file, whose strings go into the table at holder);
 * raises (as argument arg) on a half key pair or a bad file. */
void scm_credentials_resolve(lua_State *L, int arg, scm_opts *o, int holder);

/* What signing a GET with a key pair adds to it: the headers signed and
 * the Authorization header's value. */
typedef struct scm_signed {
	scm_header headers[4]; /* Host, X-Sdk-Date[, X-Domain-Id][, X-Security-Token] */
	size_t n;
	char host[300];
	char date[17];
	scm_buf auth;          /* scm_buf_wipe it when done */
} scm_signed;

/* Signs a GET of url, now, with o's ak and sk; X-Security-Token is signed
 * when o has one, X-Domain-Id when o has one and with_domain. Returns 0,
 * or -1 (url has no host, or out of memory) with nothing to wipe. */
int scm_credentials_sign(const scm_opts *o, const char *url, int with_domain,
			 scm_signed *s);

#endif
