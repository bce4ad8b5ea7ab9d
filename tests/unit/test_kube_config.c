#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kube/config.h"
#include "kube/kube_private.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

static char tmpdir[256];

static void setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dhg-kube-config-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void teardown(void)
{
	dhg_rm_rf(tmpdir);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static char *write_tmp(const char *name, const char *text)
{
	char *p = dhg_asprintf("%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(dhg_file_write(p, text, strlen(text)), 0);
	return p;
}

/* The Authorization header the config would send ("" when none). */
static void auth_header(char *buf, size_t size, const kube_config *cfg)
{
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL, *cto = NULL;
	ck_assert_int_eq(kube_config__setup(e, &h, &cto, cfg), 0);
	buf[0] = 0;
	for (struct curl_slist *l = h; l; l = l->next)
		if (strncmp(l->data, "Authorization: ", 15) == 0)
			snprintf(buf, size, "%s", l->data + 15);
	curl_slist_free_all(h);
	curl_slist_free_all(cto);
	curl_easy_cleanup(e);
}

static json_t *describe(const kube_config *cfg)
{
	json_t *d = NULL;
	ck_assert_int_eq(kube_config__describe(&d, cfg), 0);
	return d;
}

#define DSTR(d, k) json_string_value(json_object_get((d), (k)))
#define DINT(d, k) json_integer_value(json_object_get((d), (k)))

static const char *KC_A =
	"apiVersion: v1\n"
	"kind: Config\n"
	"current-context: dev\n"
	"clusters:\n"
	"- name: c1\n"
	"  cluster:\n"
	"    server: https://10.0.0.1:6443/\n"
	"    certificate-authority: certs/ca.crt\n"
	"    tls-server-name: api.internal\n"
	"- name: c2\n"
	"  cluster:\n"
	"    server: https://10.0.0.2\n"
	"    insecure-skip-tls-verify: true\n"
	"    certificate-authority-data: aGVsbG8gd29ybGQ=\n"
	"contexts:\n"
	"- name: dev\n"
	"  context: {cluster: c1, user: u1, namespace: shop}\n"
	"- name: prod\n"
	"  context: {cluster: c2, user: u2}\n"
	"users:\n"
	"- name: u1\n"
	"  user:\n"
	"    token: secret-token-1\n"
	"- name: u2\n"
	"  user:\n"
	"    client-certificate-data: Y2VydA==\n"
	"    client-key-data: a2V5IQ==\n";

START_TEST(test_kube_config__parse_current_context)
{
	char *f = write_tmp("config", KC_A);
	kube_config_options o = KUBE_CONFIG_OPTIONS_INIT;
	o.kubeconfig = f;
	kube_config *cfg = NULL;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	ck_assert_str_eq(kube_config_server(cfg), "https://10.0.0.1:6443");
	ck_assert_str_eq(kube_config_namespace(cfg), "shop");
	ck_assert_str_eq(kube_config_context(cfg), "dev");
	json_t *d = describe(cfg);
	char want[400];
	snprintf(want, sizeof(want), "%s/certs/ca.crt", tmpdir); /* relative to the file's directory */
	ck_assert_str_eq(DSTR(d, "caFile"), want);
	ck_assert_str_eq(DSTR(d, "tlsServerName"), "api.internal");
	char hdr[256];
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer secret-token-1");
	/* tls-server-name: the URL names that host, CONNECT_TO maps it to the real address */
	char *url = kube_config__url(cfg, "/api");
	ck_assert_str_eq(url, "https://api.internal:6443/api");
	free(url);
	json_decref(d);
	kube_config_free(cfg);

	/* context override: data fields are base64-decoded */
	o.context = "prod";
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	ck_assert_str_eq(kube_config_namespace(cfg), "default");
	d = describe(cfg);
	ck_assert_int_eq(DINT(d, "caDataLen"), 11); /* "hello world" */
	ck_assert_int_eq(DINT(d, "certDataLen"), 4);
	ck_assert_int_eq(DINT(d, "keyDataLen"), 4);
	ck_assert(json_is_true(json_object_get(d, "insecure")));
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "");
	json_decref(d);
	kube_config_free(cfg);

	o.context = "nope";
	ck_assert_int_eq(kube_config_load(&cfg, &o), DHG_ENOTFOUND);
	ck_assert(strstr(dhg_error_last()->message, "\"nope\"") != NULL);
	free(f);
}
END_TEST

START_TEST(test_kube_config__errors_name_field)
{
	kube_config_options o = KUBE_CONFIG_OPTIONS_INIT;
	kube_config *cfg = NULL;
	char *f = write_tmp("bad64", "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x', "
	                             "certificate-authority-data: '!!notbase64'}}]\ncontexts: [{name: a, context: {cluster: c}}]\n");
	o.kubeconfig = f;
	ck_assert_int_eq(kube_config_load(&cfg, &o), DHG_EINVALID);
	ck_assert_msg(strstr(dhg_error_last()->message, "certificate-authority-data") != NULL, "%s", dhg_error_last()->message);
	free(f);

	f = write_tmp("noserver", "current-context: a\nclusters: [{name: c, cluster: {}}]\ncontexts: [{name: a, context: {cluster: c}}]\n");
	o.kubeconfig = f;
	ck_assert_int_eq(kube_config_load(&cfg, &o), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "clusters[c].cluster.server") != NULL);
	free(f);

	f = write_tmp("yaml", "clusters: [unclosed\n");
	o.kubeconfig = f;
	ck_assert_int_eq(kube_config_load(&cfg, &o), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, f) != NULL);
	free(f);

	f = write_tmp("nouser", "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x'}}]\n"
	                        "contexts: [{name: a, context: {cluster: c, user: ghost}}]\n");
	o.kubeconfig = f;
	ck_assert_int_eq(kube_config_load(&cfg, &o), DHG_ENOTFOUND);
	ck_assert(strstr(dhg_error_last()->message, "ghost") != NULL);
	free(f);

	o.kubeconfig = "/nonexistent/dhg/kubeconfig";
	ck_assert_int_eq(kube_config_load(&cfg, &o), DHG_ENOTFOUND);
	ck_assert_ptr_null(cfg);
}
END_TEST

