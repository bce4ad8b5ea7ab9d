#ifndef DHG_OUTPUT_OCI_OCIOUT_H
#define DHG_OUTPUT_OCI_OCIOUT_H

/*
 * The OCI writer: pushes a chart to an OCI registry in Helm's format (what `helm push` does),
 * so that `helm pull oci://…` / `helm install oci://…` consume it.
 *
 *   config blob  application/vnd.cncf.helm.config.v1+json           (Chart.yaml as JSON)
 *   layer        application/vnd.cncf.helm.chart.content.v1.tar+gzip (the reproducible .tgz)
 *   manifest     application/vnd.oci.image.manifest.v1+json, tagged <version> with '+' -> '_'
 *
 * The config blob and the layer are byte-identical to what `helm push` uploads for the same
 * .tgz, and the manifest equals Helm's except for its "created" annotation. No timestamp goes
 * into anything, so the same chart content always gives the same manifest
 * digest. A tag that exists with another digest is never overwritten (DHG_ECONFLICT); the same
 * digest is a no-op. Blobs already present are skipped (HEAD); the tag is written only after
 * every blob is confirmed present. Each request is retried with jittered exponential backoff on
 * connection errors, 429 and 5xx.
 *
 * Auth: anonymous, Basic, and the Bearer token challenge flow (RFC 6750 / distribution token
 * spec). Credentials are never logged and never appear in error messages.
 *
 * Thread-safety: every function is thread-safe on distinct arguments. ociout_push() uses its own
 * curl easy handle for the duration of the call (a handle belongs to one thread).
 * The program must call curl_global_init(CURL_GLOBAL_DEFAULT) once before starting threads
 * (`dhg push` does; the operator's main must): otherwise curl_easy_init() does it implicitly,
 * which is not thread-safe.
 */

#include <stddef.h>

#include "engine/engine.h"
#include "util/hash.h"

#define OCIOUT_MEDIA_CONFIG "application/vnd.cncf.helm.config.v1+json"
#define OCIOUT_MEDIA_CHART "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
#define OCIOUT_MEDIA_MANIFEST "application/vnd.oci.image.manifest.v1+json"

/* ---- credentials ------------------------------------------------------------------------- */

typedef struct ociout_credentials {
	char *username; /* owned; NULL = anonymous */
	char *password; /* owned; wiped on dispose */
} ociout_credentials;

#define OCIOUT_CREDENTIALS_INIT { NULL, NULL }

/* Wipes and frees both strings; the struct can be reused. NULL-safe. */
void ociout_credentials_dispose(ociout_credentials *c);

/* Finds credentials for registry `host` ("host" or "host:port") in a Docker config JSON
 * (~/.docker/config.json, $DOCKER_CONFIG/config.json, Helm's registry config.json, or the
 * decoded `.dockerconfigjson` of a kubernetes.io/dockerconfigjson Secret): the `auths` entry
 * whose key, with any scheme and path removed, equals `host`; `auth` (base64 "user:pass") or
 * `username` + `password`. Returns 0 with *out filled, DHG_ENOTFOUND when there is no entry
 * for the host (a `credsStore`/`credHelpers` entry is then mentioned in the message: helpers
 * are not run), or DHG_EINVALID for malformed JSON (the message never quotes values). */
int ociout_credentials_from_docker_config(ociout_credentials *out, const char *json, size_t len,
					  const char *host);

/* From a Secret's `data` object (values base64, as the API returns them): a
 * kubernetes.io/dockerconfigjson Secret (`.dockerconfigjson`) or a basic-auth style Secret
 * (`username` + `password`). *ca_pem gets a malloc'd copy of `ca.crt` when present (else NULL)
 * and *ca_len its length; ca_pem may be NULL when not wanted. Returns 0, DHG_ENOTFOUND
 * (no entry for the host / no credential keys), or DHG_EINVALID naming the key. */
int ociout_credentials_from_secret_data(ociout_credentials *out, char **ca_pem, size_t *ca_len,
					const json_t *data, const char *host);

/* ---- WWW-Authenticate challenges ----------------------------------------------------------- */

typedef struct ociout_challenge {
	char scheme[16];   /* lower case: "basic", "bearer", ... */
	char realm[1024];  /* parameters (empty when absent) */
	char service[256];
	char scope[1024];
	char error[64];
} ociout_challenge;

