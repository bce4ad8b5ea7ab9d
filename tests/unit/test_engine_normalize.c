/* Unit tests for engine_normalize: validation, duplicates, stripping, migrations. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/extract/normalize.h"
#include "util/error.h"

static void load(engine_objects *objs, const char *yaml, const char *source)
{
	int rc = engine_extract_buffer(objs, yaml, strlen(yaml), source);
	ck_assert_msg(rc == 0, "extract: %s", dhg_error_last()->message);
}

static char *dump(const json_t *v)
{
	char *s = json_dumps(v, JSON_SORT_KEYS | JSON_COMPACT);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* The same input with engine_normalize__prepare() on every object first (as the extract
 * workers of dhg generate do) must give exactly what engine_normalize() alone gave: the
 * return code, the error message, the warnings in order, the objects (key order included). */
static void expect_prepared_same(const char *in, const char *source, int rc, const char *msg,
				 const engine_objects *got, const engine_warnings *w)
{
	engine_objects p = ENGINE_OBJECTS_INIT;
	engine_warnings pw = ENGINE_WARNINGS_INIT;
	int prc;

	load(&p, in, source);
	for (size_t i = 0; i < p.len; i++)
		engine_normalize__prepare(&p.items[i]);
	prc = engine_normalize(&p, &pw);
	ck_assert_msg(prc == rc, "prepared: rc %d, without %d (%s)", prc, rc, prc < 0 ? dhg_error_last()->message : "");
	if (rc < 0) {
		ck_assert_str_eq(dhg_error_last()->message, msg);
	} else {
		ck_assert_uint_eq(p.len, got->len);
		for (size_t i = 0; i < p.len; i++) {
			char *a = json_dumps(p.items[i].obj, JSON_PRESERVE_ORDER | JSON_COMPACT);
			char *b = json_dumps(got->items[i].obj, JSON_PRESERVE_ORDER | JSON_COMPACT);
			ck_assert_ptr_nonnull(a);
			ck_assert_ptr_nonnull(b);
			ck_assert_msg(!strcmp(a, b), "prepared object %zu differs:\n got  %s\n want %s", i, a, b);
			free(a);
			free(b);
		}
		ck_assert_uint_eq(pw.len, w->len);
		for (size_t i = 0; i < pw.len; i++)
			ck_assert_str_eq(pw.items[i], w->items[i]);
	}
	engine_warnings_dispose(&pw);
	engine_objects_dispose(&p);
}

/* Normalizes `in` and checks the result equals the objects of `want` (in order), and that the
 * warnings contain `warn` (when not NULL). */
static void expect_norm(const char *in, const char *want, const char *warn)
{
	engine_objects got = ENGINE_OBJECTS_INIT, exp = ENGINE_OBJECTS_INIT;
	engine_warnings w = ENGINE_WARNINGS_INIT;
	int rc;

	load(&got, in, "in.yaml");
	load(&exp, want, "want.yaml");
	rc = engine_normalize(&got, &w);
	ck_assert_msg(rc == 0, "normalize: %s", dhg_error_last()->message);
	ck_assert_uint_eq(got.len, exp.len);
	for (size_t i = 0; i < got.len; i++) {
		if (!json_equal(got.items[i].obj, exp.items[i].obj)) {
			char *a = dump(got.items[i].obj), *b = dump(exp.items[i].obj);
			ck_abort_msg("object %zu differs:\n got  %s\n want %s", i, a, b);
		}
	}
	if (warn) {
		int found = 0;
		for (size_t i = 0; i < w.len; i++)
			if (strstr(w.items[i], warn))
				found = 1;
		ck_assert_msg(found, "no warning containing \"%s\" (%zu warnings%s%s)", warn, w.len,
			      w.len ? ", first: " : "", w.len ? w.items[0] : "");
	}
	expect_prepared_same(in, "in.yaml", 0, NULL, &got, &w);
	engine_warnings_dispose(&w);
	engine_objects_dispose(&got);
	engine_objects_dispose(&exp);
}

static void expect_norm_err(const char *in, const char *source, const char *msg_part)
{
	engine_objects got = ENGINE_OBJECTS_INIT;
	engine_warnings w = ENGINE_WARNINGS_INIT;
	load(&got, in, source);
	int rc = engine_normalize(&got, &w);
	char msg[sizeof(dhg_error_last()->message)];
	ck_assert_int_lt(rc, 0);
	ck_assert_msg(strstr(dhg_error_last()->message, msg_part) != NULL, "message \"%s\" lacks \"%s\"",
		      dhg_error_last()->message, msg_part);
	snprintf(msg, sizeof(msg), "%s", dhg_error_last()->message);
	expect_prepared_same(in, source, rc, msg, &got, &w);
	engine_warnings_dispose(&w);
	engine_objects_dispose(&got);
}

