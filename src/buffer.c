#include <stdlib.h>
#include <string.h>

#include "scm.h"

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
	if (b->data != NULL) {
		volatile char *p = b->data;
		size_t i;
		for (i = 0; i < b->cap; i++)
			p[i] = 0;
	}
	scm_buf_free(b);
}

/* Every byte but A-Z a-z 0-9 - _ . ~ as %XX: the form the API's request
 * signing uses, so the query sent is already canonical. */
int scm_buf_add_encoded(scm_buf *b, const char *s, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;
	if (scm_buf_reserve(b, len * 3) != 0)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
			b->data[b->len++] = (char)c;
		} else {
			b->data[b->len++] = '%';
			b->data[b->len++] = hex[c >> 4];
			b->data[b->len++] = hex[c & 15];
		}
	}
	b->data[b->len] = '\0';
	return 0;
}
