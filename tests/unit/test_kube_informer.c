/* Informer tests against a scripted in-process HTTP server (loopback, one connection at a
 * time, "Connection: close"): list pagination, watch resume from bookmarks, 410 (event and
 * HTTP) -> relist with a diff, indexes, stop. */
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "kube/client.h"
#include "kube/config.h"
#include "kube/informer.h"
#include "kube/object.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/str.h"

typedef struct step {
	const char *match; /* substring the request path must contain */
	int status;
	const char *body;
	bool hold;         /* keep the stream open until the test ends */
} step;

typedef struct fake {
	int lfd, port;
	pthread_t th;
	const step *steps;
	size_t nsteps, next;
	atomic_int quit;
	char paths[16][512];
	size_t npaths;
	char mismatch[600];
	pthread_mutex_t lock;
} fake;

static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

static void *serve(void *arg)
{
	fake *f = arg;
	while (!atomic_load(&f->quit)) {
		struct pollfd pfd = { f->lfd, POLLIN, 0 };
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		int c = accept(f->lfd, NULL, NULL);
		if (c < 0)
			continue;
		char req[8192];
		size_t got = 0;
		while (got < sizeof(req) - 1) {
			ssize_t r = read(c, req + got, sizeof(req) - 1 - got);
			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		req[got] = 0;
		char path[512] = "";
		sscanf(req, "%*s %511s", path);
		pthread_mutex_lock(&f->lock);
		const step *s = f->next < f->nsteps ? &f->steps[f->next++] : NULL;
		if (f->npaths < 16)
			snprintf(f->paths[f->npaths++], sizeof(f->paths[0]), "%s", path);
		if (!s || !strstr(path, s->match))
			snprintf(f->mismatch, sizeof(f->mismatch), "request %s does not match step %zu (%s)", path, f->next - 1,
			         s ? s->match : "none left");
		pthread_mutex_unlock(&f->lock);
		if (!s || !strstr(path, s->match)) {
			/* hang up without an answer: the client sees a connection error */
			close(c);
			continue;
		}
		char hdr[256];
		snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nConnection: close\r\n"
		                           "Transfer-Encoding: chunked\r\n\r\n", s->status);
		write_all(c, hdr, strlen(hdr));
		/* the body in 7-byte chunks: watch lines arrive split at arbitrary places */
		size_t len = strlen(s->body);
		for (size_t off = 0; off < len; off += 7) {
			size_t n = len - off < 7 ? len - off : 7;
			char ch[32];
			snprintf(ch, sizeof(ch), "%zx\r\n", n);
			write_all(c, ch, strlen(ch));
			write_all(c, s->body + off, n);
			write_all(c, "\r\n", 2);
		}
		if (s->hold)
			while (!atomic_load(&f->quit)) {
				char buf[64];
				struct pollfd cp = { c, POLLIN, 0 };
				if (poll(&cp, 1, 20) > 0 && read(c, buf, sizeof(buf)) <= 0)
					break; /* client closed */
			}
		else
			write_all(c, "0\r\n\r\n", 5);
		close(c);
	}
	return NULL;
}