/* Inputs that go through every step, prepared or not: same result either way. */
static void same_prepared_or_not(const char *in)
{
	engine_objects got = ENGINE_OBJECTS_INIT;
	engine_warnings w = ENGINE_WARNINGS_INIT;
	char msg[sizeof(dhg_error_last()->message)] = "";
	int rc;

	load(&got, in, "mix.yaml");
	if ((rc = engine_normalize(&got, &w)) < 0)
		snprintf(msg, sizeof(msg), "%s", dhg_error_last()->message);
	expect_prepared_same(in, "mix.yaml", rc, msg, &got, &w);
	engine_warnings_dispose(&w);
	engine_objects_dispose(&got);
}

#define LIVE_MD(name) "metadata: {name: " name ", namespace: ns, uid: u1, resourceVersion: '9', " \
		      "annotations: {kubectl.kubernetes.io/last-applied-configuration: x}}\n"

START_TEST(test_engine_normalize__prepared_same)
{
	static const char live[] =
		"apiVersion: v1\nkind: Service\n" LIVE_MD("web") "spec: {selector: {a: b}, clusterIP: 10.0.0.1, "
		"sessionAffinity: None}\nstatus: {}\n---\n"
		"apiVersion: v1\nkind: Endpoints\n" LIVE_MD("web") "subsets: []\n---\n"
		"apiVersion: v1\nkind: Endpoints\n" LIVE_MD("other") "subsets: []\n---\n"
		"apiVersion: apps/v1\nkind: Deployment\n" LIVE_MD("web")
		"spec:\n  revisionHistoryLimit: 10\n  template:\n    metadata: {creationTimestamp: null}\n"
		"    spec: {dnsPolicy: ClusterFirst, containers: [{name: c, image: 'i:1', imagePullPolicy: IfNotPresent}]}\n---\n"
		"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-1, namespace: ns, ownerReferences: "
		"[{kind: Deployment, name: web, controller: true}]}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: web-1-x, namespace: ns, ownerReferences: "
		"[{kind: ReplicaSet, name: web-1, controller: false}, {kind: Foo, name: f}]}\nspec: {containers: []}\n---\n"
		"apiVersion: v1\nkind: Secret\nmetadata: {name: sa-token-abc, namespace: ns}\ntype: kubernetes.io/service-account-token\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\n" LIVE_MD("sa") "secrets: [{name: sa-token-abc}, {name: sa-token-x}, {name: keep}]\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: ns, uid: u}\n---\n"
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-root-ca.crt, namespace: ns}\n---\n"
		"apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: ing, namespace: ns}\n"
		"spec: {backend: {serviceName: web, servicePort: 80}}\n---\n"
		"apiVersion: batch/v1\nkind: Job\nmetadata: {name: j, namespace: ns, ownerReferences: [{kind: CronJob, name: cj}]}\n---\n"
		"apiVersion: v1\nkind: Event\nmetadata: {name: e, namespace: ns}\n";

	same_prepared_or_not(live);
	/* a duplicate: the first one migrated, the second not */
	same_prepared_or_not("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: i}\n"
			     "spec: {backend: {serviceName: s, servicePort: 80}}\n---\n"
			     "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {}\n");
	/* a duplicate before an invalid object: the invalid one is the error */
	same_prepared_or_not("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 7}\n");
	/* a migration error after a duplicate: the duplicate comes first in input order */
	same_prepared_or_not("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			     "apiVersion: apps/v1beta9\nkind: Deployment\nmetadata: {name: d}\n");
	same_prepared_or_not("apiVersion: apps/v1beta9\nkind: Deployment\nmetadata: {name: d}\n---\n"
			     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			     "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
	/* a duplicate key after a ServiceAccount reduced to the bare default one */
	same_prepared_or_not("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, uid: x}\nsecrets: [{name: default-token-1}]\n---\n"
			     "apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default}\n");
}
END_TEST

START_TEST(test_engine_normalize__validation)
{
	expect_norm_err("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
			"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: {a: b}\nspec: {}\n",
			"deploy.yaml", "deploy.yaml (document 2, line 5): Deployment: metadata.name is missing");
	expect_norm_err("apiVersion: v1\nmetadata: {name: a}\n", "k.yaml", "k.yaml (document 1, line 1): kind is missing");
	expect_norm_err("kind: Service\nmetadata: {name: a}\n", "a.yaml", "a.yaml (document 1, line 1): Service: apiVersion is missing");
	expect_norm_err("apiVersion: v1\nkind: Service\n", "a.yaml", "Service: metadata.name is missing");
	expect_norm_err("apiVersion: v1\nkind: Service\nmetadata: {name: 80}\n", "a.yaml",
			"Service: metadata.name must be a string, not a number");
	expect_norm_err("apiVersion: v1\nkind: Service\nmetadata: {name: \"\"}\n", "a.yaml", "metadata.name is empty");
	expect_norm_err("apiVersion: v1\nkind: [a]\nmetadata: {name: x}\n", "a.yaml", "kind must be a string, not a list");
	expect_norm_err("apiVersion: 1.5\nkind: X\nmetadata: {name: x}\n", "a.yaml", "X: apiVersion must be a string, not a number");
	expect_norm_err("apiVersion: v1\nkind: X\nmetadata: [x]\n", "a.yaml", "X: metadata must be a mapping, not a list");
	expect_norm_err("apiVersion: v1\nkind: X\nmetadata: {name: a, namespace: true}\n", "a.yaml",
			"X: metadata.namespace must be a string, not a boolean");
	/* List items carry their own line */
	expect_norm_err("apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata: {name: a}\n"
			"- apiVersion: v1\n  kind: ConfigMap\n  metadata: {}\n",
			"list.yaml", "list.yaml (document 1, line 7): ConfigMap: metadata.name is missing");
}
END_TEST

START_TEST(test_engine_normalize__duplicates)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_warnings w = ENGINE_WARNINGS_INIT;
	load(&objs, "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec: {}\n", "a.yaml");
	load(&objs, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n"
		    "apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\n"
		    "spec: {selector: {matchLabels: {a: b}}}\n",
		    "b.yaml");
	ck_assert_int_eq(engine_normalize(&objs, &w), DHG_EINVALID);
	ck_assert_msg(strstr(dhg_error_last()->message,
			     "duplicate object Deployment (apps) shop/web: defined in a.yaml (document 1, line 1) "
			     "and again in b.yaml (document 2, line 5)") != NULL,
		      "%s", dhg_error_last()->message);
	engine_objects_dispose(&objs);
	engine_warnings_dispose(&w);
	/* same name, different namespace / kind / group: all fine */
	expect_norm("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\n"
		    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: y}\n---\n"
		    "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: x}\n---\n"
		    "apiVersion: other.io/v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n",
		    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n---\n"
		    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: y}\n---\n"
		    "apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: x}\n---\n"
		    "apiVersion: other.io/v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n",
		    NULL);
}
END_TEST

