#ifndef SCM_REQUEST_H
#define SCM_REQUEST_H

#include "scm.h"

int scm_l_sign(lua_State *L);
int scm_l_decode(lua_State *L);
int scm_l_error(lua_State *L);
/* scm.request / client:request: the request that list would send. */
int scm_l_request(lua_State *L, int client, int opts, int arg);
/* Pushes the table scm.request gives for the prepared transfer t. */
void scm_push_request(lua_State *L, const scm_transfer *t, const scm_opts *o);

#endif
