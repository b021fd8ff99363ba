/* The growable buffer and the byte helpers: the one copy of each. No Lua,
 * no libcurl. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buffer.h"

const char SCM_HEX_UPPER[17] = "0123456789ABCDEF";
const char SCM_HEX_LOWER[17] = "0123456789abcdef";

int scm_buf_reserve(scm_buf *b, size_t extra)
{
	size_t need, cap;
	char *p;
	if (extra > (size_t)-1 - b->len - 1)
		return -1;
	need = b->len + extra + 1; /* room for a terminating NUL */
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < need)
		cap = cap > (size_t)-1 / 2 ? need : cap * 2;
	p = realloc(b->data, cap);
	if (p == NULL)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int scm_buf_add(scm_buf *b, const char *s, size_t n)
{
	if (scm_buf_reserve(b, n) != 0)
		return -1;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int scm_buf_adds(scm_buf *b, const char *s)
{
	return scm_buf_add(b, s, strlen(s));
}

void scm_buf_free(scm_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void scm_buf_wipe(scm_buf *b)
{
	if (b->data != NULL)
		scm_wipe(b->data, b->cap);
	scm_buf_free(b);
}

/* Every byte but A-Z a-z 0-9 - _ . ~ as %XX: the form the API's request
 * signing uses, so the query sent is already canonical. */
int scm_buf_add_encoded(scm_buf *b, const char *s, size_t len)
{
	size_t i;
	if (scm_buf_reserve(b, len * 3) != 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (scm_is_unreserved(c)) {
			b->data[b->len++] = (char)c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = SCM_HEX_UPPER[c >> 4];
			b->data[b->len++] = SCM_HEX_UPPER[c & 15];
		}
	}
	b->data[b->len] = '\0';
	return 0;
}

void scm_wipe(void *p, size_t n)
{
	if (p != NULL && n > 0)
		OPENSSL_cleanse(p, n);
}

void scm_hex_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i;
	for (i = 0; i < n; i++) {
		out[2 * i] = SCM_HEX_LOWER[in[i] >> 4];
		out[2 * i + 1] = SCM_HEX_LOWER[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int scm_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int scm_is_unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '~';
}

char scm_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

char scm_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

int scm_equal_nocase(const char *a, size_t n, const char *b)
{
	size_t i;
	for (i = 0; i < n; i++)
		if (b[i] == '\0' || scm_lower(a[i]) != scm_lower(b[i]))
			return 0;
	return b[n] == '\0';
}

size_t scm_trim(const char *s, size_t *n, const char *also)
{
	size_t skip = 0, len = *n;
	while (skip < len && (s[skip] == ' ' || s[skip] == '\t'))
		skip++;
	while (len > skip && (s[len - 1] == ' ' || s[len - 1] == '\t' ||
			      (also != NULL && s[len - 1] != '\0' &&
			       strchr(also, s[len - 1]) != NULL)))
		len--;
	*n = len - skip;
	return skip;
}
