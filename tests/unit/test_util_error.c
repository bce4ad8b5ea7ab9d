#include <check.h>
#include <string.h>

#include "util/error.h"

START_TEST(test_util_error__code_for_http)
{
	static const struct {
		long status;
		const char *reason;
		int code;
		const char *default_reason;
	} cases[] = {
		{ 400, NULL, DHG_EINVALID, "BadRequest" },
		{ 401, NULL, DHG_EUNAUTHORIZED, "Unauthorized" },
		{ 403, "Forbidden", DHG_EFORBIDDEN, "Forbidden" },
		{ 404, NULL, DHG_ENOTFOUND, "NotFound" },
		{ 409, NULL, DHG_ECONFLICT, "Conflict" },
		{ 409, "Conflict", DHG_ECONFLICT, "Conflict" },
		{ 409, "AlreadyExists", DHG_EEXISTS, "Conflict" },
		{ 410, "Expired", DHG_EGONE, "Expired" },
		{ 422, "Invalid", DHG_EINVALID, "Invalid" },
		{ 429, NULL, DHG_EUNAVAILABLE, "TooManyRequests" },
		{ 500, NULL, DHG_EUNAVAILABLE, "InternalError" },
		{ 502, NULL, DHG_EUNAVAILABLE, "InternalError" },
		{ 503, "ServiceUnavailable", DHG_EUNAVAILABLE, "InternalError" },
		{ 504, NULL, DHG_ETIMEOUT, "Timeout" },
		{ 405, NULL, DHG_ERROR, "Unknown" },
		{ 418, "AlreadyExists", DHG_ERROR, "Unknown" }, /* the reason matters for 409 only */
		{ 202, NULL, DHG_ERROR, "Unknown" },
		{ 0, NULL, DHG_ERROR, "Unknown" },
	};
	dhg_error_clear();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int code = dhg_error_code_for_http(cases[i].status, cases[i].reason);
		ck_assert_msg(code == cases[i].code, "HTTP %ld (%s): %s, want %s", cases[i].status,
			      cases[i].reason ? cases[i].reason : "-", dhg_error_name(code), dhg_error_name(cases[i].code));
		ck_assert_str_eq(dhg_error_reason_for_http(cases[i].status), cases[i].default_reason);
	}
	ck_assert_int_eq(dhg_error_last()->code, 0); /* records nothing */
}
END_TEST

Suite *util_error_suite(void)
{
	Suite *s = suite_create("util_error");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_util_error__code_for_http);
	suite_add_tcase(s, tc);
	return s;
}
