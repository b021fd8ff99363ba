/* Every certificate across pages; and scm.list, one page over the same
 * driver (transfers, retries, deadline). The first page tells total_count; from
 * then on every offset is known, so up to `concurrency` pages are fetched
 * side by side through libcurl's multi interface, over the client's pooled
 * connections, and handed out in the server's order. */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client.h"
#include "decode.h"
#include "iterate.h"
#include "plan.h"
#include "retry.h"

/* Slots of the iterator's user value table. */
enum { UV_CLIENT = 1, UV_OPTS, UV_HOLDER, UV_PAGE };

enum { SLOT_IDLE, SLOT_RUNNING, SLOT_WAITING, SLOT_DONE };

typedef struct page_slot {
	scm_transfer t; /* first: CURLINFO_PRIVATE points at it */
	int state;
	int attempts;
	lua_Integer offset;
	double retry_at; /* SLOT_WAITING: when to try again (scm_now) */
} page_slot;

typedef struct scm_iter {
	scm_client *client;
	CURLM *multi;
	scm_opts o;
	int nslots; /* concurrency: the slots that follow */
	int head;   /* slot of the next page to hand out */
	int queued; /* pages requested and not yet handed out */
	int retries;
	double deadline;      /* scm_now() by which the listing ends; 0: none */
	scm_listing listing;  /* offsets, when to stop, ids handed out (plan.c) */
	int pos, count;       /* position in the current page */
	int closed;
	int one_page; /* scm.list: the offset and limit as the caller gave them */
	pid_t pid;    /* the process its transfers belong to */
	page_slot slots[]; /* nslots of them: one for scm.list */
} scm_iter;

/* ---- transfers ----------------------------------------------------------- */

static page_slot *slot_at(scm_iter *it, int k)
{
	return &it->slots[(it->head + k) % it->nslots];
}

/* Stops every transfer and frees every handle; safe to call again. In a
 * child of fork() the handles are the parent's: left untouched (client.c
 * says why). */
static void iter_close(scm_iter *it)
{
	int k;
	if (it->closed)
		return;
	it->closed = 1;
	if (it->pid != getpid()) {
		for (k = 0; k < it->nslots; k++) {
			scm_abandon(it->slots[k].t.easy);
			it->slots[k].t.easy = NULL;
		}
		scm_abandon(it->multi);
		it->multi = NULL;
	}
	for (k = 0; k < it->nslots; k++) {
		page_slot *s = &it->slots[k];
		if (s->state == SLOT_RUNNING)
			curl_multi_remove_handle(it->multi, s->t.easy);
		s->state = SLOT_IDLE;
		scm_transfer_free(&s->t);
	}
	if (it->multi != NULL) {
		curl_multi_cleanup(it->multi);
		it->multi = NULL;
	}
	scm_listing_free(&it->listing);
	if (it->client != NULL) {
		scm_client_release(it->client);
		it->client = NULL;
	}
}

/* Starts (or starts again) the transfer of slot s's page. Returns 0, or
 * -1 when out of memory. */
static int start(scm_iter *it, page_slot *s)
{
	scm_opts o = it->o;
	if (!it->one_page) {
		o.v[SCM_OPT_OFFSET].set = 1;
		o.v[SCM_OPT_OFFSET].i = s->offset;
	}
	if (it->deadline > 0) /* an attempt gets at most what is left */
		scm_cap_timeout(&o, it->deadline - scm_now());
	if (scm_transfer_setup(&s->t, it->client->share, &o) != 0 ||
	    curl_multi_add_handle(it->multi, s->t.easy) != CURLM_OK) {
		scm_transfer_clear(&s->t);
		s->state = SLOT_IDLE;
		return -1;
	}
	s->state = SLOT_RUNNING;
	s->attempts++;
	return 0;
}

/* Requests the next page the listing wants into the next free slot;
 * returns 0 when there is none (or no free slot). */