/* A live Deployment as `kubectl get -o yaml` prints it, and the manifest that created it. */
static const char *live_deploy =
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n"
	"  annotations:\n    deployment.kubernetes.io/revision: \"3\"\n"
	"    kubectl.kubernetes.io/last-applied-configuration: |\n      {\"apiVersion\":\"apps/v1\"}\n"
	"  creationTimestamp: \"2024-01-01T00:00:00Z\"\n  generation: 3\n  labels: {app: web}\n"
	"  managedFields:\n  - manager: kubectl\n  name: web\n  namespace: shop\n  resourceVersion: \"123\"\n"
	"  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n"
	"spec:\n  progressDeadlineSeconds: 600\n  replicas: 2\n  revisionHistoryLimit: 10\n"
	"  selector: {matchLabels: {app: web}}\n"
	"  strategy:\n    rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}\n    type: RollingUpdate\n"
	"  template:\n    metadata:\n      creationTimestamp: null\n      labels: {app: web}\n"
	"    spec:\n      containers:\n      - image: nginx:1.25\n        imagePullPolicy: IfNotPresent\n"
	"        name: web\n        resources: {}\n        terminationMessagePath: /dev/termination-log\n"
	"        terminationMessagePolicy: File\n      - image: busybox\n        imagePullPolicy: Always\n"
	"        name: side\n      - image: busybox:1.36\n        imagePullPolicy: Always\n        name: pinned\n"
	"      dnsPolicy: ClusterFirst\n      restartPolicy: Always\n"
	"      schedulerName: default-scheduler\n      securityContext: {}\n      terminationGracePeriodSeconds: 30\n"
	"status:\n  availableReplicas: 2\n";

static const char *manifest_deploy =
	"apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  labels: {app: web}\n  name: web\n  namespace: shop\n"
	"spec:\n  replicas: 2\n  selector: {matchLabels: {app: web}}\n"
	"  template:\n    metadata:\n      labels: {app: web}\n"
	"    spec:\n      containers:\n      - image: nginx:1.25\n        name: web\n"
	"      - image: busybox\n        name: side\n      - image: busybox:1.36\n        imagePullPolicy: Always\n"
	"        name: pinned\n";

START_TEST(test_engine_normalize__live_deployment_stripped)
{
	expect_norm(live_deploy, manifest_deploy, NULL);
}
END_TEST

START_TEST(test_engine_normalize__handwritten_defaults_kept)
{
	/* not live (no uid/resourceVersion/status/managedFields): every default is kept */
	const char *m = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n"
			"  annotations: {keep: me}\n"
			"spec:\n  progressDeadlineSeconds: 600\n  revisionHistoryLimit: 10\n"
			"  selector: {matchLabels: {app: web}}\n"
			"  strategy: {type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}}\n"
			"  template:\n    metadata: {labels: {app: web}}\n    spec:\n"
			"      dnsPolicy: ClusterFirst\n      restartPolicy: Always\n      terminationGracePeriodSeconds: 30\n"
			"      containers:\n      - {name: web, image: nginx:1.25, imagePullPolicy: IfNotPresent,"
			" terminationMessagePolicy: File}\n"
			"---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n"
			"spec: {sessionAffinity: None, ipFamilyPolicy: SingleStack, ports: [{port: 80}]}\n";
	expect_norm(m, m, NULL);
	/* runtime annotations go even from a hand-written file; an emptied map is removed, a
	 * map that was empty to begin with is kept */
	expect_norm("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  annotations:\n"
		    "    kubectl.kubernetes.io/last-applied-configuration: x\n---\n"
		    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  annotations: {}\n",
		    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
		    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, annotations: {}}\n",
		    NULL);
}
END_TEST

