/* sign.h: request signing, SDK-HMAC-SHA256, and the canonical query;
 * no Lua and no I/O (sign.c parses URLs with libcurl's parser). */
#ifndef SCM_SIGN_H
#define SCM_SIGN_H

#include "buffer.h"

/* A request header that is signed: name in any case, value as sent. */
typedef struct scm_header {
	const char *name;
	const char *value;
	size_t value_len;
} scm_header;

#define SCM_SIGN_MAX_HEADERS 8

/* SDK-HMAC-SHA256, as Huawei Cloud's API gateway checks it.
 *   method  "GET"
 *   path    the URL path as sent ("/v3/scm/certificates")
 *   query   the canonical query: keys sorted, "k=v" joined by "&", every
 *           byte but A-Za-z0-9-_.~ as %XX ("" for none)
 *   headers the headers to sign (X-Sdk-Date among them), at most
 *           SCM_SIGN_MAX_HEADERS
 *   body    the request body (NULL, 0 for none)
 * Appends the Authorization header's value to out. Returns 0, or -1 when
 * memory ran out or something failed. Buffers that
 * held key material are wiped. Does no I/O and calls no Lua. */
int scm_sign(const char *ak, size_t ak_len, const char *sk, size_t sk_len,
	     const char *method, const char *path, const char *query,
	     const scm_header *headers, size_t nheaders, const char *body,
	     size_t body_len, scm_buf *out);

/* The canonical form of a raw query string ("b=2&a=1" -> "a=1&b=2"):
 * pairs decoded, sorted by key then value, encoded again. */
int scm_canonical_query(scm_buf *out, const char *raw, size_t len);

/* scm_sign for a whole URL: its path and query are taken from it. */
int scm_sign_url(const char *ak, size_t ak_len, const char *sk, size_t sk_len,
		 const char *method, const char *url, const scm_header *headers,
		 size_t nheaders, const char *body, size_t body_len,
		 scm_buf *out);

/* The Host header libcurl sends for url ("host" or "host:port"). */
int scm_url_host(const char *url, char *out, size_t size);

/* X-Sdk-Date for a time: "YYYYMMDDTHHMMSSZ" (UTC) into out[17]. */
void scm_sign_date(long long unix_time, char out[17]);

#endif
