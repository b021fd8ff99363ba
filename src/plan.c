/* The listing plan: everything an I/O layer needs to list certificates
 * the way the module does, without doing any I/O. A plan holds the
 * validated options with the credentials resolved once, builds the signed
 * request of any page, says which offsets to request and when to stop,
 * drops the certificates already handed out, and decides retries (through
 * retry.c). iterate.c follows the same scm_listing rules over libcurl;
 * scm.resty follows them through scm.plan over nginx's cosockets. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "plan.h"
#include "request.h"
#include "retry.h"

/* ---- ids handed out ------------------------------------------------------ */

static uint64_t hash_bytes(uint64_t h, const unsigned char *s, size_t len)
{
	size_t i;
	for (i = 0; i < len; i++) { /* FNV-1a */
		h ^= s[i];
		h *= 1099511628211ULL;
	}
	return h;
}

static uint64_t finish(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1;
}

/* Adds key; returns 1 when it was new, 0 when seen before, -1 on no memory. */
static int seen_add(scm_seen *s, uint64_t key)
{
	size_t i;
	if (2 * (s->count + 1) > s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 256, j;
		uint64_t *keys = calloc(cap, sizeof *keys);
		if (keys == NULL)
			return -1;
		for (j = 0; j < s->cap; j++) {
			if (s->keys[j] == 0)
				continue;
			for (i = (size_t)(s->keys[j] & (cap - 1)); keys[i] != 0; i = (i + 1) & (cap - 1))
				;
			keys[i] = s->keys[j];
		}
		free(s->keys);
		s->keys = keys;
		s->cap = cap;
	}
	for (i = (size_t)(key & (s->cap - 1)); s->keys[i] != 0; i = (i + 1) & (s->cap - 1))
		if (s->keys[i] == key)
			return 0;
	s->keys[i] = key;
	s->count++;
	return 1;
}

/* The certificate at the top: 1 when its id is new (or it has none that
 * can be compared), 0 when handed out before, -1 on no memory. A string
 * and an integer never match each other ("5" is not 5). */
static int fresh_id(lua_State *L, scm_listing *l)
{
	uint64_t h = 1469598103934665603ULL;
	int t, r = 1;
	lua_getfield(L, -1, "id");
	t = lua_type(L, -1);
	if (t == LUA_TSTRING) {
		size_t len;
		const char *id = lua_tolstring(L, -1, &len);
		r = seen_add(&l->seen, finish(hash_bytes(h ^ 's', (const unsigned char *)id, len)));
	} else if (t == LUA_TNUMBER) {
		lua_Integer i;
		if (scm_tointeger(L, -1, &i)) {
			unsigned char k[sizeof i];
			memcpy(k, &i, sizeof i);
			r = seen_add(&l->seen, finish(hash_bytes(h ^ 'i', k, sizeof k)));
		} else {
			lua_Number n = lua_tonumber(L, -1);
			unsigned char b[sizeof n];
			memcpy(b, &n, sizeof n);
			r = seen_add(&l->seen, finish(hash_bytes(h ^ 'n', b, sizeof b)));
		}
	} else if (t == LUA_TBOOLEAN) {
		unsigned char b = (unsigned char)lua_toboolean(L, -1);
		r = seen_add(&l->seen, finish(hash_bytes(h ^ 'b', &b, 1)));
	}
	lua_pop(L, 1);
	return r;
}

/* ---- the rules of a listing ------------------------------------------------ */

void scm_listing_init(scm_listing *l, const scm_opts *o)
{
	memset(l, 0, sizeof *l);
	l->limit = scm_opt_int(o, SCM_OPT_LIMIT, SCM_DEFAULT_PAGE_SIZE);
	l->start = l->next_offset = scm_opt_int(o, SCM_OPT_OFFSET, 0);
	l->total = l->first_total = -1;
}

void scm_listing_free(scm_listing *l)
{
	free(l->seen.keys);
	l->seen.keys = NULL;
	l->seen.cap = l->seen.count = 0;
}

lua_Integer scm_listing_step(const scm_listing *l, lua_Integer offset)
{
	/* The API's offset counts records to skip (Huawei's own paginating
	 * tools step it by limit), so the next page starts at offset+limit. */
	return offset + l->limit;
}

/* Pages the first total_count allows, plus one in sixteen and one more
 * for pages that shift while certificates are added or removed during the
 * listing. */
