/* credentials.h: the credentials of a call, from its options, the
 * environment or the credentials file. */
#ifndef SCM_CREDENTIALS_H
#define SCM_CREDENTIALS_H

#include "options.h"

/* Fills o's credentials when the options give none (environment, then
 * the credentials file, whose strings go into the table at holder);
 * raises (as argument arg) on a half key pair or a bad file. */
void scm_credentials_resolve(lua_State *L, int arg, scm_opts *o, int holder);

#endif
