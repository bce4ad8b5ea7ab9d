#ifndef DHG_HTTPSERVER_SERVER_H
#define DHG_HTTPSERVER_SERVER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "httpserver/metrics.h"

/*
 * HTTP server on libwebsockets (one context and one service thread per server):
 *   GET  /metrics          Prometheus text (when a registry is given)
 *   GET  /healthz          200 "ok" while the process serves
 *   GET  /readyz           200 once ready() says so, else 503
 *   POST /hooks/reconcile  git push webhook (when on_push is given): the signature is checked
 *                          (GitHub X-Hub-Signature-256, GitLab X-Gitlab-Token, or generic
 *                          X-Dhg-Signature-256: sha256=<hex HMAC of the body>) with the secret;
 *                          401 on a bad or missing signature, 400 on a body that is not JSON,
 *                          else the repository URLs of the body are passed to on_push and the
 *                          answer is 202 {"matched": N}.
 * Anything else is 404 (405 for a wrong method). Bodies are capped at 1 MiB (413).
 */
typedef struct httpserver httpserver;

/* Called on the server thread with the repository URLs of a verified push (a JSON array of
 * strings, borrowed). Returns how many HelmCharts were enqueued. */
typedef int (*httpserver_push_fn)(void *payload, const json_t *urls);
typedef bool (*httpserver_ready_fn)(void *payload);

typedef struct httpserver_options {
	const char *address;          /* "host:port", ":port" (all interfaces) or "0" (disabled) */
	metrics_registry *metrics;    /* borrowed; NULL: no /metrics */
	httpserver_ready_fn ready;    /* NULL: always ready */
	httpserver_push_fn on_push;   /* NULL: no webhook */
	const char *webhook_secret;   /* required for the webhook (copied) */
	void *payload;
} httpserver_options;

#define HTTPSERVER_OPTIONS_INIT { NULL, NULL, NULL, NULL, NULL, NULL }

/* Parses "host:port" / ":port" into host (may be "" = any) and port. Returns 0 or
 * DHG_EINVALID naming the address. "0" gives port 0 (disabled). */
int httpserver_address_parse(char *host, size_t hostsize, int *port, const char *address);

/* Starts serving. With address "0", *out is NULL and 0 is returned (disabled). On 0 otherwise
 * *out is owned (httpserver_free()). Errors (bad address, port in use) name the address. */
int httpserver_start(httpserver **out, const httpserver_options *opts);
/* The bound port (useful with port 0 in tests... not supported: returns the configured one). */
int httpserver_port(const httpserver *s);
/* Stops the thread and frees. NULL-safe. */
void httpserver_free(httpserver *s);

/* ---- webhook helpers (pure; exposed for tests) ---------------------------------------- */

typedef struct httpserver_webhook_headers {
	const char *hub_signature_256; /* "sha256=<hex>" or NULL */
	const char *gitlab_token;      /* or NULL */
	const char *dhg_signature_256; /* "sha256=<hex>" or NULL */
} httpserver_webhook_headers;

/* true when one of the headers proves knowledge of secret (constant-time comparisons). */
bool httpserver_webhook_verify(const char *secret, const httpserver_webhook_headers *h,
			       const char *body, size_t len);
/* The repository URLs of a GitHub/GitLab/Gitea/generic push payload (clone_url, ssh_url,
 * git_url, html_url, url, git_http_url, git_ssh_url, http_url, ssh_url of "repository" and
 * "project"; or a top-level "url"/"urls"). New JSON array in *out. Returns 0 or < 0. */
int httpserver_webhook_urls(json_t **out, const json_t *body);

#endif
