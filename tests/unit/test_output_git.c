#include <check.h>
#include <git2.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/git/gitout.h"
#include "output/git/gitout_internal.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

START_TEST(test_output_git__message)
{
	char *m = NULL;
	ck_assert_int_eq(gitout_message_format(&m, "shop", "0.1.4", "namespaces shop; selector app=web", 23,
					       "sha256:abc"),
			 0);
	ck_assert_str_eq(m, "Update chart shop to 0.1.4\n\nSource: namespaces shop; selector app=web\n"
			    "Resources: 23\nContent digest: sha256:abc\n");
	free(m);
	ck_assert_int_eq(gitout_message_format(&m, "shop", "1.0.0", NULL, 0, NULL), 0);
	ck_assert(strstr(m, "Source: (not given)\n") != NULL);
	ck_assert(strncmp(m, "Update chart shop to 1.0.0\n\n", 28) == 0);
	free(m);
}
END_TEST

START_TEST(test_output_git__path_validate)
{
	ck_assert_int_eq(gitout_path_validate("charts/shop", "p"), 0);
	ck_assert_int_eq(gitout_path_validate("a", "p"), 0);
	ck_assert_int_eq(gitout_path_validate("templates/_helpers.tpl", "p"), 0);
	ck_assert_int_eq(gitout_path_validate("", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("/abs", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("a//b", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("a/", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("a/../b", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("./a", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("a/.git/config", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("a/.GIT", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("a\\b", "p"), DHG_EINVALID);
	ck_assert_int_eq(gitout_path_validate("a\nb", "p"), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "p: path") != NULL);
	ck_assert_int_eq(gitout_path_validate(".gitignore", "p"), 0); /* only the exact .git component */
}
END_TEST

START_TEST(test_output_git__path_affected)
{
	/* inside or equal: replaced */
	ck_assert(gitout_path_affected("charts/shop/Chart.yaml", "charts/shop"));
	ck_assert(gitout_path_affected("charts/shop/templates/a.yaml", "charts/shop"));
	ck_assert(gitout_path_affected("charts/shop", "charts/shop"));
	/* a file where a parent directory must go */
	ck_assert(gitout_path_affected("charts", "charts/shop"));
	/* untouched neighbours */
	ck_assert(!gitout_path_affected("charts/shopping/Chart.yaml", "charts/shop"));
	ck_assert(!gitout_path_affected("charts/shop.txt", "charts/shop"));
	ck_assert(!gitout_path_affected("charts/other/Chart.yaml", "charts/shop"));
	ck_assert(!gitout_path_affected("README.md", "charts/shop"));
	ck_assert(!gitout_path_affected("chart", "charts/shop"));
	ck_assert(!gitout_path_affected("charts-old/shop/x", "charts/shop"));
}
END_TEST

static char *b64(const char *s)
{
	size_t n = strlen(s);
	char *out = malloc(4 * ((n + 2) / 3) + 1);
	ck_assert_ptr_nonnull(out);
	EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)s, (int)n);
	return out;
}

START_TEST(test_output_git__secret_parse)
{
	gitout_credentials c = GITOUT_CREDENTIALS_INIT;
	char *u = b64("robot\n"), *p = b64("t0ken"), *id = b64("-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n");
	char *kh = b64("[h]:22 ssh-ed25519 AAAA\n"), *ca = b64("-----BEGIN CERTIFICATE-----\n");
	json_t *data = json_pack("{ssssssssssss}", "username", u, "password", p, "identity", id, "known_hosts", kh,
				 "ca.crt", ca, "ignored", "!!!");
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), 0);
	ck_assert_str_eq(c.username, "robot"); /* trailing newline of `echo | base64` trimmed */
	ck_assert_str_eq(c.password, "t0ken");
	ck_assert_str_eq(c.identity, "-----BEGIN OPENSSH PRIVATE KEY-----\nxx\n");
	ck_assert_str_eq(c.known_hosts, "[h]:22 ssh-ed25519 AAAA\n");
	ck_assert_str_eq(c.ca_pem, "-----BEGIN CERTIFICATE-----\n");
	gitout_credentials_dispose(&c);
	ck_assert_ptr_null(c.password);
	gitout_credentials_dispose(NULL);
	json_decref(data);
	free(u);
	free(p);
	free(id);
	free(kh);
	free(ca);

	/* partial secrets are fine */
	data = json_pack("{ss}", "password", "c2VjcmV0"); /* "secret" */
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), 0);
	ck_assert_ptr_null(c.username);
	ck_assert_str_eq(c.password, "secret");
	gitout_credentials_dispose(&c);
	json_decref(data);

	/* invalid base64 names the key, leaves nothing behind */
	data = json_pack("{ssss}", "username", "cm9ib3Q=", "password", "not*base64");
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "data.password") != NULL);
	ck_assert_ptr_null(c.username);
	json_decref(data);
	data = json_pack("{si}", "username", 5);
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "data.username is not a string") != NULL);
	json_decref(data);
	data = json_pack("{ss}", "password", "YQBi"); /* "a\0b" */
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "NUL") != NULL);
	json_decref(data);
	data = json_pack("{ss}", "username", "YQpi"); /* "a\nb" */
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), DHG_EINVALID);
	json_decref(data);
	data = json_string("x");
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), DHG_EINVALID);
	json_decref(data);
	/* too large */
	{
		size_t n = GITOUT_MAX_SECRET_BYTES * 2, i;
		char *big = malloc(n + 1);
		ck_assert_ptr_nonnull(big);
		for (i = 0; i < n; i++)
			big[i] = 'A';
		big[n - n % 4] = '\0';
		data = json_pack("{ss}", "identity", big);
		ck_assert_int_eq(gitout_credentials_from_secret(&c, data), DHG_EINVALID);
		ck_assert(strstr(dhg_error_last()->message, "larger than") != NULL);
		json_decref(data);
		free(big);
	}
}
END_TEST

