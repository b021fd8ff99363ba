/* When a failed attempt is worth another, and how long to wait first:
 * network errors, timeouts, a cut-off body, a TLS handshake the network
 * broke, 429, 500, 502, 503 and 504 are retried, with exponential backoff
 * and full jitter, or after Retry-After when the server says (up to
 * MAX_RETRY_AFTER seconds; a longer one is returned at once). One rule for
 * both paths: the libcurl transfers (scm_retry_delay) and every other I/O
 * layer (scm.retry, plan:retry) come through scm_retry_decide. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "retry.h"

#define BACKOFF_BASE 0.25 /* seconds before the second attempt, at most */
#define BACKOFF_CAP 8.0
#define MAX_RETRY_AFTER 30.0

const char *const SCM_CAUSES[] = {"status", "network", "timeout", "truncated",
				  "handshake", "verify", "too_large", "malformed",
				  "decode", NULL};

static int retryable(int cause, long status)
{
	switch (cause) {
	case SCM_CAUSE_STATUS:
		return status == 429 || status == 500 || status == 502 ||
		       status == 503 || status == 504;
	case SCM_CAUSE_NETWORK:
	case SCM_CAUSE_TIMEOUT:
	case SCM_CAUSE_TRUNCATED:
	case SCM_CAUSE_HANDSHAKE:
		return 1;
	default: /* verification, too large, malformed, undecodable: the same again */
		return 0;
	}
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

double scm_retry_after(const char *v)
{
	const char *p = v, *end;
	double n = 0;
	time_t when;
	if (v == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return -1;
	/* delta-seconds: digits only (RFC 9110); any number of them, so a
	 * value too large to hold is huge, never misread */
	for (end = p; *end >= '0' && *end <= '9'; end++)
		if (n < 1e15)
			n = n * 10 + (*end - '0');
	if (end != p) {
		while (*end == ' ' || *end == '\t')
			end++;
		return *end == '\0' ? n : -1;
	}
	if (strlen(p) < 20) /* an HTTP date is longer: "nan", "-5", "1e999" */
		return -1;
	when = curl_getdate(p, NULL);
	if (when == (time_t)-1)
		return -1;
	return difftime(when, time(NULL)) < 0 ? 0 : difftime(when, time(NULL));
}

int scm_retry_decide(int cause, long status, const char *retry_after, int attempt,
		     double *delay)
{
	double ceiling, after;
	if (!retryable(cause, status))
		return 0;
	after = cause == SCM_CAUSE_STATUS ? scm_retry_after(retry_after) : -1;
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

int scm_response_cause(const scm_response *r)
{
	if (r->too_large || r->oom || r->headers_too_large)
		return SCM_CAUSE_TOO_LARGE;
	switch (r->code) {
	case CURLE_OK:
		return SCM_CAUSE_STATUS;
	case CURLE_OPERATION_TIMEDOUT:
		return SCM_CAUSE_TIMEOUT;
	case CURLE_PARTIAL_FILE:
		return SCM_CAUSE_TRUNCATED;
	case CURLE_SSL_CONNECT_ERROR: /* a handshake the network broke */
		return SCM_CAUSE_HANDSHAKE;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
		return SCM_CAUSE_MALFORMED;
	default:
		return scm_transport_kind(r->code) == SCM_KIND_TLS ? SCM_CAUSE_VERIFY
								   : SCM_CAUSE_NETWORK;
	}
}

int scm_retry_delay(const scm_response *r, int attempt, double *delay)
{
	return scm_retry_decide(scm_response_cause(r), r->status, r->retry_after, attempt,
				delay);
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
