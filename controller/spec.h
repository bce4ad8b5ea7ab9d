#ifndef DHG_CONTROLLER_SPEC_H
#define DHG_CONTROLLER_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "kube/selector.h"

/*
 * A HelmChart's spec, parsed and validated (controller-private). Validation errors are
 * DHG_EINVALID with a message naming the field ("spec.source.cluster.kinds[1]: unknown kind
 * Foo (supported: ...)") and lead to Stalled=True/InvalidSpec.
 * Strings point into the HelmChart object, which must outlive the spec.
 */

#define HC_MAX_NAMESPACES 64
#define HC_MAX_KINDS 32
#define HC_MAX_EXCLUDES 256

/* A kind the operator watches and the engine processes. */
typedef struct hc_kind {
	const char *kind;
	const char *group, *version, *resource;
} hc_kind;

/* The table of supported kinds (NULL-terminated by kind == NULL). */
extern const hc_kind hc_kinds[];
/* Index in hc_kinds of kind, or -1. */
int hc_kind_find(const char *kind);
size_t hc_kinds_count(void);

typedef struct hc_exclude {
	const char *kind, *name, *ns; /* ns may be NULL: any */
} hc_exclude;

typedef struct hc_spec {
	const char *ns, *name;           /* the HelmChart's */
	long long generation;
	const char *chart_name, *base_version, *app_version, *description;
	/* source */
	bool cluster;
	const char *namespaces[HC_MAX_NAMESPACES];
	size_t nnamespaces;
	kube_selector *selector;         /* owned */
	bool kind_enabled[HC_MAX_KINDS]; /* by hc_kinds index */
	hc_exclude excludes[HC_MAX_EXCLUDES];
	size_t nexcludes;
	const json_t *git_source;        /* spec.source.git (borrowed) or NULL */
	const char *git_url, *git_branch, *git_tag, *git_commit, *git_path, *git_secret;
	/* generation */
	int secrets_mode;                /* engine_secrets_mode */
	const char *store_name, *store_kind;
	const json_t *values;
	/* output */
	const json_t *out_git, *out_oci, *out_local; /* borrowed sections or NULL */
	const char *out_git_secret, *out_oci_secret;
	/* sync */
	bool auto_sync;
	long long debounce_ms, interval_ms;
	bool suspend;
} hc_spec;

typedef struct hc_spec_policy {
	bool allow_cross_namespace;
	const char *const *watch_namespaces; /* NULL/empty: all */
	size_t nwatch;
	long long default_debounce_ms;
	bool have_local;                     /* --output-root set */
} hc_spec_policy;

/* Parses and validates `hc` (a HelmChart object, borrowed) into *out. On 0, dispose with
 * hc_spec_dispose(). On DHG_EINVALID, dhg_error_last() names the field; *out needs no
 * dispose. Thread-safe. */
int hc_spec_parse(hc_spec *out, const json_t *hc, const hc_spec_policy *policy);
void hc_spec_dispose(hc_spec *s);

/* Next chart version: base when `current` is NULL/empty, not valid semver, or not derived from
 * base (different major.minor, lower patch, or different pre-release); else current with
 * the patch + 1. Written into out. Returns 0 or DHG_EINVALID. */
int hc_version_next(char *out, size_t size, const char *base, const char *current);
/* The version to compare against: current when derived from base, else base. */
const char *hc_version_current(const char *base, const char *current);

/* Canonical form of a git URL for matching webhooks: scheme, user and ".git" suffix and
 * trailing '/' removed, host lower-cased, scp form "git@host:path" -> "host/path". */
void hc_git_url_canon(char *out, size_t size, const char *url);

#endif
