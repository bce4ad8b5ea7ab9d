#include "httpserver/server.h"

#include <libwebsockets.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/error.h"
#include "util/hash.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#define MAX_BODY ((size_t)1 << 20)
/* connections one server (metrics, probes, webhook) holds at once, listener included */
#define HTTPSERVER_MAX_FDS 256

struct httpserver {
	httpserver_options opts;
	char *secret;
	char host[256];
	int port;
	struct lws_context *ctx;
	pthread_t thread;
	atomic_int stop;
};

typedef struct pss {
	dhg_buf body;
	char path[128];
	int is_post;
	int too_big;
	char hub_sig[128], gitlab_token[256], dhg_sig[128];
	int have_hub, have_gitlab, have_dhg;
	unsigned char *resp; /* LWS_PRE + body */
	size_t resp_len;
	int status;
	const char *ctype;
} pss;

int httpserver_address_parse(char *host, size_t hostsize, int *port, const char *address)
{
	const char *colon;
	long p;
	char tmp[16];

	host[0] = 0;
	*port = 0;
	if (!address || !*address)
		return dhg_error_set(DHG_EINVALID, "bind address is empty (use \"0\" to disable)");
	if (strcmp(address, "0") == 0)
		return 0;
	colon = strrchr(address, ':');
	if (!colon || (size_t)(colon - address) >= hostsize || strlen(colon + 1) >= sizeof(tmp))
		return dhg_error_set(DHG_EINVALID, "bind address \"%s\": expected host:port or :port", address);
	memcpy(host, address, (size_t)(colon - address));
	host[colon - address] = 0;
	if (dhg_parse_long(&p, colon + 1, 1, 65535) < 0)
		return dhg_error_set(DHG_EINVALID, "bind address \"%s\": port must be 1..65535", address);
	*port = (int)p;
	return 0;
}

static int hmac_header_ok(const char *secret, const char *hdr, const char *body, size_t len)
{
	unsigned char mac[32];
	char hex[65];
	if (!hdr || strncmp(hdr, "sha256=", 7) != 0 || strlen(hdr + 7) != 64)
		return 0;
	if (dhg_hmac_sha256(mac, secret, strlen(secret), body, len) < 0)
		return 0;
	dhg_hex_encode(hex, mac, 32);
	char lower[65];
	for (int i = 0; i < 64; i++) {
		char c = hdr[7 + i];
		lower[i] = (c >= 'A' && c <= 'F') ? (char)(c - 'A' + 'a') : c;
	}
	lower[64] = 0;
	return dhg_mem_equal_ct(hex, lower, 64);
}

bool httpserver_webhook_verify(const char *secret, const httpserver_webhook_headers *h, const char *body,
			       size_t len)
{
	if (!secret || !*secret)
		return false;
	if (h->hub_signature_256)
		return hmac_header_ok(secret, h->hub_signature_256, body, len);
	if (h->dhg_signature_256)
		return hmac_header_ok(secret, h->dhg_signature_256, body, len);
	if (h->gitlab_token) {
		size_t a = strlen(h->gitlab_token), b = strlen(secret);
		unsigned char da[32], db[32];
		/* compare digests: constant time regardless of length */
		if (dhg_sha256_raw(da, h->gitlab_token, a) < 0 || dhg_sha256_raw(db, secret, b) < 0)
			return false;
		return dhg_mem_equal_ct(da, db, 32) && a == b;
	}
	return false;
}

static void add_url(json_t *arr, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t i;
	json_t *x;
	if (!s || !*s)
		return;
	json_array_foreach(arr, i, x) if (strcmp(json_string_value(x), s) == 0) return;
	json_array_append_new(arr, json_string(s));
}

int httpserver_webhook_urls(json_t **out, const json_t *body)
{
	static const char *keys[] = { "clone_url", "ssh_url", "git_url", "html_url", "url",
				      "git_http_url", "git_ssh_url", "http_url", "web_url", NULL };
	static const char *objs[] = { "repository", "project", NULL };
	json_t *arr = json_array();
	*out = NULL;
	if (!arr)
		return dhg_error_set(DHG_ENOMEM, "out of memory reading a webhook");
	for (int o = 0; objs[o]; o++) {
		json_t *r = json_object_get(body, objs[o]);
		if (!json_is_object(r))
			continue;
		for (int k = 0; keys[k]; k++)
			add_url(arr, json_object_get(r, keys[k]));
	}
	add_url(arr, json_object_get(body, "url"));
	if (json_is_array(json_object_get(body, "urls"))) {
		size_t i;
		json_t *v;
		json_array_foreach(json_object_get(body, "urls"), i, v) add_url(arr, v);
	}
	*out = arr;
	return 0;
}