/* The Secret's base64 rules (util/base64.h with no flags): standard alphabet, line breaks
 * skipped, padding optional; spaces and the URL alphabet are not accepted. */
START_TEST(test_output_git__secret_base64_rules)
{
	gitout_credentials c = { 0 };
	json_t *data = json_pack("{ssss}", "username", "cm9i\nb3Q", "password", "aGVs\r\nbG8=");
	ck_assert_ptr_nonnull(data);
	ck_assert_int_eq(gitout_credentials_from_secret(&c, data), 0);
	ck_assert_str_eq(c.username, "robot");
	ck_assert_str_eq(c.password, "hello");
	gitout_credentials_dispose(&c);
	json_decref(data);

	static const char *const bad[] = { "aGVs bG8=", "aGVs\tbG8=", "-_-_", "aGV=sbG8", "a", "QQ===" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		data = json_pack("{ss}", "password", bad[i]);
		ck_assert_ptr_nonnull(data);
		ck_assert_msg(gitout_credentials_from_secret(&c, data) == DHG_EINVALID, "'%s' accepted", bad[i]);
		ck_assert_str_eq(dhg_error_last()->message, "credentials Secret: data.password is not valid base64");
		ck_assert_ptr_null(c.password);
		json_decref(data);
	}
}
END_TEST

START_TEST(test_output_git__url_host_port)
{
	char h[64];
	int port;
	ck_assert_int_eq(gitout__url_host_port(h, sizeof(h), &port, "ssh://git@example.org:2222/org/r.git"), 0);
	ck_assert_str_eq(h, "example.org");
	ck_assert_int_eq(port, 2222);
	ck_assert_int_eq(gitout__url_host_port(h, sizeof(h), &port, "https://u:p@w@git.example/x.git"), 0);
	ck_assert_str_eq(h, "git.example");
	ck_assert_int_eq(port, 0);
	ck_assert_int_eq(gitout__url_host_port(h, sizeof(h), &port, "git@github.com:org/repo.git"), 0);
	ck_assert_str_eq(h, "github.com");
	ck_assert_int_eq(port, 0);
	ck_assert_int_eq(gitout__url_host_port(h, sizeof(h), &port, "ssh://[::1]:22/r"), 0);
	ck_assert_str_eq(h, "::1");
	ck_assert_int_eq(port, 22);
	ck_assert_int_eq(gitout__url_host_port(h, sizeof(h), &port, "ssh://h:99999/r"), DHG_EINVALID);
	ck_assert_int_eq(gitout__url_host_port(h, sizeof(h), &port, "nohost"), DHG_EINVALID);
}
END_TEST

