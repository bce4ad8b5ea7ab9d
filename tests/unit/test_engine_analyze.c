/* Unit tests for the analyzer (internal/engine/analyze/) on hand-built objects. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "util/error.h"

/* Adds one object given as JSON text (single quotes are turned into double quotes). */
static void add(engine_objects *objs, const char *text)
{
	char *s = strdup(text);
	json_error_t err;
	json_t *o;

	ck_assert_ptr_nonnull(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	o = json_loads(s, 0, &err);
	if (!o)
		ck_abort_msg("bad test JSON at %d: %s: %s", err.position, err.text, s);
	free(s);
	ck_assert_int_eq(engine_objects_add_take(objs, o, "test.yaml", (int)objs->len, 1), 0);
}

static json_t *analyze(const engine_objects *objs)
{
	engine_graph *g = NULL;
	json_t *j = NULL;

	ck_assert_int_eq(engine_graph_build(&g, objs), 0);
	ck_assert_int_eq(engine_graph_to_json(&j, g), 0);
	engine_graph_free(g);
	return j;
}

static int has_edge(const json_t *j, const char *from, const char *to, const char *type)
{
	size_t i;
	const json_t *e;
	json_array_foreach(json_object_get(j, "edges"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "from")), from) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "to")), to) == 0 &&
		    strcmp(json_string_value(json_object_get(e, "type")), type) == 0)
			return 1;
	}
	return 0;
}

/* Number of findings on object with rule whose message contains `needle` (NULL: any). */
static int count_findings(const json_t *j, const char *object, const char *rule, const char *needle)
{
	size_t i;
	int n = 0;
	const json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f) {
		if (strcmp(json_string_value(json_object_get(f, "object")), object) == 0 &&
		    strcmp(json_string_value(json_object_get(f, "rule")), rule) == 0 &&
		    (!needle || strstr(json_string_value(json_object_get(f, "message")), needle)))
			n++;
	}
	return n;
}

static const char *severity_of(const json_t *j, const char *object, const char *rule)
{
	size_t i;
	const json_t *f;
	json_array_foreach(json_object_get(j, "findings"), i, f) {
		if (strcmp(json_string_value(json_object_get(f, "object")), object) == 0 &&
		    strcmp(json_string_value(json_object_get(f, "rule")), rule) == 0)
			return json_string_value(json_object_get(f, "severity"));
	}
	return "";
}

#define GOOD_CONTAINER                                                                                   \
	"{'name':'app','image':'reg.example/app:1.2.3','resources':{'requests':{'cpu':'100m'},'limits':{'cpu':1}}," \
	"'livenessProbe':{'tcpSocket':{'port':8080}},'readinessProbe':{'httpGet':{'path':'/','port':8080}}}"