static lua_Integer pages_allowed(const scm_listing *l)
{
	lua_Integer records = l->first_total - l->start, pages;
	if (records < 0)
		records = 0;
	pages = records / l->limit + (records % l->limit != 0);
	return pages + pages / 16 + 1;
}

int scm_listing_next(scm_listing *l, lua_Integer *offset)
{
	if (l->last)
		return 0;
	if (l->total < 0 ? l->requested > 0 : l->next_offset >= l->total)
		return 0; /* the first page tells how many there are */
	if (l->requested >= pages_allowed(l))
		return 0; /* the last page allowed says whether it ends (accept) */
	*offset = l->next_offset;
	l->next_offset = scm_listing_step(l, l->next_offset);
	l->requested++;
	return 1;
}

int scm_listing_accept(lua_State *L, scm_listing *l, int idx, const scm_opts *o)
{
	lua_Integer total = 0, n, i, kept = 0;
	char msg[200];
	idx = scm_absindex(L, idx);
	lua_getfield(L, idx, "total_count");
	scm_tointeger(L, -1, &total);
	lua_pop(L, 1);
	lua_getfield(L, idx, "certificates");
	n = (lua_Integer)lua_rawlen(L, -1);
	for (i = 1; i <= n; i++) {
		int fresh;
		lua_rawgeti(L, -1, (int)i);
		fresh = fresh_id(L, l);
		if (fresh < 0) {
			lua_pop(L, 2);
			return SCM_LISTING_NOMEM;
		}
		if (fresh)
			lua_rawseti(L, -2, (int)++kept);
		else
			lua_pop(L, 1);
	}
	for (i = kept + 1; i <= n; i++) {
		lua_pushnil(L);
		lua_rawseti(L, -2, (int)i);
	}
	lua_pop(L, 1);
	l->accepted++;
	if (l->first_total < 0)
		l->first_total = total;
	l->total = total;
	/* A short or empty page is the last, whatever total_count says. */
	if (n < l->limit) {
		l->last = 1;
		return SCM_LISTING_DONE;
	}
	msg[0] = '\0';
	if (kept == 0)
		snprintf(msg, sizeof msg, "the listing does not end: page %lld brought no new "
			 "certificate", (long long)l->accepted);
	else if (l->accepted >= pages_allowed(l) && l->start + l->accepted * l->limit < total)
		snprintf(msg, sizeof msg, "the listing does not end: total_count went from %lld "
			 "to %lld; stopped after %lld pages of %lld", (long long)l->first_total,
			 (long long)total, (long long)l->accepted, (long long)l->limit);
	if (msg[0] != '\0') {
		l->last = 1;
		scm_push_error(L, SCM_KIND_DECODE, 0, NULL, 0, msg, NULL, o);
		return SCM_LISTING_ENDLESS;
	}
	return SCM_LISTING_MORE;
}

/* ---- scm.plan: the Lua face ------------------------------------------------ */

typedef struct scm_plan {
	scm_opts o;
	scm_listing listing;
	scm_transfer t; /* builds requests; never performed */
	int retries;
} scm_plan;

static scm_plan *check_plan(lua_State *L)
{
	return luaL_checkudata(L, 1, SCM_PLAN_MT);
}

static int plan_gc(lua_State *L)
{
	scm_plan *p = check_plan(L);
	scm_listing_free(&p->listing);
	scm_transfer_free(&p->t);
	return 0;
}

/* plan:request([offset]): the request of the page at offset (limit set to
 * the page size), or without offset the one list sends; signed now. */
static int plan_request(lua_State *L)
{
	scm_plan *p = check_plan(L);
	scm_opts o = p->o;
	if (!lua_isnoneornil(L, 2)) {
		lua_Integer offset;
		luaL_argcheck(L, scm_tointeger(L, 2, &offset) && offset >= 0, 2,
			      "offset must be an integer >= 0");
		o.v[SCM_OPT_OFFSET].set = 1;
		o.v[SCM_OPT_OFFSET].i = offset;
		o.v[SCM_OPT_LIMIT].set = 1;
		o.v[SCM_OPT_LIMIT].i = p->listing.limit;
	}
	/* the option strings stay reachable from the user value */
	if (scm_transfer_setup(&p->t, NULL, &o) != 0) {
		scm_transfer_clear(&p->t);
		return luaL_error(L, "scm: not enough memory for the request");
	}
	scm_push_request(L, &p->t, &o);
	scm_transfer_forget_request(&p->t); /* the headers held the credentials */
	return 1;
}