static int respond(struct lws *wsi, pss *p, int status, const char *ctype, const char *data, size_t len)
{
	unsigned char hdr[LWS_PRE + 1024], *start = &hdr[LWS_PRE], *ptr = start, *end = &hdr[sizeof(hdr) - 1];
	p->resp = malloc(LWS_PRE + len + 1);
	if (!p->resp)
		return -1;
	memcpy(p->resp + LWS_PRE, data, len);
	p->resp_len = len;
	if (lws_add_http_common_headers(wsi, (unsigned int)status, ctype, (lws_filepos_t)len, &ptr, end))
		return -1;
	if (lws_finalize_write_http_header(wsi, start, &ptr, end))
		return -1;
	lws_callback_on_writable(wsi);
	return 0;
}

static int respond_str(struct lws *wsi, pss *p, int status, const char *s)
{
	return respond(wsi, p, status, "text/plain; charset=utf-8", s, strlen(s));
}

static void copy_custom(struct lws *wsi, const char *name, char *dst, size_t size, int *have)
{
	int n = lws_hdr_custom_length(wsi, name, (int)strlen(name));
	*have = 0;
	if (n <= 0 || (size_t)n >= size)
		return;
	if (lws_hdr_custom_copy(wsi, dst, (int)size, name, (int)strlen(name)) >= 0)
		*have = 1;
}

static int handle_push(struct lws *wsi, pss *p, httpserver *s)
{
	httpserver_webhook_headers h = { p->have_hub ? p->hub_sig : NULL, p->have_gitlab ? p->gitlab_token : NULL,
					 p->have_dhg ? p->dhg_sig : NULL };
	const char *body = dhg_buf_cstr(&p->body);
	json_t *doc = NULL, *urls = NULL;
	json_error_t jerr;
	char msg[64];
	int n, rc;

	if (p->too_big)
		return respond_str(wsi, p, 413, "body too large\n");
	if (!httpserver_webhook_verify(s->secret, &h, body, p->body.len)) {
		DHG_LOG_WARN("webhook rejected: bad or missing signature");
		return respond_str(wsi, p, 401, "bad or missing signature\n");
	}
	doc = dhg_json_loadb(body, p->body.len, 0, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return respond_str(wsi, p, 400, "body is not a JSON object\n");
	}
	if (httpserver_webhook_urls(&urls, doc) < 0) {
		json_decref(doc);
		return respond_str(wsi, p, 500, "internal error\n");
	}
	n = s->opts.on_push(s->opts.payload, urls);
	snprintf(msg, sizeof(msg), "{\"matched\":%d}\n", n < 0 ? 0 : n);
	rc = respond(wsi, p, 202, "application/json", msg, strlen(msg));
	json_decref(urls);
	json_decref(doc);
	return rc;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len)
{
	pss *p = user;
	httpserver *s = lws_context_user(lws_get_context(wsi));

	switch (reason) {
	case LWS_CALLBACK_HTTP: {
		memset(p, 0, sizeof(*p));
		p->body.max = MAX_BODY;
		snprintf(p->path, sizeof(p->path), "%s", in ? (const char *)in : "");
		char *q = strchr(p->path, '?');
		if (q)
			*q = 0;
		p->is_post = lws_hdr_total_length(wsi, WSI_TOKEN_POST_URI) > 0;
		if (strcmp(p->path, "/hooks/reconcile") == 0) {
			if (!s->opts.on_push)
				return respond_str(wsi, p, 404, "not found\n");
			if (!p->is_post)
				return respond_str(wsi, p, 405, "method not allowed\n");
			copy_custom(wsi, "x-hub-signature-256:", p->hub_sig, sizeof(p->hub_sig), &p->have_hub);
			copy_custom(wsi, "x-gitlab-token:", p->gitlab_token, sizeof(p->gitlab_token), &p->have_gitlab);
			copy_custom(wsi, "x-dhg-signature-256:", p->dhg_sig, sizeof(p->dhg_sig), &p->have_dhg);
			char cl[32] = "";
			if (lws_hdr_copy(wsi, cl, sizeof(cl), WSI_TOKEN_HTTP_CONTENT_LENGTH) <= 0 || strcmp(cl, "0") == 0)
				return handle_push(wsi, p, s); /* no body follows */
			return 0;                       /* wait for the body */
		}
		if (p->is_post)
			return respond_str(wsi, p, 405, "method not allowed\n");
		if (strcmp(p->path, "/healthz") == 0)
			return respond_str(wsi, p, 200, "ok\n");
		if (strcmp(p->path, "/readyz") == 0) {
			bool ready = !s->opts.ready || s->opts.ready(s->opts.payload);
			return respond_str(wsi, p, ready ? 200 : 503, ready ? "ok\n" : "informers not synced\n");
		}
		if (strcmp(p->path, "/metrics") == 0 && s->opts.metrics) {
			dhg_buf b = DHG_BUF_INIT((size_t)64 << 20);
			int rc;
			metrics_registry_render(s->opts.metrics, &b);
			rc = respond(wsi, p, 200, "text/plain; version=0.0.4; charset=utf-8", dhg_buf_cstr(&b), b.len);
			dhg_buf_dispose(&b);
			return rc;
		}
		return respond_str(wsi, p, 404, "not found\n");
	}
	case LWS_CALLBACK_HTTP_BODY:
		if (!p->too_big && dhg_buf_put(&p->body, in, len) < 0)
			p->too_big = 1;
		return 0;
	case LWS_CALLBACK_HTTP_BODY_COMPLETION:
		return handle_push(wsi, p, s);
	case LWS_CALLBACK_HTTP_WRITEABLE:
		if (!p->resp)
			return 0;
		if (lws_write(wsi, p->resp + LWS_PRE, p->resp_len, LWS_WRITE_HTTP_FINAL) != (int)p->resp_len) {
			free(p->resp);
			p->resp = NULL;
			return -1;
		}
		free(p->resp);
		p->resp = NULL;
		dhg_buf_dispose(&p->body);
		if (lws_http_transaction_completed(wsi))
			return -1;
		return 0;
	case LWS_CALLBACK_CLOSED_HTTP:
	case LWS_CALLBACK_HTTP_DROP_PROTOCOL:
		if (p) {
			free(p->resp);
			p->resp = NULL;
			dhg_buf_dispose(&p->body);
		}
		break;
	default:
		break;
	}
	return lws_callback_http_dummy(wsi, reason, user, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "http", callback, sizeof(pss), 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 },
};

