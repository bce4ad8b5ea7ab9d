#include "kube/object.h"

#include <stdio.h>
#include <string.h>

#include "util/error.h"

static const char *meta_str(const json_t *obj, const char *field)
{
	json_t *meta = json_is_object(obj) ? json_object_get(obj, "metadata") : NULL;
	const char *s = json_string_value(json_object_get(meta, field));
	return s ? s : "";
}

const char *kube_object_name(const json_t *obj) { return meta_str(obj, "name"); }
const char *kube_object_namespace(const json_t *obj) { return meta_str(obj, "namespace"); }
const char *kube_object_resource_version(const json_t *obj) { return meta_str(obj, "resourceVersion"); }
const char *kube_object_uid(const json_t *obj) { return meta_str(obj, "uid"); }

json_t *kube_object_labels(const json_t *obj)
{
	json_t *meta = json_is_object(obj) ? json_object_get(obj, "metadata") : NULL;
	json_t *labels = json_object_get(meta, "labels");
	return json_is_object(labels) ? labels : NULL;
}

int kube_object_key(char *buf, size_t size, const json_t *obj)
{
	const char *ns = kube_object_namespace(obj), *name = kube_object_name(obj);
	int n = *ns ? snprintf(buf, size, "%s/%s", ns, name) : snprintf(buf, size, "%s", name);
	if (n < 0 || (size_t)n >= size)
		return dhg_error_set(DHG_ETOOBIG, "object key %s/%s: too long", ns, name);
	return 0;
}

void kube_object_trim(json_t *obj)
{
	json_t *meta = json_is_object(obj) ? json_object_get(obj, "metadata") : NULL;
	if (!json_is_object(meta))
		return;
	json_object_del(meta, "managedFields");
	json_t *ann = json_object_get(meta, "annotations");
	if (json_is_object(ann)) {
		json_object_del(ann, "kubectl.kubernetes.io/last-applied-configuration");
		if (json_object_size(ann) == 0)
			json_object_del(meta, "annotations");
	}
}