/* plan:next(): the offset of the next page to request now, or nil. */
static int plan_next(lua_State *L)
{
	scm_plan *p = check_plan(L);
	lua_Integer offset;
	if (!scm_listing_next(&p->listing, &offset))
		return 0;
	lua_pushinteger(L, offset);
	return 1;
}

/* plan:page(page): drops the certificates handed out before; "more" or
 * "done", or nil and an err when the listing does not end. */
static int plan_page(lua_State *L)
{
	scm_plan *p = check_plan(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	switch (scm_listing_accept(L, &p->listing, 2, &p->o)) {
	case SCM_LISTING_MORE:
		lua_pushliteral(L, "more");
		return 1;
	case SCM_LISTING_DONE:
		lua_pushliteral(L, "done");
		return 1;
	case SCM_LISTING_ENDLESS:
		lua_pushnil(L);
		lua_insert(L, -2);
		return 2;
	default:
		return luaL_error(L, "scm: not enough memory");
	}
}

/* The cause (a status or a name of SCM_CAUSES) at idx. */
static int check_cause(lua_State *L, int idx, long *status)
{
	lua_Integer s;
	*status = 0;
	if (lua_type(L, idx) == LUA_TNUMBER) {
		luaL_argcheck(L, scm_tointeger(L, idx, &s) && s >= 100 && s <= 999, idx,
			      "status must be an HTTP status code");
		*status = (long)s;
		return SCM_CAUSE_STATUS;
	}
	return luaL_checkoption(L, idx, NULL, SCM_CAUSES);
}

/* what, attempt (attempts made, >= 1), retry_after, retries: delay, or
 * nil and why not. */
static int retry(lua_State *L, int what, lua_Integer retries)
{
	long status;
	int cause = check_cause(L, what, &status);
	lua_Integer attempt;
	const char *after = luaL_optstring(L, what + 2, NULL);
	double delay;
	luaL_argcheck(L, scm_tointeger(L, what + 1, &attempt) && attempt >= 1, what + 1,
		      "attempt must be an integer >= 1");
	if (attempt > retries) {
		lua_pushnil(L);
		lua_pushliteral(L, "no retries left");
		return 2;
	}
	if (!scm_retry_decide(cause, status, after, (int)(attempt > 1000 ? 1000 : attempt - 1),
			      &delay)) {
		lua_pushnil(L);
		lua_pushstring(L, scm_retry_after(after) > 0 && cause == SCM_CAUSE_STATUS
					  ? "Retry-After is too long"
					  : "not worth another attempt");
		return 2;
	}
	lua_pushnumber(L, delay);
	return 1;
}

/* plan:retry(what, attempt[, retry_after]) */
static int plan_retry(lua_State *L)
{
	scm_plan *p = check_plan(L);
	return retry(L, 2, p->retries);
}

/* scm.retry(what, attempt[, retry_after]): the rule alone, no limit on
 * attempts (compare attempt with retries yourself). */
int scm_l_retry(lua_State *L)
{
	return retry(L, 1, (lua_Integer)1 << 30);
}

int scm_l_plan(lua_State *L, int client, int opts, int arg)
{
	scm_plan *p;
	int copy;
	scm_client_check(L, client);
	if (!lua_isnoneornil(L, opts))
		luaL_checktype(L, opts, LUA_TTABLE);
	p = lua_newuserdata(L, sizeof *p);
	memset(p, 0, sizeof *p);
	luaL_setmetatable(L, SCM_PLAN_MT);
	/* The user value keeps a private copy of the options and the strings
	 * read from a credentials file: the option strings are read in place,
	 * and credentials are resolved once, here. */
	lua_createtable(L, 2, 0);
	scm_copy_table(L, opts);
	copy = lua_gettop(L);
	scm_client_options(L, client, copy, arg, &p->o);
	lua_rawseti(L, -3, 2);
	lua_rawseti(L, -2, 1);
	scm_setuservalue(L, -2);
	scm_listing_init(&p->listing, &p->o);
	p->retries = scm_opt_retries(&p->o);
	return 1;
}

void scm_plan_init(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"request", plan_request},
		{"next", plan_next},
		{"page", plan_page},
		{"retry", plan_retry},
		{NULL, NULL}};
	if (luaL_newmetatable(L, SCM_PLAN_MT)) {
		lua_pushcfunction(L, plan_gc);
		lua_setfield(L, -2, "__gc");
		luaL_newlib(L, methods);
		lua_setfield(L, -2, "__index");
	}
	lua_pop(L, 1);
}
