/* transport.h: one HTTP exchange over libcurl, blocking or driven by a
 * multi handle; what the response said, with secrets removed. */
#ifndef SCM_TRANSPORT_H
#define SCM_TRANSPORT_H

#include <curl/curl.h>

#include "buffer.h"
#include "error.h"
#include "options.h"
#include "redact.h"

/* A request to IAM or the metadata service, built without I/O by
 * request.c (and account.c, metadata.c), sent by scm_transfer_setup_request
 * or handed to Lua (scm.resty). */
#define SCM_REQUEST_MAX_HEADERS 8
typedef struct scm_request {
	const char *method;   /* "GET" or "PUT" */
	scm_buf url;
	scm_buf headers[SCM_REQUEST_MAX_HEADERS]; /* "Name: value" */
	int nheaders;
	double timeout, connect_timeout;
	int retries;
	size_t max_body;
} scm_request;

typedef struct scm_response {
	CURLcode code;        /* libcurl's result of the transfer */
	long status;          /* HTTP status, 0 when none arrived */
	int too_large;        /* the body passed max_body */
	int oom;              /* out of memory while receiving */
	int headers_too_large; /* a header line or the block over its limit */
	size_t header_bytes;  /* of the response so far */
	int encoded;          /* a Content-Encoding other than identity */
	curl_off_t declared;  /* Content-Length, -1 when absent */
	char reason[64];      /* the status line's reason phrase */
	char request_id[96];
	char location[384];
	char content_type[96];
	char retry_after[64];
	char errbuf[CURL_ERROR_SIZE];
	int os_errno;         /* errno of a failed connect, 0 when none */
	int in_headers;       /* a status line came, the blank line not yet */
	scm_secret secrets[SCM_MAX_SECRETS]; /* removed from every kept value */
	size_t nsecrets;
	scm_buf body;
} scm_response;

typedef struct scm_transfer {
	CURL *easy;
	struct curl_slist *headers;
	scm_buf url;
	size_t max_body;
	scm_response res;
} scm_transfer;

/* Prepares t for one GET of the certificate list described by o; the
 * connection pool comes from share. Returns 0, or -1 on out of memory. */
int scm_transfer_setup(scm_transfer *t, CURLSH *share, const scm_opts *o);
/* Prepares t for the request r, with o's TLS settings and user agent. */
int scm_transfer_setup_request(scm_transfer *t, CURLSH *share, const scm_opts *o,
			       const scm_request *r);
/* Runs a prepared transfer to its end (blocking). */
void scm_transfer_perform(scm_transfer *t);
/* curl_multi_init, with its sockets close-on-exec. */
CURLM *scm_multi_new(void);
/* Notes how a transfer ended (libcurl's code, status, errno). */
void scm_transfer_ended(scm_transfer *t, CURLcode code);
/* Frees what one exchange holds (headers are wiped: they carry secrets),
 * keeping the easy handle and its connection. */
void scm_transfer_clear(scm_transfer *t);
void scm_transfer_free(scm_transfer *t);
/* Wipes and frees the request headers (they carry credentials) once the
 * transfer is over, keeping the response. */
void scm_transfer_forget_request(scm_transfer *t);
CURLSH *scm_share_new(void);
/* Keeps header value v (n bytes) in field: trimmed, secrets of r removed,
 * then cut to size. strict (a request id): the field stays empty when the
 * value held a secret or a control byte, or does not fit. */
void scm_keep_value(const scm_response *r, char *field, size_t size,
		    const char *v, size_t n, int strict);
/* The err kind of a failed transfer: timeout, tls or network. */
enum scm_kind scm_transport_kind(CURLcode code);

#endif