START_TEST(test_engine_normalize__default_blocks_exact)
{
	/* live objects: a strategy / updateStrategy block is dropped only when it is exactly the
	 * API server's default (same members, same types), compared without parsing any text */
	const char *head = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: w%d, uid: u}\nspec:\n"
			   "  selector: {matchLabels: {app: w}}\n  template: {metadata: {labels: {app: w}}, spec: "
			   "{containers: [{name: w, image: nginx}]}}\n";
	static const char *const kept[] = {
		"{type: RollingUpdate, rollingUpdate: {maxSurge: 30%, maxUnavailable: 25%}}",
		"{type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%, x: 1}}",
		"{type: RollingUpdate, rollingUpdate: {maxSurge: 25%}}",
		"{type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25}}",
		"{type: Recreate}",
		"{type: RollingUpdate, rollingUpdate: [maxSurge]}",
		"{type: RollingUpdate, rollingUpdate: {maxSurge: 25%, maxUnavailable: 25%}, extra: {}}",
	};
	char in[1024], want[1024];
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++) {
		int n = snprintf(in, sizeof(in), head, (int)i);
		snprintf(in + n, sizeof(in) - (size_t)n, "  strategy: %s\n", kept[i]);
		n = snprintf(want, sizeof(want), head, (int)i);
		snprintf(want + n, sizeof(want) - (size_t)n, "  strategy: %s\n", kept[i]);
		/* the expected text has no uid: the live-object fields go, the block stays */
		{
			char *u = strstr(want, ", uid: u");
			memmove(u, u + 8, strlen(u + 8) + 1);
		}
		expect_norm(in, want, NULL);
	}
	{
		int n = snprintf(in, sizeof(in), head, 99);
		snprintf(in + n, sizeof(in) - (size_t)n,
			 "  strategy: {rollingUpdate: {maxUnavailable: 25%%, maxSurge: 25%%}, type: RollingUpdate}\n");
		snprintf(want, sizeof(want), head, 99);
		{
			char *u = strstr(want, ", uid: u");
			memmove(u, u + 8, strlen(u + 8) + 1);
		}
		expect_norm(in, want, NULL);
	}
	/* StatefulSet: partition 0 is the default, "0" (a string) is not */
	expect_norm("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s, uid: u}\nspec:\n"
		    "  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}\n---\n"
		    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: t, uid: u}\nspec:\n"
		    "  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: \"0\"}}\n",
		    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: s}\nspec: {}\n---\n"
		    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: t}\nspec:\n"
		    "  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: \"0\"}}\n",
		    NULL);
}
END_TEST

START_TEST(test_engine_normalize__service)
{
	expect_norm("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop, resourceVersion: \"9\"}\n"
		    "spec:\n  clusterIP: 10.96.0.12\n  clusterIPs: [10.96.0.12]\n  internalTrafficPolicy: Cluster\n"
		    "  ipFamilies: [IPv4]\n  ipFamilyPolicy: SingleStack\n  ports: [{port: 80, protocol: TCP}]\n"
		    "  selector: {app: web}\n  sessionAffinity: None\n  type: ClusterIP\nstatus: {loadBalancer: {}}\n"
		    "---\napiVersion: v1\nkind: Service\nmetadata: {name: db, uid: x}\n"
		    "spec: {clusterIP: None, clusterIPs: [None], selector: {app: db}}\n"
		    "---\napiVersion: v1\nkind: Service\nmetadata: {name: hand}\n"
		    "spec: {clusterIP: None, clusterIPs: [None], sessionAffinity: None}\n"
		    "---\napiVersion: v1\nkind: Service\nmetadata: {name: fixed}\nspec: {clusterIP: 10.0.0.1}\n",
		    "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
		    "spec: {ports: [{port: 80, protocol: TCP}], selector: {app: web}, type: ClusterIP}\n"
		    "---\napiVersion: v1\nkind: Service\nmetadata: {name: db}\nspec: {clusterIP: None, selector: {app: db}}\n"
		    "---\napiVersion: v1\nkind: Service\nmetadata: {name: hand}\n"
		    "spec: {clusterIP: None, clusterIPs: [None], sessionAffinity: None}\n"
		    "---\napiVersion: v1\nkind: Service\nmetadata: {name: fixed}\nspec: {}\n",
		    NULL);
}
END_TEST