static void shop(engine_objects *objs)
{
	add(objs, "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'shop'},"
		  "'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':"
		  "{'app':'web','tier':'frontend'}},'spec':{'serviceAccountName':'web','imagePullSecrets':[{'name':'regcred'}],"
		  "'volumes':[{'name':'cfg','configMap':{'name':'web-config'}},{'name':'data','persistentVolumeClaim':{'claimName':'web-data'}},"
		  "{'name':'proj','projected':{'sources':[{'secret':{'name':'web-tls'}},{'configMap':{'name':'gone-projected','optional':true}}]}}],"
		  "'containers':[" GOOD_CONTAINER ",{'name':'side','image':'busybox','envFrom':[{'configMapRef':{'name':'web-config'}},"
		  "{'secretRef':{'name':'missing-secret'}}],'env':[{'name':'PW','valueFrom':{'secretKeyRef':{'name':'db','key':'pw'}}},"
		  "{'name':'X','valueFrom':{'configMapKeyRef':{'name':'gone','key':'x'}}},{'name':'N','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}}]}]}}}}");
	add(objs, "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'api','namespace':'shop'},"
		  "'spec':{'replicas':2,'selector':{'matchLabels':{'app':'api'}},'template':{'metadata':{'labels':"
		  "{'app':'api','tier':'backend'}},'spec':{'containers':[" GOOD_CONTAINER "]}}}}");
	add(objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'shop'},"
		  "'spec':{'selector':{'app':'web'},'ports':[{'port':80}]}}");
	add(objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'tier','namespace':'shop'},"
		  "'spec':{'selector':{'tier':'backend'}}}");
	add(objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'orphan','namespace':'shop'},"
		  "'spec':{'selector':{'app':'web','tier':'backend'}}}");
	add(objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'ext','namespace':'shop'},"
		  "'spec':{'type':'ExternalName','externalName':'db.example'}}");
	add(objs, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'name':'web-config','namespace':'shop'},'data':{'a':'b'}}");
	add(objs, "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'db','namespace':'shop'},'stringData':{'pw':'x'}}");
	add(objs, "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'web-tls','namespace':'shop'}}");
	add(objs, "{'apiVersion':'v1','kind':'Secret','metadata':{'name':'regcred','namespace':'shop'}}");
	add(objs, "{'apiVersion':'v1','kind':'PersistentVolumeClaim','metadata':{'name':'web-data','namespace':'shop'}}");
	add(objs, "{'apiVersion':'v1','kind':'ServiceAccount','metadata':{'name':'web','namespace':'shop'},"
		  "'imagePullSecrets':[{'name':'regcred'}],'secrets':[{'name':'web-token-x1'}]}");
	add(objs, "{'apiVersion':'networking.k8s.io/v1','kind':'Ingress','metadata':{'name':'web','namespace':'shop'},"
		  "'spec':{'defaultBackend':{'service':{'name':'tier','port':{'number':80}}},'tls':[{'hosts':['a.example'],'secretName':'web-tls'},"
		  "{'secretName':'cert-manager-made'}],'rules':[{'host':'a.example','http':{'paths':[{'path':'/','pathType':'Prefix',"
		  "'backend':{'service':{'name':'web','port':{'number':80}}}},{'path':'/x','pathType':'Prefix','backend':{'service':{'name':'nosvc','port':{'number':80}}}}]}}]}}");
	add(objs, "{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','metadata':{'name':'web','namespace':'shop'},"
		  "'spec':{'scaleTargetRef':{'apiVersion':'apps/v1','kind':'Deployment','name':'web'},'minReplicas':2,'maxReplicas':5}}");
	add(objs, "{'apiVersion':'policy/v1','kind':'PodDisruptionBudget','metadata':{'name':'web','namespace':'shop'},"
		  "'spec':{'minAvailable':1,'selector':{'matchExpressions':[{'key':'tier','operator':'In','values':['frontend','x']},"
		  "{'key':'canary','operator':'DoesNotExist'}]}}}");
	add(objs, "{'apiVersion':'policy/v1','kind':'PodDisruptionBudget','metadata':{'name':'none','namespace':'shop'},"
		  "'spec':{'maxUnavailable':1,'selector':{'matchLabels':{'app':'nothing'}}}}");
	add(objs, "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'Role','metadata':{'name':'reader','namespace':'shop'},'rules':[]}");
	add(objs, "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding','metadata':{'name':'web-reader','namespace':'shop'},"
		  "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'Role','name':'reader'},"
		  "'subjects':[{'kind':'ServiceAccount','name':'web'},{'kind':'User','name':'alice'},{'kind':'ServiceAccount','name':'ghost','namespace':'other'}]}");
	add(objs, "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRole','metadata':{'name':'web-nodes'},'rules':[]}");
	add(objs, "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding','metadata':{'name':'web-nodes'},"
		  "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'web-nodes'},"
		  "'subjects':[{'kind':'ServiceAccount','name':'web','namespace':'shop'}]}");
	add(objs, "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'ClusterRoleBinding','metadata':{'name':'admins'},"
		  "'roleRef':{'apiGroup':'rbac.authorization.k8s.io','kind':'ClusterRole','name':'cluster-admin'},"
		  "'subjects':[{'kind':'Group','name':'admins'}]}");
	add(objs, "{'apiVersion':'networking.k8s.io/v1','kind':'NetworkPolicy','metadata':{'name':'deny','namespace':'shop'},"
		  "'spec':{'podSelector':{},'policyTypes':['Ingress']}}");
	/* same labels in another namespace: never selected by shop's Services */
	add(objs, "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'web','namespace':'other'},"
		  "'spec':{'selector':{'matchLabels':{'app':'web'}},'template':{'metadata':{'labels':{'app':'web'}},"
		  "'spec':{'containers':[" GOOD_CONTAINER "]}}}}");
}

