/* Unit tests for engine_run_paths / engine_extract_paths with several threads: the same chart,
 * warnings and first error as with one thread (the sequential path). */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/error.h"
#include "util/buf.h"
#include "util/fs.h"
#include "util/str.h"

static char *tmpdir_make(void)
{
	char tmpl[] = "/tmp/dhg-pipeline-XXXXXX";
	char *d = mkdtemp(tmpl);
	ck_assert_ptr_nonnull(d);
	return dhg_strdup(d);
}

static void write_file(const char *dir, const char *rel, const char *text)
{
	char *p = dhg_asprintf("%s/%s", dir, rel);
	ck_assert_int_eq(dhg_mkdir_parent(p, 0755), 0);
	ck_assert_int_eq(dhg_file_write(p, text, strlen(text)), 0);
	free(p);
}

/* What one run gives: rc, message, or the chart's files/warnings/digest as one text. */
typedef struct outcome {
	int rc;
	char *text;
} outcome;

static outcome run(const char *const *paths, size_t n, int threads, engine_secrets_mode secrets)
{
	engine_extract_options xo = ENGINE_EXTRACT_OPTIONS_INIT;
	engine_options o = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	dhg_buf b = DHG_BUF_INIT(0);
	outcome r;

	xo.threads = threads;
	o.chart_name = "t";
	o.secrets = secrets;
	dhg_error_clear();
	r.rc = engine_run_paths(&c, paths, n, &xo, &o);
	if (r.rc < 0) {
		ck_assert_ptr_null(c);
		ck_assert_int_eq(dhg_error_last()->code, r.rc);
		ck_assert_int_eq(dhg_buf_printf(&b, "error %d: %s", r.rc, dhg_error_last()->message), 0);
	} else {
		ck_assert_ptr_nonnull(c);
		ck_assert_int_eq(dhg_buf_printf(&b, "%s %zu\n", c->digest, c->resource_count), 0);
		for (size_t i = 0; i < c->warnings.len; i++)
			ck_assert_int_eq(dhg_buf_printf(&b, "warning: %s\n", c->warnings.items[i]), 0);
		for (size_t i = 0; i < c->nfiles; i++) {
			ck_assert_int_eq(dhg_buf_printf(&b, "# %s %zu\n", c->files[i].path, c->files[i].len), 0);
			ck_assert_int_eq(dhg_buf_put(&b, c->files[i].data, c->files[i].len), 0);
		}
	}
	engine_chart_free(c);
	r.text = dhg_buf_detach(&b, NULL);
	ck_assert_ptr_nonnull(r.text);
	return r;
}

/* The outcome with 2, 3 and 8 threads equals the one with 1. Returns the 1-thread outcome's rc. */
static int check_same(const char *const *paths, size_t n, engine_secrets_mode secrets, const char *want)
{
	outcome one = run(paths, n, 1, secrets);
	int rc = one.rc;
	if (want)
		ck_assert_msg(strstr(one.text, want) != NULL, "want '%s' in: %.400s", want, one.text);
	for (int t = 2; t <= 8; t += t == 3 ? 5 : 1) {
		outcome x = run(paths, n, t, secrets);
		ck_assert_int_eq(x.rc, one.rc);
		ck_assert_msg(strcmp(x.text, one.text) == 0, "%d threads differ from 1 (%s): %.300s\n---\n%.300s", t,
			      paths[0], x.text, one.text);
		free(x.text);
	}
	free(one.text);
	return rc;
}

