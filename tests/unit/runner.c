/* Runs every suite of one area. CK_RUN_SUITE / CK_RUN_CASE select one (Check). */
#include <check.h>
#include <stdlib.h>

extern Suite *(*const dhg_test_suites[])(void);

int main(void)
{
	SRunner *sr = NULL;
	int failed;

	for (size_t i = 0; dhg_test_suites[i]; i++) {
		Suite *s = dhg_test_suites[i]();
		if (!sr)
			sr = srunner_create(s);
		else
			srunner_add_suite(sr, s);
	}
	if (!sr)
		return 1;
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
