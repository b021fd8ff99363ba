/* The client object: a connection pool (libcurl share), plus the defaults
 * its calls are merged over. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "client.h"
#include "metadata.h"

/* After fork(), the child holds copies of the parent's sockets and TLS
 * states. Using them interleaves two processes' requests on one
 * connection; cleaning them up is no better: libcurl would send a TLS
 * close_notify (and end the HTTP/2 session) on the parent's live
 * connection. So the child keeps its hands off them: the share and easy
 * handles made before the fork are left as they are, reachable from this
 * list (memory checkers see them as reachable, not lost), and the child
 * opens connections of its own. The sockets stay open in the child
 * unused; closing the bare descriptors would send nothing, but libcurl
 * offers no way to reach those of a pooled connection. The cost is a few
 * kilobytes per client per fork. */
typedef struct abandoned {
	struct abandoned *next;
	void *handle;
} abandoned;
static abandoned *abandoned_list;

void scm_abandon(void *p)
{
	abandoned *a;
	if (p == NULL)
		return;
	a = malloc(sizeof *a);
	if (a == NULL)
		return; /* then only unreachable: never cleaned up either way */
	a->handle = p;
	a->next = abandoned_list;
	abandoned_list = a;
}

/* In a child of fork(): drops (unused) the connections and TLS sessions
 * of the parent, so that the next call opens its own. */
static int left_parent(scm_client *c)
{
	if (c->pid == getpid())
		return 0;
	scm_abandon(c->share);
	c->share = NULL;
	c->pid = getpid();
	return 1;
}

scm_client *scm_client_new(lua_State *L, int defaults)
{
	/* Created closed first, then opened: a memory error on the way
	 * leaves an object that __gc can free. */
	scm_client *c = lua_newuserdata(L, sizeof *c);
	memset(c, 0, sizeof *c);
	c->closed = 1;
	luaL_setmetatable(L, SCM_CLIENT_MT);
	/* A private copy of the defaults: later changes to the caller's
	 * table cannot bypass the validation done at creation. */
	scm_copy_table(L, defaults);
	scm_setuservalue(L, -2);
	c->share = scm_share_new();
	if (c->share == NULL)
		luaL_error(L, "scm: not enough memory for a client");
	c->pid = getpid();
	c->closed = 0;
	return c;
}

scm_client *scm_client_check(lua_State *L, int idx)
{
	scm_client *c = luaL_checkudata(L, idx, SCM_CLIENT_MT);
	if (c->closed)
		luaL_error(L, "scm: the client is closed");
	if (left_parent(c) && (c->share = scm_share_new()) == NULL) {
		c->closed = 1;
		luaL_error(L, "scm: not enough memory for a client");
	}
	return c;
}

static void free_share(scm_client *c)
{
	if (c->share != NULL && c->users == 0) {
		curl_share_cleanup(c->share);
		c->share = NULL;
	}
}

void scm_client_close(scm_client *c)
{
	/* a child's exit collects the parent's clients too: hands off */
	left_parent(c);
	c->closed = 1;
	free_share(c);
}

void scm_client_retain(scm_client *c)
{
	c->users++;
}

void scm_client_release(scm_client *c)
{
	c->users--;
	if (c->closed)
		free_share(c);
}

void scm_client_options(lua_State *L, int client, int opts, int arg, scm_opts *o)
{
	scm_opts call;
	memset(o, 0, sizeof *o);
	memset(&call, 0, sizeof call);
	/* The defaults table stays reachable from the client's user value. */
	scm_getuservalue(L, client);
	scm_opts_read(L, lua_gettop(L), arg, o);
	lua_pop(L, 1);
	scm_opts_read(L, opts, arg, &call);
	scm_opts_merge(o, &call);
	lua_newtable(L); /* holds strings read from a credentials file */
	scm_opts_finish(L, arg, o, lua_gettop(L));
}

int scm_client_lookup(lua_State *L, scm_client *c, scm_opts *o, int holder)
{
	int n = scm_metadata_resolve(L, c->share, o, holder);
	return n != 0 ? n : scm_account_resolve(L, c->share, o, holder);
}

/* scm.credentials(opts) / client:credentials(opts): the credentials a call
 * with opts would use, from the options, the environment, the credentials
 * file and what the process has kept (account ids, ECS keys), with no
 * I/O: { token } or { ak, sk, security_token, domain_id } (domain_id
 * absent: to be looked up), or { credentials = "ecs", domain_id } (keys
 * absent: to be fetched). */
int scm_l_credentials(lua_State *L, int client, int opts, int arg)
{
	static const int IDS[] = {SCM_OPT_TOKEN, SCM_OPT_AK, SCM_OPT_SK,
				  SCM_OPT_SECURITY_TOKEN, SCM_OPT_DOMAIN_ID, SCM_OPT_CREDENTIALS};
	static const char *const NAMES[] = {"token", "ak", "sk", "security_token",
					    "domain_id", "credentials"};
	scm_opts o;
	char id[160];
	int k, holder;
	scm_client_options(L, client, opts, arg, &o);
	holder = lua_gettop(L);
	if (o.v[SCM_OPT_CREDENTIALS].set && !o.v[SCM_OPT_AK].set &&
	    scm_metadata_cached(L, &o)) {
		static const int KEY_IDS[] = {SCM_OPT_AK, SCM_OPT_SK, SCM_OPT_SECURITY_TOKEN};
		static const char *const KEY_NAMES[] = {"ak", "sk", "security_token"};
		for (k = 0; k < 3; k++) {
			scm_value *v = &o.v[KEY_IDS[k]];
			lua_getfield(L, -1, KEY_NAMES[k]);
			v->set = 1;
			v->s = lua_tolstring(L, -1, &v->len);
			lua_rawseti(L, holder, (int)lua_rawlen(L, holder) + 1);
		}
		lua_pop(L, 1);
	}
	if (o.v[SCM_OPT_AK].set && !o.v[SCM_OPT_DOMAIN_ID].set &&
	    scm_account_get(o.v[SCM_OPT_AK].s, o.v[SCM_OPT_AK].len, id, sizeof id)) {
		lua_pushstring(L, id);
		o.v[SCM_OPT_DOMAIN_ID].set = 1;
		o.v[SCM_OPT_DOMAIN_ID].s = lua_tolstring(L, -1, &o.v[SCM_OPT_DOMAIN_ID].len);
		lua_rawseti(L, holder, (int)lua_rawlen(L, holder) + 1);
	}
	lua_createtable(L, 0, 6);
	for (k = 0; k < 6; k++) {
		if (!o.v[IDS[k]].set)
			continue;
		lua_pushlstring(L, o.v[IDS[k]].s, o.v[IDS[k]].len);
		lua_setfield(L, -2, NAMES[k]);
	}
	return 1;
}