START_TEST(test_engine_normalize__owner_managed_dropped)
{
	const char *in =
		"apiVersion: apps/v1\nkind: ReplicaSet\nmetadata:\n  name: web-5d4\n  namespace: shop\n"
		"  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, controller: true, uid: u}]\n"
		"spec: {}\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-5d4-x\n  namespace: shop\n"
		"  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-5d4, controller: true, uid: u}]\n---\n"
		"apiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: shop}\nspec: {containers: [{name: a, image: a}]}\n---\n"
		"apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: nightly-28\n  namespace: shop\n"
		"  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: nightly, controller: true, uid: u}]\n---\n"
		"apiVersion: v1\nkind: Event\nmetadata: {name: e1, namespace: shop}\n---\n"
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: kube-root-ca.crt, namespace: shop}\n---\n"
		"apiVersion: v1\nkind: Secret\nmetadata: {name: default-token-abc, namespace: shop}\n"
		"type: kubernetes.io/service-account-token\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: shop, uid: x, resourceVersion: \"1\"}\n"
		"secrets: [{name: default-token-abc}]\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: other}\nimagePullSecrets: [{name: reg}]\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: third, uid: x}\n"
		"secrets: [{name: default-token-zz9}]\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: third}\nsecrets: [{name: app-token-manual}]\n---\n"
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}}\n---\n"
		"apiVersion: v1\nkind: Endpoints\nmetadata: {name: web, namespace: shop, resourceVersion: \"5\"}\nsubsets: []\n---\n"
		"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: web-abc\n  namespace: shop\n"
		"  ownerReferences: [{apiVersion: v1, kind: Service, name: web, controller: true, uid: u}]\n---\n"
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned-by-pod\n  namespace: shop\n"
		"  ownerReferences: [{apiVersion: v1, kind: Pod, name: web-5d4-x, uid: u}, {apiVersion: v1, kind: Foo, name: keep, uid: u}]\n";
	const char *want =
		"apiVersion: v1\nkind: Pod\nmetadata: {name: bare, namespace: shop}\nspec: {containers: [{name: a, image: a}]}\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: default, namespace: other}\nimagePullSecrets: [{name: reg}]\n---\n"
		"apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: app, namespace: third}\nsecrets: [{name: app-token-manual}]\n---\n"
		"apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec: {selector: {app: web}}\n---\n"
		"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: owned-by-pod\n  namespace: shop\n"
		"  ownerReferences: [{apiVersion: v1, kind: Foo, name: keep, uid: u}]\n";
	expect_norm(in, want, "Pod shop/web-5d4-x: skipped: managed by its owner ReplicaSet web-5d4");
	expect_norm(in, want, "Job shop/nightly-28: skipped: created by its CronJob nightly");
	expect_norm(in, want, "ServiceAccount shop/default: skipped: the default ServiceAccount");
	expect_norm(in, want, "Endpoints shop/web: skipped: maintained by the endpoints controller");
	expect_norm(in, want, "ServiceAccount third/default: skipped: the default ServiceAccount");
}
END_TEST

START_TEST(test_engine_normalize__live_workloads)
{
	/* StatefulSet, DaemonSet, CronJob, Job and PVC defaults from live objects */
	expect_norm("apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, uid: u}\n"
		    "spec:\n  podManagementPolicy: OrderedReady\n  revisionHistoryLimit: 10\n  serviceName: db\n"
		    "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Retain, whenScaled: Retain}\n"
		    "  updateStrategy: {type: RollingUpdate, rollingUpdate: {partition: 0}}\n"
		    "  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: 'pg:16'}]}}\n"
		    "  volumeClaimTemplates:\n  - apiVersion: v1\n    kind: PersistentVolumeClaim\n"
		    "    metadata: {name: data, creationTimestamp: null}\n"
		    "    spec: {accessModes: [ReadWriteOnce], volumeMode: Filesystem, resources: {requests: {storage: 1Gi}}}\n"
		    "    status: {phase: Pending}\n"
		    "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly, resourceVersion: \"1\"}\n"
		    "spec:\n  concurrencyPolicy: Allow\n  failedJobsHistoryLimit: 1\n  successfulJobsHistoryLimit: 3\n"
		    "  suspend: false\n  schedule: '0 1 * * *'\n"
		    "  jobTemplate:\n    metadata: {creationTimestamp: null}\n    spec:\n      backoffLimit: 6\n"
		    "      template: {spec: {restartPolicy: OnFailure, containers: [{name: c, image: 'x:1'}]}}\n"
		    "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: once, uid: u}\n"
		    "spec:\n  backoffLimit: 4\n  completionMode: NonIndexed\n  suspend: false\n"
		    "  selector: {matchLabels: {batch.kubernetes.io/controller-uid: u}}\n"
		    "  template:\n    metadata:\n      labels: {batch.kubernetes.io/controller-uid: u, batch.kubernetes.io/job-name: once,"
		    " controller-uid: u, job-name: once, app: once}\n"
		    "    spec: {restartPolicy: Never, containers: [{name: c, image: 'x:1'}]}\n"
		    "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n  uid: u\n"
		    "  annotations: {pv.kubernetes.io/bind-completed: \"yes\", pv.kubernetes.io/bound-by-controller: \"yes\"}\n"
		    "  finalizers: [kubernetes.io/pvc-protection]\n"
		    "spec: {accessModes: [ReadWriteOnce], volumeMode: Filesystem, volumeName: pvc-123,"
		    " resources: {requests: {storage: 1Gi}}}\nstatus: {phase: Bound}\n",
		    "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\n"
		    "spec:\n  serviceName: db\n"
		    "  template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: 'pg:16'}]}}\n"
		    "  volumeClaimTemplates:\n  - metadata: {name: data}\n"
		    "    spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n"
		    "---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: nightly}\n"
		    "spec:\n  schedule: '0 1 * * *'\n  jobTemplate:\n    metadata: {}\n    spec:\n"
		    "      template: {spec: {restartPolicy: OnFailure, containers: [{name: c, image: 'x:1'}]}}\n"
		    "---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\n"
		    "spec:\n  backoffLimit: 4\n  template:\n    metadata:\n      labels: {app: once}\n"
		    "    spec: {restartPolicy: Never, containers: [{name: c, image: 'x:1'}]}\n"
		    "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata:\n  name: data\n"
		    "  finalizers: [kubernetes.io/pvc-protection]\n"
		    "spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n",
		    NULL);
}
END_TEST

