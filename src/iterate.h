/* iterate.h: scm.each and scm.all, pages in flight over a libcurl multi
 * handle, following the listing rules of plan.h. */
#ifndef SCM_ITERATE_H
#define SCM_ITERATE_H

#include "compat.h"

#define SCM_ITER_MT "scm.iterator"

/* scm.list / client:list: one page through the same driver as each;
 * pushes the page (returns 1) or nil, err (2). */
int scm_list(lua_State *L, int client, int opts, int arg);
/* scm.each / client:each: pushes the generic-for values (returns 4). */
int scm_each(lua_State *L, int client, int opts, int arg);
/* scm.all / client:all: pushes the array (1) or nil, err (2). */
int scm_all(lua_State *L, int client, int opts, int arg);
void scm_iterate_init(lua_State *L);

#endif