static void fake_start(fake *f, const step *steps, size_t n)
{
	memset(f, 0, sizeof(*f));
	pthread_mutex_init(&f->lock, NULL);
	f->steps = steps;
	f->nsteps = n;
	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ge(f->lfd, 0);
	struct sockaddr_in a;
	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(f->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	socklen_t al = sizeof(a);
	ck_assert_int_eq(getsockname(f->lfd, (struct sockaddr *)&a, &al), 0);
	f->port = ntohs(a.sin_port);
	ck_assert_int_eq(listen(f->lfd, 8), 0);
	ck_assert_int_eq(pthread_create(&f->th, NULL, serve, f), 0);
}

static void fake_stop(fake *f)
{
	atomic_store(&f->quit, 1);
	pthread_join(f->th, NULL);
	close(f->lfd);
	pthread_mutex_destroy(&f->lock);
}

typedef struct evlog {
	dhg_buf b;
	int synced;
	pthread_mutex_t m; /* handlers run on the informer thread, the test reads on its own */
} evlog;

static void ev(evlog *l, const char *t, json_t *old, json_t *obj)
{
	pthread_mutex_lock(&l->m);
	dhg_buf_printf(&l->b, "%s %s %s%s%s;", t, kube_object_name(obj), old ? kube_object_resource_version(old) : "",
	               old ? ">" : "", kube_object_resource_version(obj));
	pthread_mutex_unlock(&l->m);
}
static void on_add(json_t *o, void *p) { ev(p, "ADD", NULL, o); }
static void on_update(json_t *old, json_t *o, void *p) { ev(p, "MOD", old, o); }
static void on_delete(json_t *o, void *p) { ev(p, "DEL", NULL, o); }
static void on_synced(void *p)
{
	evlog *l = p;
	pthread_mutex_lock(&l->m);
	l->synced++;
	pthread_mutex_unlock(&l->m);
}

#define CM(name, rv, labels) \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"ns\",\"resourceVersion\":\"" rv "\",\"labels\":" labels \
	",\"managedFields\":[{\"manager\":\"x\"}]}}"
#define LIST(rv, cont, items) \
	"{\"kind\":\"ConfigMapList\",\"metadata\":{\"resourceVersion\":\"" rv "\",\"continue\":\"" cont "\"},\"items\":[" items "]}"
#define EV(type, obj) "{\"type\":\"" type "\",\"object\":" obj "}\n"

/* Waits until the event log contains `want` (or 5 s). */
static bool wait_log(evlog *l, const char *want)
{
	for (int i = 0; i < 500; i++) {
		pthread_mutex_lock(&l->m);
		bool found = strstr(dhg_buf_cstr(&l->b), want) != NULL;
		pthread_mutex_unlock(&l->m);
		if (found)
			return true;
		usleep(10000);
	}
	return false;
}

static kube_informer *start_informer(kube_config **cfg, kube_client **c, fake *f, evlog *log)
{
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f->port);
	ck_assert_int_eq(kube_config_new_simple(cfg, url, NULL, NULL, false), 0);
	kube_client_options co = KUBE_CLIENT_OPTIONS_INIT;
	co.backoff_base_ms = 10;
	ck_assert_int_eq(kube_client_new(c, *cfg, &co), 0);
	kube_informer_options io = KUBE_INFORMER_OPTIONS_INIT;
	io.gvr = (kube_gvr){ "", "v1", "configmaps" };
	io.namespace_ = "ns";
	io.page_size = 2;
	io.handlers = (kube_informer_handlers){ on_add, on_update, on_delete, NULL, on_synced, log };
	kube_informer *inf = NULL;
	ck_assert_int_eq(kube_informer_new(&inf, *c, &io), 0);
	ck_assert_int_eq(kube_informer_start(inf), 0);
	return inf;
}

