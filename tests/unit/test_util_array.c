#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/array.h"
#include "util/error.h"

typedef struct pt {
	int x, y;
	char tag[12];
} pt;

START_TEST(test_util_array__grows_and_keeps)
{
	pt *v = NULL;
	size_t n = 0, cap = 0, prev_cap = 0, grows = 0;
	for (int i = 0; i < 1000; i++) {
		ck_assert_int_eq(dhg_array_reserve((void **)&v, &cap, n + 1, sizeof(*v)), 0);
		ck_assert_uint_ge(cap, n + 1);
		if (cap != prev_cap) {
			/* first allocation is the minimum, then doubling */
			ck_assert_uint_eq(cap, prev_cap ? prev_cap * 2 : DHG_ARRAY_MIN_CAP);
			prev_cap = cap;
			grows++;
		}
		v[n++] = (pt){ i, -i, "p" };
	}
	ck_assert_uint_eq(cap, 1024);
	ck_assert_uint_eq(grows, 9); /* 4 8 16 32 64 128 256 512 1024 */
	for (size_t i = 0; i < n; i++)
		ck_assert(v[i].x == (int)i && v[i].y == -(int)i && strcmp(v[i].tag, "p") == 0);
	/* enough room: nothing changes */
	pt *same = v;
	ck_assert_int_eq(dhg_array_reserve((void **)&v, &cap, 1024, sizeof(*v)), 0);
	ck_assert_ptr_eq(v, same);
	ck_assert_uint_eq(cap, 1024);
	/* a big jump goes straight to `need` */
	ck_assert_int_eq(dhg_array_reserve((void **)&v, &cap, 5000, sizeof(*v)), 0);
	ck_assert_uint_eq(cap, 5000);
	ck_assert_int_eq(v[999].x, 999);
	free(v);
}
END_TEST

START_TEST(test_util_array__overflow)
{
	long *v = NULL;
	size_t cap = 0;
	dhg_error_clear();
	ck_assert_int_eq(dhg_array_reserve((void **)&v, &cap, SIZE_MAX / 4, sizeof(*v)), DHG_ENOMEM);
	ck_assert_ptr_null(v);
	ck_assert_uint_eq(cap, 0);
	ck_assert_int_eq(dhg_error_last()->code, DHG_ENOMEM);
	ck_assert(strstr(dhg_error_last()->message, "too large") != NULL);
	/* a failure leaves the existing array and capacity alone */
	ck_assert_int_eq(dhg_array_reserve((void **)&v, &cap, 3, sizeof(*v)), 0);
	v[2] = 42;
	long *keep = v;
	ck_assert_int_eq(dhg_array_reserve((void **)&v, &cap, SIZE_MAX / 2, sizeof(*v)), DHG_ENOMEM);
	ck_assert_ptr_eq(v, keep);
	ck_assert_uint_eq(cap, DHG_ARRAY_MIN_CAP);
	ck_assert_int_eq(v[2], 42);
	free(v);
}
END_TEST

Suite *util_array_suite(void)
{
	Suite *s = suite_create("util_array");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_util_array__grows_and_keeps);
	tcase_add_test(tc, test_util_array__overflow);
	suite_add_tcase(s, tc);
	return s;
}
