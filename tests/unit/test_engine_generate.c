/* Chart generation: layout, determinism, namespace handling, secrets modes, files/, name
 * collisions, digest, atomic write. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/engine.h"
#include "engine/generate/generate.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/hash.h"
#include "util/str.h"

static const char *const objs_json[] = {
	"{\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"web-frontend\",\"namespace\":\"shop\"},"
	"\"spec\":{\"replicas\":3,\"selector\":{\"matchLabels\":{\"app\":\"web\"}},\"template\":{\"metadata\":{\"labels\":"
	"{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"web\",\"image\":\"nginx:1.25\",\"envFrom\":[{\"configMapRef\":"
	"{\"name\":\"web-config\"}}]}]}}}}",
	"{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"web-frontend\",\"namespace\":\"shop\"},"
	"\"spec\":{\"selector\":{\"app\":\"web\"},\"ports\":[{\"name\":\"http\",\"port\":80}]}}",
	"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"web-config\",\"namespace\":\"shop\"},"
	"\"data\":{\"MODE\":\"yes\",\"rules\":\"{{ $labels.x }}\"}}",
	"{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"db\",\"namespace\":\"shop\"},"
	"\"data\":{\"password\":\"czNjcjN0LXBhc3N3b3Jk\"},\"stringData\":{\"token\":\"plain-t0ken-value\"}}",
	"{\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"ClusterRole\",\"metadata\":{\"name\":\"reader\"},"
	"\"rules\":[]}",
	"{\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"other\",\"namespace\":\"elsewhere\"}}",
	"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\",\"metadata\":{\"name\":"
	"\"widgets.example.com\"},\"spec\":{\"group\":\"example.com\"}}",
};
#define NOBJS (sizeof(objs_json) / sizeof(objs_json[0]))

static void load(engine_objects *objs, const size_t *order)
{
	for (size_t i = 0; i < NOBJS; i++) {
		json_error_t e;
		json_t *o = json_loads(objs_json[order ? order[i] : i], 0, &e);
		ck_assert_msg(o != NULL, "bad test json %zu: %s", i, e.text);
		ck_assert_int_eq(engine_objects_add_take(objs, o, "test", (int)i, 1), 0);
	}
}

static engine_chart *gen(const size_t *order, engine_secrets_mode mode)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	opts.chart_name = "shop";
	opts.secrets = mode;
	opts.external_store_name = "vault";
	load(&objs, order);
	ck_assert_msg(engine_chart_generate(&c, &objs, &opts) == 0, "generate: %s", dhg_error_last()->message);
	engine_objects_dispose(&objs);
	return c;
}

static const char *file(const engine_chart *c, const char *path)
{
	const engine_file *f = engine_chart_file(c, path);
	ck_assert_msg(f != NULL, "missing %s", path);
	return f->data;
}

START_TEST(test_engine_generate__layout)
{
	engine_chart *c = gen(NULL, ENGINE_SECRETS_MASK);
	const char *expect[] = {".helmignore", "Chart.yaml", "crds/widgets.example.com.yaml", "templates/NOTES.txt",
				"templates/_helpers.tpl", "templates/db-secret.yaml", "templates/other-serviceaccount.yaml",
				"templates/reader-clusterrole.yaml", "templates/web-config-configmap.yaml",
				"templates/web-frontend-deployment.yaml", "templates/web-frontend-service.yaml",
				"values.schema.json", "values.yaml"};
	ck_assert_uint_eq(c->nfiles, sizeof(expect) / sizeof(expect[0]));
	for (size_t i = 0; i < c->nfiles; i++)
		ck_assert_str_eq(c->files[i].path, expect[i]);
	ck_assert_uint_eq(c->resource_count, NOBJS);
	ck_assert_str_eq(c->name, "shop");
	ck_assert_str_eq(c->version, "0.1.0");
	ck_assert(strstr(file(c, "Chart.yaml"), "apiVersion: v2\n"));
	ck_assert(strstr(file(c, "Chart.yaml"), "appVersion: \"1.25\"\n"));
	ck_assert(strstr(file(c, "Chart.yaml"), "type: application\n"));
	ck_assert(strstr(file(c, "templates/_helpers.tpl"), "define \"shop.selectorLabels\""));
	ck_assert(strstr(file(c, "values.yaml"), "webFrontend:\n"));
	ck_assert(strstr(file(c, "values.yaml"), "    # -- Number of replicas (Deployment shop/web-frontend)\n    replicas: 3\n"));
	ck_assert(strstr(file(c, "values.schema.json"), "\"replicas\": {\n"));
	ck_assert(strstr(file(c, "values.schema.json"), "\"type\": \"integer\""));
	/* CRD verbatim, no template text */
	ck_assert(!strstr(file(c, "crds/widgets.example.com.yaml"), "{{"));
	engine_chart_free(c);
}
END_TEST

