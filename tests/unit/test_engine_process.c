/* Processors: what each kind family parameterizes, and what it keeps literal. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "engine/process/process.h"
#include "util/error.h"

static engine_chart *gen1(const char *json, engine_secrets_mode mode)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	json_error_t e;
	json_t *arr = json_loads(json, 0, &e);
	size_t i;
	json_t *o;

	ck_assert_msg(arr != NULL, "bad test json: %s", e.text);
	if (!json_is_array(arr)) {
		json_t *a = json_array();
		json_array_append_new(a, arr);
		arr = a;
	}
	json_array_foreach(arr, i, o) ck_assert_int_eq(engine_objects_add_take(&objs, json_incref(o), "t", (int)i, 1), 0);
	json_decref(arr);
	opts.chart_name = "c";
	opts.secrets = mode;
	ck_assert_msg(engine_chart_generate(&c, &objs, &opts) == 0, "generate: %s", dhg_error_last()->message);
	engine_objects_dispose(&objs);
	return c;
}

static const char *file(const engine_chart *c, const char *path)
{
	const engine_file *f = engine_chart_file(c, path);
	ck_assert_msg(f != NULL, "missing %s", path);
	return f->data;
}

#define HAS(c, path, needle) ck_assert_msg(strstr(file(c, path), needle), "%s lacks:\n%s\n---\n%s", path, needle, file(c, path))
#define HASNT(c, path, needle) ck_assert_msg(!strstr(file(c, path), needle), "%s has:\n%s\n---\n%s", path, needle, file(c, path))

START_TEST(test_engine_process__camel)
{
	const char *in[] = {"web-frontend", "my.app", "a", "api-v2-x", "1st-app", "---", NULL};
	const char *want[] = {"webFrontend", "myApp", "a", "apiV2X", "1stApp", "x"};
	for (size_t i = 0; in[i]; i++) {
		char *c = engine_process__camel(in[i]);
		ck_assert_str_eq(c, want[i]);
		free(c);
	}
}
END_TEST

START_TEST(test_engine_process__images)
{
	engine_chart *c = gen1(
		"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"containers\":["
		"{\"name\":\"a\",\"image\":\"nginx\"},"
		"{\"name\":\"b\",\"image\":\"nginx:1.25\"},"
		"{\"name\":\"c\",\"image\":\"registry:5000/x/y:tag\",\"imagePullPolicy\":\"Always\"},"
		"{\"name\":\"d\",\"image\":\"img@sha256:abc\"},"
		"{\"name\":\"e-f\",\"image\":\"registry:5000/x@sha256:def\"},"
		"{\"name\":\"e--f\",\"image\":\"z:9\"}]}}",
		ENGINE_SECRETS_MASK);
	const char *v = file(c, "values.yaml");
	ck_assert(strstr(v, "      a:\n        # -- Image of container a: repository, tag and optional digest (Pod p)\n"
			    "        image:\n          digest: \"\"\n          repository: nginx\n          tag: \"\"\n"));
	ck_assert(strstr(v, "          repository: nginx\n          tag: \"1.25\"\n"));
	ck_assert(strstr(v, "          pullPolicy: Always\n          repository: registry:5000/x/y\n          tag: tag\n"));
	ck_assert(strstr(v, "          digest: sha256:abc\n          repository: img\n          tag: \"\"\n"));
	ck_assert(strstr(v, "      eF:\n"));
	ck_assert(strstr(v, "          digest: sha256:def\n          repository: registry:5000/x\n          tag: \"\"\n"));
	HAS(c, "templates/p-pod.yaml", "image: {{ include \"c.image\" .Values.p.pod.containers.a.image | toJson }}");
	HAS(c, "templates/p-pod.yaml", "imagePullPolicy: {{ .Values.p.pod.containers.c.image.pullPolicy | toJson }}");
	HAS(c, "templates/_helpers.tpl", "{{- define \"c.image\" -}}");
	/* "e-f" and "e--f" share a camelCase: the later one gets a suffix */
	HAS(c, "templates/p-pod.yaml", "image: {{ include \"c.image\" .Values.p.pod.containers.eF2.image | toJson }}");
	/* appVersion: the most common tag (ties: smallest) */
	HAS(c, "Chart.yaml", "appVersion: \"1.25\"");
	engine_chart_free(c);
}
END_TEST

