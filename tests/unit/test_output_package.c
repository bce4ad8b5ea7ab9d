#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output/package/pkgchart.h"
#include "util/dl.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/str.h"

/* libarchive's reader, loaded as the packager loads the writer (the runner does not link it) */
#define READER_FUNCS(X) \
	X(archive_read_new) X(archive_read_support_filter_gzip) X(archive_read_support_format_tar) \
	X(archive_read_open_memory) X(archive_read_next_header) X(archive_read_data) X(archive_read_free) \
	X(archive_entry_pathname) X(archive_entry_filetype) X(archive_entry_perm) X(archive_entry_mtime) \
	X(archive_entry_uid) X(archive_entry_gid) X(archive_entry_uname) X(archive_entry_size)
static struct {
	READER_FUNCS(DHG_DL_FIELD)
} ar;
#define SYM(f) DHG_DL_SYM(ar, f)
static const dhg_dl_sym reader_syms[] = { READER_FUNCS(SYM) };
#undef SYM
static dhg_dl_lib reader = DHG_DL_LIB_INIT("test reader", DHG_LIBARCHIVE_SONAME, reader_syms,
					   sizeof(reader_syms) / sizeof(reader_syms[0]), NULL);

static const char CHART_YAML[] = "apiVersion: v2\nname: shop\nversion: 1.2.3+build.1\nappVersion: \"4.5\"\n"
				 "description: Shop chart\n";

static void set_file(engine_file *f, const char *path, const char *data)
{
	f->path = (char *)path;
	f->data = (char *)data;
	f->len = strlen(data);
}

static engine_chart *mk_chart(engine_file *files, size_t n)
{
	static engine_chart c;
	memset(&c, 0, sizeof(c));
	c.files = files;
	c.nfiles = n;
	snprintf(c.name, sizeof(c.name), "shop");
	snprintf(c.version, sizeof(c.version), "1.2.3+build.1");
	return &c;
}

START_TEST(test_output_package__reproducible)
{
	engine_file a[4], b[4];
	unsigned char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL;
	size_t l1, l2, l3, l4;
	engine_chart c1, c2;

	set_file(&a[0], "Chart.yaml", CHART_YAML);
	set_file(&a[1], "templates/a.yaml", "kind: A\n");
	set_file(&a[2], "templates/b.yaml", "kind: B\n");
	set_file(&a[3], "values.yaml", "x: 1\n");
	/* the same files in another order */
	b[0] = a[3];
	b[1] = a[2];
	b[2] = a[0];
	b[3] = a[1];
	c1 = *mk_chart(a, 4);
	c2 = *mk_chart(b, 4);
	ck_assert_int_eq(pkgchart_tgz_build(&t1, &l1, &c1), 0);
	ck_assert_int_eq(pkgchart_tgz_build(&t2, &l2, &c1), 0);
	ck_assert_int_eq(pkgchart_tgz_build(&t3, &l3, &c2), 0);
	ck_assert_uint_eq(l1, l2);
	ck_assert_uint_eq(l1, l3);
	ck_assert(memcmp(t1, t2, l1) == 0);
	ck_assert(memcmp(t1, t3, l1) == 0);
	/* gzip header: magic, deflate, no FNAME/FCOMMENT flags, MTIME zero */
	ck_assert_uint_eq(t1[0], 0x1f);
	ck_assert_uint_eq(t1[1], 0x8b);
	ck_assert_uint_eq(t1[2], 8);
	ck_assert_uint_eq(t1[3] & 0x18, 0);
	ck_assert(t1[4] == 0 && t1[5] == 0 && t1[6] == 0 && t1[7] == 0);
	/* a one-byte change gives other bytes */
	set_file(&a[3], "values.yaml", "x: 2\n");
	ck_assert_int_eq(pkgchart_tgz_build(&t4, &l4, &c1), 0);
	ck_assert(l4 != l1 || memcmp(t1, t4, l1) != 0);
	free(t1);
	free(t2);
	free(t3);
	free(t4);
}
END_TEST