START_TEST(test_output_git__known_hosts)
{
	const unsigned char key[] = "\x00\x00\x00\x0bssh-ed25519-fake-key-bytes";
	const unsigned char other[] = "\x00\x00\x00\x0bssh-ed25519-other-key-byt";
	size_t klen = sizeof(key) - 1;
	char keyb64[128], saltb64[64], macb64[64], kh[1024];
	unsigned char salt[20], mac[20];
	unsigned int maclen = 0;
	size_t i;

	EVP_EncodeBlock((unsigned char *)keyb64, key, (int)klen);
	snprintf(kh, sizeof(kh), "# comment\n\nexample.org,10.0.0.1 ssh-ed25519 %s\n[127.0.0.1]:2222 ssh-ed25519 %s\n",
		 keyb64, keyb64);
	ck_assert_int_eq(gitout__known_hosts_check(kh, "example.org", 22, key, klen), 0);
	ck_assert_int_eq(gitout__known_hosts_check(kh, "10.0.0.1", 0, key, klen), 0);
	ck_assert_int_eq(gitout__known_hosts_check(kh, "127.0.0.1", 2222, key, klen), 0);
	/* the port matters */
	ck_assert_int_eq(gitout__known_hosts_check(kh, "127.0.0.1", 22, key, klen), DHG_ENOTFOUND);
	ck_assert_int_eq(gitout__known_hosts_check(kh, "example.org", 2222, key, klen), DHG_ENOTFOUND);
	/* a different key for a known host */
	ck_assert_int_eq(gitout__known_hosts_check(kh, "example.org", 22, other, klen), DHG_EFORBIDDEN);
	ck_assert_int_eq(gitout__known_hosts_check("", "example.org", 22, key, klen), DHG_ENOTFOUND);

	/* hashed entry: |1|base64(salt)|base64(HMAC-SHA1(salt, "[h.example]:2200")) */
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (unsigned char)(i * 7 + 1);
	ck_assert_ptr_nonnull(HMAC(EVP_sha1(), salt, sizeof(salt), (const unsigned char *)"[h.example]:2200", 16, mac,
				   &maclen));
	EVP_EncodeBlock((unsigned char *)saltb64, salt, sizeof(salt));
	EVP_EncodeBlock((unsigned char *)macb64, mac, (int)maclen);
	snprintf(kh, sizeof(kh), "|1|%s|%s ssh-ed25519 %s\n", saltb64, macb64, keyb64);
	ck_assert_int_eq(gitout__known_hosts_check(kh, "h.example", 2200, key, klen), 0);
	ck_assert_int_eq(gitout__known_hosts_check(kh, "h.example", 22, key, klen), DHG_ENOTFOUND);

	/* a revoked key is refused even when another line lists it */
	snprintf(kh, sizeof(kh), "example.org ssh-ed25519 %s\n@revoked example.org ssh-ed25519 %s\n", keyb64, keyb64);
	ck_assert_int_eq(gitout__known_hosts_check(kh, "example.org", 22, key, klen), DHG_EFORBIDDEN);
}
END_TEST

START_TEST(test_output_git__clone_overgrown)
{
	char tmpl[] = "/tmp/dhg-gitout-grow.XXXXXX", p[600];
	char *dir = mkdtemp(tmpl);
	int i;

	ck_assert_ptr_nonnull(dir);
	snprintf(p, sizeof(p), "%s/objects/pack", dir);
	ck_assert_int_eq(dhg_mkdir_p(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/objects/17", dir);
	ck_assert_int_eq(dhg_mkdir_p(p, 0700), 0);
	ck_assert_int_eq(gitout__clone_overgrown(dir, 3, 1000), 0);
	for (i = 0; i < 4; i++) { /* 3 packs: still fine; the 4th is one too many */
		snprintf(p, sizeof(p), "%s/objects/pack/pack-%d.%s", dir, i, i == 0 ? "idx" : "pack");
		ck_assert_int_eq(dhg_file_write(p, "", 0), 0);
	}
	ck_assert_int_eq(gitout__clone_overgrown(dir, 3, 1000), 0);
	snprintf(p, sizeof(p), "%s/objects/pack/pack-9.pack", dir);
	ck_assert_int_eq(dhg_file_write(p, "", 0), 0);
	ck_assert_int_eq(gitout__clone_overgrown(dir, 3, 1000), 1);
	/* loose: 4 in objects/17 estimate 1024 > 1000 */
	ck_assert_int_eq(gitout__clone_overgrown(dir, 100, 1000), 0);
	for (i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/objects/17/%038d", dir, i);
		ck_assert_int_eq(dhg_file_write(p, "", 0), 0);
	}
	ck_assert_int_eq(gitout__clone_overgrown(dir, 100, 1000), 1);
	ck_assert_int_eq(gitout__clone_overgrown(dir, 100, 2000), 0);
	ck_assert_int_eq(dhg_rm_rf(dir), 0);
}
END_TEST

/* ---- the writer end to end on a local bare repository (file transport, no server) --------- */

static engine_file F(const char *path, const char *data)
{
	engine_file f;
	f.path = (char *)path;
	f.data = (char *)data;
	f.len = strlen(data);
	return f;
}

static int run_git(const char *fmt, const char *a, const char *b)
{
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), fmt, a, b);
	return system(cmd);
}

