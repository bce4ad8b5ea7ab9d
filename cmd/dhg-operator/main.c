/* dhg-operator: turns flags (and DHG_<FLAG> environment variables) into a configured
 * controller and runs it until SIGTERM/SIGINT. */
#include <curl/curl.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "controller/helmchart.h"
#include "httpserver/metrics.h"
#include "httpserver/server.h"
#include "kube/client.h"
#include "kube/config.h"
#include "runtime/leader.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

#ifndef DHG_VERSION
#define DHG_VERSION "0.0.0-dev"
#endif

typedef struct flags {
	const char *kubeconfig;
	const char *metrics_addr;
	const char *probe_addr;
	bool leader_elect;
	const char *le_namespace;
	const char *le_id;
	const char *watch[CONTROLLER_MAX_WATCH_NAMESPACES];
	size_t nwatch;
	bool allow_cross_ns;
	long concurrency;
	const char *work_dir;
	const char *output_root;
	const char *debounce;
	const char *log_level;
	const char *log_format;
	const char *webhook_secret_file;
	char *watch_env; /* owned copy of DHG_WATCH_NAMESPACE */
} flags;

static const char usage[] =
	"Usage: dhg-operator [flags]\n"
	"\n"
	"Reconciles dhg.deckhouse.io/v1alpha1 HelmChart resources: generates Helm charts from cluster\n"
	"objects (or git manifests) and writes them to git, OCI registries or a local directory.\n"
	"Every flag can also be set with an environment variable DHG_<FLAG> (upper case, '-' -> '_'),\n"
	"e.g. DHG_METRICS_BIND_ADDRESS=:9090; a flag on the command line wins.\n"
	"\n"
	"  --kubeconfig PATH                 kubeconfig file (default: $KUBECONFIG, in-cluster, ~/.kube/config)\n"
	"  --metrics-bind-address ADDR       /metrics and the webhook (default \":8080\"; \"0\" disables)\n"
	"  --health-probe-bind-address ADDR  /healthz and /readyz (default \":8081\"; \"0\" disables)\n"
	"  --leader-elect                    use a Lease so that only one replica writes (default false)\n"
	"  --leader-election-namespace NS    namespace of the Lease (default: the kubeconfig's namespace)\n"
	"  --leader-election-id NAME         name of the Lease (default \"dhg-operator.dhg.deckhouse.io\")\n"
	"  --watch-namespace NS              watch only NS; repeatable, or comma-separated (default: all)\n"
	"  --allow-cross-namespace           let a HelmChart select objects in other namespaces (default false)\n"
	"  --concurrency N                   reconcile workers (default 4)\n"
	"  --work-dir DIR                    scratch space for git clones (default /tmp/dhg-operator)\n"
	"  --output-root DIR                 enable spec.output.local: charts go to DIR/<namespace>/<name>/\n"
	"  --default-debounce DURATION       spec.sync.debounce default (default 10s; e.g. 500ms, 0)\n"
	"  --webhook-secret-file PATH        secret for POST /hooks/reconcile (HMAC); the webhook is off without it\n"
	"  --log-level LEVEL                 debug, info, warn, error (default info)\n"
	"  --log-format FORMAT               json or text (default json)\n"
	"  --print-rbac                      print the RBAC rules the code needs (JSON) and exit\n"
	"  --version                         print the version\n"
	"  --help                            this text\n";

static controller_helmchart *g_ctl;
static atomic_int g_signals;

static void on_signal(int sig)
{
	(void)sig;
	if (atomic_fetch_add(&g_signals, 1) == 0 && g_ctl)
		controller_helmchart_stop(g_ctl);
	else if (atomic_load(&g_signals) > 1)
		_exit(130); /* second signal: stop now */
}

static int parse_bool(bool *out, const char *v, const char *name)
{
	if (!v || !strcmp(v, "true") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "0"))
		*out = false;
	else
		return dhg_error_set(DHG_EINVALID, "--%s: \"%s\" is not true or false", name, v);
	return 0;
}