START_TEST(test_engine_normalize__migrate_workloads)
{
	expect_norm("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web}\n"
		    "spec:\n  rollbackTo: {revision: 1}\n  template: {metadata: {labels: {app: web}}, spec: {containers: []}}\n"
		    "---\napiVersion: apps/v1beta2\nkind: StatefulSet\nmetadata: {name: db}\n"
		    "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
		    "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\n"
		    "spec:\n  selector: {matchLabels: {app: web}}\n"
		    "  template: {metadata: {labels: {app: web}}, spec: {containers: []}}\n"
		    "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\n"
		    "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
		    "Deployment web: spec.selector added from spec.template.metadata.labels");
	expect_norm("apiVersion: apps/v1beta1\nkind: DaemonSet\nmetadata: {name: d}\n"
		    "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
		    "apiVersion: apps/v1\nkind: DaemonSet\nmetadata: {name: d}\n"
		    "spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}}}\n",
		    "DaemonSet d: DaemonSet migrated from the deprecated apps/v1beta1 to apps/v1");
	expect_norm_err("apiVersion: extensions/v1beta1\nkind: Deployment\nmetadata: {name: web}\nspec: {template: {}}\n",
			"d.yaml", "d.yaml (document 1, line 1) Deployment web: Deployment: apps/v1 requires spec.selector");
}
END_TEST

START_TEST(test_engine_normalize__migrate_ingress)
{
	expect_norm("apiVersion: extensions/v1beta1\nkind: Ingress\nmetadata: {name: web}\n"
		    "spec:\n  backend: {serviceName: default, servicePort: 8080}\n  rules:\n  - host: shop.example\n"
		    "    http:\n      paths:\n      - path: /\n        backend: {serviceName: web, servicePort: http}\n"
		    "      - path: /api\n        pathType: Prefix\n        backend: {serviceName: api, servicePort: \"81\"}\n",
		    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web}\n"
		    "spec:\n  defaultBackend: {service: {name: default, port: {number: 8080}}}\n  rules:\n  - host: shop.example\n"
		    "    http:\n      paths:\n      - path: /\n        pathType: ImplementationSpecific\n"
		    "        backend: {service: {name: web, port: {name: http}}}\n"
		    "      - path: /api\n        pathType: Prefix\n        backend: {service: {name: api, port: {number: 81}}}\n",
		    "Ingress web: Ingress migrated from the deprecated extensions/v1beta1 to networking.k8s.io/v1");
	expect_norm("apiVersion: networking.k8s.io/v1beta1\nkind: Ingress\nmetadata: {name: r}\n"
		    "spec: {rules: [{http: {paths: [{backend: {resource: {kind: Bucket, name: b}}}]}}]}\n",
		    "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: r}\n"
		    "spec: {rules: [{http: {paths: [{pathType: ImplementationSpecific, backend: {resource: {kind: Bucket, name: b}}}]}}]}\n",
		    "networking.k8s.io/v1beta1");
}
END_TEST

