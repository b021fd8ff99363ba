/* options.h: the options as data (optlist.h), read and checked against
 * their rules, merged, resolved to where requests go; the query string. */
#ifndef SCM_OPTIONS_H
#define SCM_OPTIONS_H

#include "buffer.h"
#include "common.h"
#include "compat.h"

/* Every option the module knows, in optlist.h's order. */
enum scm_opt_id {
#define SCM_OPT(id, ...) SCM_OPT_##id,
#include "optlist.h"
#undef SCM_OPT
	SCM_OPT_COUNT
};

/* One option's value. Strings point into Lua strings (or the environment)
 * and stay valid while the option tables they came from are on the stack. */
typedef struct scm_value {
	int set;
	lua_Integer i; /* integers; booleans as 0/1 */
	double n;      /* seconds */
	const char *s; /* strings */
	size_t len;
} scm_value;

typedef struct scm_opts {
	scm_value v[SCM_OPT_COUNT];
	/* Resolved by scm_opts_finish; read through scm_opts_base. The
	 * struct may be copied: a region's address lives inside it. */
	const char *base; /* the endpoint option, or NULL: base_buf */
	size_t base_len;  /* without a trailing "/" */
	char base_buf[256];
} scm_opts;

/* Reads the option table at idx into o; raises (as argument arg) on an
 * unknown key or a value outside its rule. */
void scm_opts_read(lua_State *L, int idx, int arg, scm_opts *o);
/* Lays call options over client defaults: a call that names any option of
 * a group (where, credentials) replaces that whole group. */
void scm_opts_merge(scm_opts *dst, const scm_opts *call);
/* Checks the rules between options and resolves where the request goes
 * and the credentials; raises. Strings read from a credentials file are
 * kept in the table at index holder. */
void scm_opts_finish(lua_State *L, int arg, scm_opts *o, int holder);
/* Appends "?k=v&..." for the query options that are set. */
int scm_query_append(scm_buf *b, const scm_opts *o);
/* Checks where the options send requests (endpoint or region), when they
 * say; raises. For defaults, which need not hold credentials. */
void scm_opts_check_where(lua_State *L, int arg, scm_opts *o);
/* The base URL the request goes to (no trailing "/"), and its length. */
const char *scm_opts_base(const scm_opts *o, size_t *len);
/* Checks a base URL given for `what` (an option or an environment
 * variable) by the endpoint's rules: http(s), no query, fragment or user,
 * plain http only to loopback unless allow_http (or allow_any_http);
 * raises. */
void scm_check_url(lua_State *L, int arg, const scm_opts *o, const char *what,
		   const char *url, size_t len, int allow_any_http);
/* The region the options name (the default region when none is named and
 * no endpoint is), or NULL when an endpoint is given. */
const char *scm_opts_region(const scm_opts *o);
/* The option value as an integer, or dflt when it is not set. */
lua_Integer scm_opt_int(const scm_opts *o, int id, lua_Integer dflt);
/* Lowers timeout to left seconds (what is left of a deadline) if larger. */
void scm_cap_timeout(scm_opts *o, double left);
/* retries, default SCM_DEFAULT_RETRIES. */
int scm_opt_retries(const scm_opts *o);
/* scm.options(): every option with its rule, type, default and choices. */
int scm_l_options(lua_State *L);

#endif
