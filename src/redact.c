/* Removing secrets from text a server sent: every whole occurrence, and
 * every run of 8 bytes or more that begins a secret (a server may echo only
 * the first bytes of a kilobyte token, or a buffer may cut one). One pass
 * of Knuth-Morris-Pratt per secret, so a hostile text costs linear time.
 * Knows nothing of Lua or libcurl. */
#include <stdlib.h>
#include <string.h>

#include "redact.h"

#define PREFIX_MIN 8     /* bytes of a secret's start worth hiding */
#define SHORT_SECRET 4   /* shorter secrets are not looked for at all */

/* Marks [from, to) of the text for removal. */
static void mark(unsigned char *hide, size_t from, size_t to)
{
	memset(hide + from, 1, to - from);
}

/* Marks in hide[] every byte of text covered by secret or by a prefix of
 * it at least PREFIX_MIN long. Returns -1 when out of memory. */
static int find(const char *text, size_t n, const char *secret, size_t slen,
		unsigned char *hide)
{
	size_t *fail, i, k = 0;
	if (slen < SHORT_SECRET || n == 0)
		return 0;
	fail = malloc(slen * sizeof *fail);
	if (fail == NULL)
		return -1;
	/* fail[q]: the longest proper prefix of secret[0..q] that is also
	 * its suffix */
	fail[0] = 0;
	for (i = 1; i < slen; i++) {
		while (k > 0 && secret[i] != secret[k])
			k = fail[k - 1];
		if (secret[i] == secret[k])
			k++;
		fail[i] = k;
	}
	k = 0; /* bytes of secret matched, ending at the text's byte i - 1 */
	for (i = 0; i < n; i++) {
		size_t before = k;
		while (k > 0 && text[i] != secret[k])
			k = fail[k - 1];
		/* The longest match alive ended here: whatever it covered
		 * (every shorter one alive lies inside it) is hidden. */
		if (k < before && before >= PREFIX_MIN)
			mark(hide, i - before, i);
		if (text[i] == secret[k])
			k++;
		if (k == slen) {
			mark(hide, i + 1 - slen, i + 1);
			k = fail[k - 1];
		}
	}
	if (k >= PREFIX_MIN && k < slen)
		mark(hide, n - k, n);
	free(fail);
	return 0;
}

int scm_redact(scm_buf *b, const scm_secret *secrets, size_t count)
{
	unsigned char *hide;
	size_t i, n = 0, k;
	int any = 0;
	if (b->len == 0)
		return 0;
	hide = calloc(b->len, 1);
	if (hide == NULL)
		return -1;
	for (k = 0; k < count; k++)
		if (secrets[k].s != NULL &&
		    find(b->data, b->len, secrets[k].s, secrets[k].len, hide) != 0) {
			free(hide);
			return -1;
		}
	/* each hidden run becomes "***" */
	for (i = 0; i < b->len; i++) {
		if (!hide[i]) {
			b->data[n++] = b->data[i];
		} else if (i == 0 || !hide[i - 1]) {
			/* a hidden run is at least 4 bytes: the
			 * 3 written here lie inside it */
			memcpy(b->data + n, "***", 3);
			n += 3;
			any = 1;
		}
	}
	free(hide);
	b->len = n;
	if (b->data != NULL)
		b->data[n] = '\0';
	return any;
}
