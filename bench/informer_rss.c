/*
 * informer_rss: RSS of a process whose informers cache every object of some resources.
 *
 *   [INFORMER_PAGE_SIZE=N] informer_rss KUBECONFIG GVR... (GVR like "apps/v1/deployments")
 *
 * Prints one JSON line: objects cached, time to initial sync of all informers, VmRSS before
 * the client is created (baseline: code + libraries), after sync, and after malloc_trim(0)
 * (what stays: the cache plus the allocator's live arenas), and VmHWM (peak).
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "util/error.h"

#define MAX_INF 16

static long status_kb(const char *field)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;
	size_t n = strlen(field);
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, field, n) == 0 && line[n] == ':') {
			v = strtol(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 3 || argc - 2 > MAX_INF) {
		fprintf(stderr, "usage: informer_rss KUBECONFIG GVR...\n");
		return 64;
	}
	long base = status_kb("VmRSS");
	kube_config_options co = KUBE_CONFIG_OPTIONS_INIT;
	co.kubeconfig = argv[1];
	kube_config *cfg = NULL;
	kube_client *c = NULL;
	kube_informer *inf[MAX_INF] = { 0 };
	char bufs[MAX_INF][256];
	int n = argc - 2, rc = 1;
	kube_client_options clo = KUBE_CLIENT_OPTIONS_INIT;
	if (kube_config_load(&cfg, &co) < 0 || kube_client_new(&c, cfg, &clo) < 0)
		goto fail;
	double t0 = now_ms();
	for (int i = 0; i < n; i++) {
		kube_informer_options io = KUBE_INFORMER_OPTIONS_INIT;
		const char *ps = getenv("INFORMER_PAGE_SIZE"); /* default: the informer's own */
		io.page_size = ps ? strtol(ps, NULL, 10) : 0;
		snprintf(bufs[i], sizeof(bufs[i]), "%s", argv[i + 2]);
		char *a = bufs[i], *b = strchr(a, '/'), *cc = b ? strchr(b + 1, '/') : NULL;
		if (!b) {
			fprintf(stderr, "bad GVR %s\n", argv[i + 2]);
			goto done;
		}
		*b = 0;
		if (cc) {
			*cc = 0;
			io.gvr.group = a;
			io.gvr.version = b + 1;
			io.gvr.resource = cc + 1;
		} else {
			io.gvr.group = "";
			io.gvr.version = a;
			io.gvr.resource = b + 1;
		}
		if (kube_informer_new(&inf[i], c, &io) < 0 || kube_informer_start(inf[i]) < 0)
			goto fail;
	}
	for (int i = 0; i < n; i++)
		if (kube_informer_wait_for_sync(inf[i], 300000) < 0)
			goto fail;
	double sync_ms = now_ms() - t0;
	size_t objects = 0;
	for (int i = 0; i < n; i++)
		objects += kube_informer_count(inf[i]);
	long after = status_kb("VmRSS");
	malloc_trim(0);
	long trimmed = status_kb("VmRSS");
	printf("{\"objects\":%zu,\"informers\":%d,\"syncMs\":%.0f,\"baselineKB\":%ld,\"afterSyncKB\":%ld,"
	       "\"afterTrimKB\":%ld,\"peakKB\":%ld,\"clientShareKB\":%ld}\n",
	       objects, n, sync_ms, base, after, trimmed, status_kb("VmHWM"), trimmed - base);
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "informer_rss: %s\n", dhg_error_last()->message);
done:
	for (int i = 0; i < n; i++)
		kube_informer_free(inf[i]);
	kube_client_free(c);
	kube_config_free(cfg);
	return rc;
}