START_TEST(test_output_package__listing)
{
	engine_file f[3];
	unsigned char *t = NULL;
	size_t len;
	struct archive *a;
	struct archive_entry *e;
	const char *want[] = { "shop/Chart.yaml", "shop/.helmignore", "shop/templates/web-deployment.yaml" };
	const char *data[] = { CHART_YAML, "*.bak\n", "kind: Deployment\n" };
	char buf[256];
	int i = 0;

	set_file(&f[0], "templates/web-deployment.yaml", data[2]);
	set_file(&f[1], ".helmignore", data[1]);
	set_file(&f[2], "Chart.yaml", data[0]);
	ck_assert_int_eq(pkgchart_tgz_build(&t, &len, mk_chart(f, 3)), 0);
	ck_assert_int_eq(dhg_dl_load(&reader), 0);
	ck_assert_ptr_nonnull(a = ar.archive_read_new());
	ar.archive_read_support_filter_gzip(a);
	ar.archive_read_support_format_tar(a);
	ck_assert_int_eq(ar.archive_read_open_memory(a, t, len), ARCHIVE_OK);
	while (ar.archive_read_next_header(a, &e) == ARCHIVE_OK) {
		ck_assert_int_lt(i, 3);
		ck_assert_str_eq(ar.archive_entry_pathname(e), want[i]);
		ck_assert_int_eq(ar.archive_entry_filetype(e), AE_IFREG);
		ck_assert_int_eq(ar.archive_entry_perm(e), 0644);
		ck_assert_int_eq(ar.archive_entry_mtime(e), 0);
		ck_assert_int_eq(ar.archive_entry_uid(e), 0);
		ck_assert_int_eq(ar.archive_entry_gid(e), 0);
		ck_assert(ar.archive_entry_uname(e) == NULL || ar.archive_entry_uname(e)[0] == 0);
		ck_assert_int_eq(ar.archive_entry_size(e), (la_int64_t)strlen(data[i]));
		ck_assert_int_eq(ar.archive_read_data(a, buf, sizeof(buf)), (la_ssize_t)strlen(data[i]));
		ck_assert(memcmp(buf, data[i], strlen(data[i])) == 0);
		i++;
	}
	ck_assert_int_eq(i, 3);
	ar.archive_read_free(a);
	free(t);
}
END_TEST

START_TEST(test_output_package__rejects_bad_paths)
{
	const char *bad[] = { "../x.yaml", "/abs.yaml", "a//b.yaml", "templates/../../x", "./x", "" };
	engine_file f[2];
	unsigned char *t = (unsigned char *)"sentinel";
	size_t len = 7;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		set_file(&f[0], "Chart.yaml", CHART_YAML);
		set_file(&f[1], bad[i], "x");
		ck_assert_int_eq(pkgchart_tgz_build(&t, &len, mk_chart(f, 2)), DHG_EINVALID);
		ck_assert_ptr_null(t);
		ck_assert_msg(strstr(dhg_error_last()->message, "safe relative path") != NULL, "%s",
			      dhg_error_last()->message);
	}
	set_file(&f[0], "Chart.yaml", CHART_YAML);
	set_file(&f[1], "Chart.yaml", CHART_YAML);
	ck_assert_int_eq(pkgchart_tgz_build(&t, &len, mk_chart(f, 2)), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "twice") != NULL);
	set_file(&f[0], "values.yaml", "a: 1\n");
	ck_assert_int_eq(pkgchart_tgz_build(&t, &len, mk_chart(f, 1)), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "no Chart.yaml") != NULL);
}
END_TEST

START_TEST(test_output_package__config_json)
{
	static const char yaml[] =
		"apiVersion: v2\n"
		"name: shop\n"
		"version: 1.2.3+build.1\n"
		"kubeVersion: \">=1.25.0\"\n"
		"description: 'Shop: the \"best\" <&>\u2028'\n"
		"type: application\n"
		"keywords: [shop, web]\n"
		"home: https://example.invalid\n"
		"sources: []\n"
		"icon: \"\"\n"
		"maintainers:\n"
		"  - name: Ann\n"
		"    email: ann@example.invalid\n"
		"dependencies:\n"
		"  - name: redis\n"
		"    version: 1.x\n"
		"    repository: oci://r.example/charts\n"
		"    condition: redis.enabled\n"
		"annotations:\n"
		"  z.example/last: \"1\"\n"
		"  a.example/first: x\n"
		"deprecated: false\n"
		"appVersion: \"4.5\"\n";
	static const char want[] =
		"{\"name\":\"shop\",\"home\":\"https://example.invalid\",\"version\":\"1.2.3+build.1\","
		"\"description\":\"Shop: the \\\"best\\\" \\u003c\\u0026\\u003e\\u2028\",\"keywords\":[\"shop\",\"web\"],"
		"\"maintainers\":[{\"name\":\"Ann\",\"email\":\"ann@example.invalid\"}],\"apiVersion\":\"v2\","
		"\"appVersion\":\"4.5\",\"annotations\":{\"a.example/first\":\"x\",\"z.example/last\":\"1\"},"
		"\"kubeVersion\":\"\\u003e=1.25.0\",\"dependencies\":[{\"name\":\"redis\",\"version\":\"1.x\","
		"\"repository\":\"oci://r.example/charts\",\"condition\":\"redis.enabled\"}],\"type\":\"application\"}";
	engine_file f[1];
	char *out = NULL;
	size_t len = 0;

	set_file(&f[0], "Chart.yaml", yaml);
	ck_assert_int_eq(pkgchart_config_build(&out, &len, mk_chart(f, 1)), 0);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(len, strlen(want));
	free(out);

	/* name/version must match the chart */
	set_file(&f[0], "Chart.yaml", "apiVersion: v2\nname: other\nversion: 1.2.3+build.1\n");
	ck_assert_int_eq(pkgchart_config_build(&out, &len, mk_chart(f, 1)), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "'name'") != NULL);
	set_file(&f[0], "Chart.yaml", "- not\n- a mapping\n");
	ck_assert_int_eq(pkgchart_config_build(&out, &len, mk_chart(f, 1)), DHG_EINVALID);
	set_file(&f[0], "Chart.yaml", "name: [unclosed\n");
	ck_assert_int_eq(pkgchart_config_build(&out, &len, mk_chart(f, 1)), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "Chart.yaml") != NULL);
	ck_assert_ptr_null(out);
}
END_TEST