START_TEST(test_engine_process__workload_fields)
{
	engine_chart *c = gen1(
		"[{\"apiVersion\":\"apps/v1\",\"kind\":\"StatefulSet\",\"metadata\":{\"name\":\"db\",\"namespace\":\"n\"},\"spec\":{"
		"\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"db\"}},"
		"\"template\":{\"metadata\":{\"labels\":{\"app\":\"db\",\"tier\":\"data\"},\"annotations\":{\"a\":\"1\"}},"
		"\"spec\":{\"nodeSelector\":{\"disk\":\"ssd\"},\"tolerations\":[{\"key\":\"k\",\"operator\":\"Exists\"}],"
		"\"containers\":[{\"name\":\"pg\",\"image\":\"postgres:16\",\"env\":[{\"name\":\"A\",\"value\":\"x\"},"
		"{\"name\":\"B\",\"valueFrom\":{\"fieldRef\":{\"fieldPath\":\"metadata.name\"}}},{\"name\":\"my.var\",\"value\":\"y\"}],"
		"\"resources\":{\"limits\":{\"cpu\":1.5}},"
		"\"volumeMounts\":[{\"name\":\"cfg\",\"mountPath\":\"/c\"}]}],"
		"\"volumes\":[{\"name\":\"cfg\",\"configMap\":{\"name\":\"db-conf\"}}]}},"
		"\"volumeClaimTemplates\":[{\"metadata\":{\"name\":\"data\"},\"spec\":{\"storageClassName\":\"fast\","
		"\"resources\":{\"requests\":{\"storage\":\"10Gi\"}}}}]}},"
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"db-conf\",\"namespace\":\"n\"},\"data\":{\"k\":\"v\"}},"
		"{\"apiVersion\":\"batch/v1\",\"kind\":\"CronJob\",\"metadata\":{\"name\":\"cj\",\"namespace\":\"n\"},\"spec\":{"
		"\"schedule\":\"*/5 * * * *\",\"jobTemplate\":{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"j\","
		"\"image\":\"busybox\"}]}}}}}}]",
		ENGINE_SECRETS_MASK);
	const char *t = file(c, "templates/db-statefulset.yaml");
	const char *v = file(c, "values.yaml");
	/* replicas, env (plain values only), claims, nodeSelector/tolerations as blocks, affinity optional */
	ck_assert(strstr(t, "replicas: {{ .Values.db.statefulSet.replicas | toJson }}"));
	ck_assert(strstr(t, "value: {{ .Values.db.statefulSet.containers.pg.env.A | toJson }}"));
	ck_assert(strstr(t, "value: {{ (index .Values \"db\" \"statefulSet\" \"containers\" \"pg\" \"env\" \"my.var\") | toJson }}"));
	ck_assert(strstr(t, "fieldPath: metadata.name"));
	ck_assert(strstr(t, "storage: {{ .Values.db.statefulSet.volumeClaims.data.size | toJson }}"));
	ck_assert(strstr(t, "storageClassName: {{ .Values.db.statefulSet.volumeClaims.data.storageClass | toJson }}"));
	ck_assert(strstr(t, "nodeSelector:\n        {{- toYaml .Values.db.statefulSet.nodeSelector | nindent 8 }}"));
	ck_assert(strstr(t, "{{- with .Values.db.statefulSet.affinity }}\n      affinity:\n"));
	/* an exact-text float inside resources keeps the block literal */
	ck_assert(strstr(t, "cpu: 1.5") || !strstr(v, "resources"));
	/* selector labels stay literal in the pod template; others become podLabels */
	ck_assert(strstr(t, "      labels:\n        app: db\n        {{- with .Values.db.statefulSet.podLabels }}"));
	ck_assert(strstr(v, "    podLabels:\n      tier: data\n"));
	ck_assert(strstr(v, "    podAnnotations:\n      a: \"1\"\n"));
	/* checksum of the mounted ConfigMap, pod annotations from values */
	ck_assert(strstr(t, "      annotations:\n        checksum/config: {{ (include (print $.Template.BasePath \"/db-conf-configmap.yaml\") $) | sha256sum | quote }}\n"
			    "        {{- with .Values.db.statefulSet.podAnnotations }}\n"));
	HAS(c, "templates/cj-cronjob.yaml", "schedule: {{ .Values.cj.cronJob.schedule | toJson }}");
	HASNT(c, "templates/cj-cronjob.yaml", "checksum/");
	engine_chart_free(c);
}
END_TEST

