/*
 * kube_tool: drives internal/kube for integration tests and benchmarks.
 *
 *   kube_tool [--kubeconfig F] [--context C] [--qps N] [--burst N] [--retries N] [--max-body B] CMD ...
 *     get    GVR NS NAME              print the object (compact JSON)
 *     list   GVR NS [--limit N] [--selector S]   print {"resourceVersion","count","names":[...]}
 *     create GVR NS JSON | update GVR NS JSON | patch GVR NS NAME TYPE JSON [--manager M --force]
 *     delete GVR NS NAME | status GVR NS NAME | patch-status GVR NS NAME JSON
 *     discover APIVERSION KIND [--wait-ms N]   print {"resource","namespaced","hasStatus"}
 *     informer GVR NS --events F --cache F --stop-file F [--selector S] [--watch-timeout S]
 *              [--synced-file F] [--resync-ms N]
 *         runs an informer until the stop file exists; events as JSON lines
 *         {"type","key","rv","oldRv"} to --events; then the cache as JSON lines {"key","rv"}
 *         sorted by key to --cache; stats JSON to stdout.
 *   GVR is "v1/configmaps" or "apps/v1/deployments". NS "-" means none (cluster/all).
 *   On error: prints "error: <Name> http=<status> reason=<reason>: <message>" to stderr, exit 2.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/discovery.h"
#include "kube/informer.h"
#include "kube/object.h"
#include "kube/selector.h"
#include "util/error.h"
#include "util/str.h"

static int fail_err(int rc)
{
	const dhg_error *e = dhg_error_last();
	fprintf(stderr, "error: %s http=%d reason=%s: %s\n", dhg_error_name(rc), e->http_status, e->reason, e->message);
	return 2;
}

static int parse_gvr(kube_gvr *g, char *buf)
{
	char *a = buf, *b = strchr(a, '/');
	if (!b)
		return -1;
	*b++ = 0;
	char *c = strchr(b, '/');
	if (c) {
		*c++ = 0;
		g->group = a;
		g->version = b;
		g->resource = c;
	} else {
		g->group = "";
		g->version = a;
		g->resource = b;
	}
	return 0;
}

static const char *opt_ns(const char *s) { return strcmp(s, "-") == 0 ? NULL : s; }

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	if (s)
		puts(s);
	free(s);
}

static const char *argval(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc - 1; i++)
		if (strcmp(argv[i], name) == 0)
			return argv[i + 1];
	return NULL;
}

static bool argflag(int argc, char **argv, const char *name)
{
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], name) == 0)
			return true;
	return false;
}

/* ---- informer ---------------------------------------------------------------------- */

typedef struct inf_out {
	FILE *events;
	unsigned long adds, updates, deletes, resyncs;
} inf_out;

static void ev_line(inf_out *o, const char *type, json_t *old, json_t *obj)
{
	char key[600];
	if (kube_object_key(key, sizeof(key), obj) < 0)
		return;
	json_t *line = json_pack("{s:s,s:s,s:s,s:s}", "type", type, "key", key, "rv", kube_object_resource_version(obj),
	                         "oldRv", old ? kube_object_resource_version(old) : "");
	char *s = line ? json_dumps(line, JSON_COMPACT) : NULL;
	if (s && o->events) {
		fprintf(o->events, "%s\n", s);
		fflush(o->events);
	}
	free(s);
	json_decref(line);
}

static void h_add(json_t *obj, void *p) { ((inf_out *)p)->adds++; ev_line(p, "ADDED", NULL, obj); }
static void h_update(json_t *old, json_t *obj, void *p) { ((inf_out *)p)->updates++; ev_line(p, "MODIFIED", old, obj); }
static void h_delete(json_t *obj, void *p) { ((inf_out *)p)->deletes++; ev_line(p, "DELETED", NULL, obj); }
static void h_resync(json_t *obj, void *p) { (void)obj; ((inf_out *)p)->resyncs++; }