START_TEST(test_engine_pipeline__fixtures_same_with_threads)
{
	const char *paths[32];
	char *owned[32];
	size_t n = 0;
	char *root = dhg_asprintf("%s/tests/fixtures", DHG_SOURCE_DIR);
	DIR *d = opendir(root);
	struct dirent *de;

	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)) && n < 32) {
		struct stat st;
		char *p;
		if (de->d_name[0] == '.')
			continue;
		p = dhg_asprintf("%s/%s/input", root, de->d_name);
		if (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)) {
			free(p);
			continue;
		}
		owned[n] = p;
		paths[n] = p;
		n++;
	}
	closedir(d);
	ck_assert_uint_ge(n, 5);
	for (size_t i = 0; i < n; i++) {
		ck_assert_int_eq(check_same(&paths[i], 1, ENGINE_SECRETS_MASK, NULL), 0);
		ck_assert_int_eq(check_same(&paths[i], 1, ENGINE_SECRETS_EXTERNAL, NULL), 0);
	}
	/* all of them as several inputs: a chart or the same first error */
	(void)check_same(paths, n, ENGINE_SECRETS_INCLUDE, NULL);
	for (size_t i = 0; i < n; i++)
		free(owned[i]);
	free(root);
}
END_TEST

#define CM(n) "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " n "}\ndata: {k: v}\n"
/* passes extract and normalize; its processor refuses the key (it runs after the others) */
#define CM_RESERVED_KEY(n) "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " n "}\ndata: {\"\\u0001x\": v}\n"