START_TEST(test_kube_config__kubeconfig_env_merge_first_wins)
{
	char *f1 = write_tmp("one", "clusters:\n- name: shared\n  cluster: {server: 'https://first'}\n"
	                            "users:\n- name: u\n  user: {token: from-first}\n"
	                            "contexts:\n- name: ctx1\n  context: {cluster: shared, user: u}\n");
	char *f2 = write_tmp("two", "current-context: ctx2\n"
	                            "clusters:\n- name: shared\n  cluster: {server: 'https://second'}\n"
	                            "- name: only2\n  cluster: {server: 'https://only-two'}\n"
	                            "users:\n- name: u\n  user: {token: from-second}\n"
	                            "contexts:\n- name: ctx2\n  context: {cluster: shared, user: u, namespace: n2}\n"
	                            "- name: ctx1\n  context: {cluster: only2, user: u}\n");
	char *env = dhg_asprintf("%s/missing:%s:%s", tmpdir, f1, f2);
	setenv("KUBECONFIG", env, 1);
	kube_config *cfg = NULL;
	kube_config_options o = KUBE_CONFIG_OPTIONS_INIT;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	/* current-context comes from the first file that sets it (two); the cluster "shared"
	 * and user "u" from the first file that defines them (one) */
	ck_assert_str_eq(kube_config_context(cfg), "ctx2");
	ck_assert_str_eq(kube_config_server(cfg), "https://first");
	ck_assert_str_eq(kube_config_namespace(cfg), "n2");
	char hdr[128];
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer from-first");
	kube_config_free(cfg);
	/* ctx1 is defined in both: the first file's definition wins */
	o.context = "ctx1";
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	ck_assert_str_eq(kube_config_server(cfg), "https://first");
	kube_config_free(cfg);
	/* an explicit --kubeconfig beats $KUBECONFIG */
	kube_config_options o2 = KUBE_CONFIG_OPTIONS_INIT;
	o2.kubeconfig = f2;
	ck_assert_int_eq(kube_config_load(&cfg, &o2), 0);
	ck_assert_str_eq(kube_config_server(cfg), "https://second");
	kube_config_free(cfg);
	free(env);
	free(f1);
	free(f2);
}
END_TEST

