/* dhg generate: manifest files in, a Helm chart directory (or a dry-run listing) out. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/dhg/cmd.h"
#include "engine/engine.h"
#include "engine/lifetime.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/str.h"

#define MAX_INPUTS 4096

static void usage(FILE *f)
{
	fputs("Usage: dhg generate -f PATH... (-o DIR | --dry-run) --chart-name NAME [flags]\n"
	      "\n"
	      "Generates a Helm chart from Kubernetes manifests (files, directories, or - for stdin).\n"
	      "\n"
	      "Flags:\n"
	      "  -f, --file PATH                 input YAML file, directory (recursive: *.yaml, *.yml)\n"
	      "                                  or - for standard input; repeatable (required)\n"
	      "  -o, --output DIR                chart directory to write, replaced atomically; it must\n"
	      "                                  be absent, empty, or an earlier chart (has Chart.yaml)\n"
	      "      --dry-run                   print every file with a '# Source: <path>' header\n"
	      "                                  instead of writing (exactly one of -o / --dry-run)\n"
	      "      --chart-name NAME           chart name, a DNS-1123 label (required)\n"
	      "      --chart-version V           chart version, semver (default: 0.1.0)\n"
	      "      --app-version V             appVersion (default: the most common image tag)\n"
	      "      --description TEXT          Chart.yaml description (default: a generated line)\n"
	      "      --secrets MODE              mask | include | external-secret (default: mask)\n"
	      "                                  mask: no Secret value in any file, values are required\n"
	      "                                  include: Secret values written to values.yaml\n"
	      "                                  external-secret: an ExternalSecret per Secret\n"
	      "      --external-secret-store NAME       secretStoreRef.name (default: secret-store)\n"
	      "      --external-secret-store-kind KIND  SecretStore | ClusterSecretStore (default: SecretStore)\n"
	      "      --namespace NS              release namespace: objects in it get\n"
	      "                                  {{ .Release.Namespace }} (default: the most common one)\n"
	      "      --set-values FILE           YAML mapping merged over the generated values.yaml\n"
	      "                                  (default: none)\n"
	      "  -j, --jobs N                    threads (1 to 64; default: $DHG_THREADS, else the online\n"
	      "                                  CPUs, at most 8); 1 = one thread, the same output\n"
	      "  -h, --help                      show this help\n"
	      "\n"
	      "Example:\n"
	      "  dhg generate -f manifests/ -o charts/shop --chart-name shop --chart-version 1.0.0\n"
	      "\n"
	      "Exit codes: 0 ok, 1 error, 2 usage.\n",
	      f);
}

static int usage_error(const char *fmt, const char *arg)
{
	fputs("dhg generate: ", stderr);
	fprintf(stderr, fmt, arg ? arg : "");
	fputs("\nRun 'dhg generate --help' for usage.\n", stderr);
	return 2;
}

/* Reads a values overlay: the first YAML document of FILE, which must be a mapping. */
static int read_overlay(json_t **out, const char *path)
{
	char *data = NULL;
	size_t len = 0;
	engine_objects objs = ENGINE_OBJECTS_INIT;
	int err;

	*out = NULL;
	if ((err = dhg_file_read(&data, &len, path, (size_t)8 << 20)) < 0)
		return err;
	err = engine_extract_buffer(&objs, data, len, path);
	free(data);
	if (err < 0)
		goto done;
	if (objs.len == 0 || !json_is_object(objs.items[0].obj)) {
		err = dhg_error_set(DHG_EINVALID, "%s: --set-values needs a YAML mapping", path);
		goto done;
	}
	*out = json_incref(objs.items[0].obj);
done:
	engine_objects_dispose(&objs);
	return err;
}

/* The output directory is replaced as a whole: only an empty directory or an earlier chart
 * (it has a Chart.yaml) may be. */