START_TEST(test_output_git__write_local)
{
	char tmpl[] = "/tmp/dhg-gitout-unit.XXXXXX", url[600], work[600], bare[600], check[600];
	engine_file files1[3], files2[2];
	engine_chart chart;
	gitout_options o = GITOUT_OPTIONS_INIT;
	gitout_result r;
	char first[41];
	char *dir = mkdtemp(tmpl);

	ck_assert_ptr_nonnull(dir);
	snprintf(bare, sizeof(bare), "%s/remote.git", dir);
	snprintf(url, sizeof(url), "file://%s", bare);
	snprintf(work, sizeof(work), "%s/work", dir);
	snprintf(check, sizeof(check), "%s/check", dir);
	ck_assert_int_eq(run_git("git init -q --bare -b main %s && git -C %s config receive.denyNonFastForwards true",
				 bare, bare),
			 0);

	memset(&chart, 0, sizeof(chart));
	snprintf(chart.name, sizeof(chart.name), "shop");
	snprintf(chart.version, sizeof(chart.version), "0.1.0");
	snprintf(chart.digest, sizeof(chart.digest), "sha256:0000");
	chart.resource_count = 2;
	files1[0] = F("Chart.yaml", "name: shop\n");
	files1[1] = F("templates/a.yaml", "a: 1\n");
	files1[2] = F("templates/b.yaml", "b: 1\n");
	chart.files = files1;
	chart.nfiles = 3;
	o.url = url;
	o.work_dir = work;
	o.branch = "main";
	o.source_desc = "unit test";

	/* empty repository: orphan commit */
	ck_assert_msg(gitout_write(&r, &chart, &o) == 0, "%s", dhg_error_last()->message);
	ck_assert_int_eq(r.changed, 1);
	ck_assert_str_eq(r.path, "charts/shop");
	ck_assert_str_eq(r.branch, "main");
	memcpy(first, r.commit, sizeof(first));

	/* identical: no commit */
	ck_assert_int_eq(gitout_write(&r, &chart, &o), 0);
	ck_assert_int_eq(r.changed, 0);
	ck_assert_int_eq(r.attempts, 0);
	ck_assert_str_eq(r.commit, first);

	/* a template removed: one commit; the removed file is gone from the tree */
	files2[0] = files1[0];
	files2[1] = F("templates/a.yaml", "a: 2\n");
	chart.files = files2;
	chart.nfiles = 2;
	ck_assert_int_eq(gitout_write(&r, &chart, &o), 0);
	ck_assert_int_eq(r.changed, 1);
	ck_assert_str_ne(r.commit, first);
	ck_assert_int_eq(run_git("git clone -q %s %s", url, check), 0);
	ck_assert_int_eq(run_git("test ! -e %s/charts/shop/templates/b.yaml && grep -q 'a: 2' %s/charts/shop/templates/a.yaml",
				 check, check),
			 0);
	ck_assert_int_eq(run_git("test \"$(git -C %s rev-list --count main)\" = 2 && git -C %s log -1 --format=%%s | grep -qx 'Update chart shop to 0.1.0'",
				 check, check),
			 0);

	/* invalid options are refused before any work */
	o.path = "../escape";
	ck_assert_int_eq(gitout_write(&r, &chart, &o), DHG_EINVALID);
	o.path = NULL;
	o.branch = "bad..branch";
	ck_assert_int_eq(gitout_write(&r, &chart, &o), DHG_EINVALID);
	ck_assert(strstr(dhg_error_last()->message, "invalid branch name") != NULL);
	o.branch = "main";
	chart.nfiles = 0;
	ck_assert_int_eq(gitout_write(&r, &chart, &o), DHG_EINVALID);

	ck_assert_int_eq(dhg_rm_rf(dir), 0);
}
END_TEST

Suite *output_git_suite(void)
{
	Suite *s = suite_create("output_git");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_output_git__message);
	tcase_add_test(tc, test_output_git__path_validate);
	tcase_add_test(tc, test_output_git__path_affected);
	tcase_add_test(tc, test_output_git__secret_parse);
	tcase_add_test(tc, test_output_git__secret_base64_rules);
	tcase_add_test(tc, test_output_git__url_host_port);
	tcase_add_test(tc, test_output_git__known_hosts);
	tcase_add_test(tc, test_output_git__clone_overgrown);
	tcase_add_test(tc, test_output_git__write_local);
	suite_add_tcase(s, tc);
	return s;
}
