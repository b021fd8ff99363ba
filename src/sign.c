/* Request signing, SDK-HMAC-SHA256: the canonical request, the string to
 * sign and the Authorization header, with OpenSSL's SHA-256 and HMAC. */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sign.h"

#define ALGORITHM "SDK-HMAC-SHA256"

static int sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char md[32];
	unsigned int n = 0;
	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -1;
	scm_hex_encode(md, 32, out);
	return 0;
}

typedef struct signed_header {
	char name[64]; /* lower case */
	const char *value;
	size_t value_len;
} signed_header;

static int by_name(const void *a, const void *b)
{
	return strcmp(((const signed_header *)a)->name, ((const signed_header *)b)->name);
}

/* Appends the path with each segment percent-encoded the way the gateway
 * does, and a trailing "/" when it has none. */
static int add_canonical_path(scm_buf *b, const char *path)
{
	size_t i, n = strlen(path);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)path[i];
		char enc[3];
		if (scm_is_unreserved(c) || c == '/') {
			if (scm_buf_add(b, (const char *)&path[i], 1) != 0)
				return -1;
			continue;
		}
		if (c == '%' && i + 2 < n) { /* already encoded: keep */
			if (scm_buf_add(b, &path[i], 3) != 0)
				return -1;
			i += 2;
			continue;
		}
		enc[0] = '%';
		enc[1] = SCM_HEX_UPPER[c >> 4];
		enc[2] = SCM_HEX_UPPER[c & 15];
		if (scm_buf_add(b, enc, 3) != 0)
			return -1;
	}
	if (n == 0 || path[n - 1] != '/')
		return scm_buf_add(b, "/", 1);
	return 0;
}

int scm_sign(const char *ak, size_t ak_len, const char *sk, size_t sk_len,
	     const char *method, const char *path, const char *query,
	     const scm_header *headers, size_t nheaders, const char *body,
	     size_t body_len, scm_buf *out)
{
	signed_header sh[SCM_SIGN_MAX_HEADERS];
	scm_buf canon = {NULL, 0, 0}, names = {NULL, 0, 0};
	char body_hash[65], canon_hash[65], signature[65], date[32] = "";
	char to_sign[256];
	unsigned char mac[32];
	unsigned int mac_len = 0;
	size_t i, j;
	int rc = -1, n;

	if (nheaders > SCM_SIGN_MAX_HEADERS)
		return -1;
	for (i = 0; i < nheaders; i++) {
		size_t len = strlen(headers[i].name);
		const char *v = headers[i].value;
		size_t vlen = headers[i].value_len;
		if (len >= sizeof sh[i].name)
			return -1;
		for (j = 0; j <= len; j++)
			sh[i].name[j] = scm_lower(headers[i].name[j]);
		/* values are signed trimmed */
		v += scm_trim(v, &vlen, NULL);
		sh[i].value = v;
		sh[i].value_len = vlen;
		if (strcmp(sh[i].name, "x-sdk-date") == 0 && vlen < sizeof date) {
			memcpy(date, v, vlen);
			date[vlen] = '\0';
		}
	}
	if (date[0] == '\0')
		return -1; /* X-Sdk-Date is part of the string to sign */
	qsort(sh, nheaders, sizeof sh[0], by_name);

	/* METHOD \n URI \n QUERY \n HEADERS \n SIGNEDHEADERS \n hex(sha256(body)) */
	if (scm_buf_adds(&canon, method) != 0 || scm_buf_adds(&canon, "\n") != 0 ||
	    add_canonical_path(&canon, path) != 0 || scm_buf_adds(&canon, "\n") != 0 ||
	    scm_buf_adds(&canon, query) != 0 || scm_buf_adds(&canon, "\n") != 0)
		goto done;
	for (i = 0; i < nheaders; i++) {
		if (scm_buf_adds(&canon, sh[i].name) != 0 || scm_buf_adds(&canon, ":") != 0 ||
		    scm_buf_add(&canon, sh[i].value, sh[i].value_len) != 0 ||
		    scm_buf_adds(&canon, "\n") != 0)
			goto done;
		if ((i > 0 && scm_buf_adds(&names, ";") != 0) ||
		    scm_buf_adds(&names, sh[i].name) != 0)
			goto done;
	}
	if (scm_buf_adds(&canon, "\n") != 0 || scm_buf_adds(&canon, names.data) != 0 ||
	    scm_buf_adds(&canon, "\n") != 0)
		goto done;
	if (sha256_hex(body ? body : "", body_len, body_hash) != 0 ||
	    scm_buf_adds(&canon, body_hash) != 0 ||
	    sha256_hex(canon.data, canon.len, canon_hash) != 0)
		goto done;

	n = snprintf(to_sign, sizeof to_sign, ALGORITHM "\n%s\n%s", date, canon_hash);
	if (n < 0 || (size_t)n >= sizeof to_sign)
		goto done;
	if (sk_len > (size_t)0x7fffffff ||
	    HMAC(EVP_sha256(), sk, (int)sk_len, (const unsigned char *)to_sign,
		 (size_t)n, mac, &mac_len) == NULL || mac_len != 32)
		goto done;
	scm_hex_encode(mac, 32, signature);
	if (scm_buf_adds(out, ALGORITHM " Access=") == 0 && scm_buf_add(out, ak, ak_len) == 0 &&
	    scm_buf_adds(out, ", SignedHeaders=") == 0 && scm_buf_adds(out, names.data) == 0 &&
	    scm_buf_adds(out, ", Signature=") == 0 && scm_buf_adds(out, signature) == 0)
		rc = 0;
done:
	scm_wipe(mac, sizeof mac);
	/* the canonical request holds the X-Security-Token value */
	scm_buf_wipe(&canon);
	scm_buf_free(&names);
	return rc;
}

