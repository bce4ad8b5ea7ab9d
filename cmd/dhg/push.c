/* dhg push: push a chart directory to an OCI registry, as `helm push` does. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/dhg/cmd.h"
#include "output/oci/ociout.h"
#include "output/package/pkgchart.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_PASSWORD 4096
#define MAX_CA_BYTES ((size_t)1 << 20)

static void usage(FILE *f)
{
	fputs("Usage: dhg push CHART_DIR oci://HOST[:PORT]/REPO [flags]\n"
	      "\n"
	      "Packages the chart in CHART_DIR reproducibly (same content, same digest) and pushes it\n"
	      "to REPO/<chart name>:<chart version> ('+' becomes '_') in Helm's OCI format. An existing\n"
	      "tag with the same digest is left alone; one with another digest is never overwritten.\n"
	      "\n"
	      "Flags:\n"
	      "  --plain-http                  use http:// instead of https:// (default: https)\n"
	      "  --insecure-skip-tls-verify    do not verify the registry's certificate (default: verify)\n"
	      "  --ca-file FILE                trust the CA certificates in FILE (PEM) instead of the\n"
	      "                                system ones, e.g. --ca-file ca.crt\n"
	      "  --username USER               registry user name (with --password-stdin)\n"
	      "  --password-stdin              read the password (or token) from standard input\n"
	      "  --debug                       log every registry request to stderr (no credentials)\n"
	      "  -h, --help                    show this help\n"
	      "\n"
	      "Without --username, credentials for the host come from $DOCKER_CONFIG/config.json or\n"
	      "~/.docker/config.json, then Helm's registry config ($HELM_REGISTRY_CONFIG or\n"
	      "~/.config/helm/registry/config.json); otherwise the push is anonymous.\n"
	      "\n"
	      "Prints, like helm (but on standard output; helm uses standard error):\n"
	      "  Pushed: HOST/REPO/NAME:TAG\n"
	      "  Digest: sha256:...\n"
	      "Exit codes: 0 ok, 1 error, 2 usage.\n",
	      f);
}

static int read_password(char **out)
{
	char *buf = calloc(1, MAX_PASSWORD + 2);
	size_t n;
	*out = NULL;
	if (!buf)
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	n = fread(buf, 1, MAX_PASSWORD + 1, stdin);
	if (n > MAX_PASSWORD) {
		free(buf);
		return dhg_error_set(DHG_ETOOBIG, "--password-stdin: longer than %d bytes", MAX_PASSWORD);
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = 0;
	if (memchr(buf, 0, n)) {
		free(buf);
		return dhg_error_set(DHG_EINVALID, "--password-stdin: contains a NUL byte");
	}
	*out = buf;
	return 0;
}

/* Credentials for host from one config file; 0 with creds, DHG_ENOTFOUND, or < 0. */
static int creds_from_file(ociout_credentials *out, const char *path, const char *host)
{
	char *data = NULL;
	size_t len = 0;
	int error;
	if (!path || !dhg_path_exists(path))
		return DHG_ENOTFOUND;
	if ((error = dhg_file_read(&data, &len, path, (size_t)4 << 20)) < 0)
		return error;
	error = ociout_credentials_from_docker_config(out, data, len, host);
	if (error == DHG_ENOTFOUND) {
		DHG_LOG_DEBUG("push: no credentials for the host in config", "file", path, "detail",
			      dhg_error_last()->message);
	} else if (error < 0) {
		dhg_error_wrap("%s", path);
	}
	free(data);
	return error;
}

static int creds_from_configs(ociout_credentials *out, const char *host)
{
	const char *home = getenv("HOME"), *dc = getenv("DOCKER_CONFIG"), *hr = getenv("HELM_REGISTRY_CONFIG");
	const char *xdg = getenv("XDG_CONFIG_HOME");
	char *paths[2] = { NULL, NULL };
	int error = DHG_ENOTFOUND;

	if (dc && dc[0])
		paths[0] = dhg_asprintf("%s/config.json", dc);
	else if (home && home[0])
		paths[0] = dhg_asprintf("%s/.docker/config.json", home);
	if (hr && hr[0])
		paths[1] = dhg_strdup(hr);
	else if (xdg && xdg[0])
		paths[1] = dhg_asprintf("%s/helm/registry/config.json", xdg);
	else if (home && home[0])
		paths[1] = dhg_asprintf("%s/.config/helm/registry/config.json", home);
	for (int i = 0; i < 2 && error == DHG_ENOTFOUND; i++)
		error = creds_from_file(out, paths[i], host);
	free(paths[0]);
	free(paths[1]);
	if (error == DHG_ENOTFOUND) {
		dhg_error_clear();
		return 0;
	}
	return error;
}

