/* plan.h: the listing plan and the rules of a listing (page size, offsets,
 * when to stop, ids handed out), I/O-free. iterate.c (libcurl) and
 * scm.plan (any other I/O, scm.resty's cosockets) both follow them. */
#ifndef SCM_PLAN_H
#define SCM_PLAN_H

#include <stdint.h>

#include "options.h"

#define SCM_PLAN_MT "scm.plan"

/* Ids already handed out, as 64-bit hashes: a few bytes per certificate,
 * where a table of id strings would keep every string alive. */
typedef struct scm_seen {
	uint64_t *keys; /* 0: empty */
	size_t cap, count;
} scm_seen;

typedef struct scm_listing {
	lua_Integer limit;       /* page size */
	lua_Integer start;       /* offset of the first page */
	lua_Integer next_offset; /* of the next page to request */
	lua_Integer total;       /* total_count of the last page, -1 before the first */
	lua_Integer first_total; /* of the first page, -1 before it */
	lua_Integer requested;   /* pages requested */
	lua_Integer accepted;    /* pages handed out */
	int last;                /* no page will follow those requested */
	scm_seen seen;
} scm_listing;

/* What a page means for the listing. */
enum { SCM_LISTING_MORE, SCM_LISTING_DONE, SCM_LISTING_ENDLESS, SCM_LISTING_NOMEM };

/* Page size (limit, default SCM_DEFAULT_PAGE_SIZE) and the start (offset). */
void scm_listing_init(scm_listing *l, const scm_opts *o);
void scm_listing_free(scm_listing *l);
/* 1 and the offset when one more page should be requested (before the
 * first page is known, only that one); 0 when not. */
int scm_listing_next(scm_listing *l, lua_Integer *offset);
/* The paging rule: the offset of the page after the one at offset (the
 * API's offset counts records). */
lua_Integer scm_listing_step(const scm_listing *l, lua_Integer offset);
/* THE rule for a decoded page (the table at idx, as scm_push_result gives
 * it): drops from its certificates, in place, every one whose id was
 * handed out before (string and integer ids), then says whether the
 * listing goes on, is done, or does not end (a full page without a new
 * id, or more pages than the first total_count allows plus slack). On
 * SCM_LISTING_ENDLESS an err is pushed. */
int scm_listing_accept(lua_State *L, scm_listing *l, int idx, const scm_opts *o);

/* scm.plan / client:plan: the plan userdata. */
int scm_l_plan(lua_State *L, int client, int opts, int arg);
/* scm.retry(what, attempt[, retry_after]) */
int scm_l_retry(lua_State *L);
void scm_plan_init(lua_State *L);

#endif
