#include <check.h>
#include <gnu/lib-names.h> /* LIBC_SO */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/dl.h"
#include "util/error.h"
#include "util/str.h"

#define LIBC_FUNCS(X) X(strlen) X(labs)

typedef struct libc_table {
	LIBC_FUNCS(DHG_DL_FIELD)
} libc_table;

static int init_calls;

static int init_count(void)
{
	__atomic_add_fetch(&init_calls, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int init_fail(void)
{
	init_calls++;
	return dhg_error_set(DHG_ERROR, "test lib: initialisation failed");
}

START_TEST(test_util_dl__missing_library)
{
	static void *fn;
	static const dhg_dl_sym syms[] = { { "strlen", &fn } };
	static dhg_dl_lib lib = DHG_DL_LIB_INIT("test lib", "libdhg-no-such-library.so.0", syms, 1, NULL);
	char first[sizeof(dhg_error_last()->message)];

	ck_assert_int_eq(dhg_dl_load(&lib), DHG_ERROR);
	ck_assert_msg(dhg_str_has_prefix(dhg_error_last()->message,
						  "test lib: cannot load libdhg-no-such-library.so.0: "),
		      "message: %s", dhg_error_last()->message);
	ck_assert_ptr_nonnull(strstr(dhg_error_last()->message, "No such file"));
	ck_assert_ptr_null(fn);
	snprintf(first, sizeof(first), "%s", dhg_error_last()->message);
	/* not retried, and every caller gets the reason */
	dhg_error_clear();
	ck_assert_int_eq(dhg_dl_load(&lib), DHG_ERROR);
	ck_assert_int_eq(dhg_error_last()->code, DHG_ERROR);
	ck_assert_str_eq(dhg_error_last()->message, first);
}
END_TEST

START_TEST(test_util_dl__missing_symbol)
{
	static void *a, *b;
	static const dhg_dl_sym syms[] = { { "strlen", &a }, { "dhg_no_such_symbol", &b } };
	static dhg_dl_lib lib = DHG_DL_LIB_INIT("test lib", LIBC_SO, syms, 2, init_count);

	init_calls = 0;
	ck_assert_int_eq(dhg_dl_load(&lib), DHG_ERROR);
	ck_assert_msg(dhg_str_has_prefix(dhg_error_last()->message,
						  "test lib: " LIBC_SO " lacks dhg_no_such_symbol: "),
		      "message: %s", dhg_error_last()->message);
	ck_assert_int_eq(init_calls, 0); /* no init on a partial load */
}
END_TEST

static void *load_thread(void *arg)
{
	return (void *)(long)dhg_dl_load(arg);
}

START_TEST(test_util_dl__loads_once_typed)
{
	static libc_table t;
#define SYM(f) DHG_DL_SYM(t, f)
	static const dhg_dl_sym syms[] = { LIBC_FUNCS(SYM) };
#undef SYM
	static dhg_dl_lib lib = DHG_DL_LIB_INIT("test lib", LIBC_SO, syms, 2, init_count);
	pthread_t th[8];
	void *rc;
	size_t i;

	init_calls = 0;
	for (i = 0; i < 8; i++)
		ck_assert_int_eq(pthread_create(&th[i], NULL, load_thread, &lib), 0);
	for (i = 0; i < 8; i++) {
		ck_assert_int_eq(pthread_join(th[i], &rc), 0);
		ck_assert_int_eq((long)rc, 0);
	}
	ck_assert_int_eq(dhg_dl_load(&lib), 0);
	ck_assert_int_eq(init_calls, 1);
	ck_assert_uint_eq(t.strlen("abcd"), 4);
	ck_assert_int_eq(t.labs(-7), 7);
}
END_TEST

START_TEST(test_util_dl__init_failure)
{
	static void *fn;
	static const dhg_dl_sym syms[] = { { "strlen", &fn } };
	static dhg_dl_lib lib = DHG_DL_LIB_INIT("test lib", LIBC_SO, syms, 1, init_fail);

	init_calls = 0;
	ck_assert_int_eq(dhg_dl_load(&lib), DHG_ERROR);
	ck_assert_str_eq(dhg_error_last()->message, "test lib: initialisation failed");
	dhg_error_clear();
	ck_assert_int_eq(dhg_dl_load(&lib), DHG_ERROR);
	ck_assert_str_eq(dhg_error_last()->message, "test lib: initialisation failed");
	ck_assert_int_eq(init_calls, 1);
}
END_TEST

Suite *util_dl_suite(void)
{
	Suite *s = suite_create("util_dl");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_util_dl__missing_library);
	tcase_add_test(tc, test_util_dl__missing_symbol);
	tcase_add_test(tc, test_util_dl__loads_once_typed);
	tcase_add_test(tc, test_util_dl__init_failure);
	suite_add_tcase(s, tc);
	return s;
}
