#include "util/array.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/error.h"

int dhg_array_reserve(void **items, size_t *cap, size_t need, size_t elem_size)
{
	size_t ncap, bytes;
	void *cur, *grown;

	if (need <= *cap)
		return 0;
	ncap = *cap <= SIZE_MAX / 2 ? *cap * 2 : SIZE_MAX;
	if (ncap < DHG_ARRAY_MIN_CAP)
		ncap = DHG_ARRAY_MIN_CAP;
	if (ncap < need)
		ncap = need;
	if (elem_size && ncap > SIZE_MAX / elem_size) {
		ncap = need; /* doubling overflowed: try exactly what is needed */
		if (ncap > SIZE_MAX / elem_size)
			return dhg_error_set(DHG_ENOMEM, "out of memory: array of %zu elements of %zu bytes is too large",
					     need, elem_size);
	}
	/* read and write the caller's pointer as bytes: it is a T *, not a void * */
	memcpy(&cur, items, sizeof(cur));
	bytes = ncap * elem_size;
	if (!(grown = realloc(cur, bytes ? bytes : 1)))
		return dhg_error_set(DHG_ENOMEM, "out of memory growing an array to %zu elements of %zu bytes", ncap,
				     elem_size);
	memcpy(items, &grown, sizeof(grown));
	*cap = ncap;
	return 0;
}