START_TEST(test_engine_generate__namespaces_and_labels)
{
	engine_chart *c = gen(NULL, ENGINE_SECRETS_MASK);
	const char *dep = file(c, "templates/web-frontend-deployment.yaml");
	ck_assert(strstr(dep, "  namespace: {{ .Release.Namespace | quote }}\n"));
	ck_assert(strstr(dep, "    {{- include \"shop.labels\" $ | nindent 4 }}\n"));
	/* selector untouched */
	ck_assert(strstr(dep, "  selector:\n    matchLabels:\n      app: web\n"));
	/* checksum of the ConfigMap the pods use, computed by Helm */
	ck_assert(strstr(dep, "checksum/config: {{ (include (print $.Template.BasePath \"/web-config-configmap.yaml\") $) | sha256sum | quote }}"));
	ck_assert(strstr(file(c, "templates/other-serviceaccount.yaml"), "  namespace: elsewhere\n"));
	ck_assert(!strstr(file(c, "templates/reader-clusterrole.yaml"), "namespace"));
	/* {{ in data is escaped in the template; its value lives in values.yaml */
	ck_assert(strstr(file(c, "values.yaml"), "rules: '{{ $labels.x }}'") ||
		  strstr(file(c, "values.yaml"), "rules: \"{{ $labels.x }}\""));
	ck_assert(strstr(file(c, "values.yaml"), "MODE: \"yes\""));
	engine_chart_free(c);
}
END_TEST

START_TEST(test_engine_generate__determinism)
{
	size_t rev[NOBJS], rot[NOBJS];
	for (size_t i = 0; i < NOBJS; i++) {
		rev[i] = NOBJS - 1 - i;
		rot[i] = (i + 3) % NOBJS;
	}
	engine_chart *a = gen(NULL, ENGINE_SECRETS_MASK), *b = gen(rev, ENGINE_SECRETS_MASK),
		     *c = gen(rot, ENGINE_SECRETS_MASK);
	ck_assert_str_eq(a->digest, b->digest);
	ck_assert_str_eq(a->digest, c->digest);
	ck_assert_uint_eq(a->nfiles, b->nfiles);
	for (size_t i = 0; i < a->nfiles; i++) {
		ck_assert_str_eq(a->files[i].path, b->files[i].path);
		ck_assert_uint_eq(a->files[i].len, b->files[i].len);
		ck_assert(memcmp(a->files[i].data, b->files[i].data, a->files[i].len) == 0);
	}
	/* another mode gives another digest */
	engine_chart *d = gen(NULL, ENGINE_SECRETS_INCLUDE);
	ck_assert_str_ne(a->digest, d->digest);
	engine_chart_free(a);
	engine_chart_free(b);
	engine_chart_free(c);
	engine_chart_free(d);
}
END_TEST

START_TEST(test_engine_generate__digest_formula)
{
	engine_file f[2] = {{"a", "xy", 2}, {"b/c", "", 0}};
	unsigned char buf[64];
	size_t n = 0;
	char want[DHG_DIGEST_STR_SIZE], got[DHG_DIGEST_STR_SIZE];
	memcpy(buf + n, "a\0", 2), n += 2;
	memcpy(buf + n, "\0\0\0\0\0\0\0\2xy", 10), n += 10;
	memcpy(buf + n, "b/c\0", 4), n += 4;
	memcpy(buf + n, "\0\0\0\0\0\0\0\0", 8), n += 8;
	ck_assert_int_eq(dhg_sha256_str(want, buf, n), 0);
	ck_assert_int_eq(engine_chart_digest(got, f, 2), 0);
	ck_assert_str_eq(got, want);
}
END_TEST