START_TEST(test_engine_process__service_ingress_pvc_hpa)
{
	engine_chart *c = gen1(
		"[{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"s\"},\"spec\":{\"type\":\"NodePort\","
		"\"ports\":[{\"port\":80},{\"name\":\"metrics-port\",\"port\":9090}]}},"
		"{\"apiVersion\":\"networking.k8s.io/v1\",\"kind\":\"Ingress\",\"metadata\":{\"name\":\"i\"},\"spec\":{"
		"\"tls\":[{\"hosts\":[\"a.example\"],\"secretName\":\"t\"}],"
		"\"rules\":[{\"host\":\"a.example\"},{\"host\":\"b.example\"}]}},"
		"{\"apiVersion\":\"v1\",\"kind\":\"PersistentVolumeClaim\",\"metadata\":{\"name\":\"data\"},\"spec\":{"
		"\"resources\":{\"requests\":{\"storage\":\"5Gi\"}}}},"
		"{\"apiVersion\":\"autoscaling/v2\",\"kind\":\"HorizontalPodAutoscaler\",\"metadata\":{\"name\":\"h\"},\"spec\":{"
		"\"minReplicas\":2,\"maxReplicas\":10}}]",
		ENGINE_SECRETS_MASK);
	const char *v = file(c, "values.yaml");
	HAS(c, "templates/s-service.yaml", "type: {{ .Values.s.service.type | toJson }}");
	HAS(c, "templates/s-service.yaml", "port: {{ .Values.s.service.ports.port0 | toJson }}");
	HAS(c, "templates/s-service.yaml", "port: {{ .Values.s.service.ports.metricsPort | toJson }}");
	HAS(c, "templates/i-ingress.yaml", "host: {{ index .Values.i.ingress.hosts 1 | toJson }}");
	HAS(c, "templates/i-ingress.yaml", "tls:\n    {{- toYaml .Values.i.ingress.tls | nindent 4 }}");
	HAS(c, "templates/data-persistentvolumeclaim.yaml", "storage: {{ .Values.data.persistentVolumeClaim.size | toJson }}");
	HASNT(c, "templates/data-persistentvolumeclaim.yaml", "storageClassName");
	HAS(c, "templates/h-horizontalpodautoscaler.yaml", "maxReplicas: {{ .Values.h.horizontalPodAutoscaler.maxReplicas | toJson }}");
	ck_assert(strstr(v, "      metricsPort: 9090\n      # -- Service port #1 (Service s)\n      port0: 80\n"));
	ck_assert(strstr(v, "    hosts:\n      - a.example\n      - b.example\n"));
	ck_assert(strstr(v, "    minReplicas: 2\n"));
	/* no namespace anywhere: objects stay without one */
	HASNT(c, "templates/s-service.yaml", "namespace");
	engine_chart_free(c);
}
END_TEST