static int add_watch(flags *f, char *list)
{
	char *save = NULL, *tok;
	for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!*tok)
			continue;
		if (!dhg_dns1123_label_valid(tok))
			return dhg_error_set(DHG_EINVALID, "--watch-namespace: \"%s\" is not a namespace name", tok);
		if (f->nwatch >= CONTROLLER_MAX_WATCH_NAMESPACES)
			return dhg_error_set(DHG_EINVALID, "--watch-namespace: at most %d", CONTROLLER_MAX_WATCH_NAMESPACES);
		f->watch[f->nwatch++] = tok;
	}
	return 0;
}

/* name -> pointer of a string flag */
static const char **str_flag(flags *f, const char *name)
{
	if (!strcmp(name, "kubeconfig")) return &f->kubeconfig;
	if (!strcmp(name, "metrics-bind-address")) return &f->metrics_addr;
	if (!strcmp(name, "health-probe-bind-address")) return &f->probe_addr;
	if (!strcmp(name, "leader-election-namespace")) return &f->le_namespace;
	if (!strcmp(name, "leader-election-id")) return &f->le_id;
	if (!strcmp(name, "work-dir")) return &f->work_dir;
	if (!strcmp(name, "output-root")) return &f->output_root;
	if (!strcmp(name, "default-debounce")) return &f->debounce;
	if (!strcmp(name, "log-level")) return &f->log_level;
	if (!strcmp(name, "log-format")) return &f->log_format;
	if (!strcmp(name, "webhook-secret-file")) return &f->webhook_secret_file;
	return NULL;
}

static const char *const all_flags[] = { "kubeconfig", "metrics-bind-address", "health-probe-bind-address",
	"leader-election-namespace", "leader-election-id", "work-dir", "output-root", "default-debounce",
	"log-level", "log-format", "webhook-secret-file", "leader-elect", "allow-cross-namespace",
	"concurrency", "watch-namespace", NULL };

static int set_flag(flags *f, const char *name, const char *value, char *mutable_value)
{
	const char **sp = str_flag(f, name);
	if (sp) {
		if (!value)
			return dhg_error_set(DHG_EINVALID, "--%s needs a value", name);
		*sp = value;
		return 0;
	}
	if (!strcmp(name, "leader-elect"))
		return parse_bool(&f->leader_elect, value, name);
	if (!strcmp(name, "allow-cross-namespace"))
		return parse_bool(&f->allow_cross_ns, value, name);
	if (!strcmp(name, "concurrency")) {
		if (!value || dhg_parse_long(&f->concurrency, value, 1, 256) < 0)
			return dhg_error_set(DHG_EINVALID, "--concurrency: expected a number 1..256");
		return 0;
	}
	if (!strcmp(name, "watch-namespace")) {
		if (!mutable_value)
			return dhg_error_set(DHG_EINVALID, "--watch-namespace needs a value");
		return add_watch(f, mutable_value);
	}
	return dhg_error_set(DHG_EINVALID, "unknown flag --%s (see --help)", name);
}

static bool is_bool_flag(const char *n)
{
	return !strcmp(n, "leader-elect") || !strcmp(n, "allow-cross-namespace");
}

static bool known_flag(const char *n)
{
	for (int i = 0; all_flags[i]; i++)
		if (!strcmp(all_flags[i], n))
			return true;
	return false;
}

