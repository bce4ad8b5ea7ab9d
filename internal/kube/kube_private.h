#ifndef DHG_KUBE_PRIVATE_H
#define DHG_KUBE_PRIVATE_H

/* Module-private interfaces shared by the files of internal/kube (and its unit tests). */

#include <curl/curl.h>
#include <jansson.h>
#include <stddef.h>

#include "kube/config.h"

/* Full URL for an API path ("/api/v1/..."), honoring tls-server-name. New string (free()). */
char *kube_config__url(const kube_config *cfg, const char *path);

/* Sets TLS options, client certificates and the Authorization header on an easy handle.
 * *headers gets the Authorization header appended; *connect_to (initially NULL) may get a
 * CURLOPT_CONNECT_TO list (tls-server-name). The caller frees both lists after the transfer.
 * Runs the exec plugin or re-reads a token file when its cached credential is stale.
 * Thread-safe. */
int kube_config__setup(CURL *easy, struct curl_slist **headers, struct curl_slist **connect_to,
                       const kube_config *cfg);

/* A summary of the loaded configuration for tests and debug logs, without secret values:
 * {server, context, namespace, inCluster, insecure, caFile, caDataLen, tlsServerName, certFile,
 *  keyFile, certDataLen, keyDataLen, hasToken, tokenFile, username, hasPassword, execCommand,
 *  execArgs, execEnvCount}. *out owned. */
int kube_config__describe(json_t **out, const kube_config *cfg);

/* Drops cached credentials (after a 401) so the next request re-reads the token file or
 * re-runs the exec plugin. Returns 1 when there was something to refresh, else 0. */
int kube_config__auth_invalidate(const kube_config *cfg);

/* YAML (or JSON) text to a jansson value; scalars become strings except that `quoted == 0`
 * plain scalars true/false become JSON booleans. *out owned. `what` names the input in errors. */
int kube_config__yaml_to_json(json_t **out, const char *text, size_t len, const char *what);

/* Base64 decode by kubeconfig rules: dhg_base64_decode() with both alphabets and all whitespace
 * skipped, capped at the kubeconfig size. *out owned (free()), NUL-terminated; `what` names the
 * field in errors. */
int kube_config__base64_decode(char **out, size_t *outlen, const char *in, const char *what);

/* Maps an HTTP error response to a DHG_E* code, records dhg_error_last() (status, reason,
 * message: "<what>: <reason>: <message>") and returns the code. body may be NULL. */
int kube_client__status_error(long http_status, const char *body, size_t len, const char *what);

/* Trim the query string from a path for messages: copies at most size-1 bytes. */
void kube_client__path_for_message(char *buf, size_t size, const char *path);

/* One streaming GET of `path` through the client's limiter and auth, on a multi handle so that
 * `cancel` (may be NULL) ends it within ~100 ms. *easy_slot is set to the easy handle before
 * the transfer starts (for the write callback's CURLINFO_RESPONSE_CODE). timeout_ms 0: none.
 * Returns 0 when the transfer ended (any HTTP status, in *http; a write-callback abort also
 * returns 0 — the caller knows why it aborted), 2 when a 200 stream was cut by the network
 * (a normal end for a watch, but its last partial line is incomplete), 1 when cancelled, or
 * DHG_EUNAVAILABLE / DHG_ETIMEOUT for transport errors (message set). */
#include <stdatomic.h>
struct kube_client;
int kube_client__stream(struct kube_client *c, const char *path, long timeout_ms, const atomic_int *cancel,
                        curl_write_callback cb, void *ud, CURL **easy_slot, long *http);

#endif