static int launch(lua_State *L, scm_iter *it)
{
	page_slot *s;
	lua_Integer offset;
	if (it->queued >= it->nslots || !scm_listing_next(&it->listing, &offset))
		return 0;
	s = slot_at(it, it->queued);
	s->offset = offset;
	s->attempts = 0;
	if (start(it, s) != 0) {
		iter_close(it);
		luaL_error(L, "scm: not enough memory for the request");
	}
	it->queued++;
	return 1;
}

/* A transfer ended: done, or waiting to be tried again. */
static void finished(scm_iter *it, page_slot *s, CURLcode code)
{
	double delay;
	scm_transfer_ended(&s->t, code);
	curl_multi_remove_handle(it->multi, s->t.easy);
	scm_transfer_forget_request(&s->t); /* its headers held the credentials */
	if (s->attempts <= it->retries &&
	    scm_retry_delay(&s->t.res, s->attempts - 1, &delay) &&
	    (it->deadline <= 0 || scm_now() + delay < it->deadline)) {
		s->state = SLOT_WAITING;
		s->retry_at = scm_now() + delay;
	} else {
		s->state = SLOT_DONE;
	}
}

/* Drives every transfer, and the retries that are due, until the head
 * page is done. Returns 0, or -1 when out of memory. */
static int wait_head(scm_iter *it)
{
	page_slot *head = slot_at(it, 0);
	while (head->state != SLOT_DONE) {
		int running, left, k;
		long wait_ms = 1000;
		double now = scm_now();
		CURLMsg *m;
		for (k = 0; k < it->queued; k++) {
			page_slot *s = slot_at(it, k);
			if (s->state != SLOT_WAITING)
				continue;
			if (s->retry_at <= now) {
				if (start(it, s) != 0)
					return -1;
			} else if ((s->retry_at - now) * 1000 < wait_ms) {
				wait_ms = (long)((s->retry_at - now) * 1000) + 1;
			}
		}
		curl_multi_perform(it->multi, &running);
		while ((m = curl_multi_info_read(it->multi, &left)) != NULL) {
			scm_transfer *t = NULL;
			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&t);
			finished(it, (page_slot *)t, m->data.result);
		}
		if (head->state != SLOT_DONE)
			curl_multi_poll(it->multi, NULL, 0, (int)wait_ms, NULL);
	}
	return 0;
}

/* Pushes the next page's certificates (returns 1); returns 0 at the end,
 * or -1 with an err pushed. */
static int next_page(lua_State *L, scm_iter *it)
{
	page_slot *head;
	int n, r;

	if (it->queued == 0 && !launch(L, it))
		return 0;
	if (wait_head(it) != 0) {
		iter_close(it);
		return luaL_error(L, "scm: not enough memory for the request");
	}
	head = slot_at(it, 0);
	n = scm_push_result(L, &head->t, &it->o, head->attempts);
	scm_transfer_clear(&head->t);
	head->state = SLOT_IDLE;
	it->head = (it->head + 1) % it->nslots;
	it->queued--;
	if (n == 2) {
		lua_remove(L, -2); /* the nil */
		return -1;
	}
	/* the listing's rule: ids handed out before go, and whether it ends */
	r = scm_listing_accept(L, &it->listing, -1, &it->o);
	if (r == SCM_LISTING_NOMEM) {
		iter_close(it);
		return luaL_error(L, "scm: not enough memory");
	}
	if (r == SCM_LISTING_ENDLESS) {
		lua_remove(L, -2); /* the page */
		return -1;
	}
	lua_getfield(L, -1, "certificates");
	lua_remove(L, -2);
	it->count = (int)lua_rawlen(L, -1);
	it->pos = 0;
	if (r == SCM_LISTING_DONE) { /* pages after the last are not wanted */
		int k;
		for (k = 0; k < it->queued; k++) {
			page_slot *s = slot_at(it, k);
			if (s->state == SLOT_RUNNING)
				curl_multi_remove_handle(it->multi, s->t.easy);
			scm_transfer_clear(&s->t);
			s->state = SLOT_IDLE;
		}
		it->queued = 0;
	}
	while (launch(L, it))
		;
	/* Send the new requests now, without waiting: the pages come in
	 * while the caller works through this one. */
	if (it->queued > 0) {
		int running;
		curl_multi_perform(it->multi, &running);
	}
	return 1;
}