static void write_file(const char *root, const char *rel, const char *data)
{
	char *p = dhg_asprintf("%s/%s", root, rel);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(dhg_mkdir_parent(p, 0755), 0);
	ck_assert_int_eq(dhg_file_write(p, data, strlen(data)), 0);
	free(p);
}

START_TEST(test_output_package__dir_load)
{
	char tmpl[] = "/tmp/dhg-pkg-test.XXXXXX";
	char *root = mkdtemp(tmpl);
	engine_chart *c = NULL;
	const char *want[] = { ".helmignore", "Chart.yaml", "charts/sub/Chart.yaml", "keep.bak",
			       "templates/a.yaml", "templates/z/b.yaml", "values.yaml" };

	ck_assert_ptr_nonnull(root);
	write_file(root, "Chart.yaml", CHART_YAML);
	write_file(root, "values.yaml", "a: 1\n");
	write_file(root, ".helmignore", "# comment\n\n*.bak\n!keep.bak\nbuild/\n/secret.txt\ntemplates/*.tmp\n");
	write_file(root, "templates/z/b.yaml", "b\n");
	write_file(root, "templates/a.yaml", "a\n");
	write_file(root, "templates/.hidden.yaml", "hidden\n");
	write_file(root, "templates/x.tmp", "tmp\n");
	write_file(root, "old.bak", "old\n");
	write_file(root, "keep.bak", "keep\n");
	write_file(root, "build/out.txt", "out\n");
	write_file(root, "secret.txt", "s\n");
	write_file(root, "charts/sub/Chart.yaml", "apiVersion: v2\nname: sub\nversion: 0.1.0\n");

	ck_assert_int_eq(pkgchart_dir_load(&c, root), 0);
	ck_assert_str_eq(c->name, "shop");
	ck_assert_str_eq(c->version, "1.2.3+build.1");
	ck_assert_uint_eq(c->nfiles, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < c->nfiles; i++)
		ck_assert_str_eq(c->files[i].path, want[i]);
	ck_assert_str_eq(c->files[4].data, "a\n");
	pkgchart_chart_free(c);
	c = NULL;

	/* bad version, then missing Chart.yaml */
	write_file(root, "Chart.yaml", "apiVersion: v2\nname: shop\nversion: \"1.2\"\n");
	ck_assert_int_eq(pkgchart_dir_load(&c, root), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "'version'") != NULL);
	ck_assert(strstr(dhg_error_last()->message, "Chart.yaml") != NULL);
	ck_assert_ptr_null(c);
	{
		char *p = dhg_asprintf("%s/Chart.yaml", root);
		ck_assert_int_eq(unlink(p), 0);
		free(p);
	}
	ck_assert_int_eq(pkgchart_dir_load(&c, root), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "no Chart.yaml") != NULL);
	ck_assert_int_eq(dhg_rm_rf(root), 0);
	ck_assert_int_eq(pkgchart_dir_load(&c, root), DHG_ENOTFOUND);
	pkgchart_chart_free(NULL);
}
END_TEST

Suite *output_package_suite(void)
{
	Suite *s = suite_create("output_package");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_output_package__reproducible);
	tcase_add_test(tc, test_output_package__listing);
	tcase_add_test(tc, test_output_package__rejects_bad_paths);
	tcase_add_test(tc, test_output_package__config_json);
	tcase_add_test(tc, test_output_package__dir_load);
	suite_add_tcase(s, tc);
	return s;
}