START_TEST(test_engine_pipeline__first_error_wins)
{
	char *d = tmpdir_make(), *good, *bad, *late, *missing, *gen;
	const char *paths[3];

	good = dhg_asprintf("%s/good", d);
	bad = dhg_asprintf("%s/bad", d);
	late = dhg_asprintf("%s/late", d);
	gen = dhg_asprintf("%s/gen", d);
	missing = dhg_asprintf("%s/missing.yaml", d);
	for (int i = 0; i < 40; i++) {
		char rel[32], text[128];
		snprintf(rel, sizeof(rel), "f%02d.yaml", i);
		snprintf(text, sizeof(text), CM("c%02d"), i);
		write_file(good, rel, text);
		/* bad: files 7 (YAML syntax) and 23 (duplicate key) fail; 7 is reported */
		write_file(bad, rel, i == 7 ? "a: [\n" : i == 23 ? "a: 1\na: 2\n" : text);
		/* late: only file 31 fails */
		write_file(late, rel, i == 31 ? "\x01\x02" : text);
		/* gen: 8 objects a file (320: enough for the writer thread); extract and normalize
		 * pass, the processor of the last item fails after the others were handed over */
		{
			dhg_buf g = DHG_BUF_INIT(0);
			for (int j = 0; j < 8; j++) {
				if (i == 39 && j == 7)
					ck_assert_int_eq(dhg_buf_puts(&g, CM_RESERVED_KEY("zz")), 0);
				else
					ck_assert_int_eq(dhg_buf_printf(&g, CM("c%02d-%d") "---\n", i, j), 0);
			}
			write_file(gen, rel, dhg_buf_cstr(&g));
			dhg_buf_dispose(&g);
		}
	}
	paths[0] = good;
	ck_assert_int_eq(check_same(paths, 1, ENGINE_SECRETS_MASK, NULL), 0);
	/* errors of the writer thread (a number YAML can hold and JSON cannot): one late, with a
	 * processor error after it (the writer's wins), one on the first item */
	{
		char *late_w = dhg_asprintf("%s/emit_late", d), *early_w = dhg_asprintf("%s/emit_early", d);
		for (int i = 0; i < 40; i++) {
			char rel[32];
			dhg_buf g = DHG_BUF_INIT(0);
			snprintf(rel, sizeof(rel), "f%02d.yaml", i);
			for (int j = 0; j < 8; j++)
				ck_assert_int_eq(dhg_buf_printf(&g, "%s" CM("c%02d-%d"), j ? "---\n" : "", i, j), 0);
			if (i == 20)
				ck_assert_int_eq(dhg_buf_puts(&g, "---\napiVersion: example.com/v1\nkind: Widget\n"
								  "metadata: {name: w}\nspec: {x: .inf}\n"), 0);
			if (i == 39)
				ck_assert_int_eq(dhg_buf_puts(&g, "---\napiVersion: example.com/v1\nkind: Widget\n"
								  "metadata: {name: zz}\nspec: {\"\\u0001x\": v}\n"), 0);
			write_file(late_w, rel, dhg_buf_cstr(&g));
			if (i == 20)
				ck_assert_int_eq(dhg_buf_puts(&g, "---\napiVersion: example.com/v1\nkind: Aardvark\n"
								  "metadata: {name: a}\nspec: {x: .nan}\n"), 0);
			write_file(early_w, rel, dhg_buf_cstr(&g));
			dhg_buf_dispose(&g);
		}
		paths[0] = late_w;
		ck_assert_int_eq(check_same(paths, 1, ENGINE_SECRETS_MASK, "/emit_late/f20.yaml (document 9, line 41) Widget w: the number .inf"),
				 DHG_EINVALID);
		paths[0] = early_w;
		ck_assert_int_eq(check_same(paths, 1, ENGINE_SECRETS_MASK, "/emit_early/f20.yaml (document 10, line 46) Aardvark a: the number .nan"),
				 DHG_EINVALID);
		free(late_w);
		free(early_w);
	}
	/* the earlier error is found last: f07 is long (its error is at the end), f08 fails at once */
	{
		dhg_buf big = DHG_BUF_INIT(0);
		char *bad2 = dhg_asprintf("%s/bad2", d);
		for (int i = 0; i < 40000; i++)
			ck_assert_int_eq(dhg_buf_printf(&big, "k%d: [a, b, {c: d}]\n", i), 0);
		ck_assert_int_eq(dhg_buf_puts(&big, "bad: [\n"), 0);
		write_file(bad2, "f07.yaml", dhg_buf_cstr(&big));
		write_file(bad2, "f08.yaml", "x: ]\n");
		write_file(bad2, "f09.yaml", CM("c09"));
		paths[0] = bad2;
		ck_assert_int_lt(check_same(paths, 1, ENGINE_SECRETS_MASK, "/bad2/f07.yaml:40002:1:"), 0);
		dhg_buf_dispose(&big);
		free(bad2);
	}
	paths[0] = bad;
	ck_assert_int_lt(check_same(paths, 1, ENGINE_SECRETS_MASK, "/bad/f07.yaml:2:1:"), 0);
	paths[0] = late;
	ck_assert_int_lt(check_same(paths, 1, ENGINE_SECRETS_MASK, "/late/f31.yaml:1:1: "), 0);
	paths[0] = gen;
	ck_assert_int_lt(check_same(paths, 1, ENGINE_SECRETS_MASK, "/gen/f39.yaml (document 8, line 36) ConfigMap zz: a key starts with"), 0);
	/* a later path that cannot be listed loses against an earlier file's error, and wins
	 * over nothing */
	paths[0] = bad;
	paths[1] = missing;
	ck_assert_int_lt(check_same(paths, 2, ENGINE_SECRETS_MASK, "/bad/f07.yaml:2:1:"), 0);
	paths[0] = good;
	ck_assert_int_eq(check_same(paths, 2, ENGINE_SECRETS_MASK, "missing.yaml: No such file or directory"),
			 DHG_ENOTFOUND);
	paths[0] = missing;
	paths[1] = bad;
	ck_assert_int_eq(check_same(paths, 2, ENGINE_SECRETS_MASK, "missing.yaml: No such file or directory"),
			 DHG_ENOTFOUND);
	/* the same objects from the files given one by one, in another order: another chart
	 * only where the order matters (none here: the same digest) */
	{
		outcome a, b;
		const char *one[40];
		char *own[40];
		for (int i = 0; i < 40; i++) {
			own[i] = dhg_asprintf("%s/f%02d.yaml", good, 39 - i);
			one[i] = own[i];
		}
		paths[0] = good;
		a = run(paths, 1, 1, ENGINE_SECRETS_MASK);
		b = run(one, 40, 2, ENGINE_SECRETS_MASK);
		ck_assert_int_eq(a.rc, 0);
		ck_assert_int_eq(b.rc, 0);
		ck_assert_str_eq(a.text, b.text);
		free(a.text);
		free(b.text);
		for (int i = 0; i < 40; i++)
			free(own[i]);
	}
	dhg_rm_rf(d);
	free(d);
	free(good);
	free(bad);
	free(late);
	free(gen);
	free(missing);
}
END_TEST