START_TEST(test_engine_normalize__migrate_simple_apis)
{
	static const struct {
		const char *from, *kind, *to;
	} cases[] = {
		{ "extensions/v1beta1", "NetworkPolicy", "networking.k8s.io/v1" },
		{ "policy/v1beta1", "PodDisruptionBudget", "policy/v1" },
		{ "autoscaling/v2beta2", "HorizontalPodAutoscaler", "autoscaling/v2" },
		{ "batch/v1beta1", "CronJob", "batch/v1" },
		{ "rbac.authorization.k8s.io/v1beta1", "ClusterRoleBinding", "rbac.authorization.k8s.io/v1" },
		{ "rbac.authorization.k8s.io/v1beta1", "Role", "rbac.authorization.k8s.io/v1" },
		{ "scheduling.k8s.io/v1beta1", "PriorityClass", "scheduling.k8s.io/v1" },
		{ "storage.k8s.io/v1beta1", "StorageClass", "storage.k8s.io/v1" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char in[512], want[512], warn[256];
		snprintf(in, sizeof(in), "apiVersion: %s\nkind: %s\nmetadata: {name: x}\nspec: {a: 1}\n", cases[i].from,
			 cases[i].kind);
		snprintf(want, sizeof(want), "apiVersion: %s\nkind: %s\nmetadata: {name: x}\nspec: {a: 1}\n", cases[i].to,
			 cases[i].kind);
		snprintf(warn, sizeof(warn), "migrated from the deprecated %s to %s", cases[i].from, cases[i].to);
		expect_norm(in, want, warn);
	}
	expect_norm("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {selector: {}, minAvailable: 1}\n",
		    "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: p}\nspec: {selector: {}, minAvailable: 1}\n",
		    "spec.selector is empty: it selected no pods in policy/v1beta1");
	/* current and custom APIs are untouched */
	expect_norm("apiVersion: example.com/v1beta1\nkind: Widget\nmetadata: {name: w}\n",
		    "apiVersion: example.com/v1beta1\nkind: Widget\nmetadata: {name: w}\n", NULL);
	expect_norm("apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n",
		    "apiVersion: autoscaling/v1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n", NULL);
}
END_TEST

START_TEST(test_engine_normalize__migrate_hpa_v2beta1)
{
	expect_norm("apiVersion: autoscaling/v2beta1\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
		    "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 5\n"
		    "  metrics:\n  - type: Resource\n    resource: {name: cpu, targetAverageUtilization: 70}\n"
		    "  - type: Resource\n    resource: {name: memory, targetAverageValue: 500Mi}\n"
		    "  - type: Pods\n    pods: {metricName: rps, targetAverageValue: \"10\"}\n"
		    "  - type: Object\n    object:\n      target: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}\n"
		    "      metricName: hits\n      targetValue: 2k\n"
		    "  - type: External\n    external: {metricName: queue, metricSelector: {matchLabels: {q: a}}, targetAverageValue: 30}\n",
		    "apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nmetadata: {name: h}\n"
		    "spec:\n  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}\n  minReplicas: 1\n  maxReplicas: 5\n"
		    "  metrics:\n  - type: Resource\n    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}\n"
		    "  - type: Resource\n    resource: {name: memory, target: {type: AverageValue, averageValue: 500Mi}}\n"
		    "  - type: Pods\n    pods: {metric: {name: rps}, target: {type: AverageValue, averageValue: \"10\"}}\n"
		    "  - type: Object\n    object:\n      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main}\n"
		    "      metric: {name: hits}\n      target: {type: Value, value: 2k}\n"
		    "  - type: External\n    external: {metric: {name: queue, selector: {matchLabels: {q: a}}},"
		    " target: {type: AverageValue, averageValue: 30}}\n",
		    "autoscaling/v2beta1 to autoscaling/v2");
}
END_TEST

START_TEST(test_engine_normalize__migrate_crd)
{
	expect_norm("apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n"
		    "metadata: {name: widgets.example.com}\n"
		    "spec:\n  group: example.com\n  version: v1\n  scope: Namespaced\n"
		    "  names: {kind: Widget, plural: widgets}\n  preserveUnknownFields: false\n"
		    "  validation:\n    openAPIV3Schema:\n      properties: {spec: {type: object}}\n"
		    "  subresources: {status: {}}\n"
		    "  additionalPrinterColumns: [{name: Age, type: date, JSONPath: .metadata.creationTimestamp}]\n",
		    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
		    "metadata: {name: widgets.example.com}\n"
		    "spec:\n  group: example.com\n  scope: Namespaced\n  names: {kind: Widget, plural: widgets}\n"
		    "  versions:\n  - name: v1\n    served: true\n    storage: true\n"
		    "    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object}}}}\n"
		    "    subresources: {status: {}}\n"
		    "    additionalPrinterColumns: [{name: Age, type: date, jsonPath: .metadata.creationTimestamp}]\n",
		    "CustomResourceDefinition migrated from the deprecated apiextensions.k8s.io/v1beta1");
	/* preserveUnknownFields defaulted to true, no schema, webhook conversion */
	expect_norm("apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n"
		    "metadata: {name: gadgets.example.com}\n"
		    "spec:\n  group: example.com\n  names: {kind: Gadget, plural: gadgets}\n  scope: Cluster\n"
		    "  versions: [{name: v2, served: true, storage: true}, {name: v1, served: true, storage: false}]\n"
		    "  conversion: {strategy: Webhook, webhookClientConfig: {service: {name: conv, namespace: x}}}\n",
		    "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n"
		    "metadata: {name: gadgets.example.com}\n"
		    "spec:\n  group: example.com\n  names: {kind: Gadget, plural: gadgets}\n  scope: Cluster\n"
		    "  versions:\n  - {name: v2, served: true, storage: true,"
		    " schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}\n"
		    "  - {name: v1, served: true, storage: false,"
		    " schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}\n"
		    "  conversion: {strategy: Webhook, webhook: {clientConfig: {service: {name: conv, namespace: x}},"
		    " conversionReviewVersions: [v1beta1]}}\n",
		    "version v2 has no schema");
	expect_norm_err("apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\n"
			"metadata: {name: a.b}\nspec: {group: b, names: {kind: A, plural: a}}\n",
			"crd.yaml", "neither spec.version nor spec.versions is set");
}
END_TEST

START_TEST(test_engine_normalize__unknown_deprecated_api)
{
	expect_norm_err("apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: restricted}\n", "psp.yaml",
			"psp.yaml (document 1, line 1) PodSecurityPolicy restricted: PodSecurityPolicy (policy/v1beta1) was removed");
	expect_norm_err("apiVersion: extensions/v1beta1\nkind: PodSecurityPolicy\nmetadata: {name: p}\n", "psp.yaml",
			"has no replacement");
	expect_norm_err("apiVersion: extensions/v1beta1\nkind: ThirdPartyResource\nmetadata: {name: t}\n", "t.yaml",
			"t.yaml (document 1, line 1) ThirdPartyResource t: ThirdPartyResource uses extensions/v1beta1, "
			"an unknown deprecated API");
	expect_norm_err("apiVersion: certificates.k8s.io/v1beta1\nkind: CertificateSigningRequest\nmetadata: {name: c}\n",
			"c.yaml", "an unknown deprecated API");
	expect_norm_err("apiVersion: admissionregistration.k8s.io/v1beta1\nkind: ValidatingWebhookConfiguration\n"
			"metadata: {name: v}\nwebhooks: [{name: a.b.c}]\n",
			"w.yaml", "webhooks[0].sideEffects is missing");
	/* still-served betas are kept */
	expect_norm("apiVersion: storage.k8s.io/v1beta1\nkind: VolumeAttributesClass\nmetadata: {name: v}\n",
		    "apiVersion: storage.k8s.io/v1beta1\nkind: VolumeAttributesClass\nmetadata: {name: v}\n", NULL);
	expect_norm("apiVersion: admissionregistration.k8s.io/v1beta1\nkind: MutatingWebhookConfiguration\n"
		    "metadata: {name: m}\nwebhooks: [{name: a.b.c, sideEffects: None}]\n",
		    "apiVersion: admissionregistration.k8s.io/v1\nkind: MutatingWebhookConfiguration\n"
		    "metadata: {name: m}\nwebhooks: [{name: a.b.c, sideEffects: None, failurePolicy: Ignore,"
		    " matchPolicy: Exact, timeoutSeconds: 30, admissionReviewVersions: [v1beta1]}]\n",
		    "admissionregistration.k8s.io/v1beta1");
}
END_TEST

START_TEST(test_engine_normalize__numbers_survive)
{
	/* exact-text numbers pass normalize untouched */
	expect_norm("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\ndata: {a: '1'}\nx: {f: 1.50, o: 0644, b: 99999999999999999999}\n",
		    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: n}\ndata: {a: '1'}\nx: {f: 1.50, o: 0644, b: 99999999999999999999}\n",
		    NULL);
	/* an empty list normalizes to an empty list */
	engine_objects objs = ENGINE_OBJECTS_INIT;
	ck_assert_int_eq(engine_normalize(&objs, NULL), 0);
}
END_TEST