static int cmd_informer(kube_client *c, kube_gvr *g, const char *ns, int argc, char **argv)
{
	const char *events = argval(argc, argv, "--events"), *cache = argval(argc, argv, "--cache");
	const char *stop = argval(argc, argv, "--stop-file"), *synced = argval(argc, argv, "--synced-file");
	const char *wt = argval(argc, argv, "--watch-timeout"), *rs = argval(argc, argv, "--resync-ms");
	inf_out o = { NULL, 0, 0, 0, 0 };
	int rc = 0;
	if (!stop) {
		fprintf(stderr, "informer: --stop-file is required\n");
		return 64;
	}
	if (events && !(o.events = fopen(events, "w"))) {
		perror(events);
		return 2;
	}
	kube_informer_options io = KUBE_INFORMER_OPTIONS_INIT;
	io.gvr = *g;
	io.namespace_ = ns;
	io.label_selector = argval(argc, argv, "--selector");
	io.watch_timeout_seconds = wt ? (int)strtol(wt, NULL, 10) : 0;
	io.resync_ms = rs ? strtol(rs, NULL, 10) : 0;
	io.handlers.on_add = h_add;
	io.handlers.on_update = h_update;
	io.handlers.on_delete = h_delete;
	io.handlers.on_resync = h_resync;
	io.handlers.payload = &o;
	kube_informer *inf = NULL;
	if ((rc = kube_informer_new(&inf, c, &io)) < 0) {
		rc = fail_err(rc);
		goto done;
	}
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((rc = kube_informer_start(inf)) < 0 || (rc = kube_informer_wait_for_sync(inf, 60000)) < 0) {
		rc = fail_err(rc);
		goto done;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double sync_ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	if (synced) {
		FILE *f = fopen(synced, "w");
		if (f) {
			fprintf(f, "%.1f\n", sync_ms);
			fclose(f);
		}
	}
	while (access(stop, F_OK) != 0) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
	kube_informer_stop(inf);
	if (cache) {
		FILE *f = fopen(cache, "w");
		json_t *all = NULL;
		if (!f || kube_informer_list(&all, inf, NULL, NULL) < 0) {
			if (f)
				fclose(f);
			rc = 2;
			goto done;
		}
		size_t i;
		json_t *obj;
		json_array_foreach(all, i, obj) {
			char key[600];
			if (kube_object_key(key, sizeof(key), obj) == 0)
				fprintf(f, "{\"key\":\"%s\",\"rv\":\"%s\"}\n", key, kube_object_resource_version(obj));
		}
		json_decref(all);
		fclose(f);
	}
	kube_informer_stats st;
	kube_informer_stats_get(&st, inf);
	char rv[128];
	kube_informer_resource_version(rv, sizeof(rv), inf);
	printf("{\"syncMs\":%.1f,\"count\":%zu,\"adds\":%lu,\"updates\":%lu,\"deletes\":%lu,\"resyncs\":%lu,"
	       "\"lists\":%lu,\"relistsGone\":%lu,\"watches\":%lu,\"events\":%lu,\"bookmarks\":%lu,\"errors\":%lu,"
	       "\"resourceVersion\":\"%s\"}\n",
	       sync_ms, kube_informer_count(inf), o.adds, o.updates, o.deletes, o.resyncs, st.lists, st.relists_gone,
	       st.watches, st.events, st.bookmarks, st.errors, rv);
	rc = 0;
done:
	kube_informer_free(inf);
	if (o.events)
		fclose(o.events);
	return rc;
}

/* ---- main -------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	kube_config_options co = KUBE_CONFIG_OPTIONS_INIT;
	kube_client_options clo = KUBE_CLIENT_OPTIONS_INIT;
	int i = 1;
	for (; i < argc - 1 && strncmp(argv[i], "--", 2) == 0; i += 2) {
		if (strcmp(argv[i], "--kubeconfig") == 0)
			co.kubeconfig = argv[i + 1];
		else if (strcmp(argv[i], "--context") == 0)
			co.context = argv[i + 1];
		else if (strcmp(argv[i], "--qps") == 0)
			clo.qps = strtod(argv[i + 1], NULL);
		else if (strcmp(argv[i], "--burst") == 0)
			clo.burst = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--retries") == 0)
			clo.max_retries = (int)strtol(argv[i + 1], NULL, 10);
		else if (strcmp(argv[i], "--max-body") == 0)
			clo.max_body = (size_t)strtoul(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (argc - i < 2) {
		fprintf(stderr, "usage: kube_tool [--kubeconfig F] CMD ARGS (see source)\n");
		return 64;
	}
	const char *cmd = argv[i];
	int rest = argc - i - 1;
	char **av = argv + i + 1;
	kube_config *cfg = NULL;
	kube_client *c = NULL;
	kube_discovery *d = NULL;
	json_t *out = NULL, *body = NULL;
	kube_gvr g = { 0 };
	char gbuf[512];
	int rc = kube_config_load(&cfg, &co);
	if (rc < 0) {
		rc = fail_err(rc);
		goto done;
	}
	if ((rc = kube_client_new(&c, cfg, &clo)) < 0) {
		rc = fail_err(rc);
		goto done;
	}
	if (strcmp(cmd, "discover") == 0) {
		/* discover APIVERSION KIND [--wait-ms N]: with --wait-ms, keeps looking up (one
		 * discovery cache, refreshed on misses at most every 200 ms) until found, printing
		 * {"miss":N} for each miss first */
		kube_resource_info info;
		const char *wait = argval(rest, av, "--wait-ms");
		long wait_ms = wait ? strtol(wait, NULL, 10) : 0;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((rc = kube_discovery_new(&d, c, wait ? 200 : 0)) < 0) {
			rc = fail_err(rc);
			goto done;
		}
		for (int miss = 1;; miss++) {
			rc = kube_discovery_lookup_kind(&info, d, av[0], rest > 1 ? av[1] : "");
			clock_gettime(CLOCK_MONOTONIC, &t1);
			long el = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (rc != DHG_ENOTFOUND || el >= wait_ms)
				break;
			printf("{\"miss\":%d}\n", miss);
			fflush(stdout);
			struct timespec ts = { 0, 100 * 1000000L };
			nanosleep(&ts, NULL);
		}
		if (rc < 0) {
			rc = fail_err(rc);
			goto done;
		}
		printf("{\"group\":\"%s\",\"version\":\"%s\",\"resource\":\"%s\",\"namespaced\":%s,\"hasStatus\":%s}\n", info.group,
		       info.version, info.resource, info.namespaced ? "true" : "false", info.has_status ? "true" : "false");
		goto done;
	}
	snprintf(gbuf, sizeof(gbuf), "%s", av[0]);
	if (parse_gvr(&g, gbuf) < 0 || rest < 2) {
		fprintf(stderr, "bad GVR or missing namespace\n");
		rc = 64;
		goto done;
	}
	const char *ns = opt_ns(av[1]);
	if (strcmp(cmd, "get") == 0 && rest >= 3)
		rc = kube_client_get(&out, c, &g, ns, av[2]);
	else if (strcmp(cmd, "status") == 0 && rest >= 3)
		rc = kube_client_get_status(&out, c, &g, ns, av[2]);
	else if (strcmp(cmd, "list") == 0) {
		kube_list_options lo = KUBE_LIST_OPTIONS_INIT;
		const char *lim = argval(rest, av, "--limit");
		lo.limit = lim ? strtol(lim, NULL, 10) : 0;
		lo.label_selector = argval(rest, av, "--selector");
		json_t *list = NULL;
		rc = kube_client_list(&list, c, &g, ns, &lo);
		if (rc == 0) {
			json_t *names = json_array();
			size_t k;
			json_t *it;
			json_array_foreach(json_object_get(list, "items"), k, it) {
				char key[600];
				if (kube_object_key(key, sizeof(key), it) == 0)
					json_array_append_new(names, json_string(key));
			}
			out = json_pack("{s:O,s:I,s:o}", "resourceVersion",
			                json_object_get(json_object_get(list, "metadata"), "resourceVersion"), "count",
			                (json_int_t)json_array_size(names), "names", names);
			json_decref(list);
		}
	} else if ((strcmp(cmd, "create") == 0 || strcmp(cmd, "update") == 0) && rest >= 3) {
		if (!(body = json_loads(av[2], 0, NULL))) {
			fprintf(stderr, "bad JSON\n");
			rc = 64;
			goto done;
		}
		rc = cmd[0] == 'c' ? kube_client_create(&out, c, &g, ns, body) : kube_client_update(&out, c, &g, ns, body);
	} else if ((strcmp(cmd, "patch") == 0 && rest >= 5) || (strcmp(cmd, "patch-status") == 0 && rest >= 4)) {
		kube_patch_options po = KUBE_PATCH_OPTIONS_INIT;
		bool st = strcmp(cmd, "patch-status") == 0;
		const char *type = st ? "merge" : av[3];
		if (!(body = json_loads(st ? av[3] : av[4], 0, NULL))) {
			fprintf(stderr, "bad JSON\n");
			rc = 64;
			goto done;
		}
		po.type = strcmp(type, "json") == 0 ? KUBE_PATCH_JSON
		        : strcmp(type, "strategic") == 0 ? KUBE_PATCH_STRATEGIC
		        : strcmp(type, "apply") == 0 ? KUBE_PATCH_APPLY : KUBE_PATCH_MERGE;
		po.field_manager = argval(rest, av, "--manager");
		po.force = argflag(rest, av, "--force");
		rc = st ? kube_client_patch_status(&out, c, &g, ns, av[2], body, &po)
		        : kube_client_patch(&out, c, &g, ns, av[2], body, &po);
	} else if (strcmp(cmd, "delete") == 0 && rest >= 3) {
		rc = kube_client_delete(c, &g, ns, av[2], NULL);
		if (rc == 0)
			out = json_pack("{s:s}", "deleted", av[2]);
	} else if (strcmp(cmd, "informer") == 0) {
		rc = cmd_informer(c, &g, ns, rest, av);
		goto done;
	} else {
		fprintf(stderr, "unknown command or missing arguments: %s\n", cmd);
		rc = 64;
		goto done;
	}
	if (rc < 0) {
		rc = fail_err(rc);
		goto done;
	}
	print_json(out);
	rc = 0;
done:
	if (rc == 0 || rc == 2) {
		kube_client_stats cs;
		if (c) {
			kube_client_stats_get(&cs, c);
			fprintf(stderr, "client: requests=%lu retries=%lu throttledMs=%lu\n", cs.requests, cs.retries, cs.throttled_ms);
		}
	}
	json_decref(out);
	json_decref(body);
	kube_discovery_free(d);
	kube_client_free(c);
	kube_config_free(cfg);
	return rc;
}