static void assert_no_secret(const engine_chart *c)
{
	const char *secrets[] = {"czNjcjN0LXBhc3N3b3Jk", "s3cr3t-password", "plain-t0ken-value", "cGxhaW4tdDBrZW4tdmFsdWU=", NULL};
	for (size_t i = 0; i < c->nfiles; i++)
		for (size_t k = 0; secrets[k]; k++)
			ck_assert_msg(!strstr(c->files[i].data, secrets[k]), "%s leaks %s", c->files[i].path, secrets[k]);
}

START_TEST(test_engine_generate__secrets_modes)
{
	engine_chart *m = gen(NULL, ENGINE_SECRETS_MASK), *in = gen(NULL, ENGINE_SECRETS_INCLUDE),
		     *ex = gen(NULL, ENGINE_SECRETS_EXTERNAL);
	const char *t;
	assert_no_secret(m);
	t = file(m, "templates/db-secret.yaml");
	ck_assert(strstr(t, "password: {{ required "));
	ck_assert(strstr(t, "| b64enc | toJson }}"));
	ck_assert(strstr(t, "token: {{ required "));
	ck_assert(strstr(file(m, "values.yaml"), "password: \"\""));
	ck_assert(strstr(file(in, "values.yaml"), "password: czNjcjN0LXBhc3N3b3Jk"));
	ck_assert(strstr(file(in, "values.yaml"), "token: plain-t0ken-value"));
	assert_no_secret(ex);
	ck_assert(engine_chart_file(ex, "templates/db-secret.yaml") == NULL);
	t = file(ex, "templates/db-externalsecret.yaml");
	ck_assert(strstr(t, "apiVersion: external-secrets.io/v1beta1\nkind: ExternalSecret\n"));
	ck_assert(strstr(t, "name: vault"));
	ck_assert(strstr(t, "- remoteRef:\n        key: {{ .Values.db.secret.remoteKey | toJson }}\n        property: password\n      secretKey: password\n"));
	ck_assert(strstr(t, "property: token"));
	engine_chart_free(m);
	engine_chart_free(in);
	engine_chart_free(ex);
}
END_TEST

START_TEST(test_engine_generate__large_configmap_and_collisions)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	char *big = malloc(3001);
	const engine_file *f;
	for (int i = 0; i < 3000; i++)
		big[i] = i % 61 == 60 ? '\n' : (char)('a' + i % 26);
	big[3000] = 0;
	json_t *cm = json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s,s:s}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata",
			       "name", "app", "namespace", "a", "data", "big.txt", big, "small", "x");
	ck_assert_int_eq(engine_objects_add_take(&objs, cm, "t", 0, 1), 0);
	/* same name and kind in two namespaces; and two names with one camelCase */
	ck_assert_int_eq(engine_objects_add_take(&objs, json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind",
								    "ConfigMap", "metadata", "name", "app", "namespace", "b",
								    "data", "k", "v"), "t", 1, 1), 0);
	ck_assert_int_eq(engine_objects_add_take(&objs, json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind",
								    "ConfigMap", "metadata", "name", "my-app", "namespace", "a",
								    "data", "k", "v1"), "t", 2, 1), 0);
	ck_assert_int_eq(engine_objects_add_take(&objs, json_pack("{s:s,s:s,s:{s:s,s:s},s:{s:s}}", "apiVersion", "v1", "kind",
								    "ConfigMap", "metadata", "name", "my.app", "namespace", "a",
								    "data", "k", "v2"), "t", 3, 1), 0);
	opts.chart_name = "big";
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), 0);
	f = engine_chart_file(c, "files/app-configmap/big.txt");
	ck_assert(f != NULL);
	ck_assert_uint_eq(f->len, 3000);
	ck_assert(memcmp(f->data, big, 3000) == 0);
	ck_assert(strstr(file(c, "templates/app-configmap.yaml"), "big.txt: {{ .Files.Get \"files/app-configmap/big.txt\" | toJson }}"));
	ck_assert(!strstr(file(c, "values.yaml"), "abcdefghij"));
	ck_assert(engine_chart_file(c, "templates/app-configmap-2.yaml") != NULL);
	ck_assert(strstr(file(c, "values.yaml"), "  configMap2:\n"));
	ck_assert(strstr(file(c, "values.yaml"), "myApp:\n"));
	ck_assert(strstr(file(c, "templates/my.app-configmap.yaml"), ".Values.myApp.configMap2.data.k"));
	engine_chart_free(c);
	engine_objects_dispose(&objs);
	free(big);
}
END_TEST

