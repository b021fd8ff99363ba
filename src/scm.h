/* scm.h: the module's entry point, the one symbol scm.so exports; the
 * Lua API (scm.list, scm.each, scm.new, ...) is registered there. */
#ifndef SCM_H
#define SCM_H

#include "compat.h"

/* The one exported symbol: everything else is built -fvisibility=hidden. */
__attribute__((visibility("default"))) int luaopen_scm(lua_State *L);

#endif
