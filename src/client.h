/* client.h: a client (scm.new): its connection pool, its defaults, and
 * the credential lookups made over it. */
#ifndef SCM_CLIENT_H
#define SCM_CLIENT_H

#include "transport.h"

#define SCM_CLIENT_MT "scm.client"

#include <sys/types.h>

typedef struct scm_client {
	CURLSH *share;      /* connections, DNS and TLS sessions */
	pid_t pid;          /* the process the share's connections belong to */
	int users;          /* listings still using the share */
	int closed;
} scm_client;

/* Pushes a new client whose defaults are a copy of the table at index
 * defaults (0: none). */
scm_client *scm_client_new(lua_State *L, int defaults);
/* Keeps p (a libcurl handle that belongs to the parent of a fork) out of
 * reach of any cleanup, for good: see client.c. */
void scm_abandon(void *p);
/* The open client at idx; raises when it is not one or is closed. In a
 * child of fork() it first leaves the parent's connections behind. */
scm_client *scm_client_check(lua_State *L, int idx);
/* Frees what the client holds; safe to call more than once. The share
 * outlives the close while a listing still uses it. */
void scm_client_close(scm_client *c);
/* A listing starts / stops using the client's share. */
void scm_client_retain(scm_client *c);
void scm_client_release(scm_client *c);
/* The client's defaults with the call's options (table at index opts)
 * laid over them, validated and resolved; raises as argument arg. Pushes
 * a table that keeps strings o points to alive: keep it while o is used. */
void scm_client_options(lua_State *L, int client, int opts, int arg, scm_opts *o);

/* The libcurl path's credential lookups for o (ECS keys, then the account
 * id), over the client's connections; their strings go into the table at
 * holder. Returns 0, or 2 with nil and an err pushed. */
int scm_client_lookup(lua_State *L, scm_client *c, scm_opts *o, int holder);
int scm_l_credentials(lua_State *L, int client, int opts, int arg);

#endif
