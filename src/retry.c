/* When a failed attempt is worth another, and how long to wait first:
 * network errors, timeouts, 429, 500, 502, 503 and 504 are retried, with
 * exponential backoff and full jitter, or after Retry-After when the
 * server says (up to MAX_RETRY_AFTER seconds). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scm.h"

#define BACKOFF_BASE 0.25 /* seconds before the second attempt, at most */
#define BACKOFF_CAP 8.0
#define MAX_RETRY_AFTER 30.0

static int retryable(const scm_response *r)
{
	if (r->too_large || r->oom || r->bad_headers)
		return 0;
	if (r->code == CURLE_OK)
		return r->status == 429 || r->status == 500 || r->status == 502 ||
		       r->status == 503 || r->status == 504;
	/* a cut-off body, every err kind "network" and "timeout"; and a TLS
	 * handshake the network broke, not one that failed verification */
	return r->code == CURLE_PARTIAL_FILE || r->code == CURLE_SSL_CONNECT_ERROR ||
	       strcmp(scm_transport_kind(r->code), "tls") != 0;
}

/* A small generator for the jitter: nothing here needs to be secret. */
static double uniform(void)
{
	static unsigned long long state;
	if (state == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		state = ((unsigned long long)ts.tv_nsec << 20) ^ (unsigned long long)ts.tv_sec ^
			(unsigned long long)(size_t)&ts;
		if (state == 0)
			state = 88172645463325252ULL;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (double)(state >> 11) / 9007199254740992.0;
}

/* Retry-After: delta seconds or an HTTP date; -1 when absent or unusable. */
static double retry_after(const char *v)
{
	char *end;
	long n;
	time_t when;
	if (v[0] == '\0')
		return -1;
	errno = 0;
	n = strtol(v, &end, 10);
	if (end != v && *end == '\0')
		/* too large for a long: far over any wait worth making */
		return errno == ERANGE ? (n < 0 ? 0 : 1e300) : n < 0 ? 0 : (double)n;
	when = curl_getdate(v, NULL);
	if (when == (time_t)-1)
		return -1;
	return difftime(when, time(NULL)) < 0 ? 0 : difftime(when, time(NULL));
}

int scm_retry_delay(const scm_response *r, int attempt, double *delay)
{
	double ceiling, after;
	if (!retryable(r))
		return 0;
	after = retry_after(r->retry_after);
	if (after >= 0) {
		if (after > MAX_RETRY_AFTER)
			return 0; /* the server will not take an answer sooner */
		*delay = after;
		return 1;
	}
	ceiling = BACKOFF_BASE;
	while (attempt-- > 0 && ceiling < BACKOFF_CAP)
		ceiling *= 2;
	if (ceiling > BACKOFF_CAP)
		ceiling = BACKOFF_CAP;
	*delay = uniform() * ceiling;
	return 1;
}

double scm_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void scm_sleep(double seconds)
{
	struct timespec ts;
	if (seconds <= 0)
		return;
	ts.tv_sec = (time_t)seconds;
	ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}