static void *serve(void *arg)
{
	httpserver *s = arg;
	while (!atomic_load(&s->stop))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

static void lws_log_quiet(int level, const char *line)
{
	(void)level;
	(void)line;
}

int httpserver_start(httpserver **out, const httpserver_options *opts)
{
	struct lws_context_creation_info info;
	httpserver *s = NULL;
	int error = 0;

	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return dhg_error_set(DHG_ENOMEM, "out of memory starting the HTTP server");
	if ((error = httpserver_address_parse(s->host, sizeof(s->host), &s->port, opts->address)) < 0)
		goto done;
	if (s->port == 0)
		goto done; /* disabled */
	s->opts = *opts;
	if (opts->webhook_secret && !(s->secret = dhg_strdup(opts->webhook_secret))) {
		error = DHG_ENOMEM;
		goto done;
	}
	s->opts.webhook_secret = NULL;
	lws_set_log_level(LLL_ERR, lws_log_quiet);
	memset(&info, 0, sizeof(info));
	info.port = s->port;
	info.iface = s->host[0] ? s->host : NULL;
	info.protocols = protocols;
	info.user = s;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6;
	info.timeout_secs = 10;
	/* lws sizes (and clears) its fd tables from the process fd limit, which is 1048576 in
	 * most container runtimes: megabytes for a server that holds a handful of connections. */
	info.fd_limit_per_thread = HTTPSERVER_MAX_FDS;
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		error = dhg_error_set(DHG_ERROR, "cannot listen on %s (address in use or invalid)", opts->address);
		goto done;
	}
	if (pthread_create(&s->thread, NULL, serve, s) != 0) {
		error = dhg_error_set(DHG_ERROR, "cannot start the HTTP server thread for %s", opts->address);
		goto done;
	}
	*out = s;
	s = NULL;
done:
	if (s) {
		if (s->ctx)
			lws_context_destroy(s->ctx);
		free(s->secret);
		free(s);
	}
	return error;
}

int httpserver_port(const httpserver *s)
{
	return s ? s->port : 0;
}

void httpserver_free(httpserver *s)
{
	if (!s)
		return;
	atomic_store(&s->stop, 1);
	lws_cancel_service(s->ctx);
	pthread_join(s->thread, NULL);
	lws_context_destroy(s->ctx);
	free(s->secret);
	free(s);
}