/* Parses one WWW-Authenticate header value (RFC 7235: several challenges separated by commas,
 * parameters as token or quoted-string with backslash escapes, case-insensitive scheme and
 * parameter names, token68 accepted and ignored). Appends up to `max` - *n challenges to
 * out[*n...] and advances *n. Returns 0 or DHG_EINVALID for syntax errors (nothing appended
 * for the bad challenge). Over-long parameter values are DHG_EINVALID. */
int ociout_challenges_parse(ociout_challenge *out, size_t max, size_t *n, const char *header);

/* ---- references, tags, manifests ---------------------------------------------------------- */

typedef struct ociout_ref {
	char host[256];  /* "host" or "host:port" */
	char path[512];  /* repository path without leading/trailing '/', may be empty */
} ociout_ref;

/* Parses "oci://host[:port][/path]" (a trailing '/' allowed). The path must be lower-case
 * distribution repository components. Returns 0 or DHG_EINVALID naming the field. */
int ociout_ref_parse(ociout_ref *out, const char *repository);

/* Helm's tag for a chart version: '+' becomes '_'. out must hold 129 bytes. Returns 0 or
 * DHG_EINVALID when the result is not a valid OCI tag. */
int ociout_tag_from_version(char out[129], const char *version);

/* The manifest bytes `helm push` writes for a config and a layer blob (digest + size each):
 * {"schemaVersion":2,"config":{…},"layers":[{…}],"annotations":{…}} with no top-level
 * mediaType (sent as Content-Type, as Helm does) and Helm's annotations derived from `meta`
 * (the config JSON of pkgchart_config_build(), parsed): org.opencontainers.image.description,
 * title, version, url (home), source (sources[0]), authors (maintainers), plus the chart's own
 * annotations except title/version — keys sorted, Go's JSON escaping, and no "created" (the only
 * difference from Helm's, so the digest is reproducible). *out malloc'd (NUL-terminated), *len. */
int ociout_manifest_build(char **out, size_t *len, const char *config_digest, size_t config_size,
			  const char *layer_digest, size_t layer_size, const json_t *meta);

/* ---- push ---------------------------------------------------------------------------------- */

typedef struct ociout_options {
	const char *repository;       /* "oci://host[:port]/path"; the chart goes to <path>/<name> */
	const char *username;         /* NULL: docker_config (if any), else anonymous */
	const char *password;
	const char *docker_config;    /* optional Docker config JSON (see above), not a path */
	size_t docker_config_len;
	const char *ca_pem;           /* optional PEM bundle trusted instead of the system CAs */
	size_t ca_pem_len;
	int insecure_skip_tls_verify; /* 1: do not verify the server certificate */
	int plain_http;               /* 1: http:// (only when explicitly allowed) */
	int max_attempts;             /* per request; 0 = 5 */
	long backoff_ms;              /* first retry delay, doubled each time; 0 = 200 */
	long timeout_ms;              /* per request; 0 = 120000 */
	size_t chunk_size;            /* chunked-upload fallback chunk; 0 = 4 MiB */
	int force_chunked;            /* 1: always upload in chunks (tests, benchmarks) */
} ociout_options;

#define OCIOUT_OPTIONS_INIT { NULL, NULL, NULL, NULL, 0, NULL, 0, 0, 0, 0, 0, 0, 0, 0 }

typedef struct ociout_result {
	char reference[1024];               /* "host/path/name:tag" as helm prints it */
	char digest[DHG_DIGEST_STR_SIZE];   /* manifest digest */
	char layer_digest[DHG_DIGEST_STR_SIZE]; /* the .tgz digest (sha256 of `helm pull`'s file) */
	int pushed;                         /* 1: the tag was written; 0: it was already there */
	int blobs_uploaded;                 /* 0..2 */
} ociout_result;

/* Packages `chart` (pkgchart_tgz_build) and pushes it to opts->repository as
 * <path>/<chart name>:<tag>. On 0, *out describes the result. Errors: DHG_ECONFLICT (the tag
 * exists with another digest: not retryable), DHG_EUNAUTHORIZED / DHG_EFORBIDDEN (credentials),
 * DHG_EUNAVAILABLE (still failing after the retries), DHG_EINVALID (options or chart), others;
 * dhg_error_last() holds a one-line message without credentials. Never leaves the tag pointing
 * at a missing blob. Thread-safe (see top). */
int ociout_push(ociout_result *out, const engine_chart *chart, const ociout_options *opts);

#endif