START_TEST(test_kube_informer__watch_resume_gone_event_relist_diff)
{
	static const step steps[] = {
		{ "limit=2", 200, LIST("3", "p2", CM("a", "1", "{\"app\":\"x\"}") "," CM("b", "2", "{\"app\":\"y\"}")), false },
		{ "continue=p2", 200, LIST("3", "", CM("c", "3", "{\"app\":\"x\"}")), false },
		{ "resourceVersion=3", 200,
		  EV("ADDED", CM("d", "4", "{\"app\":\"x\"}")) EV("MODIFIED", CM("a", "5", "{\"app\":\"z\"}"))
		  EV("BOOKMARK", "{\"metadata\":{\"resourceVersion\":\"6\"}}"), false },
		{ "resourceVersion=6", 200, EV("ERROR", "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\"}"), false },
		{ "limit=2", 200, LIST("8", "q", CM("a", "5", "{\"app\":\"z\"}") "," CM("b", "7", "{\"app\":\"y\"}")), false },
		{ "continue=q", 200, LIST("8", "", CM("d", "4", "{\"app\":\"x\"}") "," CM("e", "8", "{\"app\":\"x\"}")), false },
		{ "resourceVersion=8", 200, "", true },
	};
	fake f;
	fake_start(&f, steps, sizeof(steps) / sizeof(steps[0]));
	evlog log = { DHG_BUF_INIT(0), 0, PTHREAD_MUTEX_INITIALIZER };
	kube_config *cfg = NULL;
	kube_client *c = NULL;
	kube_informer *inf = start_informer(&cfg, &c, &f, &log);
	ck_assert_int_eq(kube_informer_wait_for_sync(inf, 5000), 0);
	ck_assert(kube_informer_has_synced(inf));
	ck_assert_msg(wait_log(&log, "DEL c"), "events: %s (%s)", dhg_buf_cstr(&log.b), f.mismatch);
	usleep(100000); /* nothing more may arrive */
	kube_informer_stop(inf);
	ck_assert_str_eq(f.mismatch, "");
	ck_assert_str_eq(dhg_buf_cstr(&log.b), "ADD a 1;ADD b 2;ADD c 3;ADD d 4;MOD a 1>5;MOD b 2>7;ADD e 8;DEL c 3;");
	ck_assert_int_eq(log.synced, 2);
	ck_assert(strstr(f.paths[2], "allowWatchBookmarks=true") != NULL);
	ck_assert(strstr(f.paths[3], "resourceVersion=6") != NULL); /* resumed from the bookmark */

	kube_informer_stats st;
	kube_informer_stats_get(&st, inf);
	ck_assert_uint_eq(st.lists, 2);
	ck_assert_uint_eq(st.relists_gone, 1);
	ck_assert_uint_eq(st.bookmarks, 1);
	char rv[32];
	kube_informer_resource_version(rv, sizeof(rv), inf);
	ck_assert_str_eq(rv, "8");

	/* cache: trimmed, indexed */
	ck_assert_uint_eq(kube_informer_count(inf), 4);
	json_t *o = NULL;
	ck_assert_int_eq(kube_informer_get(&o, inf, "ns", "b"), 0);
	ck_assert_str_eq(kube_object_resource_version(o), "7");
	/* filled in from the list's kind (ConfigMapList) */
	ck_assert_str_eq(json_string_value(json_object_get(o, "kind")), "ConfigMap");
	ck_assert_ptr_null(json_object_get(json_object_get(o, "metadata"), "managedFields"));
	json_decref(o);
	ck_assert_int_eq(kube_informer_get(&o, inf, "ns", "c"), DHG_ENOTFOUND);
	kube_selector *sel = NULL;
	ck_assert_int_eq(kube_selector_parse(&sel, "app=x"), 0);
	json_t *arr = NULL;
	ck_assert_int_eq(kube_informer_list(&arr, inf, "ns", sel), 0);
	ck_assert_uint_eq(json_array_size(arr), 2);
	ck_assert_str_eq(kube_object_name(json_array_get(arr, 0)), "d");
	ck_assert_str_eq(kube_object_name(json_array_get(arr, 1)), "e");
	json_decref(arr);
	kube_selector_free(sel);
	ck_assert_int_eq(kube_selector_parse(&sel, "app!=x"), 0);
	ck_assert_int_eq(kube_informer_list(&arr, inf, NULL, sel), 0);
	ck_assert_uint_eq(json_array_size(arr), 2); /* a (z), b (y) */
	json_decref(arr);
	kube_selector_free(sel);
	ck_assert_int_eq(kube_informer_list(&arr, inf, "other", NULL), 0);
	ck_assert_uint_eq(json_array_size(arr), 0);
	json_decref(arr);

	kube_informer_free(inf);
	kube_client_free(c);
	kube_config_free(cfg);
	fake_stop(&f);
	dhg_buf_dispose(&log.b);
}
END_TEST