START_TEST(test_engine_generate__bad_options)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	load(&objs, NULL);
	opts.chart_name = "Shop_1";
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), DHG_EINVALID);
	ck_assert(c == NULL);
	ck_assert(strstr(dhg_error_last()->message, "Shop_1"));
	opts.chart_name = "shop";
	opts.chart_version = "1.0";
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "1.0"));
	engine_objects_dispose(&objs);
}
END_TEST

START_TEST(test_engine_generate__write_dir_atomic)
{
	char tmpl[] = "/tmp/dhg-gen-test.XXXXXX";
	char *root = mkdtemp(tmpl), *dir, *p, *data = NULL, *blocker;
	size_t len;
	engine_chart *c = gen(NULL, ENGINE_SECRETS_MASK);
	ck_assert(root != NULL);
	dir = dhg_asprintf("%s/chart", root);
	/* an existing directory with a stale file is replaced as a whole */
	p = dhg_asprintf("%s/stale.txt", dir);
	ck_assert_int_eq(dhg_mkdir_p(dir, 0755), 0);
	ck_assert_int_eq(dhg_file_write(p, "x", 1), 0);
	ck_assert_int_eq(engine_chart_write_dir(c, dir), 0);
	ck_assert(!dhg_path_exists(p));
	free(p);
	p = dhg_asprintf("%s/values.yaml", dir);
	ck_assert_int_eq(dhg_file_read(&data, &len, p, 1 << 20), 0);
	ck_assert_str_eq(data, engine_chart_file(c, "values.yaml")->data);
	free(data);
	free(p);
	/* a failure (parent is a file) changes nothing and leaves no temporary directory */
	blocker = dhg_asprintf("%s/file", root);
	ck_assert_int_eq(dhg_file_write(blocker, "x", 1), 0);
	p = dhg_asprintf("%s/sub/chart", blocker);
	ck_assert_int_lt(engine_chart_write_dir(c, p), 0);
	free(p);
	p = dhg_asprintf("cd %s && test $(ls -A | wc -l) -eq 2", root);
	ck_assert_int_eq(system(p), 0);
	free(p);
	p = dhg_asprintf("rm -rf %s", root);
	ck_assert_int_eq(system(p), 0);
	free(p);
	free(blocker);
	free(dir);
	engine_chart_free(c);
}
END_TEST


/* A chart of n files (sorted paths) made by hand; bad (may be NULL) puts a file name too
 * long for the file system at those indexes. */
static engine_chart *chart_of(size_t n, const size_t *bad, size_t nbad)
{
	engine_chart *c = calloc(1, sizeof(*c));
	ck_assert_ptr_nonnull(c);
	ck_assert_ptr_nonnull(c->files = calloc(n, sizeof(*c->files)));
	for (size_t i = 0; i < n; i++) {
		char name[400];
		int long_name = 0;
		for (size_t k = 0; k < nbad; k++)
			long_name |= bad[k] == i;
		snprintf(name, sizeof(name), "%s/f%04zu%s.yaml", i < n / 3 ? "crds" : i < n - 2 ? "templates" : "z/y", i,
			 long_name ? "-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				     "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
				   : "");
		ck_assert_ptr_nonnull(c->files[i].path = dhg_strdup(name));
		ck_assert_ptr_nonnull(c->files[i].data = dhg_asprintf("file %zu\n", i));
		c->files[i].len = strlen(c->files[i].data);
	}
	c->nfiles = n;
	return c;
}

/* A message with the temporary directory's path (the word holding ".tmp-<hex>" up to its
 * next '/') replaced by TMP: one of two static buffers. */
static const char *same_up_to_tmp(const char *m)
{
	static char buf[2][1024];
	static int k;
	const char *t = strstr(m, ".tmp-"), *b = t, *e = t ? strchr(t, '/') : NULL;
	char *o = buf[k ^= 1];
	while (b && b > m && b[-1] != ' ')
		b--;
	if (!t || !e)
		snprintf(o, sizeof(buf[0]), "%s", m);
	else
		snprintf(o, sizeof(buf[0]), "%.*sTMP%s", (int)(b - m), m, e);
	return o;
}