START_TEST(test_engine_analyze__relationships)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	json_t *j;

	shop(&objs);
	j = analyze(&objs);

	ck_assert(has_edge(j, "Service/shop/web", "Deployment/shop/web", "selects"));
	ck_assert(!has_edge(j, "Service/shop/web", "Deployment/other/web", "selects"));
	ck_assert(!has_edge(j, "Service/shop/web", "Deployment/shop/api", "selects"));
	ck_assert(has_edge(j, "Service/shop/tier", "Deployment/shop/api", "selects"));
	ck_assert(has_edge(j, "Deployment/shop/web", "ConfigMap/shop/web-config", "uses-configmap"));
	ck_assert(has_edge(j, "Deployment/shop/web", "Secret/shop/db", "uses-secret"));
	ck_assert(has_edge(j, "Deployment/shop/web", "Secret/shop/web-tls", "uses-secret"));
	ck_assert(has_edge(j, "Deployment/shop/web", "Secret/shop/regcred", "uses-secret"));
	ck_assert(has_edge(j, "Deployment/shop/web", "PersistentVolumeClaim/shop/web-data", "uses-pvc"));
	ck_assert(has_edge(j, "Deployment/shop/web", "ServiceAccount/shop/web", "uses-serviceaccount"));
	ck_assert(has_edge(j, "Ingress/shop/web", "Service/shop/web", "routes-to"));
	ck_assert(has_edge(j, "Ingress/shop/web", "Service/shop/tier", "routes-to"));
	ck_assert(has_edge(j, "Ingress/shop/web", "Secret/shop/web-tls", "uses-secret"));
	ck_assert(has_edge(j, "HorizontalPodAutoscaler/shop/web", "Deployment/shop/web", "scales"));
	ck_assert(has_edge(j, "PodDisruptionBudget/shop/web", "Deployment/shop/web", "protects"));
	ck_assert(!has_edge(j, "PodDisruptionBudget/shop/web", "Deployment/shop/api", "protects"));
	ck_assert(has_edge(j, "RoleBinding/shop/web-reader", "Role/shop/reader", "binds-role"));
	ck_assert(has_edge(j, "RoleBinding/shop/web-reader", "ServiceAccount/shop/web", "binds-subject"));
	ck_assert(has_edge(j, "ClusterRoleBinding/web-nodes", "ClusterRole/web-nodes", "binds-role"));
	ck_assert(has_edge(j, "ClusterRoleBinding/web-nodes", "ServiceAccount/shop/web", "binds-subject"));
	ck_assert(has_edge(j, "ServiceAccount/shop/web", "Secret/shop/regcred", "uses-secret"));
	ck_assert_int_eq(count_findings(j, "ServiceAccount/shop/web", "missing-reference", "Secret shop/web-token-x1"), 1);
	ck_assert_str_eq(severity_of(j, "ServiceAccount/shop/web", "missing-reference"), "low");
	ck_assert(has_edge(j, "NetworkPolicy/shop/deny", "Deployment/shop/web", "applies-to"));
	ck_assert(has_edge(j, "NetworkPolicy/shop/deny", "Deployment/shop/api", "applies-to"));
	ck_assert(!has_edge(j, "NetworkPolicy/shop/deny", "Deployment/other/web", "applies-to"));

	/* the ConfigMap is referenced twice (volume and envFrom): one edge */
	size_t i, n = 0;
	const json_t *e;
	json_array_foreach(json_object_get(j, "edges"), i, e) {
		if (strcmp(json_string_value(json_object_get(e, "to")), "ConfigMap/shop/web-config") == 0)
			n++;
	}
	ck_assert_uint_eq(n, 1);

	/* findings about relationships */
	ck_assert_int_eq(count_findings(j, "Service/shop/orphan", "service-selects-nothing", "app=web,tier=backend"), 1);
	ck_assert_int_eq(count_findings(j, "Service/shop/ext", "service-selects-nothing", NULL), 0);
	ck_assert_int_eq(count_findings(j, "Deployment/shop/web", "missing-reference", "ConfigMap shop/gone "), 1);
	ck_assert_int_eq(count_findings(j, "Deployment/shop/web", "missing-reference", "Secret shop/missing-secret"), 1);
	ck_assert_int_eq(count_findings(j, "Deployment/shop/web", "missing-reference", "gone-projected"), 0); /* optional */
	ck_assert_int_eq(count_findings(j, "Ingress/shop/web", "missing-reference", "Service shop/nosvc"), 1);
	ck_assert_str_eq(severity_of(j, "Ingress/shop/web", "missing-reference"), "medium");
	ck_assert_int_eq(count_findings(j, "Ingress/shop/web", "missing-reference", "cert-manager-made"), 1);
	ck_assert_int_eq(count_findings(j, "RoleBinding/shop/web-reader", "missing-reference", "ServiceAccount other/ghost"), 1);
	ck_assert_int_eq(count_findings(j, "ClusterRoleBinding/admins", "missing-reference", NULL), 0);
	ck_assert_int_eq(count_findings(j, "PodDisruptionBudget/shop/none", "pdb-selects-nothing", NULL), 1);
	/* api has 2 replicas and no PDB; web has 3 and a PDB */
	ck_assert_int_eq(count_findings(j, "Deployment/shop/api", "no-pdb", "2 replicas"), 1);
	ck_assert_int_eq(count_findings(j, "Deployment/shop/web", "no-pdb", NULL), 0);
	ck_assert_int_eq(count_findings(j, "Deployment/other/web", "no-pdb", NULL), 0);

	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(j, "summary"), "nodes")), (json_int_t)objs.len);
	json_decref(j);
	engine_objects_dispose(&objs);
}
END_TEST