START_TEST(test_kube_config__token_file_reread)
{
	char *tok = write_tmp("token", "tok-A\n");
	char *f = write_tmp("kc", "current-context: a\nclusters: [{name: c, cluster: {server: 'https://x'}}]\n"
	                          "users: [{name: u, user: {tokenFile: token}}]\n"
	                          "contexts: [{name: a, context: {cluster: c, user: u}}]\n");
	kube_config_options o = KUBE_CONFIG_OPTIONS_INIT;
	o.kubeconfig = f;
	o.token_reread_ms = 1;
	kube_config *cfg = NULL;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	char hdr[128];
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer tok-A");
	ck_assert_int_eq(dhg_file_write(tok, "tok-B", 5), 0);
	usleep(5000);
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer tok-B");
	kube_config_free(cfg);

	/* default interval (1 min): a rotation is picked up only after invalidation (401) */
	o.token_reread_ms = 0;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer tok-B");
	ck_assert_int_eq(dhg_file_write(tok, "tok-C", 5), 0);
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer tok-B");
	ck_assert_int_eq(kube_config__auth_invalidate(cfg), 1);
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer tok-C");
	kube_config_free(cfg);
	free(tok);
	free(f);
}
END_TEST

START_TEST(test_kube_config__in_cluster)
{
	char *dir = dhg_asprintf("%s/sa", tmpdir);
	ck_assert_int_eq(dhg_mkdir_p(dir, 0755), 0);
	char *t = dhg_asprintf("%s/token", dir), *ca = dhg_asprintf("%s/ca.crt", dir), *ns = dhg_asprintf("%s/namespace", dir);
	ck_assert_int_eq(dhg_file_write(t, "sa-token-1", 10), 0);
	ck_assert_int_eq(dhg_file_write(ca, "PEM", 3), 0);
	ck_assert_int_eq(dhg_file_write(ns, "operators\n", 10), 0);
	kube_config_options o = KUBE_CONFIG_OPTIONS_INIT;
	o.in_cluster_dir = dir;
	o.token_reread_ms = 1;
	kube_config *cfg = NULL;
	/* no env: in-cluster-only load fails clearly */
	o.source = KUBE_CONFIG_IN_CLUSTER;
	ck_assert_int_eq(kube_config_load(&cfg, &o), DHG_ENOTFOUND);
	ck_assert(strstr(dhg_error_last()->message, "KUBERNETES_SERVICE_HOST") != NULL);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	/* AUTO picks in-cluster when no kubeconfig is given and the env is set */
	o.source = KUBE_CONFIG_AUTO;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	ck_assert(kube_config_is_in_cluster(cfg));
	ck_assert_str_eq(kube_config_server(cfg), "https://[fd00::1]:443");
	ck_assert_str_eq(kube_config_namespace(cfg), "operators");
	json_t *d = describe(cfg);
	ck_assert_str_eq(DSTR(d, "caFile"), ca);
	json_decref(d);
	char hdr[128];
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer sa-token-1");
	ck_assert_int_eq(dhg_file_write(t, "sa-token-2", 10), 0); /* bound token rotated */
	usleep(5000);
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer sa-token-2");
	kube_config_free(cfg);
	free(dir);
	free(t);
	free(ca);
	free(ns);
}
END_TEST

/* A kubeconfig whose user runs ./plugin.sh with `args`; with `token`, the plugin gets
 * TOKEN_VALUE and EXP (its credential's expirationTimestamp) in its environment. */
static char *write_exec_kubeconfig(const char *name, const char *args, const char *token, const char *exp)
{
	char *env = token ? dhg_asprintf("      env: [{name: TOKEN_VALUE, value: %s}, {name: EXP, value: '%s'}]\n",
					 token, exp)
			  : dhg_strdup("");
	char *text = dhg_asprintf(
		"current-context: a\nclusters: [{name: c, cluster: {server: 'https://x'}}]\n"
		"contexts: [{name: a, context: {cluster: c, user: u}}]\n"
		"users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
		"      command: ./plugin.sh\n      args: %s\n%s",
		args, env);
	char *f = write_tmp(name, text);
	free(env);
	free(text);
	return f;
}