START_TEST(test_engine_pipeline__extract_paths)
{
	char *d = tmpdir_make(), *a, *b;
	const char *paths[2];
	engine_objects seq = ENGINE_OBJECTS_INIT, par = ENGINE_OBJECTS_INIT;
	engine_extract_options xo = ENGINE_EXTRACT_OPTIONS_INIT;

	a = dhg_asprintf("%s/a", d);
	b = dhg_asprintf("%s/b.yaml", d);
	for (int i = 0; i < 12; i++) {
		char rel[32], text[160];
		snprintf(rel, sizeof(rel), "s%d/f%d.yaml", i % 3, i);
		snprintf(text, sizeof(text), "# c\n" CM("x%d") "---\n" CM("y%d"), i, i);
		write_file(a, rel, text);
	}
	write_file(d, "b.yaml", "apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: l1}}\n"
				"- {apiVersion: v1, kind: ConfigMap, metadata: {name: l2}}\n");
	paths[0] = a;
	paths[1] = b;
	for (size_t i = 0; i < 2; i++)
		ck_assert_int_eq(engine_extract_path(&seq, paths[i], &xo), 0);
	xo.threads = 3;
	ck_assert_int_eq(engine_extract_paths(&par, paths, 2, &xo), 0);
	ck_assert_uint_eq(par.len, seq.len);
	ck_assert_uint_eq(par.len, 26);
	for (size_t i = 0; i < seq.len; i++) {
		ck_assert_str_eq(par.items[i].source, seq.items[i].source);
		ck_assert_int_eq(par.items[i].doc, seq.items[i].doc);
		ck_assert_int_eq(par.items[i].line, seq.items[i].line);
		ck_assert(json_equal(par.items[i].obj, seq.items[i].obj));
	}
	/* on error nothing is appended */
	write_file(a, "s1/zz.yaml", "k: [\n");
	ck_assert_int_lt(engine_extract_paths(&par, paths, 2, &xo), 0);
	ck_assert_uint_eq(par.len, 26);
	ck_assert_msg(strstr(dhg_error_last()->message, "/s1/zz.yaml:2:1:") != NULL, "%s", dhg_error_last()->message);
	engine_objects_dispose(&seq);
	engine_objects_dispose(&par);
	dhg_rm_rf(d);
	free(d);
	free(a);
	free(b);
}
END_TEST

START_TEST(test_engine_pipeline__threads_default)
{
	int n = 0;
	char *old = getenv("DHG_THREADS") ? dhg_strdup(getenv("DHG_THREADS")) : NULL;

	ck_assert_int_eq(setenv("DHG_THREADS", "3", 1), 0);
	ck_assert_int_eq(engine_threads_default(&n), 0);
	ck_assert_int_eq(n, 3);
	ck_assert_int_eq(setenv("DHG_THREADS", "0", 1), 0);
	ck_assert_int_eq(engine_threads_default(&n), DHG_EINVALID);
	ck_assert_msg(strstr(dhg_error_last()->message, "DHG_THREADS") != NULL, "%s", dhg_error_last()->message);
	ck_assert_int_eq(setenv("DHG_THREADS", "2x", 1), 0);
	ck_assert_int_eq(engine_threads_default(&n), DHG_EINVALID);
	ck_assert_int_eq(unsetenv("DHG_THREADS"), 0);
	ck_assert_int_eq(engine_threads_default(&n), 0);
	ck_assert_int_ge(n, 1);
	ck_assert_int_le(n, 8);
	if (old) {
		ck_assert_int_eq(setenv("DHG_THREADS", old, 1), 0);
		free(old);
	}
}
END_TEST

Suite *engine_pipeline_suite(void)
{
	Suite *s = suite_create("engine_pipeline");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_engine_pipeline__fixtures_same_with_threads);
	tcase_add_test(tc, test_engine_pipeline__first_error_wins);
	tcase_add_test(tc, test_engine_pipeline__extract_paths);
	tcase_add_test(tc, test_engine_pipeline__threads_default);
	suite_add_tcase(s, tc);
	return s;
}