START_TEST(test_engine_analyze__container_findings)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	json_t *j;

	add(&objs, "{'apiVersion':'apps/v1','kind':'DaemonSet','metadata':{'name':'agent','namespace':'ops'},"
		   "'spec':{'selector':{'matchLabels':{'app':'agent'}},'template':{'metadata':{'labels':{'app':'agent'}},"
		   "'spec':{'securityContext':{'runAsUser':0},'initContainers':[{'name':'init','image':'busybox:1.36'}],"
		   "'containers':[{'name':'a','image':'nginx','securityContext':{'privileged':true}},"
		   "{'name':'b','image':'reg.example:5000/team/b:latest','securityContext':{'allowPrivilegeEscalation':true,'runAsUser':1000},"
		   "'resources':{'requests':{'cpu':'1'}},'livenessProbe':{'exec':{'command':['true']}}},"
		   "{'name':'c','image':'reg.example:5000/team/c@sha256:0123','securityContext':{'runAsUser':0},"
		   "'resources':{'limits':{'cpu':'1'},'requests':{'cpu':'1'}},'livenessProbe':{'grpc':{'port':1}},'readinessProbe':{'grpc':{'port':1}}}]}}}}");
	add(&objs, "{'apiVersion':'batch/v1','kind':'CronJob','metadata':{'name':'nightly','namespace':'ops'},"
		   "'spec':{'schedule':'0 1 * * *','jobTemplate':{'spec':{'template':{'spec':{'restartPolicy':'OnFailure',"
		   "'containers':[{'name':'job','image':'reg.example:5000/job:2','resources':{'limits':{'cpu':'1'},'requests':{'cpu':'1'}}}]}}}}}}");
	j = analyze(&objs);

	const char *ds = "DaemonSet/ops/agent";
	ck_assert_int_eq(count_findings(j, ds, "image-latest", "'a' image 'nginx' has no tag"), 1);
	ck_assert_int_eq(count_findings(j, ds, "image-latest", "'b' image 'reg.example:5000/team/b:latest' uses the :latest tag"), 1);
	ck_assert_int_eq(count_findings(j, ds, "image-latest", NULL), 2); /* not c (digest), not init (tagged) */
	ck_assert_int_eq(count_findings(j, ds, "privileged", "'a'"), 1);
	ck_assert_int_eq(count_findings(j, ds, "privileged", NULL), 1);
	ck_assert_int_eq(count_findings(j, ds, "privilege-escalation", "'b'"), 1);
	/* pod-level runAsUser 0 applies to init, a and c (explicit 0); b overrides with 1000 */
	ck_assert_int_eq(count_findings(j, ds, "run-as-root", NULL), 3);
	ck_assert_int_eq(count_findings(j, ds, "run-as-root", "'b'"), 0);
	ck_assert_str_eq(severity_of(j, ds, "run-as-root"), "high");
	ck_assert_int_eq(count_findings(j, ds, "no-resources", "container 'a' has no resource requests or limits"), 1);
	ck_assert_int_eq(count_findings(j, ds, "no-resources", "init container 'init' has no resource requests or limits"), 1);
	ck_assert_int_eq(count_findings(j, ds, "no-resources", "'b' has no resource limits"), 1);
	ck_assert_int_eq(count_findings(j, ds, "no-resources", "'c'"), 0);
	ck_assert_int_eq(count_findings(j, ds, "no-probes", "'a' has no liveness or readiness probe"), 1);
	ck_assert_int_eq(count_findings(j, ds, "no-probes", "'b' has no readiness probe"), 1);
	ck_assert_int_eq(count_findings(j, ds, "no-probes", "'c'"), 0);
	ck_assert_int_eq(count_findings(j, ds, "no-probes", "init"), 0);
	/* batch workloads are not expected to have probes; resources are fine */
	ck_assert_int_eq(count_findings(j, "CronJob/ops/nightly", "no-probes", NULL), 0);
	ck_assert_int_eq(count_findings(j, "CronJob/ops/nightly", "no-resources", NULL), 0);

	/* findings are ordered by severity: high first, low last */
	const json_t *f = json_object_get(j, "findings");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(f, 0), "severity")), "high");
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(f, json_array_size(f) - 1), "severity")), "low");
	json_decref(j);
	engine_objects_dispose(&objs);
}
END_TEST