static int is_replaceable(const char *dir)
{
	char *chart_yaml;
	int ok;
	DIR *d;
	struct dirent *e;

	if (!dhg_path_is_dir(dir))
		return 0;
	if (!(chart_yaml = dhg_asprintf("%s/Chart.yaml", dir)))
		return 0;
	ok = dhg_path_exists(chart_yaml);
	free(chart_yaml);
	if (ok)
		return 1;
	if (!(d = opendir(dir)))
		return 0;
	ok = 1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			ok = 0;
	closedir(d);
	return ok;
}

/* A successful run's chart, left to the process exit (dhg_cmd_pool): still reachable. */
static engine_chart *volatile exit_chart; /* volatile: a store the compiler keeps */

int dhg_cmd_generate(int argc, char **argv)
{
	const char **inputs = NULL;
	size_t ninputs = 0;
	const char *outdir = NULL, *set_values = NULL;
	int dry_run = 0, rc = 1;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_extract_options xopts = ENGINE_EXTRACT_OPTIONS_INIT;
	engine_chart *chart = NULL;
	json_t *overlay = NULL;

	if (!(inputs = calloc(MAX_INPUTS, sizeof(*inputs)))) {
		fputs("dhg generate: out of memory\n", stderr);
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		const char *eq = NULL;
		char flag[64];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			rc = 0;
			goto done;
		}
		if (!strcmp(a, "--dry-run")) {
			dry_run = 1;
			continue;
		}
		if (dhg_str_has_prefix(a, "--") && (eq = strchr(a, '='))) {
			snprintf(flag, sizeof(flag), "%.*s", (int)(eq - a), a);
			val = eq + 1;
		} else {
			snprintf(flag, sizeof(flag), "%s", a);
		}
#define TAKE()                                                                           \
	do {                                                                             \
		if (!val) {                                                              \
			if (i + 1 >= argc) {                                             \
				rc = usage_error("flag %s needs a value", flag);         \
				goto done;                                               \
			}                                                                \
			val = argv[++i];                                                 \
		}                                                                        \
	} while (0)
		if (!strcmp(flag, "-f") || !strcmp(flag, "--file")) {
			TAKE();
			if (ninputs == MAX_INPUTS) {
				rc = usage_error("too many -f flags%s", NULL);
				goto done;
			}
			inputs[ninputs++] = val;
		} else if (!strcmp(flag, "-o") || !strcmp(flag, "--output")) {
			TAKE();
			outdir = val;
		} else if (!strcmp(flag, "--chart-name")) {
			TAKE();
			opts.chart_name = val;
		} else if (!strcmp(flag, "--chart-version")) {
			TAKE();
			opts.chart_version = val;
		} else if (!strcmp(flag, "--app-version")) {
			TAKE();
			opts.app_version = val;
		} else if (!strcmp(flag, "--description")) {
			TAKE();
			opts.description = val;
		} else if (!strcmp(flag, "--secrets")) {
			TAKE();
			if (!strcmp(val, "mask"))
				opts.secrets = ENGINE_SECRETS_MASK;
			else if (!strcmp(val, "include"))
				opts.secrets = ENGINE_SECRETS_INCLUDE;
			else if (!strcmp(val, "external-secret") || !strcmp(val, "externalSecret"))
				opts.secrets = ENGINE_SECRETS_EXTERNAL;
			else {
				rc = usage_error("--secrets must be mask, include or external-secret, not '%s'", val);
				goto done;
			}
		} else if (!strcmp(flag, "--external-secret-store")) {
			TAKE();
			opts.external_store_name = val;
		} else if (!strcmp(flag, "--external-secret-store-kind")) {
			TAKE();
			if (strcmp(val, "SecretStore") && strcmp(val, "ClusterSecretStore")) {
				rc = usage_error("--external-secret-store-kind must be SecretStore or ClusterSecretStore, not '%s'", val);
				goto done;
			}
			opts.external_store_kind = val;
		} else if (!strcmp(flag, "--namespace") || !strcmp(flag, "-n")) {
			TAKE();
			opts.release_namespace = val;
		} else if (!strcmp(flag, "-j") || !strcmp(flag, "--jobs")) {
			char *end;
			long j;
			TAKE();
			errno = 0;
			j = strtol(val, &end, 10);
			if (errno || end == val || *end || j < 1 || j > ENGINE_MAX_THREADS) {
				rc = usage_error("--jobs '%s' is not a thread count from 1 to 64", val);
				goto done;
			}
			xopts.threads = (int)j;
		} else if (!strcmp(flag, "--set-values")) {
			TAKE();
			set_values = val;
		} else {
			rc = usage_error("unknown flag '%s'", a);
			goto done;
		}
#undef TAKE
	}
	if (ninputs == 0) {
		rc = usage_error("at least one -f PATH is required%s", NULL);
		goto done;
	}
	if (!opts.chart_name) {
		rc = usage_error("--chart-name is required%s", NULL);
		goto done;
	}
	if (!!outdir == !!dry_run) {
		rc = usage_error("exactly one of -o DIR and --dry-run is required%s", NULL);
		goto done;
	}
	if (!dhg_dns1123_label_valid(opts.chart_name)) {
		rc = usage_error("--chart-name '%s' is not a DNS-1123 label (lower case letters, digits and '-', "
				 "starting and ending with a letter or digit, at most 63 characters)",
				 opts.chart_name);
		goto done;
	}
	if (opts.chart_version && !dhg_semver_valid(opts.chart_version)) {
		rc = usage_error("--chart-version '%s' is not a semantic version (e.g. 0.1.0)", opts.chart_version);
		goto done;
	}
	if (opts.release_namespace && !dhg_dns1123_label_valid(opts.release_namespace)) {
		rc = usage_error("--namespace '%s' is not a valid namespace name", opts.release_namespace);
		goto done;
	}
	if (outdir && !*outdir) {
		rc = usage_error("-o needs a directory%s", NULL);
		goto done;
	}
	if (set_values) {
		if (read_overlay(&overlay, set_values) < 0) {
			rc = dhg_cmd_fail("--set-values");
			goto done;
		}
		opts.values_overlay = overlay;
	}
	xopts.progress = isatty(STDERR_FILENO);
	engine_exit_soon_set(dhg_cmd_pool); /* the process ends after this run */
	if (engine_run_paths(&chart, inputs, ninputs, &xopts, &opts) < 0) {
		rc = dhg_cmd_fail(NULL);
		goto done;
	}
	for (size_t i = 0; i < chart->warnings.len; i++)
		fprintf(stderr, "warning: %s\n", chart->warnings.items[i]);
	if (dry_run) {
		for (size_t i = 0; i < chart->nfiles; i++) {
			const engine_file *f = &chart->files[i];
			fputs("---\n# Source: ", stdout);
			fputs(f->path, stdout);
			putchar('\n');
			fwrite(f->data, 1, f->len, stdout);
			if (f->len && f->data[f->len - 1] != '\n')
				putchar('\n');
		}
		if (fflush(stdout) != 0) {
			fputs("dhg generate: writing to standard output failed\n", stderr);
			goto done;
		}
		fprintf(stderr, "Chart %s %s (%zu resources, %s)\n", chart->name, chart->version, chart->resource_count,
			chart->digest);
		rc = 0;
		goto done;
	}
	if (dhg_path_exists(outdir) && !is_replaceable(outdir)) {
		fprintf(stderr,
			"dhg generate: -o %s: exists and is not a chart directory (no Chart.yaml) nor empty; "
			"refusing to replace it\n",
			outdir);
		goto done;
	}
	if (engine_chart_write_dir_threads(chart, outdir, xopts.threads) < 0) {
		rc = dhg_cmd_fail(NULL);
		goto done;
	}
	printf("Chart %s %s written to %s (%zu resources, %s)\n", chart->name, chart->version, outdir,
	       chart->resource_count, chart->digest);
	rc = 0;
done:
	if (rc == 0 && dhg_cmd_pool) {
		/* the process ends now: freeing the chart block by block would only cost time */
		exit_chart = chart;
		chart = NULL;
	}
	engine_chart_free(chart);
	json_decref(overlay);
	free(inputs);
	return rc;
}
