#include "kube/client.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kube/kube_private.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define PATH_MAX_LEN 4096

struct kube_client {
	const kube_config *cfg;
	kube_client_options opts;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	/* token bucket */
	pthread_mutex_t lim_lock;
	double tokens;
	long long lim_last_us;
	/* stats */
	pthread_mutex_t stats_lock;
	kube_client_stats stats;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static int global_rc;
static void global_init(void) { global_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1; }

static long long mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void sleep_ms(long ms)
{
	if (ms <= 0)
		return;
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access a, void *userp)
{
	(void)h;
	(void)a;
	kube_client *c = userp;
	pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *userp)
{
	(void)h;
	kube_client *c = userp;
	pthread_mutex_unlock(&c->share_locks[data]);
}

int kube_client_new(kube_client **out, const kube_config *cfg, const kube_client_options *opts)
{
	kube_client_options defaults = KUBE_CLIENT_OPTIONS_INIT;
	pthread_once(&global_once, global_init);
	if (global_rc < 0)
		return dhg_error_set(DHG_ERROR, "kube client: curl_global_init failed");
	kube_client *c = calloc(1, sizeof(*c));
	if (!c)
		return dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
	c->cfg = cfg;
	c->opts = opts ? *opts : defaults;
	if (c->opts.burst < 1)
		c->opts.burst = 1;
	if (c->opts.max_body == 0)
		c->opts.max_body = defaults.max_body;
	if (!c->opts.user_agent)
		c->opts.user_agent = defaults.user_agent;
	if (c->opts.backoff_base_ms <= 0)
		c->opts.backoff_base_ms = defaults.backoff_base_ms;
	if (c->opts.backoff_max_ms <= 0)
		c->opts.backoff_max_ms = defaults.backoff_max_ms;
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&c->share_locks[i], NULL);
	pthread_mutex_init(&c->lim_lock, NULL);
	pthread_mutex_init(&c->stats_lock, NULL);
	c->tokens = c->opts.burst;
	c->lim_last_us = mono_us();
	c->share = curl_share_init();
	if (!c->share) {
		kube_client_free(c);
		return dhg_error_set(DHG_ENOMEM, "kube client: curl_share_init failed");
	}
	curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
	*out = c;
	return 0;
}

void kube_client_free(kube_client *c)
{
	if (!c)
		return;
	if (c->share)
		curl_share_cleanup(c->share);
	for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&c->share_locks[i]);
	pthread_mutex_destroy(&c->lim_lock);
	pthread_mutex_destroy(&c->stats_lock);
	free(c);
}

const kube_config *kube_client_config(const kube_client *c) { return c->cfg; }

void kube_client_stats_get(kube_client_stats *out, kube_client *c)
{
	pthread_mutex_lock(&c->stats_lock);
	*out = c->stats;
	pthread_mutex_unlock(&c->stats_lock);
}

static void stat_add(kube_client *c, unsigned long req, unsigned long retries, unsigned long throttled)
{
	pthread_mutex_lock(&c->stats_lock);
	c->stats.requests += req;
	c->stats.retries += retries;
	c->stats.throttled_ms += throttled;
	pthread_mutex_unlock(&c->stats_lock);
}

/* Token bucket with reservations: take a token (possibly going negative) and sleep until it
 * would have been available. */
static void limiter_wait(kube_client *c)
{
	if (c->opts.qps <= 0)
		return;
	pthread_mutex_lock(&c->lim_lock);
	long long now = mono_us();
	c->tokens += (double)(now - c->lim_last_us) / 1e6 * c->opts.qps;
	if (c->tokens > c->opts.burst)
		c->tokens = c->opts.burst;
	c->lim_last_us = now;
	c->tokens -= 1.0;
	long wait_ms = c->tokens < 0 ? (long)(-c->tokens / c->opts.qps * 1000.0 + 0.999) : 0;
	pthread_mutex_unlock(&c->lim_lock);
	if (wait_ms > 0) {
		stat_add(c, 0, 0, (unsigned long)wait_ms);
		sleep_ms(wait_ms);
	}
}

