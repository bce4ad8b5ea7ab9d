#ifndef DHG_KUBE_OBJECT_H
#define DHG_KUBE_OBJECT_H

#include <jansson.h>
#include <stddef.h>

/* Small helpers on Kubernetes objects held as jansson values. All are thread-safe on
 * objects nobody mutates. Returned strings are borrowed from the object. */

/* metadata.name / metadata.namespace / metadata.resourceVersion / metadata.uid, or "" when
 * missing. Never NULL. */
const char *kube_object_name(const json_t *obj);
const char *kube_object_namespace(const json_t *obj);
const char *kube_object_resource_version(const json_t *obj);
const char *kube_object_uid(const json_t *obj);
/* metadata.labels (a JSON object) or NULL. Borrowed. */
json_t *kube_object_labels(const json_t *obj);

/* Writes "namespace/name" (or "name" for cluster-scoped objects) into buf; returns 0, or
 * DHG_ETOOBIG when it does not fit. */
int kube_object_key(char *buf, size_t size, const json_t *obj);

/* Removes, in place, what a cache never needs: metadata.managedFields and the
 * kubectl.kubernetes.io/last-applied-configuration annotation (and the annotations object
 * when it becomes empty). Only call on an object you own exclusively. */
void kube_object_trim(json_t *obj);

#endif