/* ---- the Lua face ---------------------------------------------------------- */

/* Pushes a closed iterator with nslots transfer slots and the options o:
 * its __gc stops and frees whatever it holds once it is opened, if a
 * raise comes first. */
static scm_iter *iter_push(lua_State *L, int nslots, const scm_opts *o)
{
	size_t size = sizeof(scm_iter) + (size_t)nslots * sizeof(page_slot);
	scm_iter *it = lua_newuserdata(L, size);
	memset(it, 0, size);
	it->closed = 1;
	it->nslots = nslots;
	it->o = *o;
	luaL_setmetatable(L, SCM_ITER_MT);
	return it;
}

/* Opens the iterator on client c with its options read: the deadline,
 * retries, the multi handle. Raises when out of memory. */
static void iter_open(lua_State *L, scm_iter *it, scm_client *c)
{
	int k;
	if (it->o.v[SCM_OPT_DEADLINE].set)
		it->deadline = scm_now() + it->o.v[SCM_OPT_DEADLINE].n;
	it->retries = scm_opt_retries(&it->o);
	it->pid = getpid();
	it->multi = scm_multi_new();
	if (it->multi == NULL)
		luaL_error(L, "scm: not enough memory for a listing");
	for (k = 0; k < it->nslots; k++)
		it->slots[k].state = SLOT_IDLE;
	it->client = c;
	scm_client_retain(c);
	it->closed = 0;
}

int scm_list(lua_State *L, int client, int opts, int arg)
{
	scm_client *c = scm_client_check(L, client);
	scm_iter *it;
	scm_opts o;
	page_slot *s;
	int n;
	/* the options are read in place: nothing outlives the call */
	scm_client_options(L, client, opts, arg, &o);
	if (scm_client_lookup(L, c, &o, lua_gettop(L)) != 0)
		return 2; /* nil, err: no account id or ECS keys */
	it = iter_push(L, 1, &o);
	it->one_page = 1;
	iter_open(L, it, c);
	s = slot_at(it, 0);
	if (start(it, s) != 0) {
		iter_close(it);
		return luaL_error(L, "scm: not enough memory for the request");
	}
	it->queued = 1;
	if (wait_head(it) != 0) {
		iter_close(it);
		return luaL_error(L, "scm: not enough memory for the request");
	}
	/* the request headers (credentials) are wiped by now: decoding may
	 * raise, and then the iterator's __gc frees the rest */
	n = scm_push_result(L, &s->t, &it->o, s->attempts);
	iter_close(it);
	return n;
}

static scm_iter *check_iter(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, SCM_ITER_MT);
}

/* Pushes the next certificate not handed out before (1), or nothing at the
 * end (0); on failure pushes err and returns -1. The page being handed out
 * is kept in the user value. */
static int next_cert(lua_State *L, scm_iter *it, int iter_idx)
{
	for (;;) {
		if (it->closed) /* at the end, or closed early: nothing more */
			return 0;
		if (it->pid != getpid()) {
			iter_close(it);
			luaL_error(L, "scm: a listing started before fork() cannot go on in the child");
		}
		if (it->pos < it->count) {
			scm_getuservalue(L, iter_idx);
			lua_rawgeti(L, -1, UV_PAGE);
			lua_rawgeti(L, -1, ++it->pos);
			lua_replace(L, -3);
			lua_pop(L, 1);
			return 1;
		}
		switch (next_page(L, it)) {
		case 0:
			iter_close(it);
			return 0;
		case -1:
			iter_close(it);
			return -1;
		}
		scm_getuservalue(L, iter_idx);
		lua_insert(L, -2);
		lua_rawseti(L, -2, UV_PAGE);
		lua_pop(L, 1);
	}
}

/* The iterator's __call: it(state, control), as a generic for calls it. */
static int iter_call(lua_State *L)
{
	scm_iter *it = check_iter(L, 1);
	lua_settop(L, 1);
	switch (next_cert(L, it, 1)) {
	case 1:
		return 1;
	case -1:
		return lua_error(L); /* each raises the err table */
	default:
		lua_pushnil(L);
		return 1;
	}
}

