/* libFuzzer target: kubeconfig files (YAML or JSON) through kube_config_load (file only, never
 * in-cluster; exec plugins are parsed but never run: that happens only on a request), then the
 * describe / URL helpers; plus the module's YAML->JSON and base64 helpers on the raw bytes.
 * The input is written to a private temporary directory (relative paths in it resolve there).
 * Built and run by tests/fuzz/run.sh (stdin is /dev/null). */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kube/config.h"
#include "kube/kube_private.h"
#include "util/error.h"
#include "util/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[96];

static void cleanup(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(dir), "/tmp/dhg-fuzz-kubeconfig.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof(path), "%s/config", dir);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	/* config warnings (unsupported auth-provider, ...) would flood the fuzzer's output */
	FILE *null = fopen("/dev/null", "w");
	dhg_log_configure(DHG_LOG_ERROR, DHG_LOG_FORMAT_JSON, null ? null : stderr);
	atexit(cleanup);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	kube_config_options o = KUBE_CONFIG_OPTIONS_INIT;
	kube_config *cfg = NULL;
	json_t *j = NULL;
	char *s, *dec = NULL;
	size_t declen = 0;
	FILE *f;

	if (!(f = fopen(path, "wb")))
		abort();
	if (size && fwrite(data, 1, size, f) != size)
		abort();
	fclose(f);
	o.kubeconfig = path;
	o.source = KUBE_CONFIG_FILE_ONLY;
	o.in_cluster_dir = dir;
	if (kube_config_load(&cfg, &o) == 0) {
		char *u = kube_config__url(cfg, "/api/v1/namespaces?limit=1");
		if (!kube_config_server(cfg) || !kube_config_namespace(cfg) || !kube_config_context(cfg))
			abort();
		if (kube_config__describe(&j, cfg) == 0)
			json_decref(j);
		j = NULL;
		free(u);
		kube_config_free(cfg);
	}
	if (kube_config__yaml_to_json(&j, (const char *)data, size, "fuzz") == 0)
		json_decref(j);
	if ((s = malloc(size + 1))) {
		memcpy(s, data, size);
		s[size] = 0;
		if (kube_config__base64_decode(&dec, &declen, s, "fuzz") == 0) {
			if (declen > size || dec[declen] != 0)
				abort();
			free(dec);
		}
		free(s);
	}
	dhg_error_clear();
	return 0;
}