START_TEST(test_kube_config__exec_plugin_cached)
{
	char *count = dhg_asprintf("%s/count", tmpdir);
	char *script_text = dhg_asprintf(
		"#!/bin/sh\n"
		"echo x >> '%s'\n"
		"[ \"$1\" = \"--flag\" ] || exit 3\n"
		"case \"$KUBERNETES_EXEC_INFO\" in *ExecCredential*) ;; *) exit 4;; esac\n"
		"printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		"\"status\":{\"token\":\"%%s\",\"expirationTimestamp\":\"%%s\"}}' \"$TOKEN_VALUE\" \"$EXP\"\n",
		count);
	char *script = write_tmp("plugin.sh", script_text);
	chmod(script, 0755);
	char *f = write_exec_kubeconfig("kc", "[--flag]", "exec-tok", "2999-01-01T00:00:00Z");
	kube_config_options o = KUBE_CONFIG_OPTIONS_INIT;
	o.kubeconfig = f;
	kube_config *cfg = NULL;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	char hdr[128];
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer exec-tok");
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer exec-tok");
	char *c = NULL;
	size_t n = 0;
	ck_assert_int_eq(dhg_file_read(&c, &n, count, 1000), 0);
	ck_assert_uint_eq(n, 2); /* ran once: cached until expirationTimestamp */
	free(c);
	kube_config_free(cfg);
	free(f);

	/* an expired credential is fetched again on every use */
	f = write_exec_kubeconfig("kc2", "[--flag]", "exec-tok2", "2001-01-01T00:00:00Z");
	o.kubeconfig = f;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	auth_header(hdr, sizeof(hdr), cfg);
	auth_header(hdr, sizeof(hdr), cfg);
	ck_assert_str_eq(hdr, "Bearer exec-tok2");
	ck_assert_int_eq(dhg_file_read(&c, &n, count, 1000), 0);
	ck_assert_uint_eq(n, 6);
	free(c);
	kube_config_free(cfg);
	free(f);

	/* a failing plugin is an authentication error naming the command */
	f = write_exec_kubeconfig("kc3", "[--wrong]", NULL, NULL);
	o.kubeconfig = f;
	ck_assert_int_eq(kube_config_load(&cfg, &o), 0);
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL, *cto = NULL;
	ck_assert_int_eq(kube_config__setup(e, &h, &cto, cfg), DHG_EUNAUTHORIZED);
	ck_assert(strstr(dhg_error_last()->message, "plugin.sh") != NULL);
	ck_assert(strstr(dhg_error_last()->message, "status 3") != NULL);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	kube_config_free(cfg);
	free(f);
	free(script);
	free(script_text);
	free(count);
}
END_TEST

START_TEST(test_kube_config__base64)
{
	char *out = NULL;
	size_t n = 0;
	ck_assert_int_eq(kube_config__base64_decode(&out, &n, "aGVs\nbG8=", "x"), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(out, "hello");
	free(out);
	ck_assert_int_eq(kube_config__base64_decode(&out, &n, "", "x"), 0);
	ck_assert_uint_eq(n, 0);
	free(out);
	ck_assert_int_eq(kube_config__base64_decode(&out, &n, "a", "field y"), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "field y") != NULL);
	ck_assert_int_eq(kube_config__base64_decode(&out, &n, "ab=c", "x"), DHG_EINVALID);
}
END_TEST

Suite *kube_config_suite(void)
{
	Suite *s = suite_create("kube_config");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_kube_config__parse_current_context);
	tcase_add_test(tc, test_kube_config__errors_name_field);
	tcase_add_test(tc, test_kube_config__kubeconfig_env_merge_first_wins);
	tcase_add_test(tc, test_kube_config__token_file_reread);
	tcase_add_test(tc, test_kube_config__in_cluster);
	tcase_add_test(tc, test_kube_config__exec_plugin_cached);
	tcase_add_test(tc, test_kube_config__base64);
	suite_add_tcase(s, tc);
	return s;
}