static int parse_env(flags *f)
{
	for (int i = 0; all_flags[i]; i++) {
		char env[64] = "DHG_";
		size_t j = 4;
		for (const char *p = all_flags[i]; *p && j < sizeof(env) - 1; p++)
			env[j++] = *p == '-' ? '_' : (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
		env[j] = 0;
		const char *v = getenv(env);
		if (!v)
			continue;
		if (!strcmp(all_flags[i], "watch-namespace")) {
			if (!(f->watch_env = dhg_strdup(v)))
				return DHG_ENOMEM;
			if (add_watch(f, f->watch_env) < 0)
				return dhg_error_wrap("%s", env);
			continue;
		}
		if (set_flag(f, all_flags[i], v, NULL) < 0)
			return dhg_error_wrap("%s", env);
	}
	return 0;
}

static int parse_args(flags *f, int argc, char **argv, int *want_exit)
{
	bool cli_watch = false;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i], *eq, name[64];
		const char *value = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			*want_exit = 1;
			return 0;
		}
		if (!strcmp(a, "--print-rbac")) {
			json_t *rules = NULL;
			char *txt = NULL;
			if (controller_rbac_rules(&rules) < 0 || !(txt = json_dumps(rules, JSON_INDENT(2)))) {
				json_decref(rules);
				return dhg_error_set(DHG_ENOMEM, "out of memory printing the RBAC rules");
			}
			puts(txt);
			free(txt);
			json_decref(rules);
			*want_exit = 1;
			return 0;
		}
		if (!strcmp(a, "--version")) {
			printf("dhg-operator %s\n", DHG_VERSION);
			*want_exit = 1;
			return 0;
		}
		if (strncmp(a, "--", 2) != 0)
			return dhg_error_set(DHG_EINVALID, "unexpected argument \"%s\" (see --help)", a);
		a += 2;
		eq = strchr(a, '=');
		if (eq) {
			snprintf(name, sizeof(name), "%.*s", (int)(eq - a), a);
			value = eq + 1;
		} else {
			snprintf(name, sizeof(name), "%s", a);
			if (!known_flag(name))
				return dhg_error_set(DHG_EINVALID, "unknown flag --%s (see --help)", name);
			if (!is_bool_flag(name)) {
				if (i + 1 >= argc)
					return dhg_error_set(DHG_EINVALID, "--%s needs a value", name);
				value = argv[++i];
			}
		}
		if (!strcmp(name, "watch-namespace") && !cli_watch) {
			f->nwatch = 0; /* the command line replaces the environment */
			cli_watch = true;
		}
		if (set_flag(f, name, value, (char *)value) < 0)
			return DHG_EINVALID;
	}
	return 0;
}

static bool ready_cb(void *p)
{
	return controller_helmchart_ready(p);
}

static int push_cb(void *p, const json_t *urls)
{
	return controller_helmchart_push(p, urls);
}