START_TEST(test_kube_informer__http_410_and_duplicates)
{
	static const step steps[] = {
		{ "limit=", 200, LIST("10", "", CM("a", "9", "{}") "," CM("b", "10", "{}")), false },
		/* a replayed ADDED for an object already cached with the same RV is not an event */
		{ "resourceVersion=10", 200, EV("ADDED", CM("b", "10", "{}")) EV("DELETED", CM("a", "11", "{}")), false },
		{ "resourceVersion=11", 410, "{\"kind\":\"Status\",\"code\":410,\"reason\":\"Expired\",\"message\":\"too old\"}", false },
		{ "limit=", 200, LIST("12", "", CM("b", "10", "{}") "," CM("n", "12", "{}")), false },
		{ "resourceVersion=12", 200, "", true },
	};
	fake f;
	fake_start(&f, steps, sizeof(steps) / sizeof(steps[0]));
	evlog log = { DHG_BUF_INIT(0), 0, PTHREAD_MUTEX_INITIALIZER };
	kube_config *cfg = NULL;
	kube_client *c = NULL;
	kube_informer *inf = start_informer(&cfg, &c, &f, &log);
	ck_assert_msg(wait_log(&log, "ADD n"), "events: %s (%s)", dhg_buf_cstr(&log.b), f.mismatch);
	usleep(100000);
	kube_informer_free(inf); /* stops */
	ck_assert_str_eq(f.mismatch, "");
	ck_assert_str_eq(dhg_buf_cstr(&log.b), "ADD a 9;ADD b 10;DEL a 11;ADD n 12;");
	kube_client_free(c);
	kube_config_free(cfg);
	fake_stop(&f);
	dhg_buf_dispose(&log.b);
}
END_TEST

static atomic_int resyncs;
static void on_resync(json_t *o, void *p)
{
	(void)p;
	if (strcmp(kube_object_name(o), "r") == 0)
		atomic_fetch_add(&resyncs, 1);
}

START_TEST(test_kube_informer__resync)
{
	static const step steps[] = {
		{ "limit=", 200, LIST("1", "", CM("r", "1", "{}")), false },
		{ "resourceVersion=1", 200, "", true },
	};
	fake f;
	fake_start(&f, steps, sizeof(steps) / sizeof(steps[0]));
	char url[64];
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", f.port);
	kube_config *cfg = NULL;
	kube_client *c = NULL;
	kube_informer *inf = NULL;
	ck_assert_int_eq(kube_config_new_simple(&cfg, url, NULL, NULL, false), 0);
	ck_assert_int_eq(kube_client_new(&c, cfg, NULL), 0);
	kube_informer_options io = KUBE_INFORMER_OPTIONS_INIT;
	io.gvr = (kube_gvr){ "", "v1", "configmaps" };
	io.resync_ms = 40;
	io.handlers.on_resync = on_resync;
	atomic_store(&resyncs, 0);
	ck_assert_int_eq(kube_informer_new(&inf, c, &io), 0);
	ck_assert_int_eq(kube_informer_start(inf), 0);
	ck_assert_int_eq(kube_informer_wait_for_sync(inf, 5000), 0);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	usleep(300000);
	kube_informer_stop(inf);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* bounds from the time that really passed (a loaded CI machine or valgrind oversleeps) */
	long ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	int n = atomic_load(&resyncs);
	ck_assert_msg(n >= 2 && n <= ms / 40 + 1, "%d resyncs in %ld ms at 40 ms", n, ms);
	usleep(100000);
	ck_assert_int_eq(atomic_load(&resyncs), n); /* none after stop */
	ck_assert_str_eq(f.mismatch, "");
	kube_informer_free(inf);
	kube_client_free(c);
	kube_config_free(cfg);
	fake_stop(&f);
}
END_TEST

Suite *kube_informer_suite(void)
{
	Suite *s = suite_create("kube_informer");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_kube_informer__watch_resume_gone_event_relist_diff);
	tcase_add_test(tc, test_kube_informer__http_410_and_duplicates);
	tcase_add_test(tc, test_kube_informer__resync);
	suite_add_tcase(s, tc);
	return s;
}
