/* libFuzzer target: the OCI writer's untrusted inputs -
 *   - WWW-Authenticate challenges from a registry (ociout_challenges_parse),
 *   - Docker config JSON (~/.docker/config.json, Helm's registry config, a Secret's
 *     .dockerconfigjson) for several hosts (ociout_credentials_from_docker_config),
 *   - a Secret's `data` map: the input as the JSON map itself, and the input base64-encoded as
 *     the .dockerconfigjson key (ociout_credentials_from_secret_data),
 *   - an oci:// repository string and a chart version -> tag (ociout_ref_parse / tag_from_version),
 *   - a chart's Chart.yaml (dhg push reads it from the user's directory: pkgchart_chart_yaml_parse)
 *     and its JSON with Go's escaping (pkgchart_json_dump_go, the config blob's encoder), then the
 *     config blob and the archive of a chart with that Chart.yaml (pkgchart_config_build/tgz_build).
 * Invariants checked (abort on violation): a successful challenge parse yields NUL-terminated
 * fields with a non-empty lower-case scheme; credentials found through the Secret path equal
 * those found directly in the config JSON; a parsed reference has a host and a tag holds only
 * [A-Za-z0-9_.-]; the Go-escaped JSON of a parsed Chart.yaml reads back to an equal value; an accepted
 * config blob names the same chart; two archive builds are byte-identical. Built and run by tests/fuzz/run.sh. */
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output/oci/ociout.h"
#include "output/oci/ociout_internal.h"
#include "output/package/pkgchart.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const hosts[] = { "registry.example:5000", "127.0.0.1:5000", "index.docker.io", "ghcr.io" };

static int same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static void fuzz_challenges(const char *s)
{
	ociout_challenge ch[4];
	size_t n = 0;
	if (ociout_challenges_parse(ch, 4, &n, s) == 0 || n > 0) {
		if (n > 4)
			abort();
		for (size_t i = 0; i < n; i++) {
			if (!memchr(ch[i].scheme, 0, sizeof(ch[i].scheme)) || !memchr(ch[i].realm, 0, sizeof(ch[i].realm)) ||
			    !memchr(ch[i].service, 0, sizeof(ch[i].service)) || !memchr(ch[i].scope, 0, sizeof(ch[i].scope)) ||
			    !memchr(ch[i].error, 0, sizeof(ch[i].error)))
				abort();
			if (!ch[i].scheme[0])
				abort();
			for (const char *p = ch[i].scheme; *p; p++)
				if (*p >= 'A' && *p <= 'Z')
					abort();
		}
	}
	/* max = 0 must append nothing */
	n = 0;
	(void)ociout_challenges_parse(ch, 0, &n, s);
	if (n != 0)
		abort();
}

static void fuzz_docker_config(const uint8_t *data, size_t size)
{
	char *b64 = NULL;
	if (ociout__base64_encode(&b64, (const char *)data, size) < 0)
		return;
	for (size_t h = 0; h < sizeof(hosts) / sizeof(hosts[0]); h++) {
		ociout_credentials direct = OCIOUT_CREDENTIALS_INIT, via = OCIOUT_CREDENTIALS_INIT;
		char *ca = NULL;
		size_t calen = 0;
		json_t *sec = json_pack("{s:s}", ".dockerconfigjson", b64);
		int e1 = ociout_credentials_from_docker_config(&direct, (const char *)data, size, hosts[h]);
		int e2 = sec ? ociout_credentials_from_secret_data(&via, &ca, &calen, sec, hosts[h]) : DHG_ENOMEM;
		/* same answer both ways (the Secret path only adds base64) */
		if (sec && e1 != DHG_ENOMEM && e2 != DHG_ENOMEM) {
			if ((e1 == 0) != (e2 == 0))
				abort();
			if (e1 == 0 && (!same(direct.username, via.username) || !same(direct.password, via.password)))
				abort();
		}
		if (ca)
			abort(); /* there is no ca.crt key */
		json_decref(sec);
		ociout_credentials_dispose(&direct);
		ociout_credentials_dispose(&via);
	}
	free(b64);
}