int dhg_cmd_push(int argc, char **argv)
{
	const char *chart_dir = NULL, *repo = NULL, *ca_file = NULL, *username = NULL;
	int plain_http = 0, insecure = 0, pw_stdin = 0, debug = 0, rc = 1, error;
	char *password = NULL, *ca = NULL;
	size_t ca_len = 0;
	engine_chart *chart = NULL;
	ociout_credentials creds = OCIOUT_CREDENTIALS_INIT;
	ociout_options opts = OCIOUT_OPTIONS_INIT;
	ociout_result res;
	ociout_ref ref;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--plain-http") == 0) {
			plain_http = 1;
		} else if (strcmp(a, "--insecure-skip-tls-verify") == 0) {
			insecure = 1;
		} else if (strcmp(a, "--password-stdin") == 0) {
			pw_stdin = 1;
		} else if (strcmp(a, "--debug") == 0) {
			debug = 1;
		} else if (strcmp(a, "--ca-file") == 0 || strcmp(a, "--username") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "dhg push: %s needs a value\n", a);
				return 2;
			}
			if (strcmp(a, "--ca-file") == 0)
				ca_file = argv[++i];
			else
				username = argv[++i];
		} else if (dhg_str_has_prefix(a, "--ca-file=")) {
			ca_file = a + 10;
		} else if (dhg_str_has_prefix(a, "--username=")) {
			username = a + 11;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "dhg push: unknown flag '%s'\n\n", a);
			usage(stderr);
			return 2;
		} else if (!chart_dir) {
			chart_dir = a;
		} else if (!repo) {
			repo = a;
		} else {
			fprintf(stderr, "dhg push: unexpected argument '%s'\n\n", a);
			usage(stderr);
			return 2;
		}
	}
	if (!chart_dir || !repo) {
		fprintf(stderr, "dhg push: need CHART_DIR and oci://HOST/REPO\n\n");
		usage(stderr);
		return 2;
	}
	if (pw_stdin && !username) {
		fprintf(stderr, "dhg push: --password-stdin needs --username\n");
		return 2;
	}
	if (username && !pw_stdin) {
		fprintf(stderr, "dhg push: --username needs --password-stdin\n");
		return 2;
	}
	if (ociout_ref_parse(&ref, repo) < 0) {
		fprintf(stderr, "dhg push: %s\n", dhg_error_last()->message);
		return 2;
	}
	dhg_log_configure(debug ? DHG_LOG_DEBUG : DHG_LOG_WARN, DHG_LOG_FORMAT_TEXT, stderr);
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "dhg push: cannot initialize libcurl\n");
		return 1;
	}

	if (pw_stdin && read_password(&password) < 0) {
		rc = dhg_cmd_fail("push");
		goto done;
	}
	if (ca_file && (error = dhg_file_read(&ca, &ca_len, ca_file, MAX_CA_BYTES)) < 0) {
		rc = dhg_cmd_fail("push: --ca-file");
		goto done;
	}
	if (!username) {
		if (creds_from_configs(&creds, ref.host) < 0) {
			rc = dhg_cmd_fail("push");
			goto done;
		}
	}
	if (pkgchart_dir_load(&chart, chart_dir) < 0) {
		rc = dhg_cmd_fail("push");
		goto done;
	}
	opts.repository = repo;
	opts.username = username ? username : creds.username;
	opts.password = username ? password : creds.password;
	opts.ca_pem = ca;
	opts.ca_pem_len = ca_len;
	opts.insecure_skip_tls_verify = insecure;
	opts.plain_http = plain_http;
	if (getenv("DHG_OCI_FORCE_CHUNKED"))
		opts.force_chunked = 1;
	if (getenv("DHG_OCI_BACKOFF_MS")) {
		long ms;
		if (dhg_parse_long(&ms, getenv("DHG_OCI_BACKOFF_MS"), 1, 60000) == 0)
			opts.backoff_ms = ms;
	}
	if (ociout_push(&res, chart, &opts) < 0) {
		rc = dhg_cmd_fail("push");
		goto done;
	}
	printf("Pushed: %s\nDigest: %s\n", res.reference, res.digest);
	if (fflush(stdout) != 0) {
		rc = 1;
		goto done;
	}
	rc = 0;
done:
	if (password) {
		memset(password, 0, strlen(password));
		free(password);
	}
	ociout_credentials_dispose(&creds);
	pkgchart_chart_free(chart);
	free(ca);
	curl_global_cleanup();
	return rc;
}