START_TEST(test_engine_process__literal_when_not_exact)
{
	/* replicas as a big integer and a non-canonical number stay literal; null is not a value */
	json_t *o = json_pack("{s:s,s:s,s:{s:s},s:{s:I,s:{s:n}}}", "apiVersion", "apps/v1", "kind", "Deployment", "metadata",
			      "name", "d", "spec", "replicas", (json_int_t)9007199254740993LL, "template", "metadata");
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	json_t *cm = json_pack("{s:s,s:s,s:{s:s},s:{s:o}}", "apiVersion", "v1", "kind", "ConfigMap", "metadata", "name", "m",
			       "data", "n", engine_number_new("0644", 4));
	ck_assert_int_eq(engine_objects_add_take(&objs, o, "t", 0, 1), 0);
	ck_assert_int_eq(engine_objects_add_take(&objs, cm, "t", 1, 1), 0);
	opts.chart_name = "c";
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), 0);
	HAS(c, "templates/d-deployment.yaml", "replicas: 9007199254740993\n");
	HAS(c, "templates/m-configmap.yaml", "\"n\": 0644\n"); /* key quoted: go-yaml reads n as false */
	HASNT(c, "values.yaml", "\nd:\n"); /* nothing of Deployment d is a value */
	engine_chart_free(c);
	engine_objects_dispose(&objs);
}
END_TEST

START_TEST(test_engine_process__release_namespace_option)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	const char *ns[] = {"a", "a", "b"};
	for (int i = 0; i < 3; i++) {
		char name[8] = {'s', (char)('0' + i), 0};
		ck_assert_int_eq(engine_objects_add_take(&objs,
							 json_pack("{s:s,s:s,s:{s:s,s:s}}", "apiVersion", "v1", "kind",
								   "ServiceAccount", "metadata", "name", name, "namespace", ns[i]),
							 "t", i, 1),
				 0);
	}
	opts.chart_name = "c";
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), 0);
	HAS(c, "templates/s0-serviceaccount.yaml", "namespace: {{ .Release.Namespace | quote }}");
	HAS(c, "templates/s2-serviceaccount.yaml", "namespace: b\n");
	engine_chart_free(c);
	opts.release_namespace = "b";
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), 0);
	HAS(c, "templates/s0-serviceaccount.yaml", "namespace: a\n");
	HAS(c, "templates/s2-serviceaccount.yaml", "namespace: {{ .Release.Namespace | quote }}");
	engine_chart_free(c);
	engine_objects_dispose(&objs);
}
END_TEST


START_TEST(test_engine_process__null_and_empty_kept)
{
	/* labels: null stays null (no labels added); an empty pod spec gets no optional blocks */
	engine_chart *c = gen1("[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"m\",\"labels\":null}},"
			       "{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{}}]",
			       ENGINE_SECRETS_MASK);
	HAS(c, "templates/m-configmap.yaml", "  labels: null\n");
	HASNT(c, "templates/m-configmap.yaml", "include");
	HAS(c, "templates/p-pod.yaml", "spec: {}\n");
	engine_chart_free(c);
}
END_TEST


START_TEST(test_engine_process__secret_not_mapping_refused)
{
	/* mask mode cannot mask a data string key by key: an error, never a leak */
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_options opts = ENGINE_OPTIONS_INIT;
	engine_chart *c = NULL;
	ck_assert_int_eq(engine_objects_add_take(&objs, json_pack("{s:s,s:s,s:{s:s},s:s}", "apiVersion", "v1", "kind", "Secret",
								    "metadata", "name", "s", "data", "c2VjcmV0LXZhbHVl"), "t", 0, 1), 0);
	opts.chart_name = "c";
	ck_assert_int_eq(engine_chart_generate(&c, &objs, &opts), DHG_EINVALID);
	ck_assert(c == NULL);
	ck_assert(strstr(dhg_error_last()->message, "must be a mapping"));
	ck_assert(!strstr(dhg_error_last()->message, "c2VjcmV0"));
	engine_objects_dispose(&objs);
}
END_TEST

Suite *engine_process_suite(void)
{
	Suite *s = suite_create("engine_process");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_engine_process__camel);
	tcase_add_test(tc, test_engine_process__images);
	tcase_add_test(tc, test_engine_process__workload_fields);
	tcase_add_test(tc, test_engine_process__service_ingress_pvc_hpa);
	tcase_add_test(tc, test_engine_process__literal_when_not_exact);
	tcase_add_test(tc, test_engine_process__release_namespace_option);
	tcase_add_test(tc, test_engine_process__null_and_empty_kept);
	tcase_add_test(tc, test_engine_process__secret_not_mapping_refused);
	suite_add_tcase(s, tc);
	return s;
}
