/* libFuzzer target: the canonical query and signing of arbitrary URLs and
 * header values. */
#include <stdint.h>
#include <string.h>

#include "../src/sign.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	scm_buf url = {NULL, 0, 0}, canon = {NULL, 0, 0};
	scm_header h[2];
	scm_buf out = {NULL, 0, 0};
	size_t split = size ? data[0] % (size + 1) : 0;
	if (size == 0)
		return 0;
	data++, size--;
	if (split > size)
		split = size;
	/* the first part as a raw query, the whole as a URL's path and query */
	scm_canonical_query(&canon, (const char *)data, split);
	scm_buf_adds(&url, "https://host.example/");
	scm_buf_add(&url, (const char *)data, size);
	if (url.data != NULL && memchr(url.data, '\0', url.len) == NULL) {
		h[0].name = "X-Sdk-Date", h[0].value = "20200608T023900Z", h[0].value_len = 16;
		h[1].name = "X-Thing", h[1].value = (const char *)data, h[1].value_len = split;
		scm_sign_url("AK", 2, "SK", 2, "GET", url.data, h, 2, (const char *)data,
			     size, &out);
	}
	scm_buf_free(&out);
	scm_buf_free(&url);
	scm_buf_free(&canon);
	return 0;
}