/* engine_chart_write_dir_threads(): the same tree as one thread, and the same first error */
START_TEST(test_engine_generate__write_dir_threads)
{
	char tmpl[] = "/tmp/dhg-gen-test.XXXXXX";
	char *root = mkdtemp(tmpl), *d1, *d4, *cmd, msg[1024];
	size_t bad[2] = { 70, 40 };
	engine_chart *c = chart_of(200, NULL, 0), *e;
	ck_assert(root != NULL);
	d1 = dhg_asprintf("%s/one", root);
	d4 = dhg_asprintf("%s/four", root);
	ck_assert_int_eq(engine_chart_write_dir_threads(c, d1, 1), 0);
	ck_assert_int_eq(engine_chart_write_dir_threads(c, d4, 4), 0);
	cmd = dhg_asprintf("diff -r %s %s && test $(find %s -type f | wc -l) -eq 200", d1, d4, d4);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	engine_chart_free(c);
	/* two files that cannot be written: the first in file order is the error, nothing left */
	e = chart_of(200, bad, 2);
	ck_assert_int_lt(engine_chart_write_dir_threads(e, d1, 1), 0);
	snprintf(msg, sizeof(msg), "%s", dhg_error_last()->message);
	ck_assert_msg(strstr(msg, "f0040-") != NULL, "%s", msg);
	for (int t = 2; t <= 8; t *= 2) { /* the message names the random temporary directory */
		ck_assert_int_lt(engine_chart_write_dir_threads(e, d4, t), 0);
		ck_assert_str_eq(same_up_to_tmp(dhg_error_last()->message), same_up_to_tmp(msg));
		ck_assert_msg(strstr(dhg_error_last()->message, "f0040-") != NULL, "%s", dhg_error_last()->message);
	}
	engine_chart_free(e);
	/* a directory that is also a file's path: the directory fails, after the file */
	e = chart_of(40, NULL, 0);
	free(e->files[39].path);
	ck_assert_ptr_nonnull(e->files[39].path = dhg_strdup("z/y/f0038.yaml/x"));
	ck_assert_int_lt(engine_chart_write_dir_threads(e, d1, 1), 0);
	snprintf(msg, sizeof(msg), "%s", dhg_error_last()->message);
	ck_assert_int_lt(engine_chart_write_dir_threads(e, d4, 4), 0);
	ck_assert_str_eq(same_up_to_tmp(dhg_error_last()->message), same_up_to_tmp(msg));
	ck_assert_msg(strstr(msg, "z/y/f0038.yaml/x") != NULL, "%s", msg);
	engine_chart_free(e);
	cmd = dhg_asprintf("cd %s && test $(ls -A | wc -l) -eq 2 && rm -rf %s", root, root);
	ck_assert_int_eq(system(cmd), 0);
	free(cmd);
	free(d1);
	free(d4);
}
END_TEST

START_TEST(test_engine_generate__input_untouched_and_no_injection)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	json_t *before[NOBJS];
	load(&objs, NULL);
	for (size_t i = 0; i < NOBJS; i++)
		before[i] = json_deep_copy(objs.items[i].obj);
	opts.chart_name = "shop";
	for (int mode = 0; mode < 3; mode++) {
		opts.secrets = (engine_secrets_mode)mode;
		ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), 0);
		engine_chart_free(c);
		c = NULL;
	}
	for (size_t i = 0; i < NOBJS; i++) {
		ck_assert_msg(json_equal(before[i], objs.items[i].obj), "input object %zu was modified", i);
		json_decref(before[i]);
	}
	engine_objects_dispose(&objs);
	/* keys reserved for template markers cannot come from input */
	ck_assert_int_eq(engine_objects_add_take(&objs, json_pack("{s:s,s:s,s:{s:s},s:{s:{s:s}}}", "apiVersion", "v1", "kind",
								    "ConfigMap", "metadata", "name", "evil", "data", "x",
								    "\x01i", "{{ .Files.Get \"x\" }}"), "t", 0, 1), 0);
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), DHG_EINVALID);
	ck_assert(c == NULL);
	ck_assert(strstr(dhg_error_last()->message, "evil"));
	engine_objects_dispose(&objs);
}
END_TEST