Suite *engine_normalize_suite(void)
{
	Suite *s = suite_create("engine_normalize");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_engine_normalize__validation);
	tcase_add_test(tc, test_engine_normalize__duplicates);
	tcase_add_test(tc, test_engine_normalize__live_deployment_stripped);
	tcase_add_test(tc, test_engine_normalize__handwritten_defaults_kept);
	tcase_add_test(tc, test_engine_normalize__default_blocks_exact);
	tcase_add_test(tc, test_engine_normalize__service);
	tcase_add_test(tc, test_engine_normalize__owner_managed_dropped);
	tcase_add_test(tc, test_engine_normalize__live_workloads);
	tcase_add_test(tc, test_engine_normalize__migrate_workloads);
	tcase_add_test(tc, test_engine_normalize__migrate_ingress);
	tcase_add_test(tc, test_engine_normalize__migrate_simple_apis);
	tcase_add_test(tc, test_engine_normalize__migrate_hpa_v2beta1);
	tcase_add_test(tc, test_engine_normalize__migrate_crd);
	tcase_add_test(tc, test_engine_normalize__unknown_deprecated_api);
	tcase_add_test(tc, test_engine_normalize__numbers_survive);
	tcase_add_test(tc, test_engine_normalize__prepared_same);
	suite_add_tcase(s, tc);
	return s;
}
