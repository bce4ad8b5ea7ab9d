#include <arpa/inet.h>
#include <check.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "httpserver/metrics.h"
#include "httpserver/server.h"
#include "util/buf.h"
#include "util/hash.h"

static int free_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&a, sizeof(a));
	getsockname(fd, (struct sockaddr *)&a, &l);
	port = ntohs(a.sin_port);
	close(fd);
	return port;
}

static size_t collect(char *ptr, size_t size, size_t n, void *ud)
{
	dhg_buf_put(ud, ptr, size * n);
	return size * n;
}

/* Returns the HTTP status; body into b. */
static long http(dhg_buf *b, int port, const char *path, const char *body, const char *hdr)
{
	CURL *c = curl_easy_init();
	char url[256];
	long code = 0;
	struct curl_slist *h = NULL;
	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 5L);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		h = curl_slist_append(h, "Content-Type: application/json");
	}
	if (hdr)
		h = curl_slist_append(h, hdr);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return code;
}

static atomic_int ready_flag;
static atomic_int pushes;
static char last_url[256];

static bool is_ready(void *p)
{
	(void)p;
	return atomic_load(&ready_flag) != 0;
}

static int on_push(void *p, const json_t *urls)
{
	(void)p;
	atomic_fetch_add(&pushes, 1);
	snprintf(last_url, sizeof(last_url), "%s", json_string_value(json_array_get(urls, 0)));
	return (int)json_array_size(urls);
}