static void fuzz_secret_map(const uint8_t *data, size_t size)
{
	json_t *m = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
	if (!m)
		return;
	for (size_t h = 0; h < 2; h++) {
		ociout_credentials c = OCIOUT_CREDENTIALS_INIT;
		char *ca = NULL;
		size_t calen = 0;
		if (ociout_credentials_from_secret_data(&c, h ? NULL : &ca, h ? NULL : &calen, m, hosts[h]) == 0) {
			if (!c.username && c.password)
				abort();
		}
		if (ca && strlen(ca) > calen)
			abort();
		free(ca);
		ociout_credentials_dispose(&c);
	}
	json_decref(m);
}

static void fuzz_ref_and_tag(const char *s)
{
	ociout_ref r;
	char tag[129];
	if (ociout_ref_parse(&r, s) == 0) {
		if (!r.host[0] || !memchr(r.path, 0, sizeof(r.path)))
			abort();
	}
	if (ociout_tag_from_version(tag, s) == 0) {
		if (!tag[0] || tag[0] == '.' || tag[0] == '-' || strlen(tag) > 128)
			abort();
		for (const char *p = tag; *p; p++)
			if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
			      *p == '.' || *p == '-'))
				abort();
	}
}

/* A chart with this Chart.yaml: the config blob (when accepted) names the same chart, and the
 * archive is reproducible (two builds, byte-identical). */
static void fuzz_package(const json_t *meta, const uint8_t *data, size_t size)
{
	const char *name = json_string_value(json_object_get(meta, "name"));
	const char *version = json_string_value(json_object_get(meta, "version"));
	engine_file files[2];
	engine_chart chart;
	char *cfg = NULL, chart_yaml[] = "Chart.yaml", tpl_path[] = "templates/cm.yaml", tpl[] = "kind: ConfigMap\n";
	size_t cfg_len = 0, l1 = 0, l2 = 0;
	unsigned char *t1 = NULL, *t2 = NULL;
	json_t *cj;

	if (!name || !version || strlen(name) >= sizeof(chart.name) || strlen(version) >= sizeof(chart.version))
		return;
	memset(&chart, 0, sizeof(chart));
	files[0].path = chart_yaml;
	files[0].data = (char *)data; /* read only */
	files[0].len = size;
	files[1].path = tpl_path;
	files[1].data = tpl;
	files[1].len = strlen(tpl);
	chart.files = files;
	chart.nfiles = 2;
	snprintf(chart.name, sizeof(chart.name), "%s", name);
	snprintf(chart.version, sizeof(chart.version), "%s", version);
	if (pkgchart_config_build(&cfg, &cfg_len, &chart) == 0) {
		if (!(cj = json_loadb(cfg, cfg_len, 0, NULL)) ||
		    strcmp(json_string_value(json_object_get(cj, "name")) ? json_string_value(json_object_get(cj, "name")) : "", name) != 0 ||
		    strcmp(json_string_value(json_object_get(cj, "version")) ? json_string_value(json_object_get(cj, "version")) : "", version) != 0)
			abort();
		json_decref(cj);
		free(cfg);
		if (pkgchart_tgz_build(&t1, &l1, &chart) == 0) {
			if (pkgchart_tgz_build(&t2, &l2, &chart) < 0 || l1 != l2 || memcmp(t1, t2, l1) != 0)
				abort();
		}
		free(t1);
		free(t2);
	}
}

static void fuzz_chart_yaml(const uint8_t *data, size_t size)
{
	json_t *v = NULL, *back;
	char *js = NULL;
	size_t jlen = 0;
	if (pkgchart_chart_yaml_parse(&v, (const char *)data, size, "Chart.yaml") < 0)
		return;
	if (pkgchart_json_dump_go(&js, &jlen, v) == 0) {
		if (strlen(js) != jlen)
			abort();
		back = json_loadb(js, jlen, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
		if (!back || !json_equal(back, v))
			abort(); /* Go escaping must keep the JSON valid and equal */
		json_decref(back);
		free(js);
	}
	fuzz_package(v, data, size);
	json_decref(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = 0;
	fuzz_challenges(s);
	fuzz_docker_config(data, size);
	fuzz_secret_map(data, size);
	fuzz_ref_and_tag(s);
	fuzz_chart_yaml(data, size);
	free(s);
	dhg_error_clear();
	return 0;
}