/* What scm.each returns first: a closure over the iterator, called by a
 * generic for with (state, control) or by hand with nothing, as
 * string.gmatch's and io.lines' are; the arguments are ignored. */
static int iter_next(lua_State *L)
{
	lua_settop(L, 0);
	lua_pushvalue(L, lua_upvalueindex(1));
	return iter_call(L);
}

static int iter_gc(lua_State *L)
{
	iter_close(check_iter(L, 1));
	return 0;
}

/* Pushes a new iterator over the client at index client with the options
 * at index opts. */
static scm_iter *iter_new(lua_State *L, int client, int opts, int arg)
{
	scm_client *c = scm_client_check(L, client);
	scm_iter *it;
	scm_opts o;
	int copy;

	if (!lua_isnoneornil(L, opts))
		luaL_checktype(L, opts, LUA_TTABLE);
	/* The user value keeps the client and a private copy of the options
	 * alive: the option strings are read in place. */
	lua_createtable(L, 4, 0);
	lua_pushvalue(L, client);
	lua_rawseti(L, -2, UV_CLIENT);
	scm_copy_table(L, opts);
	copy = lua_gettop(L);
	scm_client_options(L, client, copy, arg, &o);
	/* the account id (and ECS keys) once, before any page */
	if (scm_client_lookup(L, c, &o, lua_gettop(L)) != 0)
		return NULL; /* nil, err on the stack */
	lua_rawseti(L, -3, UV_HOLDER);
	lua_rawseti(L, -2, UV_OPTS);
	it = iter_push(L, (int)scm_opt_int(&o, SCM_OPT_CONCURRENCY, SCM_DEFAULT_CONCURRENCY), &o);
	lua_insert(L, -2);
	scm_setuservalue(L, -2);

	scm_listing_init(&it->listing, &it->o);
	it->o.v[SCM_OPT_LIMIT].set = 1;
	it->o.v[SCM_OPT_LIMIT].i = it->listing.limit;
	iter_open(L, it, c);
	return it;
}

int scm_each(lua_State *L, int client, int opts, int arg)
{
	if (iter_new(L, client, opts, arg) == NULL)
		return lua_error(L); /* each raises the err table */
	lua_pushvalue(L, -1);
	lua_pushcclosure(L, iter_next, 1);
	lua_pushnil(L);
	lua_pushnil(L);
	lua_pushvalue(L, -4); /* to-be-closed value of a 5.4 generic for */
	return 4;             /* next, nil, nil, the iterator */
}

/* The certificates the first page's total_count announces from the
 * listing's offset, as an array size; a server's total_count can be
 * anything, so at most PRESIZE_MAX (the array grows beyond it). */
#define PRESIZE_MAX 65536
static int presize(const scm_iter *it)
{
	lua_Integer n = it->listing.total - it->listing.start;
	return n <= 0 ? 0 : n > PRESIZE_MAX ? PRESIZE_MAX : (int)n;
}

int scm_all(lua_State *L, int client, int opts, int arg)
{
	scm_iter *it = iter_new(L, client, opts, arg);
	int iter = lua_gettop(L);
	int r;
	if (it == NULL)
		return 2; /* nil, err */
	/* The array is made once the first page tells how many there are:
	 * sized for them at once, it does not grow by doubling. */
	r = next_cert(L, it, iter);
	lua_createtable(L, r == 1 ? presize(it) : 0, 1);
	if (r == 1) {
		int n = 1;
		lua_insert(L, -2);
		lua_rawseti(L, iter + 1, n);
		while ((r = next_cert(L, it, iter)) == 1)
			lua_rawseti(L, iter + 1, ++n);
	}
	if (r < 0) {
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	}
	lua_pushinteger(L, it->listing.total >= 0 ? it->listing.total : 0);
	lua_setfield(L, iter + 1, "total_count");
	return 1;
}

void scm_iterate_init(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__call", iter_call},
		{"__gc", iter_gc},
		{"__close", iter_gc},
		{NULL, NULL}};
	if (luaL_newmetatable(L, SCM_ITER_MT))
		luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
}
