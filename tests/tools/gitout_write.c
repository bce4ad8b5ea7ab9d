/* Test driver for the git writer: writes a chart directory to a git repository.
 *   gitout_write --url URL --dir CHART_DIR [--name N] [--version V] [--branch B] [--path P]
 *                [--work-dir D] [--username U] [--password-file F] [--identity-file F]
 *                [--known-hosts-file F] [--ca-file F] [--source DESC] [--repeat N] [--max-attempts N]
 *                [--lock-timeout-ms MS]
 * Prints "commit=<hex> changed=<0|1> branch=<b> path=<p> attempts=<n>" per write.
 * GITOUT_TEST_BEFORE_PUSH: a shell command run before the first push attempt (race tests).
 * Exit: 0 ok, 2 usage, 3 write failed (message on stderr). */
#include <string.h>

#include "gitout_common.h"

static void before_push(int attempt, void *payload)
{
	const char *cmd = payload;
	if (attempt == 1 && cmd && system(cmd) != 0)
		fprintf(stderr, "warning: GITOUT_TEST_BEFORE_PUSH command failed\n");
}

int main(int argc, char **argv)
{
	gitout_options o = GITOUT_OPTIONS_INIT;
	gitout_credentials cr = GITOUT_CREDENTIALS_INIT;
	gitout_result res;
	engine_chart chart;
	const char *dir = NULL, *name = "demo", *version = "0.1.0";
	long repeat = 1, r;
	int i, rc = 0;

	for (i = 1; i + 1 < argc; i += 2) {
		const char *k = argv[i], *v = argv[i + 1];
		if (!strcmp(k, "--url")) o.url = v;
		else if (!strcmp(k, "--dir")) dir = v;
		else if (!strcmp(k, "--name")) name = v;
		else if (!strcmp(k, "--version")) version = v;
		else if (!strcmp(k, "--branch")) o.branch = v;
		else if (!strcmp(k, "--path")) o.path = v;
		else if (!strcmp(k, "--work-dir")) o.work_dir = v;
		else if (!strcmp(k, "--source")) o.source_desc = v;
		else if (!strcmp(k, "--username")) cr.username = dhg_strdup(v);
		else if (!strcmp(k, "--password-file")) cr.password = read_opt_file(v);
		else if (!strcmp(k, "--identity-file")) cr.identity = read_opt_file(v);
		else if (!strcmp(k, "--known-hosts-file")) cr.known_hosts = read_opt_file(v);
		else if (!strcmp(k, "--ca-file")) cr.ca_pem = read_opt_file(v);
		else if (!strcmp(k, "--lock-timeout-ms")) { long m; if (dhg_parse_long(&m, v, 1, 3600000) < 0) i = argc; else o.lock_timeout_ms = m; }
		else if (!strcmp(k, "--max-attempts")) { long m; if (dhg_parse_long(&m, v, 1, 100) < 0) i = argc; else o.max_attempts = (int)m; }
		else if (!strcmp(k, "--repeat")) { if (dhg_parse_long(&repeat, v, 1, 100000) < 0) i = argc; }
		else { fprintf(stderr, "unknown option %s\n", k); return 2; }
	}
	if (i != argc || !o.url || !dir) {
		fprintf(stderr, "usage: gitout_write --url URL --dir CHART_DIR [options]\n");
		gitout_credentials_dispose(&cr);
		return 2;
	}
	if (cr.password) { /* a password file ends with a newline */
		size_t n = strlen(cr.password);
		while (n && (cr.password[n - 1] == '\n' || cr.password[n - 1] == '\r')) cr.password[--n] = '\0';
	}
	o.creds = &cr;
	o.author_name = "dhg test";
	o.author_email = "dhg-test@example.invalid";
	o.before_push = before_push;
	o.payload = getenv("GITOUT_TEST_BEFORE_PUSH");
	if (chart_from_dir(&chart, dir, name, version) < 0) {
		fprintf(stderr, "error: reading %s: %s\n", dir, dhg_error_last()->message);
		chart_dispose(&chart);
		gitout_credentials_dispose(&cr);
		return 2;
	}
	for (r = 0; r < repeat && rc == 0; r++) {
		if (gitout_write(&res, &chart, &o) < 0) {
			fprintf(stderr, "error: %s (%s)\n", dhg_error_last()->message,
				dhg_error_name(dhg_error_last()->code));
			rc = 3;
		} else {
			printf("commit=%s changed=%d branch=%s path=%s attempts=%d\n", res.commit, res.changed,
			       res.branch, res.path, res.attempts);
			fflush(stdout);
		}
	}
	chart_dispose(&chart);
	gitout_credentials_dispose(&cr);
	return rc;
}