/* The same objects in another order give the same JSON, byte for byte. */
START_TEST(test_engine_analyze__deterministic)
{
	engine_objects a = ENGINE_OBJECTS_INIT, b = ENGINE_OBJECTS_INIT;
	json_t *ja, *jb;
	char *sa, *sb;

	shop(&a);
	for (size_t i = a.len; i-- > 0;)
		ck_assert_int_eq(engine_objects_add_take(&b, json_deep_copy(a.items[i].obj), "r.yaml", (int)i, 1), 0);
	/* rotate the reversed list too, so neither order is a simple mirror */
	ja = analyze(&a);
	jb = analyze(&b);
	sa = json_dumps(ja, JSON_COMPACT);
	sb = json_dumps(jb, JSON_COMPACT);
	ck_assert_ptr_nonnull(sa);
	ck_assert_ptr_nonnull(sb);
	ck_assert_str_eq(sa, sb);
	/* nodes are sorted: cluster-scoped ("" namespace) first, then namespaces in order */
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(json_object_get(ja, "nodes"), 0), "id")),
			 "ClusterRole/web-nodes");
	free(sa);
	free(sb);
	json_decref(ja);
	json_decref(jb);
	engine_objects_dispose(&a);
	engine_objects_dispose(&b);
}
END_TEST

START_TEST(test_engine_analyze__empty_and_invalid)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_graph *g = NULL;
	json_t *j;

	j = analyze(&objs);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "nodes")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "edges")), 0);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "findings")), 0);
	json_decref(j);

	add(&objs, "{'apiVersion':'v1','kind':'ConfigMap','metadata':{'namespace':'x'}}");
	ck_assert_int_eq(engine_graph_build(&g, &objs), DHG_EINVALID);
	ck_assert_ptr_null(g);
	ck_assert(strstr(dhg_error_last()->message, "test.yaml") != NULL);
	ck_assert(strstr(dhg_error_last()->message, "metadata.name") != NULL);
	engine_graph_free(NULL);
	engine_objects_dispose(&objs);
}
END_TEST