static long backoff_ms(const kube_client *c, int attempt)
{
	long b = c->opts.backoff_base_ms;
	for (int i = 0; i < attempt && b < c->opts.backoff_max_ms; i++)
		b *= 2;
	if (b > c->opts.backoff_max_ms)
		b = c->opts.backoff_max_ms;
	static _Thread_local unsigned long long seed;
	if (!seed)
		seed = (unsigned long long)mono_us() * 6364136223846793005ULL + (unsigned long long)(size_t)&seed;
	seed ^= seed << 13;
	seed ^= seed >> 7;
	seed ^= seed << 17;
	/* jitter: b/2 .. 3b/2 */
	return b / 2 + (long)(seed % (unsigned long long)(b + 1));
}

/* ---- paths and messages ------------------------------------------------------------ */

static bool seg_ok(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (*s == '/' || *s == '?' || *s == '#' || *s == '%' || (unsigned char)*s < 0x21)
			return false;
	return true;
}

char *kube_client_path(const kube_gvr *gvr, const char *ns, const char *name, const char *sub)
{
	dhg_buf b = DHG_BUF_INIT(PATH_MAX_LEN);
	int error;
	if (gvr->group && *gvr->group)
		error = dhg_buf_printf(&b, "/apis/%s/%s", gvr->group, gvr->version);
	else
		error = dhg_buf_printf(&b, "/api/%s", gvr->version);
	if (!error && ns && *ns)
		error = dhg_buf_printf(&b, "/namespaces/%s", ns);
	if (!error)
		error = dhg_buf_printf(&b, "/%s", gvr->resource);
	if (!error && name)
		error = dhg_buf_printf(&b, "/%s", name);
	if (!error && sub)
		error = dhg_buf_printf(&b, "/%s", sub);
	if (error) {
		dhg_buf_dispose(&b);
		return NULL;
	}
	return dhg_buf_detach(&b, NULL);
}

void kube_client__path_for_message(char *buf, size_t size, const char *path)
{
	size_t n = strcspn(path, "?#");
	if (n >= size)
		n = size - 1;
	memcpy(buf, path, n);
	buf[n] = 0;
}

static int check_names(const kube_gvr *gvr, const char *ns, const char *name, const char *verb)
{
	if (!gvr || !seg_ok(gvr->version) || !seg_ok(gvr->resource) || (gvr->group && *gvr->group && !seg_ok(gvr->group)))
		return dhg_error_set(DHG_EINVALID, "kube %s: invalid group/version/resource", verb);
	if (ns && *ns && !seg_ok(ns))
		return dhg_error_set(DHG_EINVALID, "kube %s %s: invalid namespace \"%.80s\"", verb, gvr->resource, ns);
	if (name && !seg_ok(name))
		return dhg_error_set(DHG_EINVALID, "kube %s %s: invalid name \"%.80s\"", verb, gvr->resource, name);
	return 0;
}

int kube_client__status_error(long http, const char *body, size_t len, const char *what)
{
	json_t *st = body && len ? dhg_json_loadb(body, len, 0, NULL) : NULL;
	const char *reason = json_string_value(json_object_get(st, "reason"));
	const char *msg = json_string_value(json_object_get(st, "message"));
	int code = dhg_error_code_for_http(http, reason);
	if (!reason)
		reason = dhg_error_reason_for_http(http);
	char snippet[201] = "";
	if (!msg && body && len && !st) {
		size_t n = len < 200 ? len : 200;
		for (size_t i = 0; i < n; i++)
			snippet[i] = isprint((unsigned char)body[i]) ? body[i] : ' ';
		snippet[n] = 0;
		msg = snippet;
	}
	dhg_error_set_http(code, (int)http, reason, "%s: HTTP %ld %s%s%s", what, http, reason, msg && *msg ? ": " : "",
	                   msg ? msg : "");
	json_decref(st);
	return code;
}

/* ---- one request ------------------------------------------------------------------- */

typedef struct xfer {
	dhg_buf body;
	bool toobig;
	long retry_after_s;  /* -1 when absent */
} xfer;

static size_t on_body(char *ptr, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	if (dhg_buf_put(&x->body, ptr, size * n) < 0) {
		x->toobig = true;
		return 0;
	}
	return size * n;
}