void scm_sign_date(long long unix_time, char out[17])
{
	time_t t = (time_t)unix_time;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- canonical query --------------------------------------------------- */

typedef struct query_part {
	scm_buf key, value;
} query_part;

/* Percent-decodes s[0..n) into b ("+" is a space, as in a form query). */
static int decode_into(scm_buf *b, const char *s, size_t n)
{
	size_t i;
	if (scm_buf_reserve(b, n) != 0)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] == '%' && i + 2 < n && scm_hex_value(s[i + 1]) >= 0 &&
		    scm_hex_value(s[i + 2]) >= 0) {
			b->data[b->len++] = (char)(scm_hex_value(s[i + 1]) * 16 +
						   scm_hex_value(s[i + 2]));
			i += 2;
		} else {
			b->data[b->len++] = s[i] == '+' ? ' ' : s[i];
		}
	}
	b->data[b->len] = '\0';
	return 0;
}

static int compare_bytes(const scm_buf *a, const scm_buf *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->data, b->data, n) : 0;
	if (c != 0)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int by_key_then_value(const void *pa, const void *pb)
{
	const query_part *a = pa, *b = pb;
	int c = compare_bytes(&a->key, &b->key);
	return c != 0 ? c : compare_bytes(&a->value, &b->value);
}

int scm_canonical_query(scm_buf *out, const char *raw, size_t len)
{
	query_part *parts;
	size_t n = 1, i, k = 0, start = 0;
	int rc = -1;
	if (scm_buf_add(out, "", 0) != 0)
		return -1;
	if (len == 0)
		return 0;
	for (i = 0; i < len; i++)
		n += raw[i] == '&';
	parts = calloc(n, sizeof *parts);
	if (parts == NULL)
		return -1;
	for (i = 0; i <= len; i++) {
		const char *eq;
		size_t plen;
		if (i < len && raw[i] != '&')
			continue;
		plen = i - start;
		if (plen > 0) {
			eq = memchr(raw + start, '=', plen);
			if (eq == NULL) {
				if (decode_into(&parts[k].key, raw + start, plen) != 0 ||
				    decode_into(&parts[k].value, "", 0) != 0)
					goto done;
			} else if (decode_into(&parts[k].key, raw + start, (size_t)(eq - raw - start)) != 0 ||
				   decode_into(&parts[k].value, eq + 1,
					       plen - (size_t)(eq - raw - start) - 1) != 0) {
				goto done;
			}
			k++;
		}
		start = i + 1;
	}
	qsort(parts, k, sizeof *parts, by_key_then_value);
	for (i = 0; i < k; i++)
		if ((i > 0 && scm_buf_add(out, "&", 1) != 0) ||
		    scm_buf_add_encoded(out, parts[i].key.data, parts[i].key.len) != 0 || scm_buf_add(out, "=", 1) != 0 ||
		    scm_buf_add_encoded(out, parts[i].value.data, parts[i].value.len) != 0)
			goto done;
	rc = 0;
done:
	for (i = 0; i < n; i++) {
		scm_buf_free(&parts[i].key);
		scm_buf_free(&parts[i].value);
	}
	free(parts);
	return rc;
}

/* ---- signing a URL ------------------------------------------------------ */

int scm_url_host(const char *url, char *out, size_t size)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	int rc = -1;
	if (u == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		/* as libcurl sends it: the port only when not the scheme's own */
		int n;
		if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_NO_DEFAULT_PORT) == CURLUE_OK)
			n = snprintf(out, size, "%s:%s", host, port);
		else
			n = snprintf(out, size, "%s", host);
		rc = n >= 0 && (size_t)n < size ? 0 : -1;
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return rc;
}

int scm_sign_url(const char *ak, size_t ak_len, const char *sk, size_t sk_len,
		 const char *method, const char *url, const scm_header *headers,
		 size_t nheaders, const char *body, size_t body_len, scm_buf *out)
{
	CURLU *u = curl_url();
	char *path = NULL, *query = NULL;
	scm_buf canonical = {NULL, 0, 0};
	int rc = -1;
	if (u == NULL)
		return -1;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_QUERY, &query, 0) != CURLUE_OK)
			query = NULL;
		if (scm_canonical_query(&canonical, query ? query : "",
					query ? strlen(query) : 0) == 0)
			rc = scm_sign(ak, ak_len, sk, sk_len, method, path, canonical.data,
				      headers, nheaders, body, body_len, out);
	}
	curl_free(path);
	curl_free(query);
	scm_buf_free(&canonical);
	curl_url_cleanup(u);
	return rc;
}