START_TEST(test_httpserver_server__routes)
{
	metrics_registry *r;
	httpserver *s;
	httpserver_options o = HTTPSERVER_OPTIONS_INIT;
	char addr[64];
	int port = free_port();
	dhg_buf b = DHG_BUF_INIT(1 << 20);

	ck_assert_int_eq(metrics_registry_new(&r), 0);
	metrics_metric *tot = metrics_counter_new(r, "dhg_reconcile_total", "Reconciles by result.", "result");
	double bk[] = { 0.01, 0.1, 1 };
	metrics_metric *hist = metrics_histogram_new(r, "dhg_reconcile_duration_seconds", "Duration.", NULL, bk, 3);
	metrics_metric *last = metrics_gauge_new(r, "dhg_last_write_timestamp_seconds", "Last write.", "helmchart");
	ck_assert_ptr_nonnull(tot);
	metrics_counter_add(tot, "success", 1);
	metrics_counter_add(tot, "success", 1);
	metrics_counter_add(tot, "error", 1);
	metrics_histogram_observe(hist, NULL, 0.05);
	metrics_gauge_set(last, "shop/x\"y", 1700000000);
	metrics_gauge_set(last, "gone/z", 1);
	metrics_series_delete(last, "gone/z");
	ck_assert_int_eq(metrics_registry_add_collector(r, metrics_collect_process, NULL), 0);

	snprintf(addr, sizeof(addr), "127.0.0.1:%d", port);
	o.address = addr;
	o.metrics = r;
	o.ready = is_ready;
	o.on_push = on_push;
	o.webhook_secret = "s3cret";
	ck_assert_int_eq(httpserver_start(&s, &o), 0);
	ck_assert_ptr_nonnull(s);

	ck_assert_int_eq(http(&b, port, "/healthz", NULL, NULL), 200);
	dhg_buf_clear(&b);
	ck_assert_int_eq(http(&b, port, "/readyz", NULL, NULL), 503);
	atomic_store(&ready_flag, 1);
	ck_assert_int_eq(http(&b, port, "/readyz", NULL, NULL), 200);
	dhg_buf_clear(&b);
	ck_assert_int_eq(http(&b, port, "/metrics", NULL, NULL), 200);
	const char *m = dhg_buf_cstr(&b);
	ck_assert_ptr_nonnull(strstr(m, "dhg_reconcile_total{result=\"success\"} 2\n"));
	ck_assert_ptr_nonnull(strstr(m, "dhg_reconcile_total{result=\"error\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(m, "dhg_reconcile_duration_seconds_bucket{le=\"0.01\"} 0\n"));
	ck_assert_ptr_nonnull(strstr(m, "dhg_reconcile_duration_seconds_bucket{le=\"0.1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(m, "dhg_reconcile_duration_seconds_bucket{le=\"+Inf\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(m, "dhg_last_write_timestamp_seconds{helmchart=\"shop/x\\\"y\"} 1700000000\n"));
	ck_assert_ptr_null(strstr(m, "gone/z"));
	ck_assert_ptr_nonnull(strstr(m, "process_resident_memory_bytes "));
	ck_assert_ptr_nonnull(strstr(m, "# TYPE dhg_reconcile_total counter"));
	dhg_buf_clear(&b);
	ck_assert_int_eq(http(&b, port, "/nope", NULL, NULL), 404);

	/* webhook: GitHub signature */
	const char *body = "{\"ref\":\"refs/heads/main\",\"repository\":{\"clone_url\":\"https://git.example/org/m.git\"}}";
	unsigned char mac[32];
	char hex[65], hdr[128];
	dhg_hmac_sha256(mac, "s3cret", 6, body, strlen(body));
	dhg_hex_encode(hex, mac, 32);
	snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: sha256=%s", hex);
	dhg_buf_clear(&b);
	ck_assert_int_eq(http(&b, port, "/hooks/reconcile", body, hdr), 202);
	ck_assert_str_eq(dhg_buf_cstr(&b), "{\"matched\":1}\n");
	ck_assert_str_eq(last_url, "https://git.example/org/m.git");
	ck_assert_int_eq(atomic_load(&pushes), 1);
	/* bad signature, missing signature, GitLab token */
	hex[0] = hex[0] == 'a' ? 'b' : 'a';
	snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: sha256=%s", hex);
	ck_assert_int_eq(http(&b, port, "/hooks/reconcile", body, hdr), 401);
	ck_assert_int_eq(http(&b, port, "/hooks/reconcile", body, NULL), 401);
	ck_assert_int_eq(http(&b, port, "/hooks/reconcile", body, "X-Gitlab-Token: wrong"), 401);
	ck_assert_int_eq(atomic_load(&pushes), 1);
	ck_assert_int_eq(http(&b, port, "/hooks/reconcile", body, "X-Gitlab-Token: s3cret"), 202);
	ck_assert_int_eq(atomic_load(&pushes), 2);
	ck_assert_int_eq(http(&b, port, "/hooks/reconcile", NULL, NULL), 405);

	httpserver_free(s);
	metrics_registry_free(r);
	dhg_buf_dispose(&b);
}
END_TEST

START_TEST(test_httpserver_server__address)
{
	char host[64];
	int port;
	httpserver *s = (httpserver *)1;
	httpserver_options o = HTTPSERVER_OPTIONS_INIT;
	ck_assert_int_eq(httpserver_address_parse(host, sizeof(host), &port, ":8080"), 0);
	ck_assert_str_eq(host, "");
	ck_assert_int_eq(port, 8080);
	ck_assert_int_eq(httpserver_address_parse(host, sizeof(host), &port, "127.0.0.1:9"), 0);
	ck_assert_str_eq(host, "127.0.0.1");
	ck_assert_int_lt(httpserver_address_parse(host, sizeof(host), &port, "localhost"), 0);
	ck_assert_int_lt(httpserver_address_parse(host, sizeof(host), &port, ":99999"), 0);
	o.address = "0";
	ck_assert_int_eq(httpserver_start(&s, &o), 0);
	ck_assert_ptr_null(s); /* disabled */
	json_t *body = json_pack("{s:{s:s, s:s}, s:{s:s}}", "repository", "clone_url", "https://a/b.git", "ssh_url",
				 "git@a:b.git", "project", "git_http_url", "https://a/b.git");
	json_t *urls;
	ck_assert_int_eq(httpserver_webhook_urls(&urls, body), 0);
	ck_assert_uint_eq(json_array_size(urls), 2); /* deduplicated */
	json_decref(urls);
	json_decref(body);
}
END_TEST

Suite *httpserver_server_suite(void)
{
	Suite *s = suite_create("httpserver_server");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_httpserver_server__routes);
	tcase_add_test(tc, test_httpserver_server__address);
	suite_add_tcase(s, tc);
	return s;
}