/* A selector value that is not a string, and a StatefulSet whose service is not headless. */
START_TEST(test_engine_analyze__statefulset_service)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	json_t *j;

	add(&objs, "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db','namespace':'d'},"
		   "'spec':{'serviceName':'db','replicas':1,'selector':{'matchLabels':{'app':'db'}},'template':{'metadata':{'labels':{'app':'db'}},"
		   "'spec':{'containers':[" GOOD_CONTAINER "]}},'volumeClaimTemplates':[{'metadata':{'name':'data'}}]}}");
	add(&objs, "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'db2','namespace':'d'},"
		   "'spec':{'serviceName':'db2','replicas':2,'selector':{'matchLabels':{'app':'db2'}},'template':{'metadata':{'labels':{'app':'db2'}},"
		   "'spec':{'containers':[" GOOD_CONTAINER "]}}}}");
	add(&objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'db','namespace':'d'},'spec':{'clusterIP':'None','selector':{'app':'db'}}}");
	add(&objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'num','namespace':'d'},'spec':{'selector':{'app':80}}}");
	j = analyze(&objs);
	ck_assert(has_edge(j, "StatefulSet/d/db", "Service/d/db", "headless-service"));
	ck_assert(has_edge(j, "Service/d/db", "StatefulSet/d/db", "selects"));
	ck_assert_int_eq(count_findings(j, "StatefulSet/d/db", "statefulset-service-not-headless", NULL), 0);
	ck_assert_int_eq(count_findings(j, "StatefulSet/d/db2", "missing-reference", "Service d/db2"), 1);
	ck_assert_int_eq(count_findings(j, "StatefulSet/d/db2", "no-pdb", "2 replicas"), 1);
	ck_assert_int_eq(count_findings(j, "Service/d/num", "service-selects-nothing", NULL), 1);
	json_decref(j);
	engine_objects_dispose(&objs);
}
END_TEST

/* HPA minReplicas counts for the PDB finding; custom resources point at their CRD. */
START_TEST(test_engine_analyze__hpa_and_crd)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	json_t *j;

	add(&objs, "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'scaled','namespace':'s'},"
		   "'spec':{'selector':{'matchLabels':{'app':'scaled'}},'template':{'metadata':{'labels':{'app':'scaled'}},"
		   "'spec':{'containers':[" GOOD_CONTAINER "]}}}}");
	add(&objs, "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'one','namespace':'s'},"
		   "'spec':{'replicas':1,'selector':{'matchLabels':{'app':'one'}},'template':{'metadata':{'labels':{'app':'one'}},"
		   "'spec':{'containers':[" GOOD_CONTAINER "]}}}}");
	add(&objs, "{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','metadata':{'name':'scaled','namespace':'s'},"
		   "'spec':{'scaleTargetRef':{'apiVersion':'apps/v1','kind':'Deployment','name':'scaled'},'minReplicas':3,'maxReplicas':9}}");
	add(&objs, "{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','metadata':{'name':'one','namespace':'s'},"
		   "'spec':{'scaleTargetRef':{'apiVersion':'apps/v1','kind':'Deployment','name':'one'},'maxReplicas':4}}");
	add(&objs, "{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition','metadata':{'name':'widgets.acme.io'},"
		   "'spec':{'group':'acme.io','names':{'kind':'Widget','plural':'widgets'},'scope':'Namespaced'}}");
	add(&objs, "{'apiVersion':'acme.io/v1','kind':'Widget','metadata':{'name':'w','namespace':'s'},'spec':{}}");
	add(&objs, "{'apiVersion':'other.io/v1','kind':'Widget','metadata':{'name':'x','namespace':'s'},'spec':{}}");
	j = analyze(&objs);
	ck_assert_int_eq(count_findings(j, "Deployment/s/scaled", "no-pdb", "at least 3 replicas (HPA minReplicas)"), 1);
	ck_assert_int_eq(count_findings(j, "Deployment/s/one", "no-pdb", NULL), 0); /* HPA minReplicas defaults to 1 */
	ck_assert(has_edge(j, "Widget/s/w", "CustomResourceDefinition/widgets.acme.io", "instance-of"));
	ck_assert(!has_edge(j, "Widget/s/x", "CustomResourceDefinition/widgets.acme.io", "instance-of"));
	json_decref(j);
	engine_objects_dispose(&objs);
}
END_TEST