START_TEST(test_engine_generate__take_releases_input)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *a = gen(NULL, ENGINE_SECRETS_MASK), *b = NULL;
	load(&objs, NULL);
	opts.chart_name = "shop";
	opts.external_store_name = "vault";
	ck_assert_int_eq(engine_chart__generate_take(&b, &objs, &opts, 1), 0);
	ck_assert_str_eq(a->digest, b->digest);
	for (size_t i = 0; i < objs.len; i++)
		ck_assert_msg(objs.items[i].obj == NULL, "object %zu not released", i);
	ck_assert_str_eq(engine_chart_file(a, "templates/NOTES.txt")->data, engine_chart_file(b, "templates/NOTES.txt")->data);
	engine_objects_dispose(&objs);
	engine_chart_free(a);
	engine_chart_free(b);
}
END_TEST

/* engine_chart__generate_take edits unshared input objects in place instead of copying them:
 * the chart must be byte for byte the one engine_chart_generate makes (also with containers
 * shared between two places of an object, in every secrets mode), and errors still name the object with its
 * namespace (which the template tree replaces by a marker). */
static const char take_yaml[] =
	"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-config\n  namespace: shop\n"
	"  labels: {app: web}\ndata: {MODE: \"yes\"}\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
	"spec:\n  replicas: 2\n  selector: {matchLabels: &m {app: web}}\n"
	"  template:\n    metadata: {labels: *m}\n    spec:\n      containers:\n"
	"      - {name: web, image: \"nginx:1.25\", env: [{name: A, value: \"{{x}}\"}]}\n"
	"---\napiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: shop}\n"
	"data: {password: czNjcjN0}\nstringData: {token: t0ken}\n"
	"---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api, namespace: shop, labels: {app: api}}\n"
	"spec:\n  selector: {matchLabels: {app: api}}\n  template:\n    metadata: {labels: {app: api}}\n"
	"    spec:\n      containers: [{name: api, image: \"api:2\", envFrom: [{configMapRef: {name: web-config}}]}]\n";

static void load_yaml(engine_objects *objs, const char *y)
{
	engine_warnings w = ENGINE_WARNINGS_INIT;
	ck_assert_msg(engine_extract_buffer(objs, y, strlen(y), "take.yaml") == 0, "extract: %s", dhg_error_last()->message);
	ck_assert_msg(engine_normalize(objs, &w) == 0, "normalize: %s", dhg_error_last()->message);
	engine_warnings_dispose(&w);
}

/* Makes the first object's metadata.annotations the same jansson object as its labels (the
 * extractor copies YAML aliases, but a caller's objects may share containers). */
static void share_labels(engine_objects *objs)
{
	json_t *meta = json_object_get(objs->items[0].obj, "metadata");
	ck_assert(json_is_object(json_object_get(meta, "labels")));
	ck_assert_int_eq(json_object_set(meta, "annotations", json_object_get(meta, "labels")), 0);
}