static size_t on_header(char *ptr, size_t size, size_t n, void *ud)
{
	xfer *x = ud;
	size_t len = size * n;
	if (len > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		char tmp[32];
		size_t m = len - 12 < sizeof(tmp) - 1 ? len - 12 : sizeof(tmp) - 1;
		memcpy(tmp, ptr + 12, m);
		tmp[m] = 0;
		char *end;
		long v = strtol(tmp, &end, 10);
		if (end != tmp && v >= 0)
			x->retry_after_s = v;
	}
	return len;
}

static bool retryable_curl(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return true;
	default:
		return false;
	}
}

/* Common easy-handle setup. *hdrs and *cto get lists the caller frees. */
static int easy_setup(CURL *e, struct curl_slist **hdrs, struct curl_slist **cto, kube_client *c,
                      const char *method, const char *path, const char *content_type, char **url_out)
{
	int error;
	char *url = kube_config__url(c->cfg, path);
	if (!url)
		return dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
	*url_out = url;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_SHARE, c->share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_USERAGENT, c->opts.user_agent);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, c->opts.connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	struct curl_slist *l = curl_slist_append(*hdrs, "Accept: application/json");
	if (l)
		*hdrs = l;
	if (l && content_type) {
		char ct[128];
		snprintf(ct, sizeof(ct), "Content-Type: %s", content_type);
		l = curl_slist_append(*hdrs, ct);
		if (l)
			*hdrs = l;
	}
	if (!l)
		return dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
	if ((error = kube_config__setup(e, hdrs, cto, c->cfg)) < 0)
		return error;
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, *hdrs);
	return 0;
}

/* Performs method path with body (may be NULL). On 0, *out (if out) holds the parsed JSON. */
static int do_request(json_t **out, kube_client *c, const char *method, const char *path,
                      const char *body, size_t body_len, const char *content_type)
{
	int error = 0, attempt = 0;
	bool reauthed = false;
	char what[512];
	char shortpath[400];
	kube_client__path_for_message(shortpath, sizeof(shortpath), path);
	snprintf(what, sizeof(what), "%s %s", method, shortpath);
	for (;;) {
		CURL *e = curl_easy_init();
		struct curl_slist *hdrs = NULL, *cto = NULL;
		char *url = NULL;
		xfer x = { DHG_BUF_INIT(c->opts.max_body), false, -1 };
		long http = 0;
		bool retry = false, immediate = false;
		long wait = 0;
		if (!e) {
			error = dhg_error_set(DHG_ENOMEM, "kube client: curl_easy_init failed");
			break;
		}
		if ((error = easy_setup(e, &hdrs, &cto, c, method, path, body ? content_type : NULL, &url)) < 0)
			goto attempt_done;
		if (body) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
		}
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->opts.timeout_ms);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &x);
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, &x);
		limiter_wait(c);
		stat_add(c, 1, attempt > 0, 0);
		CURLcode rc = curl_easy_perform(e);
		if (rc != CURLE_OK) {
			if (x.toobig) {
				error = dhg_error_set(DHG_ETOOBIG, "%s: response larger than %zu bytes", what, c->opts.max_body);
			} else {
				if (rc == CURLE_PEER_FAILED_VERIFICATION || rc == CURLE_SSL_CACERT_BADFILE ||
				    rc == CURLE_SSL_CERTPROBLEM || rc == CURLE_SSL_ISSUER_ERROR)
					error = dhg_error_set(DHG_ERROR, "%s: TLS verification failed (check certificate-authority"
					                      " and tls-server-name): %s", what, curl_easy_strerror(rc));
				else
					error = dhg_error_set(rc == CURLE_OPERATION_TIMEDOUT ? DHG_ETIMEOUT : DHG_EUNAVAILABLE,
					                      "%s: %s", what, curl_easy_strerror(rc));
				retry = retryable_curl(rc);
				/* a request that may have reached the server is only retried when idempotent */
				if (rc != CURLE_COULDNT_CONNECT && rc != CURLE_COULDNT_RESOLVE_HOST &&
				    strcmp(method, "POST") == 0)
					retry = false;
			}
			goto attempt_done;
		}
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &http);
		if (http >= 200 && http < 300) {
			if (out) {
				if (x.body.len == 0) {
					*out = json_null();
				} else {
					json_error_t jerr;
					*out = dhg_json_loadb(x.body.ptr, x.body.len, 0, &jerr);
					if (!*out && dhg_json_error_is_nomem(&jerr))
						error = dhg_error_set(DHG_ENOMEM, "%s: out of memory reading the response", what);
					else if (!*out)
						error = dhg_error_set(DHG_EINVALID, "%s: response is not JSON: %s", what, jerr.text);
				}
			}
			goto attempt_done;
		}
		error = kube_client__status_error(http, x.body.ptr, x.body.len, what);
		if (http == 401 && !reauthed && kube_config__auth_invalidate(c->cfg)) {
			reauthed = true; /* only one credential refresh per call */
			retry = true;
			immediate = true;
		} else if (http == 429 || http == 500 || http == 502 || http == 503 || http == 504) {
			retry = true;
			if (x.retry_after_s >= 0) {
				wait = x.retry_after_s * 1000;
				if (wait > c->opts.max_retry_after_ms)
					wait = c->opts.max_retry_after_ms;
				if (wait == 0)
					wait = 1;
			}
		}
	attempt_done:
		curl_easy_cleanup(e);
		curl_slist_free_all(hdrs);
		curl_slist_free_all(cto);
		free(url);
		dhg_buf_dispose(&x.body);
		if (error == 0 || !retry)
			break;
		if (immediate)
			continue; /* a credential refresh is not a backoff step */
		if (attempt >= c->opts.max_retries)
			break;
		if (wait == 0)
			wait = backoff_ms(c, attempt);
		DHG_LOG_DEBUG("kube request retry", "request", what, "error", dhg_error_last()->message);
		sleep_ms(wait);
		attempt++;
	}
	return error;
}