/* Fields of unexpected shapes are ignored, never dereferenced blindly. */
START_TEST(test_engine_analyze__odd_shapes)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	json_t *j;

	add(&objs, "{'apiVersion':'apps/v1','kind':'Deployment','metadata':{'name':'odd','namespace':'o'},"
		   "'spec':{'replicas':'3','template':{'metadata':{'labels':['x']},'spec':{'containers':[7,{'name':1,'image':5,"
		   "'env':{'a':1},'envFrom':[1,{'configMapRef':'x'}],'securityContext':[]},{'image':'a:latest'}],"
		   "'volumes':[1,{'configMap':[]},{'projected':{'sources':7}}],'imagePullSecrets':'x','serviceAccountName':3}}}}");
	add(&objs, "{'apiVersion':'apps/v1','kind':'StatefulSet','metadata':{'name':'odd','namespace':'o'},'spec':{'template':5}}");
	add(&objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'odd','namespace':'o'},'spec':{'selector':['a']}}");
	add(&objs, "{'apiVersion':'v1','kind':'Service','metadata':{'name':'odd2','namespace':'o'},'spec':7}");
	add(&objs, "{'apiVersion':'policy/v1','kind':'PodDisruptionBudget','metadata':{'name':'odd','namespace':'o'},"
		   "'spec':{'selector':{'matchExpressions':[1,{'key':'a'}],'matchLabels':{'a':1}}}}");
	add(&objs, "{'apiVersion':'networking.k8s.io/v1','kind':'Ingress','metadata':{'name':'odd','namespace':'o'},"
		   "'spec':{'rules':[1,{'http':{'paths':[1,{'backend':5}]}}],'tls':'x','defaultBackend':{'service':7}}}");
	add(&objs, "{'apiVersion':'autoscaling/v2','kind':'HorizontalPodAutoscaler','metadata':{'name':'odd','namespace':'o'},"
		   "'spec':{'scaleTargetRef':7,'minReplicas':'2'}}");
	add(&objs, "{'apiVersion':'rbac.authorization.k8s.io/v1','kind':'RoleBinding','metadata':{'name':'odd','namespace':'o'},"
		   "'roleRef':'x','subjects':[1,{'kind':'ServiceAccount'}]}");
	add(&objs, "{'apiVersion':'apiextensions.k8s.io/v1','kind':'CustomResourceDefinition','metadata':{'name':'odd'},'spec':[]}");
	j = analyze(&objs);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "nodes")), 9);
	ck_assert_uint_eq(json_array_size(json_object_get(j, "edges")), 0);
	ck_assert_int_eq(count_findings(j, "Deployment/o/odd", "image-latest", "uses the :latest tag"), 1);
	ck_assert_int_eq(count_findings(j, "Deployment/o/odd", "no-pdb", NULL), 0); /* replicas '3' is not a number */
	json_decref(j);
	engine_objects_dispose(&objs);
}
END_TEST

Suite *engine_analyze_suite(void)
{
	Suite *s = suite_create("engine_analyze");
	TCase *tc = tcase_create("analyze");
	tcase_add_test(tc, test_engine_analyze__relationships);
	tcase_add_test(tc, test_engine_analyze__container_findings);
	tcase_add_test(tc, test_engine_analyze__deterministic);
	tcase_add_test(tc, test_engine_analyze__empty_and_invalid);
	tcase_add_test(tc, test_engine_analyze__statefulset_service);
	tcase_add_test(tc, test_engine_analyze__hpa_and_crd);
	tcase_add_test(tc, test_engine_analyze__odd_shapes);
	suite_add_tcase(s, tc);
	return s;
}