START_TEST(test_engine_generate__take_same_chart_as_copy)
{
	engine_options opts = ENGINE_OPTIONS_INIT;
	opts.chart_name = "shop";
	for (int mode = 0; mode < 3; mode++) {
		engine_objects x = ENGINE_OBJECTS_INIT, y = ENGINE_OBJECTS_INIT;
		engine_chart *a = NULL, *b = NULL;
		opts.secrets = (engine_secrets_mode)mode;
		load_yaml(&x, take_yaml);
		load_yaml(&y, take_yaml);
		share_labels(&x);
		share_labels(&y);
		ck_assert_int_eq(engine_chart_generate(&a, &x, &opts), 0);
		ck_assert_int_eq(engine_chart__generate_take(&b, &y, &opts, 1), 0);
		ck_assert_uint_eq(a->nfiles, b->nfiles);
		for (size_t i = 0; i < a->nfiles; i++) {
			ck_assert_str_eq(a->files[i].path, b->files[i].path);
			ck_assert_msg(a->files[i].len == b->files[i].len &&
					      !memcmp(a->files[i].data, b->files[i].data, a->files[i].len),
				      "mode %d: %s differs", mode, a->files[i].path);
		}
		ck_assert_str_eq(a->digest, b->digest);
		ck_assert(strstr(engine_chart_file(b, "templates/web-config-configmap.yaml")->data, "app: web"));
		engine_chart_free(a);
		engine_chart_free(b);
		engine_objects_dispose(&x);
		engine_objects_dispose(&y);
	}
	/* an error while writing the template (after the namespace became a marker) */
	{
		engine_objects z = ENGINE_OBJECTS_INIT;
		engine_chart *c = NULL;
		opts.secrets = ENGINE_SECRETS_MASK;
		load_yaml(&z, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
			      "spec: {x: .inf}\n");
		ck_assert_int_eq(engine_chart__generate_take(&c, &z, &opts, 1), DHG_EINVALID);
		ck_assert(c == NULL);
		ck_assert_msg(strstr(dhg_error_last()->message, "Deployment shop/web") &&
				      strstr(dhg_error_last()->message, "cannot be represented"),
			      "message: %s", dhg_error_last()->message);
		engine_objects_dispose(&z);
		/* marker-reserved keys are refused without the copy too */
		load_yaml(&z, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: evil, namespace: shop}\n"
			      "data: {x: {\"\\x01i\": y}}\n");
		ck_assert_int_eq(engine_chart__generate_take(&c, &z, &opts, 1), DHG_EINVALID);
		ck_assert(c == NULL);
		ck_assert_msg(strstr(dhg_error_last()->message, "shop/evil") && strstr(dhg_error_last()->message, "U+0001"),
			      "message: %s", dhg_error_last()->message);
		engine_objects_dispose(&z);
		/* a key that is the byte 0x1B (once the block marker's key, by a C hex escape) is data */
		load_yaml(&z, "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n"
			      "spec: {x: {\"\\e\": \"{{ evil }}\"}}\n");
		ck_assert_int_eq(engine_chart__generate_take(&c, &z, &opts, 1), 0);
		ck_assert_msg(strstr(engine_chart_file(c, "templates/w-widget.yaml")->data,
				     "\"\\x1B\": \"{{ \"{{\" }} evil {{ \"}}\" }}\""),
			      "%s", engine_chart_file(c, "templates/w-widget.yaml")->data);
		engine_chart_free(c);
		engine_objects_dispose(&z);
	}
	/* nesting: a scalar 201 levels down is refused with and without the copy; 200 is fine */
	for (int levels = 199; levels <= 200; levels++) {
		for (int take = 0; take < 2; take++) {
			engine_objects z = ENGINE_OBJECTS_INIT;
			engine_chart *c = NULL;
			json_t *leaf = json_pack("{s:i}", "a", 1), *o;
			for (int d = 1; d < levels; d++)
				leaf = json_pack("{s:o}", "n", leaf);
			o = json_pack("{s:s,s:s,s:{s:s},s:o}", "apiVersion", "example.com/v1", "kind", "Deep", "metadata",
				      "name", "deep", "x", leaf);
			ck_assert_ptr_nonnull(o);
			ck_assert_int_eq(engine_objects_add_take(&z, o, "t", 0, 1), 0);
			int rc = take ? engine_chart__generate_take(&c, &z, &opts, 1) : engine_chart_generate(&c, &z, &opts);
			if (levels == 199) {
				ck_assert_msg(rc == 0, "levels %d take %d: %s", levels, take, dhg_error_last()->message);
			} else {
				ck_assert_int_eq(rc, DHG_EINVALID);
				ck_assert(strstr(dhg_error_last()->message, "deeper than 200"));
			}
			engine_chart_free(c);
			engine_objects_dispose(&z);
		}
	}
}
END_TEST

Suite *engine_generate_suite(void)
{
	Suite *s = suite_create("engine_generate");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_engine_generate__layout);
	tcase_add_test(tc, test_engine_generate__namespaces_and_labels);
	tcase_add_test(tc, test_engine_generate__determinism);
	tcase_add_test(tc, test_engine_generate__write_dir_threads);
	tcase_add_test(tc, test_engine_generate__digest_formula);
	tcase_add_test(tc, test_engine_generate__secrets_modes);
	tcase_add_test(tc, test_engine_generate__large_configmap_and_collisions);
	tcase_add_test(tc, test_engine_generate__bad_options);
	tcase_add_test(tc, test_engine_generate__write_dir_atomic);
	tcase_add_test(tc, test_engine_generate__input_untouched_and_no_injection);
	tcase_add_test(tc, test_engine_generate__take_releases_input);
	tcase_add_test(tc, test_engine_generate__take_same_chart_as_copy);
	suite_add_tcase(s, tc);
	return s;
}
