/* libFuzzer target: expire_time strings read by scm.expiry, at any
 * offset; a date read must round-trip through the calendar. */
#include <stdint.h>
#include <stdlib.h>

#include "../src/expiry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t epoch;
	const char *reason = NULL;
	long offset;
	if (size == 0)
		return 0;
	/* the first byte picks an offset within +-24 hours */
	offset = ((long)data[0] - 128) * 675;
	if (scm_expiry_parse((const char *)data + 1, size - 1, offset, &epoch, &reason) == 0) {
		/* years 1..9999 with an offset under a day */
		if (epoch < -62135596800LL - 86400 || epoch > 253402300800LL + 86400)
			abort();
	} else if (reason == NULL) {
		abort();
	}
	return 0;
}
