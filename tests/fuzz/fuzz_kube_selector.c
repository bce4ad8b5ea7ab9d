/* libFuzzer target: Kubernetes label selectors - the string form (kube_selector_parse, as in
 * --selector / labelSelector=) and the LabelSelector JSON object of a HelmChart spec
 * (kube_selector_from_json). Invariants (abort on violation): the canonical string of a parsed
 * selector parses again to a selector with the same canonical string that matches the same
 * label sets; an empty selector matches everything. Built and run by tests/fuzz/run.sh. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kube/selector.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static json_t *label_sets[4];

static void check(const kube_selector *sel, int strict)
{
	char *str = NULL, *str2 = NULL;
	kube_selector *again = NULL;

	if (kube_selector_is_empty(sel))
		for (size_t i = 0; i < 4; i++)
			if (!kube_selector_matches(sel, label_sets[i]))
				abort();
	for (size_t i = 0; i < kube_selector_count(sel); i++) {
		const char *key;
		int op;
		const char *const *values;
		size_t nvalues;
		if (kube_selector_requirement(&key, &op, &values, &nvalues, sel, i) < 0 || !key)
			abort();
		for (size_t j = 0; j < nvalues; j++)
			if (!values[j])
				abort();
	}
	if (kube_selector_to_string(&str, sel) < 0)
		goto done;
	if (kube_selector_parse(&again, str) < 0) {
		if (strict)
			abort(); /* the canonical form of a parsed selector must parse */
		goto done;
	}
	if (kube_selector_to_string(&str2, again) < 0)
		goto done;
	if (strcmp(str, str2) != 0)
		abort();
	for (size_t i = 0; i < 4; i++)
		if (kube_selector_matches(sel, label_sets[i]) != kube_selector_matches(again, label_sets[i]))
			abort();
done:
	free(str);
	free(str2);
	kube_selector_free(again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kube_selector *sel = NULL;
	char *s;
	json_t *j;

	if (!label_sets[0]) {
		label_sets[0] = json_object();
		label_sets[1] = json_pack("{s:s, s:s}", "app", "web", "tier", "frontend");
		label_sets[2] = json_pack("{s:s, s:s, s:s}", "app.kubernetes.io/part-of", "shop", "a", "b", "env", "");
		label_sets[3] = json_pack("{s:s}", "x", "y");
	}
	if (!(s = malloc(size + 1)))
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	if (kube_selector_parse(&sel, s) == 0) {
		check(sel, 1);
		for (size_t i = 0; i < 4; i++)
			(void)kube_selector_matches(sel, label_sets[i]);
		kube_selector_free(sel);
		sel = NULL;
	}
	if ((j = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL))) {
		if (kube_selector_from_json(&sel, j) == 0) {
			check(sel, 0);
			kube_selector_free(sel);
		}
		json_decref(j);
	}
	free(s);
	dhg_error_clear();
	return 0;
}
