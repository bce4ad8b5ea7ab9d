/*
 * Service (type, ports), Ingress (class, hosts, TLS), PersistentVolumeClaim (size, storage
 * class) and HorizontalPodAutoscaler (min/max replicas).
 */
#include "engine/process/process.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/generate/emit.h"
#include "util/error.h"
#include "util/str.h"

#define P(...) ((const char *const[]){__VA_ARGS__, NULL})

int engine_process__service(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *spec = json_object_get(it->tree, "spec"), *ports, *p, *used = NULL;
	size_t i;
	int err;

	if (!json_is_object(spec))
		return 0;
	if ((err = engine_process__param_scalar(ctx, it, spec, "type", "Service type", P("type"))) < 0)
		return err;
	ports = json_object_get(spec, "ports");
	if (!json_is_array(ports))
		return 0;
	if (!(used = json_object()))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_array_foreach(ports, i, p)
	{
		const char *pn = json_string_value(json_object_get(p, "name"));
		char *key = NULL, cm[160];
		if (pn && !engine_number_is(json_object_get(p, "name")) && *pn)
			key = engine_process__camel(pn);
		else
			key = dhg_asprintf("port%zu", i);
		if (!key) {
			err = DHG_ENOMEM;
			goto done;
		}
		if (json_object_get(used, key)) { /* two names with the same camelCase */
			char *k2 = dhg_asprintf("%s%zu", key, i);
			free(key);
			if (!(key = k2)) {
				err = DHG_ENOMEM;
				goto done;
			}
		}
		json_object_set_new(used, key, json_true());
		if (pn) { /* "Service port %s" */
			size_t cl = 0;
			cm[0] = '\0';
			engine_process__cat(cm, sizeof(cm), &cl, "Service port ", (size_t)-1);
			engine_process__cat(cm, sizeof(cm), &cl, pn, (size_t)-1);
		} else {
			snprintf(cm, sizeof(cm), "Service port #%zu", i + 1);
		}
		err = engine_process__param_scalar(ctx, it, p, "port", cm, P("ports", key));
		free(key);
		if (err < 0)
			goto done;
	}
	err = 0;
done:
	json_decref(used);
	return err;
}

int engine_process__ingress(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *spec = json_object_get(it->tree, "spec"), *rules, *r, *hosts = NULL;
	dhg_buf b = DHG_BUF_INIT(0);
	size_t i;
	int err = 0, ok = 1;

	if (!json_is_object(spec))
		return 0;
	if ((err = engine_process__param_scalar(ctx, it, spec, "ingressClassName", "Ingress class", P("className"))) < 0)
		return err;
	if ((err = engine_process__param_block(ctx, it, spec, "tls", "TLS settings", P("tls"))) < 0)
		return err;
	rules = json_object_get(spec, "rules");
	if (!json_is_array(rules))
		return 0;
	json_array_foreach(rules, i, r)
	{
		json_t *h = json_object_get(r, "host");
		if (!json_is_string(h) || engine_number_is(h))
			ok = 0;
	}
	if (!ok || json_array_size(rules) == 0)
		return 0;
	if (!(hosts = json_array()))
		return dhg_error_set(DHG_ENOMEM, "out of memory");
	json_array_foreach(rules, i, r)
	{
		if (json_array_append(hosts, json_object_get(r, "host")) < 0) {
			json_decref(hosts);
			return dhg_error_set(DHG_ENOMEM, "out of memory");
		}
	}
	if ((err = engine_process__vset(ctx, it, hosts, "Host of each rule, in rule order", P("hosts"))) < 0)
		return err;
	json_array_foreach(rules, i, r)
	{
		dhg_buf_clear(&b);
		if ((err = engine_emit__puts(&b, "{{ index ")) < 0 || (err = engine_process__vref(&b, it, P("hosts"))) < 0 ||
		    (err = dhg_buf_printf(&b, " %zu | toJson }}", i)) < 0)
			goto done;
		if (json_object_set_new(r, "host", engine_emit_marker_inline(dhg_buf_cstr(&b))) < 0) {
			err = dhg_error_set(DHG_ENOMEM, "out of memory");
			goto done;
		}
	}
done:
	dhg_buf_dispose(&b);
	return err;
}

int engine_process__pvc(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *spec = json_object_get(it->tree, "spec");
	json_t *req = json_object_get(json_object_get(spec, "resources"), "requests");
	int err;

	if (!json_is_object(spec))
		return 0;
	if (json_is_object(req) &&
	    (err = engine_process__param_scalar(ctx, it, req, "storage", "Requested storage size", P("size"))) < 0)
		return err;
	if ((err = engine_process__param_scalar(ctx, it, spec, "storageClassName", "Storage class",
						P("storageClass"))) < 0)
		return err;
	return 0;
}

int engine_process__hpa(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *spec = json_object_get(it->tree, "spec");
	int err;

	if (!json_is_object(spec))
		return 0;
	if ((err = engine_process__param_scalar(ctx, it, spec, "minReplicas", "Minimum replicas",
						P("minReplicas"))) < 0)
		return err;
	if ((err = engine_process__param_scalar(ctx, it, spec, "maxReplicas", "Maximum replicas",
						P("maxReplicas"))) < 0)
		return err;
	return 0;
}

int engine_process__pdb(engine_process__ctx *ctx, engine_process__item *it)
{
	json_t *spec = json_object_get(it->tree, "spec");
	int err;

	if (!json_is_object(spec))
		return 0;
	if ((err = engine_process__param_scalar(ctx, it, spec, "minAvailable", "Minimum available pods (number or percentage)",
						P("minAvailable"))) < 0)
		return err;
	if ((err = engine_process__param_scalar(ctx, it, spec, "maxUnavailable",
						"Maximum unavailable pods (number or percentage)", P("maxUnavailable"))) < 0)
		return err;
	return 0;
}