static int request_json(json_t **out, kube_client *c, const char *method, const char *path,
                        const json_t *body, const char *content_type)
{
	char *s = NULL;
	int error;
	if (body) {
		s = dhg_json_dumps(body, JSON_COMPACT);
		if (!s)
			return dhg_error_set(DHG_ENOMEM, "kube client: out of memory serializing the request body");
	}
	error = do_request(out, c, method, path, s, s ? strlen(s) : 0, content_type ? content_type : "application/json");
	free(s);
	return error;
}

int kube_client_request(json_t **out, kube_client *c, const char *method, const char *path,
                        const json_t *body, const char *content_type)
{
	if (!path || path[0] != '/')
		return dhg_error_set(DHG_EINVALID, "kube request: path must start with '/'");
	return request_json(out, c, method, path, body, content_type);
}

/* ---- verbs ------------------------------------------------------------------------- */

static int simple(json_t **out, kube_client *c, const char *method, const kube_gvr *gvr, const char *ns,
                  const char *name, const char *sub, const char *query, const json_t *body,
                  const char *content_type)
{
	int error = check_names(gvr, ns, name, method);
	if (error < 0)
		return error;
	char *path = kube_client_path(gvr, ns, name, sub), *full = NULL;
	if (!path)
		return dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
	if (query && *query) {
		full = dhg_asprintf("%s?%s", path, query);
		free(path);
		if (!full)
			return dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
		path = full;
	}
	json_t *res = NULL;
	error = request_json(out ? &res : NULL, c, method, path, body, content_type);
	if (error == 0 && out)
		*out = res;
	free(path);
	return error;
}

int kube_client_get(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const char *name)
{
	return simple(out, c, "GET", gvr, ns, name, NULL, NULL, NULL, NULL);
}

int kube_client_get_status(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const char *name)
{
	return simple(out, c, "GET", gvr, ns, name, "status", NULL, NULL, NULL);
}

int kube_client_create(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const json_t *obj)
{
	return simple(out, c, "POST", gvr, ns, NULL, NULL, NULL, obj, NULL);
}

static int update_impl(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const json_t *obj,
                       const char *sub)
{
	const char *name = json_string_value(json_object_get(json_object_get(obj, "metadata"), "name"));
	if (!name)
		return dhg_error_set(DHG_EINVALID, "kube update %s: metadata.name missing", gvr ? gvr->resource : "");
	return simple(out, c, "PUT", gvr, ns, name, sub, NULL, obj, NULL);
}

int kube_client_update(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const json_t *obj)
{
	return update_impl(out, c, gvr, ns, obj, NULL);
}

int kube_client_update_status(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const json_t *obj)
{
	return update_impl(out, c, gvr, ns, obj, "status");
}

