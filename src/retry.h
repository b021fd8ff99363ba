/* retry.h: which failures are tried again, and when; the clock. */
#ifndef SCM_RETRY_H
#define SCM_RETRY_H

#include "transport.h"

/* What went wrong with an attempt, as far as retrying goes; the names
 * (SCM_CAUSES, in this order) are what scm.retry takes. */
enum scm_cause {
	SCM_CAUSE_STATUS,    /* an answer arrived: its status decides */
	SCM_CAUSE_NETWORK,   /* no connection, a reset, … */
	SCM_CAUSE_TIMEOUT,
	SCM_CAUSE_TRUNCATED, /* the body was cut short */
	SCM_CAUSE_HANDSHAKE, /* the network broke a TLS handshake */
	SCM_CAUSE_VERIFY,    /* the TLS peer failed verification */
	SCM_CAUSE_TOO_LARGE, /* body over max_body, headers over their limits */
	SCM_CAUSE_MALFORMED, /* not HTTP: a bad status line, Content-Length, chunk */
	SCM_CAUSE_DECODE     /* a 2xx whose body is not the page */
};
extern const char *const SCM_CAUSES[];
/* The rule: 1 and the delay in seconds when an attempt (0 for the first)
 * that failed this way is worth another; 0 when not. retry_after is the
 * header's value or NULL. */
int scm_retry_decide(int cause, long status, const char *retry_after, int attempt,
		     double *delay);
/* Retry-After in seconds (delta-seconds or an HTTP date); -1 when absent
 * or unusable (then backoff applies); huge values stay huge. */
double scm_retry_after(const char *value);
/* The cause of a finished libcurl transfer. */
int scm_response_cause(const scm_response *r);
/* scm_retry_decide for a finished libcurl transfer. */
int scm_retry_delay(const scm_response *r, int attempt, double *delay);
double scm_now(void); /* monotonic seconds */
void scm_sleep(double seconds);

#endif