int main(int argc, char **argv)
{
	flags f = { NULL, ":8080", ":8081", false, NULL, "dhg-operator.dhg.deckhouse.io", { 0 }, 0, false, 4,
		    "/tmp/dhg-operator", NULL, "10s", "info", "json", NULL, NULL };
	kube_config *cfg = NULL;
	kube_client *client = NULL;
	rt_leader *leader = NULL;
	metrics_registry *metrics = NULL;
	controller_helmchart *ctl = NULL;
	httpserver *msrv = NULL, *psrv = NULL;
	char *secret = NULL;
	int rc = 1, want_exit = 0, level, error;
	long long debounce_ms;

	/* before any jansson call: a parse that ran out of memory then fails instead of returning a
	 * document with characters missing (util/json.h) */
	dhg_json_track_allocations();

	if (parse_env(&f) < 0 || parse_args(&f, argc, argv, &want_exit) < 0) {
		fprintf(stderr, "dhg-operator: %s\n", dhg_error_last()->message);
		return 2;
	}
	if (want_exit)
		return 0;
	level = dhg_log_level_parse(f.log_level);
	if (level < 0 || (strcmp(f.log_format, "json") && strcmp(f.log_format, "text"))) {
		fprintf(stderr, "dhg-operator: --log-level must be debug|info|warn|error and --log-format json|text\n");
		return 2;
	}
	if (dhg_parse_duration_ms(&debounce_ms, f.debounce) < 0) {
		fprintf(stderr, "dhg-operator: --default-debounce: %s\n", dhg_error_last()->message);
		return 2;
	}
	dhg_log_configure(level, strcmp(f.log_format, "text") ? DHG_LOG_FORMAT_JSON : DHG_LOG_FORMAT_TEXT, NULL);
	if (f.webhook_secret_file) {
		size_t len;
		if (dhg_file_read(&secret, &len, f.webhook_secret_file, 4096) < 0) {
			fprintf(stderr, "dhg-operator: --webhook-secret-file: %s\n", dhg_error_last()->message);
			return 2;
		}
		while (len && (secret[len - 1] == '\n' || secret[len - 1] == '\r'))
			secret[--len] = 0;
	}
	/* glibc gives every thread that allocates its own arena (up to 8 per core): ~35 KB each
	 * at idle, and the informer cache fragments across them. The threads mostly wait on
	 * I/O; two arenas are enough. MALLOC_ARENA_MAX in the environment still wins. */
	if (!getenv("MALLOC_ARENA_MAX") && mallopt(M_ARENA_MAX, 2) != 1)
		DHG_LOG_WARN("mallopt(M_ARENA_MAX, 2) failed; keeping glibc's default arenas");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		dhg_error_set(DHG_ERROR, "cannot initialize libcurl");
		goto fail;
	}

	{
		kube_config_options co = KUBE_CONFIG_OPTIONS_INIT;
		kube_client_options kco = KUBE_CLIENT_OPTIONS_INIT;
		co.kubeconfig = f.kubeconfig;
		if ((error = kube_config_load(&cfg, &co)) < 0)
			goto fail;
		kco.qps = 50;
		kco.burst = 100;
		if ((error = kube_client_new(&client, cfg, &kco)) < 0)
			goto fail;
	}
	if (f.leader_elect) {
		rt_leader_options lo = RT_LEADER_OPTIONS_INIT;
		rt_lease_ops ops = rt_lease_ops_kube(client);
		lo.namespace_ = f.le_namespace ? f.le_namespace : kube_config_namespace(cfg);
		lo.name = f.le_id;
		if ((error = rt_leader_new(&leader, &ops, &lo)) < 0)
			goto fail;
	}
	if ((error = metrics_registry_new(&metrics)) < 0)
		goto fail;
	{
		controller_options o = CONTROLLER_OPTIONS_INIT;
		o.client = client;
		o.watch_namespaces = f.watch;
		o.nwatch = f.nwatch;
		o.allow_cross_namespace = f.allow_cross_ns;
		o.concurrency = (int)f.concurrency;
		o.work_dir = f.work_dir;
		o.output_root = f.output_root;
		o.default_debounce_ms = debounce_ms;
		o.leader = leader;
		o.metrics = metrics;
		if ((error = controller_helmchart_new(&ctl, &o)) < 0)
			goto fail;
	}
	{
		httpserver_options ho = HTTPSERVER_OPTIONS_INIT;
		ho.address = f.metrics_addr;
		ho.metrics = metrics;
		ho.ready = ready_cb;
		ho.payload = ctl;
		if (secret) {
			ho.on_push = push_cb;
			ho.webhook_secret = secret;
		}
		if ((error = httpserver_start(&msrv, &ho)) < 0)
			goto fail;
		httpserver_options po = HTTPSERVER_OPTIONS_INIT;
		po.address = f.probe_addr;
		po.ready = ready_cb;
		po.payload = ctl;
		if ((error = httpserver_start(&psrv, &po)) < 0)
			goto fail;
	}
	g_ctl = ctl;
	{
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	DHG_LOG_INFO("starting dhg-operator", "version", DHG_VERSION, "server", kube_config_server(cfg),
		     "metrics", f.metrics_addr, "probes", f.probe_addr, "leaderElect", f.leader_elect ? "true" : "false",
		     "outputRoot", f.output_root ? f.output_root : "");
	error = controller_helmchart_run(ctl);
	g_ctl = NULL;
	if (error < 0) {
		DHG_LOG_ERROR("manager stopped", "error", dhg_error_last()->message);
		rc = 1;
	} else {
		DHG_LOG_INFO("stopped cleanly");
		rc = 0;
	}
	goto done;
fail:
	fprintf(stderr, "dhg-operator: %s\n", dhg_error_last()->message);
	rc = 1;
done:
	httpserver_free(msrv);
	httpserver_free(psrv);
	controller_helmchart_free(ctl);
	rt_leader_free(leader);
	metrics_registry_free(metrics);
	kube_client_free(client);
	kube_config_free(cfg);
	if (secret) {
		memset(secret, 0, strlen(secret));
		free(secret);
	}
	free(f.watch_env);
	curl_global_cleanup();
	return rc;
}