static int urlenc(dhg_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	int error = 0;
	for (; *s && !error; s++) {
		unsigned char ch = (unsigned char)*s;
		if (isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~')
			error = dhg_buf_putc(b, (char)ch);
		else
			error = dhg_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
	}
	return error;
}

static int add_param(dhg_buf *q, const char *k, const char *v)
{
	int error = dhg_buf_printf(q, "%s%s=", q->len ? "&" : "", k);
	return error ? error : urlenc(q, v);
}

static int patch_impl(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const char *name,
                      const json_t *patch, const kube_patch_options *opts, const char *sub)
{
	kube_patch_options def = KUBE_PATCH_OPTIONS_INIT;
	if (!opts)
		opts = &def;
	const char *ct;
	switch (opts->type) {
	case KUBE_PATCH_MERGE: ct = "application/merge-patch+json"; break;
	case KUBE_PATCH_JSON: ct = "application/json-patch+json"; break;
	case KUBE_PATCH_STRATEGIC: ct = "application/strategic-merge-patch+json"; break;
	case KUBE_PATCH_APPLY: ct = "application/apply-patch+yaml"; break;
	default: return dhg_error_set(DHG_EINVALID, "kube patch: unknown patch type %d", opts->type);
	}
	if (opts->type == KUBE_PATCH_APPLY && !(opts->field_manager && *opts->field_manager))
		return dhg_error_set(DHG_EINVALID, "kube patch %s/%s: server-side apply needs a field manager", gvr ? gvr->resource : "", name ? name : "");
	if (opts->type == KUBE_PATCH_JSON ? !json_is_array(patch) : !json_is_object(patch))
		return dhg_error_set(DHG_EINVALID, "kube patch %s/%s: patch body must be a JSON %s", gvr ? gvr->resource : "", name ? name : "",
		                     opts->type == KUBE_PATCH_JSON ? "array" : "object");
	dhg_buf q = DHG_BUF_INIT(8192);
	int error = 0;
	if (opts->field_manager && *opts->field_manager)
		error = add_param(&q, "fieldManager", opts->field_manager);
	if (!error && opts->force && opts->type == KUBE_PATCH_APPLY)
		error = add_param(&q, "force", "true");
	if (!error)
		error = simple(out, c, "PATCH", gvr, ns, name, sub, dhg_buf_cstr(&q), patch, ct);
	dhg_buf_dispose(&q);
	return error;
}

int kube_client_patch(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns, const char *name,
                      const json_t *patch, const kube_patch_options *opts)
{
	return patch_impl(out, c, gvr, ns, name, patch, opts, NULL);
}

int kube_client_patch_status(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                             const char *name, const json_t *patch, const kube_patch_options *opts)
{
	return patch_impl(out, c, gvr, ns, name, patch, opts, "status");
}

int kube_client_delete(kube_client *c, const kube_gvr *gvr, const char *ns, const char *name,
                       const kube_delete_options *opts)
{
	json_t *body = NULL;
	int error = 0;
	if (opts && (opts->propagation_policy || opts->precondition_uid || opts->precondition_rv ||
	             opts->grace_period_seconds >= 0)) {
		body = json_pack("{s:s,s:s}", "kind", "DeleteOptions", "apiVersion", "v1");
		json_t *pre = json_object();
		if (!body || !pre) {
			json_decref(pre);
			error = dhg_error_set(DHG_ENOMEM, "kube delete: out of memory");
			goto done;
		}
		if (opts->propagation_policy)
			json_object_set_new(body, "propagationPolicy", json_string(opts->propagation_policy));
		if (opts->grace_period_seconds >= 0)
			json_object_set_new(body, "gracePeriodSeconds", json_integer(opts->grace_period_seconds));
		if (opts->precondition_uid)
			json_object_set_new(pre, "uid", json_string(opts->precondition_uid));
		if (opts->precondition_rv)
			json_object_set_new(pre, "resourceVersion", json_string(opts->precondition_rv));
		if (json_object_size(pre))
			json_object_set_new(body, "preconditions", pre);
		else
			json_decref(pre);
	}
	error = simple(NULL, c, "DELETE", gvr, ns, name, NULL, NULL, body, NULL);
done:
	json_decref(body);
	return error;
}

/* ---- list -------------------------------------------------------------------------- */

static int list_query(dhg_buf *q, const kube_list_options *o, const char *cont, long limit)
{
	int error = 0;
	char num[32];
	snprintf(num, sizeof(num), "%ld", limit);
	error = add_param(q, "limit", num);
	if (!error && o && o->label_selector && *o->label_selector)
		error = add_param(q, "labelSelector", o->label_selector);
	if (!error && o && o->field_selector && *o->field_selector)
		error = add_param(q, "fieldSelector", o->field_selector);
	if (!error && cont && *cont)
		error = add_param(q, "continue", cont);
	else if (!error && o && o->resource_version && *o->resource_version)
		error = add_param(q, "resourceVersion", o->resource_version);
	return error;
}

int kube_client_list_each(char *rv_out, size_t rv_size, kube_client *c, const kube_gvr *gvr, const char *ns,
                          const kube_list_options *opts, kube_list_item_cb cb, void *payload)
{
	int error = check_names(gvr, ns, NULL, "LIST");
	if (error < 0)
		return error;
	char *base = kube_client_path(gvr, ns, NULL, NULL);
	char *cont = NULL;
	bool restarted = false;
	long limit = opts && opts->limit > 0 ? opts->limit : 500;
	if (!base)
		return dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
	if (rv_out && rv_size)
		rv_out[0] = 0;
	for (bool first = true;; first = false) {
		dhg_buf q = DHG_BUF_INIT(16384);
		json_t *page = NULL;
		char *path = NULL;
		if ((error = list_query(&q, opts, cont, limit)) == 0 &&
		    !(path = dhg_asprintf("%s?%s", base, dhg_buf_cstr(&q))))
			error = dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
		dhg_buf_dispose(&q);
		if (!error)
			error = request_json(&page, c, "GET", path, NULL, NULL);
		free(path);
		if (error == DHG_EGONE && cont && !restarted) {
			/* the continue token expired: start over (consumers dedupe by key) */
			DHG_LOG_INFO("kube list continue token expired; restarting list", "resource", gvr->resource);
			restarted = true;
			free(cont);
			cont = NULL;
			first = true;
			dhg_error_clear();
			continue;
		}
		if (error < 0)
			break;
		json_t *meta = json_object_get(page, "metadata");
		json_t *items = json_object_get(page, "items");
		if (!json_is_object(page) || (items && !json_is_null(items) && !json_is_array(items))) {
			json_decref(page);
			error = dhg_error_set(DHG_EINVALID, "LIST %s: response is not a list", gvr->resource);
			break;
		}
		if (first && rv_out && rv_size) {
			const char *rv = json_string_value(json_object_get(meta, "resourceVersion"));
			snprintf(rv_out, rv_size, "%s", rv ? rv : "");
		}
		/* items of a typed list often lack kind/apiVersion (the real API server omits them):
		 * fill them in from the list's own, so listed and watched objects look the same */
		const char *lkind = json_string_value(json_object_get(page, "kind"));
		const char *lapi = json_string_value(json_object_get(page, "apiVersion"));
		char kind[128] = "";
		if (lkind && dhg_str_has_suffix(lkind, "List") && strlen(lkind) > 4 && strlen(lkind) - 4 < sizeof(kind)) {
			memcpy(kind, lkind, strlen(lkind) - 4);
			kind[strlen(lkind) - 4] = 0;
		}
		size_t i;
		json_t *item;
		json_array_foreach(items, i, item) {
			if (json_is_object(item)) {
				if (*kind && !json_object_get(item, "kind"))
					json_object_set_new(item, "kind", json_string(kind));
				if (lapi && *kind && !json_object_get(item, "apiVersion"))
					json_object_set_new(item, "apiVersion", json_string(lapi));
			}
			if ((error = cb(item, payload)) != 0)
				break;
		}
		const char *nc = json_string_value(json_object_get(meta, "continue"));
		bool more = nc && *nc;
		free(cont);
		cont = more ? dhg_strdup(nc) : NULL;
		json_decref(page);
		if (error != 0)
			break;
		if (more && !cont) {
			error = dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
			break;
		}
		if (!cont)
			break;
	}
	free(cont);
	free(base);
	return error;
}

typedef struct list_acc {
	json_t *items;
} list_acc;

static int acc_item(json_t *item, void *payload)
{
	list_acc *a = payload;
	if (json_array_append(a->items, item) < 0)
		return dhg_error_set(DHG_ENOMEM, "kube list: out of memory");
	return 0;
}

int kube_client_list(json_t **out, kube_client *c, const kube_gvr *gvr, const char *ns,
                     const kube_list_options *opts)
{
	char rv[128];
	list_acc a = { json_array() };
	if (!a.items)
		return dhg_error_set(DHG_ENOMEM, "kube list: out of memory");
	int error = kube_client_list_each(rv, sizeof(rv), c, gvr, ns, opts, acc_item, &a);
	if (error != 0) {
		json_decref(a.items);
		return error;
	}
	json_t *list = json_pack("{s:s,s:s,s:{s:s},s:o}", "apiVersion", "v1", "kind", "List", "metadata",
	                         "resourceVersion", rv, "items", a.items);
	if (!list)
		return dhg_error_set(DHG_ENOMEM, "kube list: out of memory");
	*out = list;
	return 0;
}

/* ---- streaming (watch) ------------------------------------------------------------- */

int kube_client__stream(kube_client *c, const char *path, long timeout_ms, const atomic_int *cancel,
                        curl_write_callback cb, void *ud, CURL **easy_slot, long *http)
{
	int error = 0;
	CURL *e = curl_easy_init();
	CURLM *m = curl_multi_init();
	struct curl_slist *hdrs = NULL, *cto = NULL;
	char *url = NULL;
	bool added = false;
	char what[512], sp[400];
	kube_client__path_for_message(sp, sizeof(sp), path);
	snprintf(what, sizeof(what), "WATCH %s", sp);
	*http = 0;
	if (!e || !m) {
		error = dhg_error_set(DHG_ENOMEM, "kube watch: curl init failed");
		goto done;
	}
	if ((error = easy_setup(e, &hdrs, &cto, c, "GET", path, NULL, &url)) < 0)
		goto done;
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, ud);
	/* a stream is never compressed by the API server's default; keep it identity for
	 * incremental parsing */
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, NULL);
	*easy_slot = e;
	limiter_wait(c);
	stat_add(c, 1, 0, 0);
	if (curl_multi_add_handle(m, e) != CURLM_OK) {
		error = dhg_error_set(DHG_ERROR, "%s: curl_multi_add_handle failed", what);
		goto done;
	}
	added = true;
	int running = 1;
	while (running) {
		if (cancel && atomic_load(cancel)) {
			error = 1;
			goto done;
		}
		CURLMcode mc = curl_multi_perform(m, &running);
		if (mc != CURLM_OK) {
			error = dhg_error_set(DHG_EUNAVAILABLE, "%s: %s", what, curl_multi_strerror(mc));
			goto done;
		}
		if (!running)
			break;
		mc = curl_multi_poll(m, NULL, 0, 100, NULL);
		if (mc != CURLM_OK) {
			error = dhg_error_set(DHG_EUNAVAILABLE, "%s: %s", what, curl_multi_strerror(mc));
			goto done;
		}
	}
	int left;
	CURLMsg *msg;
	CURLcode rc = CURLE_OK;
	while ((msg = curl_multi_info_read(m, &left)))
		if (msg->msg == CURLMSG_DONE)
			rc = msg->data.result;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, http);
	if (rc != CURLE_OK && rc != CURLE_WRITE_ERROR) {
		/* a stream cut after a 200 is a normal end: the caller resumes from its last RV */
		if (*http == 200 && (rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
		                     rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_HTTP2_STREAM || rc == CURLE_HTTP2)) {
			error = 2; /* cut: a trailing partial line must be dropped, not parsed */
			goto done;
		}
		error = dhg_error_set(rc == CURLE_OPERATION_TIMEDOUT ? DHG_ETIMEOUT : DHG_EUNAVAILABLE, "%s: %s", what,
		                      curl_easy_strerror(rc));
	}
done:
	if (added)
		curl_multi_remove_handle(m, e);
	if (e)
		curl_easy_cleanup(e);
	if (m)
		curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	curl_slist_free_all(cto);
	free(url);
	if (easy_slot)
		*easy_slot = NULL;
	return error;
}
