#ifndef DHG_KUBE_SELECTOR_H
#define DHG_KUBE_SELECTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/*
 * Kubernetes label selectors: the string form ("a=b,c!=d,e in (x,y),f notin (z),g,!h") and
 * the LabelSelector object ({matchLabels, matchExpressions: [{key, operator: In|NotIn|Exists|
 * DoesNotExist, values}]}); parse, match, and print. A selector is immutable once built, so
 * matching from several threads is safe.
 */

typedef struct kube_selector kube_selector;

enum kube_selector_op {
	KUBE_SELECTOR_EQ = 0,       /* key=value, key==value, matchLabels, In with one value */
	KUBE_SELECTOR_NE,           /* key!=value */
	KUBE_SELECTOR_IN,           /* key in (a,b) */
	KUBE_SELECTOR_NOTIN,        /* key notin (a,b) */
	KUBE_SELECTOR_EXISTS,       /* key */
	KUBE_SELECTOR_NOT_EXISTS    /* !key */
};

/* Parses the string form; NULL or "" gives the selector that matches everything.
 * On 0, *out owned (kube_selector_free()). DHG_EINVALID names the offending position. */
int kube_selector_parse(kube_selector **out, const char *s);

/* Builds from a LabelSelector JSON object. NULL, JSON null or {} match everything.
 * DHG_EINVALID names the field (e.g. "matchExpressions[1].operator"). *out owned. */
int kube_selector_from_json(kube_selector **out, const json_t *label_selector);

/* true when `labels` (a JSON object of string values, or NULL for no labels) satisfies every
 * requirement. */
bool kube_selector_matches(const kube_selector *sel, const json_t *labels);
/* Same, on an object's metadata.labels. */
bool kube_selector_matches_object(const kube_selector *sel, const json_t *obj);

/* true when the selector has no requirements (matches everything). */
bool kube_selector_is_empty(const kube_selector *sel);

/* The canonical string form (requirements sorted by key, values sorted), suitable for a
 * labelSelector query parameter. On 0, *out owned (free()). */
int kube_selector_to_string(char **out, const kube_selector *sel);

/* Number of requirements, and read access to requirement i (all borrowed; values is an array
 * of nvalues strings). Used by caches to pick an index. Returns 0 or DHG_EINVALID. */
size_t kube_selector_count(const kube_selector *sel);
int kube_selector_requirement(const char **key, int *op, const char *const **values,
                              size_t *nvalues, const kube_selector *sel, size_t i);

/* NULL-safe. */
void kube_selector_free(kube_selector *sel);

#endif
