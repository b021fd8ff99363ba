/* buffer.h: a growable byte buffer and the byte helpers every layer uses
 * (hex, percent-encoding, case-insensitive compare, trimming, wiping).
 * No Lua, no libcurl: testable and fuzzable on its own. */
#ifndef SCM_BUFFER_H
#define SCM_BUFFER_H

#include <stddef.h>

typedef struct scm_buf {
	char *data;
	size_t len, cap;
} scm_buf;

int scm_buf_reserve(scm_buf *b, size_t extra);
int scm_buf_add(scm_buf *b, const char *s, size_t n);
int scm_buf_adds(scm_buf *b, const char *s);
void scm_buf_free(scm_buf *b);
/* Appends s with every byte but A-Z a-z 0-9 - _ . ~ as %XX. */
int scm_buf_add_encoded(scm_buf *b, const char *s, size_t len);
/* Overwrites the contents before freeing: for buffers that held secrets. */
void scm_buf_wipe(scm_buf *b);

/* Overwrites n bytes at p in a way the compiler keeps (OPENSSL_cleanse). */
void scm_wipe(void *p, size_t n);
/* Hex digits, upper case (percent-encoding) and lower case (digests). */
extern const char SCM_HEX_UPPER[17];
extern const char SCM_HEX_LOWER[17];
/* n bytes of in as 2n lower-case hex digits and a NUL into out. */
void scm_hex_encode(const unsigned char *in, size_t n, char *out);
/* The value of a hex digit, or -1. */
int scm_hex_value(char c);
/* 1 for the bytes RFC 3986 leaves unreserved: A-Z a-z 0-9 - _ . ~ */
int scm_is_unreserved(unsigned char c);
/* An ASCII letter in lower case; other bytes as they are. */
char scm_lower(char c);
/* An ASCII letter in upper case; other bytes as they are. */
char scm_upper(char c);
/* 1 when the n bytes at a are the string b, ASCII case ignored. */
int scm_equal_nocase(const char *a, size_t n, const char *b);
/* Trims the n bytes at s: returns how many spaces and tabs start them,
 * and sets *n to the length left once those and the spaces, tabs and
 * bytes of also (NULL, or e.g. "\r\n") that end them are cut. */
size_t scm_trim(const char *s, size_t *n, const char *also);

#endif
