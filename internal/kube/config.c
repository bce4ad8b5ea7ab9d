#include "kube/config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

#include "kube/kube_private.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/json.h"
#include "util/log.h"
#include "util/str.h"

extern char **environ;

#define KUBECONFIG_MAX ((size_t)4 << 20)
#define TOKEN_MAX ((size_t)64 << 10)
#define EXEC_OUT_MAX ((size_t)1 << 20)
#define EXEC_TIMEOUT_MS 30000
#define DEFAULT_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

struct kube_config {
	char *server;       /* as configured, no trailing '/' */
	char *context;
	char *ns;
	bool in_cluster;
	/* TLS */
	bool insecure;
	char *ca_file;
	char *ca_data;
	size_t ca_len;
	char *tls_server_name;
	char *cert_file, *cert_data;
	size_t cert_len;
	char *key_file, *key_data;
	size_t key_len;
	/* auth */
	char *token;        /* static token */
	char *token_file;   /* re-read every token_reread_ms */
	char *username, *password;
	char *exec_cmd;
	char **exec_argv;   /* NULL-terminated, argv[0] == exec_cmd */
	char **exec_env;    /* NULL-terminated "NAME=value" additions */
	char *exec_api_version;
	long token_reread_ms;
	/* credential cache */
	pthread_mutex_t lock;
	char *cached_token;
	long long cached_at_ms;
	long long expires_at_ms;  /* exec: 0 = never */
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static void secure_free(char *s, size_t len)
{
	if (s) {
		volatile char *p = s;
		for (size_t i = 0; i < len; i++)
			p[i] = 0;
	}
	free(s);
}

void kube_config_free(kube_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->server);
	free(cfg->context);
	free(cfg->ns);
	free(cfg->ca_file);
	free(cfg->ca_data);
	free(cfg->tls_server_name);
	free(cfg->cert_file);
	free(cfg->cert_data);
	free(cfg->key_file);
	secure_free(cfg->key_data, cfg->key_len);
	secure_free(cfg->token, cfg->token ? strlen(cfg->token) : 0);
	free(cfg->token_file);
	free(cfg->username);
	secure_free(cfg->password, cfg->password ? strlen(cfg->password) : 0);
	free(cfg->exec_cmd);
	free_strv(cfg->exec_argv);
	free_strv(cfg->exec_env);
	free(cfg->exec_api_version);
	secure_free(cfg->cached_token, cfg->cached_token ? strlen(cfg->cached_token) : 0);
	pthread_mutex_destroy(&cfg->lock);
	free(cfg);
}

static int cfg_alloc(kube_config **out)
{
	kube_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return dhg_error_set(DHG_ENOMEM, "kube config: out of memory");
	if (pthread_mutex_init(&cfg->lock, NULL) != 0) {
		free(cfg);
		return dhg_error_set(DHG_ERROR, "kube config: mutex init failed");
	}
	cfg->token_reread_ms = 60000;
	*out = cfg;
	return 0;
}

const char *kube_config_server(const kube_config *cfg) { return cfg->server; }
const char *kube_config_namespace(const kube_config *cfg) { return cfg->ns ? cfg->ns : "default"; }
const char *kube_config_context(const kube_config *cfg) { return cfg->context ? cfg->context : ""; }
bool kube_config_is_in_cluster(const kube_config *cfg) { return cfg->in_cluster; }

static char *dup_strip_slash(const char *s)
{
	char *r = dhg_strdup(s);
	if (r) {
		size_t n = strlen(r);
		while (n > 0 && r[n - 1] == '/')
			r[--n] = 0;
	}
	return r;
}

int kube_config_new_simple(kube_config **out, const char *server, const char *token,
                           const char *ca_file, bool insecure)
{
	kube_config *cfg = NULL;
	int error = cfg_alloc(&cfg);
	if (error < 0)
		return error;
	if (!(cfg->server = dup_strip_slash(server)) || (token && !(cfg->token = dhg_strdup(token))) ||
	    (ca_file && !(cfg->ca_file = dhg_strdup(ca_file)))) {
		kube_config_free(cfg);
		return dhg_error_set(DHG_ENOMEM, "kube config: out of memory");
	}
	cfg->insecure = insecure;
	*out = cfg;
	return 0;
}

/* ---- base64 ------------------------------------------------------------------------- */

/* Kubeconfig rules: both alphabets, all whitespace skipped (util/base64.h). */
int kube_config__base64_decode(char **out, size_t *outlen, const char *in, const char *what)
{
	return dhg_base64_decode(out, outlen, in, strlen(in), DHG_BASE64_ANY | DHG_BASE64_SPACES, KUBECONFIG_MAX,
				 what);
}

/* ---- YAML -> JSON ------------------------------------------------------------------- */

#define YAML_MAX_DEPTH 64

static int yaml_node(json_t **out, yaml_parser_t *p, yaml_event_t *ev, const char *what, int depth);

static int yaml_next(yaml_parser_t *p, yaml_event_t *ev, const char *what)
{
	if (!yaml_parser_parse(p, ev)) {
		if (p->error == YAML_MEMORY_ERROR) /* not the file's fault */
			return dhg_error_set(DHG_ENOMEM, "%s: out of memory", what);
		return dhg_error_set(DHG_EINVALID, "%s: YAML error at line %zu: %s", what,
		                     p->problem_mark.line + 1, p->problem ? p->problem : "parse error");
	}
	return 0;
}

static int yaml_node(json_t **out, yaml_parser_t *p, yaml_event_t *ev, const char *what, int depth)
{
	int error = 0;
	json_t *v = NULL;
	if (depth > YAML_MAX_DEPTH)
		return dhg_error_set(DHG_EINVALID, "%s: YAML nested too deeply", what);
	switch (ev->type) {
	case YAML_SCALAR_EVENT: {
		const char *s = (const char *)ev->data.scalar.value;
		size_t len = ev->data.scalar.length;
		bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (plain && (strcmp(s, "true") == 0 || strcmp(s, "True") == 0))
			v = json_true();
		else if (plain && (strcmp(s, "false") == 0 || strcmp(s, "False") == 0))
			v = json_false();
		else if (plain && (len == 0 || strcmp(s, "null") == 0 || strcmp(s, "~") == 0))
			v = json_null();
		else
			v = json_stringn(s, len);
		break;
	}
	case YAML_SEQUENCE_START_EVENT: {
		v = json_array();
		for (;;) {
			yaml_event_t e;
			if ((error = yaml_next(p, &e, what)) < 0)
				goto done;
			if (e.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&e);
				break;
			}
			json_t *item = NULL;
			error = yaml_node(&item, p, &e, what, depth + 1);
			yaml_event_delete(&e);
			if (error < 0)
				goto done;
			if (!v || json_array_append_new(v, item) < 0) {
				error = dhg_error_set(DHG_ENOMEM, "%s: out of memory", what);
				goto done;
			}
		}
		break;
	}
	case YAML_MAPPING_START_EVENT: {
		v = json_object();
		for (;;) {
			yaml_event_t k;
			if ((error = yaml_next(p, &k, what)) < 0)
				goto done;
			if (k.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&k);
				break;
			}
			if (k.type != YAML_SCALAR_EVENT) {
				yaml_event_delete(&k);
				error = dhg_error_set(DHG_EINVALID, "%s: YAML mapping key must be a scalar", what);
				goto done;
			}
			char *key = dhg_strndup((const char *)k.data.scalar.value, k.data.scalar.length);
			yaml_event_delete(&k);
			if (!key) {
				error = DHG_ENOMEM;
				goto done;
			}
			yaml_event_t ve;
			if ((error = yaml_next(p, &ve, what)) < 0) {
				free(key);
				goto done;
			}
			json_t *val = NULL;
			error = yaml_node(&val, p, &ve, what, depth + 1);
			yaml_event_delete(&ve);
			if (error < 0) {
				free(key);
				goto done;
			}
			if (!v || json_object_set_new(v, key, val) < 0) {
				free(key);
				error = dhg_error_set(DHG_ENOMEM, "%s: out of memory", what);
				goto done;
			}
			free(key);
		}
		break;
	}
	case YAML_ALIAS_EVENT:
		return dhg_error_set(DHG_EINVALID, "%s: YAML aliases are not supported", what);
	default:
		return dhg_error_set(DHG_EINVALID, "%s: unexpected YAML event", what);
	}
	if (!v) {
		error = dhg_error_set(DHG_ENOMEM, "%s: out of memory", what);
		goto done;
	}
	*out = v;
	v = NULL;
done:
	json_decref(v);
	return error;
}

int kube_config__yaml_to_json(json_t **out, const char *text, size_t len, const char *what)
{
	yaml_parser_t p;
	yaml_event_t ev;
	int error = 0;
	json_t *doc = NULL;
	bool have_ev = false;
	if (!yaml_parser_initialize(&p))
		return dhg_error_set(DHG_ENOMEM, "%s: out of memory (YAML parser init failed)", what);
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	for (;;) {
		if ((error = yaml_next(&p, &ev, what)) < 0)
			goto done;
		have_ev = true;
		if (ev.type == YAML_STREAM_END_EVENT)
			break;
		if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_SEQUENCE_START_EVENT ||
		    ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_ALIAS_EVENT) {
			if (doc) {
				error = dhg_error_set(DHG_EINVALID, "%s: more than one YAML document", what);
				goto done;
			}
			if ((error = yaml_node(&doc, &p, &ev, what, 0)) < 0)
				goto done;
		}
		yaml_event_delete(&ev);
		have_ev = false;
	}
	*out = doc ? doc : json_object();
	doc = NULL;
	if (!*out)
		error = dhg_error_set(DHG_ENOMEM, "%s: out of memory", what);
done:
	if (have_ev)
		yaml_event_delete(&ev);
	json_decref(doc);
	yaml_parser_delete(&p);
	return error;
}

/* ---- kubeconfig loading ------------------------------------------------------------- */

typedef struct merged {
	json_t *clusters, *users, *contexts; /* name -> entry (with paths made absolute) */
	char *current_context;
	char *first_file;
} merged;

static void merged_dispose(merged *m)
{
	json_decref(m->clusters);
	json_decref(m->users);
	json_decref(m->contexts);
	free(m->current_context);
	free(m->first_file);
}

/* Makes a relative path field absolute against dir. */
static int absolutize(json_t *obj, const char *field, const char *dir)
{
	const char *p = json_string_value(json_object_get(obj, field));
	if (!p || !*p || p[0] == '/')
		return 0;
	if (p[0] == '~' && p[1] == '/') {
		const char *home = getenv("HOME");
		char *abs = dhg_asprintf("%s%s", home ? home : "", p + 1);
		if (!abs || json_object_set_new(obj, field, json_string(abs)) < 0) {
			free(abs);
			return dhg_error_set(DHG_ENOMEM, "kubeconfig: out of memory");
		}
		free(abs);
		return 0;
	}
	char *abs = dhg_asprintf("%s/%s", dir, p);
	if (!abs || json_object_set_new(obj, field, json_string(abs)) < 0) {
		free(abs);
		return dhg_error_set(DHG_ENOMEM, "kubeconfig: out of memory");
	}
	free(abs);
	return 0;
}

/* Merges the named list `section` ([{name, <inner>: {...}}]) of one file into `into`, first
 * wins. Path fields inside the inner object are made absolute against dir. */
static int merge_section(json_t *into, json_t *doc, const char *section, const char *inner,
                         const char *const *path_fields, const char *dir, const char *file)
{
	json_t *list = json_object_get(doc, section);
	if (!list || json_is_null(list))
		return 0;
	if (!json_is_array(list))
		return dhg_error_set(DHG_EINVALID, "kubeconfig %s: %s: must be a list", file, section);
	size_t i;
	json_t *e;
	json_array_foreach(list, i, e) {
		const char *name = json_string_value(json_object_get(e, "name"));
		json_t *body = json_object_get(e, inner);
		if (!name || !*name)
			return dhg_error_set(DHG_EINVALID, "kubeconfig %s: %s[%zu].name: missing", file, section, i);
		if (body && !json_is_null(body) && !json_is_object(body))
			return dhg_error_set(DHG_EINVALID, "kubeconfig %s: %s[%zu].%s: must be a map", file, section, i, inner);
		if (json_object_get(into, name))
			continue; /* first file wins */
		json_t *copy = json_is_object(body) ? json_deep_copy(body) : json_object();
		if (!copy)
			return dhg_error_set(DHG_ENOMEM, "kubeconfig: out of memory");
		for (size_t f = 0; path_fields && path_fields[f]; f++) {
			int error = absolutize(copy, path_fields[f], dir);
			if (error < 0) {
				json_decref(copy);
				return error;
			}
		}
		json_t *exec = json_object_get(copy, "exec");
		if (json_is_object(exec)) {
			/* client-go: a command containing a '/' is relative to the kubeconfig's dir */
			const char *cmd = json_string_value(json_object_get(exec, "command"));
			if (cmd && strchr(cmd, '/') && cmd[0] != '/') {
				int error = absolutize(exec, "command", dir);
				if (error < 0) {
					json_decref(copy);
					return error;
				}
			}
		}
		if (json_object_set_new(into, name, copy) < 0)
			return dhg_error_set(DHG_ENOMEM, "kubeconfig: out of memory");
	}
	return 0;
}

static int merge_file(merged *m, const char *file, bool must_exist)
{
	char *text = NULL, *dir = NULL;
	size_t len = 0;
	json_t *doc = NULL;
	int error = dhg_file_read(&text, &len, file, KUBECONFIG_MAX);
	if (error == DHG_ENOTFOUND && !must_exist) {
		dhg_error_clear();
		return 0;
	}
	if (error < 0) {
		dhg_error_wrap("kubeconfig");
		goto done;
	}
	char what[512];
	snprintf(what, sizeof(what), "kubeconfig %s", file);
	if ((error = kube_config__yaml_to_json(&doc, text, len, what)) < 0)
		goto done;
	if (!json_is_object(doc)) {
		error = dhg_error_set(DHG_EINVALID, "kubeconfig %s: not a map", file);
		goto done;
	}
	const char *slash = strrchr(file, '/');
	dir = slash ? dhg_strndup(file, (size_t)(slash - file)) : dhg_strdup(".");
	if (slash && slash == file) {
		free(dir);
		dir = dhg_strdup("");
	}
	if (!dir) {
		error = DHG_ENOMEM;
		goto done;
	}
	static const char *const cluster_paths[] = { "certificate-authority", NULL };
	static const char *const user_paths[] = { "client-certificate", "client-key", "tokenFile", NULL };
	if ((error = merge_section(m->clusters, doc, "clusters", "cluster", cluster_paths, dir, file)) < 0 ||
	    (error = merge_section(m->users, doc, "users", "user", user_paths, dir, file)) < 0 ||
	    (error = merge_section(m->contexts, doc, "contexts", "context", NULL, dir, file)) < 0)
		goto done;
	const char *cc = json_string_value(json_object_get(doc, "current-context"));
	if (cc && *cc && !m->current_context && !(m->current_context = dhg_strdup(cc))) {
		error = DHG_ENOMEM;
		goto done;
	}
	if (!m->first_file && !(m->first_file = dhg_strdup(file)))
		error = DHG_ENOMEM;
done:
	free(text);
	free(dir);
	json_decref(doc);
	return error;
}

static const char *jstr(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s && *s ? s : NULL;
}

static int set_dup(char **dst, const char *src)
{
	if (!src)
		return 0;
	if (!(*dst = dhg_strdup(src)))
		return DHG_ENOMEM;
	return 0;
}

static int load_exec(kube_config *cfg, json_t *exec, const char *uname)
{
	const char *cmd = jstr(exec, "command");
	if (!cmd)
		return dhg_error_set(DHG_EINVALID, "kubeconfig: users[%s].user.exec.command: missing", uname);
	const char *api = jstr(exec, "apiVersion");
	if (!api)
		api = "client.authentication.k8s.io/v1";
	if (strcmp(api, "client.authentication.k8s.io/v1") != 0 &&
	    strcmp(api, "client.authentication.k8s.io/v1beta1") != 0)
		return dhg_error_set(DHG_EINVALID, "kubeconfig: users[%s].user.exec.apiVersion: \"%.80s\" is not supported", uname, api);
	json_t *args = json_object_get(exec, "args");
	json_t *env = json_object_get(exec, "env");
	size_t na = json_is_array(args) ? json_array_size(args) : 0;
	size_t ne = json_is_array(env) ? json_array_size(env) : 0;
	if (set_dup(&cfg->exec_cmd, cmd) < 0 || set_dup(&cfg->exec_api_version, api) < 0 ||
	    !(cfg->exec_argv = calloc(na + 2, sizeof(char *))) || !(cfg->exec_env = calloc(ne + 1, sizeof(char *))))
		return dhg_error_set(DHG_ENOMEM, "kubeconfig: out of memory");
	if (!(cfg->exec_argv[0] = dhg_strdup(cmd)))
		return DHG_ENOMEM;
	for (size_t i = 0; i < na; i++) {
		const char *a = json_string_value(json_array_get(args, i));
		if (!a)
			return dhg_error_set(DHG_EINVALID, "kubeconfig: users[%s].user.exec.args[%zu]: not a string", uname, i);
		if (!(cfg->exec_argv[i + 1] = dhg_strdup(a)))
			return DHG_ENOMEM;
	}
	for (size_t i = 0; i < ne; i++) {
		json_t *e = json_array_get(env, i);
		const char *n = jstr(e, "name"), *v = json_string_value(json_object_get(e, "value"));
		if (!n || !v)
			return dhg_error_set(DHG_EINVALID, "kubeconfig: users[%s].user.exec.env[%zu]: needs name and value", uname, i);
		if (!(cfg->exec_env[i] = dhg_asprintf("%s=%s", n, v)))
			return DHG_ENOMEM;
	}
	return 0;
}

static int load_data_field(char **out, size_t *len, json_t *o, const char *field, const char *where)
{
	const char *s = jstr(o, field);
	if (!s)
		return 0;
	char what[300];
	snprintf(what, sizeof(what), "kubeconfig: %s.%s", where, field);
	return kube_config__base64_decode(out, len, s, what);
}

static int build_from_merged(kube_config *cfg, merged *m, const kube_config_options *opts)
{
	const char *ctxname = opts->context && *opts->context ? opts->context : m->current_context;
	if (!ctxname)
		return dhg_error_set(DHG_ENOTFOUND, "kubeconfig %s: no current-context and no context given",
		                     m->first_file ? m->first_file : "");
	json_t *ctx = json_object_get(m->contexts, ctxname);
	if (!ctx)
		return dhg_error_set(DHG_ENOTFOUND, "kubeconfig: context \"%.100s\" not found", ctxname);
	const char *cname = jstr(ctx, "cluster"), *uname = jstr(ctx, "user");
	json_t *cluster = cname ? json_object_get(m->clusters, cname) : NULL;
	if (!cluster)
		return dhg_error_set(DHG_ENOTFOUND, "kubeconfig: context \"%.100s\": cluster \"%.100s\" not found",
		                     ctxname, cname ? cname : "");
	json_t *user = uname ? json_object_get(m->users, uname) : NULL;
	if (uname && !user)
		return dhg_error_set(DHG_ENOTFOUND, "kubeconfig: context \"%.100s\": user \"%.100s\" not found",
		                     ctxname, uname);
	const char *server = jstr(cluster, "server");
	if (!server)
		return dhg_error_set(DHG_EINVALID, "kubeconfig: clusters[%s].cluster.server: missing", cname);
	if (!dhg_str_has_prefix(server, "https://") && !dhg_str_has_prefix(server, "http://"))
		return dhg_error_set(DHG_EINVALID, "kubeconfig: clusters[%s].cluster.server: \"%.200s\" is not an http(s) URL", cname, server);
	char where[300];
	int error;
	if (!(cfg->server = dup_strip_slash(server)) || set_dup(&cfg->context, ctxname) < 0)
		return DHG_ENOMEM;
	const char *ns = opts->namespace_ && *opts->namespace_ ? opts->namespace_ : jstr(ctx, "namespace");
	if (set_dup(&cfg->ns, ns) < 0)
		return DHG_ENOMEM;
	cfg->insecure = json_is_true(json_object_get(cluster, "insecure-skip-tls-verify"));
	if (set_dup(&cfg->ca_file, jstr(cluster, "certificate-authority")) < 0 ||
	    set_dup(&cfg->tls_server_name, jstr(cluster, "tls-server-name")) < 0)
		return DHG_ENOMEM;
	snprintf(where, sizeof(where), "clusters[%s].cluster", cname);
	if ((error = load_data_field(&cfg->ca_data, &cfg->ca_len, cluster, "certificate-authority-data", where)) < 0)
		return error;
	if (!user)
		return 0;
	snprintf(where, sizeof(where), "users[%s].user", uname);
	if (set_dup(&cfg->token, jstr(user, "token")) < 0 || set_dup(&cfg->token_file, jstr(user, "tokenFile")) < 0 ||
	    set_dup(&cfg->username, jstr(user, "username")) < 0 || set_dup(&cfg->password, jstr(user, "password")) < 0 ||
	    set_dup(&cfg->cert_file, jstr(user, "client-certificate")) < 0 ||
	    set_dup(&cfg->key_file, jstr(user, "client-key")) < 0)
		return DHG_ENOMEM;
	if ((error = load_data_field(&cfg->cert_data, &cfg->cert_len, user, "client-certificate-data", where)) < 0 ||
	    (error = load_data_field(&cfg->key_data, &cfg->key_len, user, "client-key-data", where)) < 0)
		return error;
	if ((cfg->cert_file || cfg->cert_data) != (cfg->key_file || cfg->key_data))
		return dhg_error_set(DHG_EINVALID, "kubeconfig: %s: client-certificate and client-key must be given together", where);
	json_t *exec = json_object_get(user, "exec");
	if (json_is_object(exec) && (error = load_exec(cfg, exec, uname)) < 0)
		return error;
	if (json_object_get(user, "auth-provider"))
		DHG_LOG_WARN("kubeconfig auth-provider is not supported; use exec", "user", uname);
	return 0;
}

static int load_files(kube_config **out, const char *const *files, size_t n, bool explicit_file,
                      const kube_config_options *opts)
{
	merged m = { json_object(), json_object(), json_object(), NULL, NULL };
	kube_config *cfg = NULL;
	int error = 0;
	if (!m.clusters || !m.users || !m.contexts) {
		error = dhg_error_set(DHG_ENOMEM, "kubeconfig: out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		if ((error = merge_file(&m, files[i], explicit_file)) < 0)
			goto done;
	if (!m.first_file) {
		error = dhg_error_set(DHG_ENOTFOUND, "kubeconfig: none of the files exist (%s%s)", files[0], n > 1 ? ", ..." : "");
		goto done;
	}
	if ((error = cfg_alloc(&cfg)) < 0)
		goto done;
	if (opts->token_reread_ms > 0)
		cfg->token_reread_ms = opts->token_reread_ms;
	if ((error = build_from_merged(cfg, &m, opts)) < 0) {
		if (error == DHG_ENOMEM && dhg_error_last()->code == 0)
			dhg_error_set(DHG_ENOMEM, "kubeconfig: out of memory");
		goto done;
	}
	*out = cfg;
	cfg = NULL;
done:
	kube_config_free(cfg);
	merged_dispose(&m);
	return error;
}

static int load_in_cluster(kube_config **out, const kube_config_options *opts)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST"), *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = opts->in_cluster_dir ? opts->in_cluster_dir : DEFAULT_SA_DIR;
	kube_config *cfg = NULL;
	char *nsbuf = NULL;
	int error;
	if (!host || !*host || !port || !*port)
		return dhg_error_set(DHG_ENOTFOUND, "in-cluster config: KUBERNETES_SERVICE_HOST/PORT not set");
	if ((error = cfg_alloc(&cfg)) < 0)
		return error;
	cfg->in_cluster = true;
	if (opts->token_reread_ms > 0)
		cfg->token_reread_ms = opts->token_reread_ms;
	bool v6 = strchr(host, ':') != NULL;
	cfg->server = dhg_asprintf(v6 ? "https://[%s]:%s" : "https://%s:%s", host, port);
	cfg->token_file = dhg_asprintf("%s/token", dir);
	char *ca = dhg_asprintf("%s/ca.crt", dir);
	char *nsfile = dhg_asprintf("%s/namespace", dir);
	if (!cfg->server || !cfg->token_file || !ca || !nsfile) {
		free(ca);
		free(nsfile);
		error = dhg_error_set(DHG_ENOMEM, "in-cluster config: out of memory");
		goto done;
	}
	if (!dhg_path_exists(cfg->token_file)) {
		free(ca);
		free(nsfile);
		error = dhg_error_set(DHG_ENOTFOUND, "in-cluster config: token file %s not found", cfg->token_file);
		goto done;
	}
	if (dhg_path_exists(ca))
		cfg->ca_file = ca;
	else
		free(ca);
	if (dhg_file_read(&nsbuf, NULL, nsfile, 1024) == 0) {
		size_t n = strlen(nsbuf);
		while (n && (nsbuf[n - 1] == '\n' || nsbuf[n - 1] == ' ' || nsbuf[n - 1] == '\r'))
			nsbuf[--n] = 0;
		if (n)
			cfg->ns = nsbuf, nsbuf = NULL;
	}
	dhg_error_clear();
	free(nsfile);
	if (opts->namespace_ && *opts->namespace_) {
		free(cfg->ns);
		if (!(cfg->ns = dhg_strdup(opts->namespace_))) {
			error = DHG_ENOMEM;
			goto done;
		}
	}
	*out = cfg;
	cfg = NULL;
done:
	free(nsbuf);
	kube_config_free(cfg);
	return error;
}

int kube_config_load(kube_config **out, const kube_config_options *opts_in)
{
	kube_config_options defaults = KUBE_CONFIG_OPTIONS_INIT;
	const kube_config_options *opts = opts_in ? opts_in : &defaults;
	int error;

	if (opts->source == KUBE_CONFIG_IN_CLUSTER)
		return load_in_cluster(out, opts);
	if (opts->kubeconfig && *opts->kubeconfig) {
		const char *files[1] = { opts->kubeconfig };
		return load_files(out, files, 1, true, opts);
	}
	const char *env = getenv("KUBECONFIG");
	if (env && *env) {
		char *copy = dhg_strdup(env);
		const char *files[64];
		size_t n = 0;
		if (!copy)
			return DHG_ENOMEM;
		char *save = copy;
		for (char *p = copy; p && n < 64;) {
			char *colon = strchr(p, ':');
			if (colon)
				*colon = 0;
			if (*p) {
				bool dup = false;
				for (size_t i = 0; i < n; i++)
					dup = dup || strcmp(files[i], p) == 0;
				if (!dup)
					files[n++] = p;
			}
			p = colon ? colon + 1 : NULL;
		}
		error = n ? load_files(out, files, n, false, opts)
		          : dhg_error_set(DHG_ENOTFOUND, "kubeconfig: $KUBECONFIG lists no file");
		free(save);
		return error;
	}
	if (opts->source == KUBE_CONFIG_AUTO && getenv("KUBERNETES_SERVICE_HOST")) {
		error = load_in_cluster(out, opts);
		if (error != DHG_ENOTFOUND)
			return error;
	}
	const char *home = getenv("HOME");
	if (!home || !*home)
		return dhg_error_set(DHG_ENOTFOUND, "kubeconfig: no --kubeconfig, $KUBECONFIG, in-cluster config or $HOME");
	char *path = dhg_asprintf("%s/.kube/config", home);
	if (!path)
		return DHG_ENOMEM;
	const char *files[1] = { path };
	error = load_files(out, files, 1, true, opts);
	free(path);
	return error;
}

/* ---- credentials -------------------------------------------------------------------- */

/* Parses an RFC 3339 UTC-ish timestamp to epoch seconds; -1 when unparseable. */
static long long parse_rfc3339(const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof(tm));
	int y, mo, d, h, mi, sec;
	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &sec) != 6)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	long long t = (long long)timegm(&tm);
	const char *z = s + 19;
	while (*z == '.' || (*z >= '0' && *z <= '9'))
		z++;
	if ((*z == '+' || *z == '-') && strlen(z) >= 6) {
		int oh = (z[1] - '0') * 10 + (z[2] - '0'), om = (z[4] - '0') * 10 + (z[5] - '0');
		long long off = oh * 3600 + om * 60;
		t += *z == '+' ? -off : off;
	}
	return t;
}

static int read_token_file(char **out, const char *path)
{
	char *t = NULL;
	size_t len = 0;
	int error = dhg_file_read(&t, &len, path, TOKEN_MAX);
	if (error < 0)
		return dhg_error_wrap("token file");
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r' || t[len - 1] == ' '))
		t[--len] = 0;
	if (len == 0) {
		free(t);
		return dhg_error_set(DHG_EUNAUTHORIZED, "token file %s is empty", path);
	}
	*out = t;
	return 0;
}

/* Runs the exec plugin; on 0 *token (owned) and *expires_ms (wall-clock ms, 0 = none). */
static int run_exec(char **token, long long *expires_wall, const kube_config *cfg)
{
	int error = 0, pipefd[2] = { -1, -1 }, devnull = -1;
	pid_t pid = 0;
	bool spawned = false;
	char **envp = NULL;
	char *info = NULL;
	dhg_buf out = DHG_BUF_INIT(EXEC_OUT_MAX);
	json_t *cred = NULL;
	posix_spawn_file_actions_t fa;
	bool fa_init = false;

	size_t nenv = 0, nextra = 0;
	while (environ && environ[nenv])
		nenv++;
	while (cfg->exec_env && cfg->exec_env[nextra])
		nextra++;
	info = dhg_asprintf("KUBERNETES_EXEC_INFO={\"apiVersion\":\"%s\",\"kind\":\"ExecCredential\",\"spec\":{\"interactive\":false}}",
	                    cfg->exec_api_version);
	if (!info || !(envp = calloc(nenv + nextra + 2, sizeof(char *)))) {
		error = dhg_error_set(DHG_ENOMEM, "exec credential plugin: out of memory");
		goto done;
	}
	size_t k = 0;
	for (size_t i = 0; i < nenv; i++) {
		bool overridden = dhg_str_has_prefix(environ[i], "KUBERNETES_EXEC_INFO=");
		for (size_t j = 0; j < nextra && !overridden; j++) {
			const char *eq = strchr(cfg->exec_env[j], '=');
			size_t nl = eq ? (size_t)(eq - cfg->exec_env[j]) + 1 : 0;
			overridden = nl && strncmp(environ[i], cfg->exec_env[j], nl) == 0;
		}
		if (!overridden)
			envp[k++] = environ[i];
	}
	for (size_t j = 0; j < nextra; j++)
		envp[k++] = cfg->exec_env[j];
	envp[k++] = info;
	envp[k] = NULL;

	if (pipe(pipefd) != 0 || (devnull = open("/dev/null", O_RDONLY)) < 0) {
		error = dhg_error_set(DHG_ERROR, "exec credential plugin %s: pipe: %s", cfg->exec_cmd, strerror(errno));
		goto done;
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		error = dhg_error_set(DHG_ENOMEM, "exec credential plugin: out of memory");
		goto done;
	}
	fa_init = true;
	posix_spawn_file_actions_adddup2(&fa, devnull, 0);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	posix_spawn_file_actions_addclose(&fa, pipefd[0]);
	int rc = posix_spawnp(&pid, cfg->exec_cmd, &fa, NULL, cfg->exec_argv, envp);
	if (rc != 0) {
		error = dhg_error_set(DHG_EUNAUTHORIZED, "exec credential plugin %s: cannot run: %s", cfg->exec_cmd, strerror(rc));
		goto done;
	}
	spawned = true;
	close(pipefd[1]);
	pipefd[1] = -1;
	long long deadline = now_ms() + EXEC_TIMEOUT_MS;
	for (;;) {
		struct pollfd pfd = { pipefd[0], POLLIN, 0 };
		long long left = deadline - now_ms();
		if (left <= 0) {
			error = dhg_error_set(DHG_ETIMEOUT, "exec credential plugin %s: timed out", cfg->exec_cmd);
			kill(pid, SIGKILL);
			goto done;
		}
		int pr = poll(&pfd, 1, (int)left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue;
		char tmp[4096];
		ssize_t r = read(pipefd[0], tmp, sizeof(tmp));
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		if (dhg_buf_put(&out, tmp, (size_t)r) < 0) {
			error = dhg_error_set(DHG_ETOOBIG, "exec credential plugin %s: output too large", cfg->exec_cmd);
			kill(pid, SIGKILL);
			goto done;
		}
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	spawned = false;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		error = dhg_error_set(DHG_EUNAUTHORIZED, "exec credential plugin %s: exited with status %d", cfg->exec_cmd,
		                      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		goto done;
	}
	json_error_t jerr;
	cred = dhg_json_loadb(dhg_buf_cstr(&out), out.len, 0, &jerr);
	const char *kind = json_string_value(json_object_get(cred, "kind"));
	json_t *st = json_object_get(cred, "status");
	const char *tok = json_string_value(json_object_get(st, "token"));
	if (!cred || !kind || strcmp(kind, "ExecCredential") != 0) {
		error = dhg_error_set(DHG_EUNAUTHORIZED, "exec credential plugin %s: output is not an ExecCredential", cfg->exec_cmd);
		goto done;
	}
	if (!tok || !*tok) {
		error = dhg_error_set(DHG_EUNAUTHORIZED, "exec credential plugin %s: status.token missing (client certificates from plugins are not supported)", cfg->exec_cmd);
		goto done;
	}
	const char *exp = json_string_value(json_object_get(st, "expirationTimestamp"));
	*expires_wall = 0;
	if (exp) {
		long long t = parse_rfc3339(exp);
		if (t < 0) {
			error = dhg_error_set(DHG_EUNAUTHORIZED, "exec credential plugin %s: status.expirationTimestamp: not RFC 3339", cfg->exec_cmd);
			goto done;
		}
		*expires_wall = t * 1000;
	}
	if (!(*token = dhg_strdup(tok)))
		error = DHG_ENOMEM;
done:
	if (spawned) {
		int st2;
		while (waitpid(pid, &st2, 0) < 0 && errno == EINTR)
			;
	}
	if (fa_init)
		posix_spawn_file_actions_destroy(&fa);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	if (devnull >= 0)
		close(devnull);
	free(envp);
	free(info);
	if (out.ptr)
		memset(out.ptr, 0, out.len);
	dhg_buf_dispose(&out);
	json_decref(cred);
	return error;
}

static long long wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copies the current bearer token (refreshing it when stale) into a new string; *out NULL
 * when the config uses no bearer token. Caller holds no lock. */
static int bearer_token(char **out, const kube_config *cfg_c)
{
	kube_config *cfg = (kube_config *)cfg_c; /* only the locked cache is touched */
	int error = 0;
	*out = NULL;
	if (!cfg->exec_cmd && !cfg->token_file) {
		if (cfg->token && !(*out = dhg_strdup(cfg->token)))
			return DHG_ENOMEM;
		return 0;
	}
	pthread_mutex_lock(&cfg->lock);
	bool stale = !cfg->cached_token;
	if (!stale && cfg->exec_cmd)
		stale = cfg->expires_at_ms && wall_ms() + 10000 >= cfg->expires_at_ms; /* 10 s skew */
	else if (!stale)
		stale = now_ms() - cfg->cached_at_ms >= cfg->token_reread_ms;
	if (stale) {
		char *tok = NULL;
		long long exp = 0;
		if (cfg->exec_cmd)
			error = run_exec(&tok, &exp, cfg);
		else
			error = read_token_file(&tok, cfg->token_file);
		if (error == 0) {
			secure_free(cfg->cached_token, cfg->cached_token ? strlen(cfg->cached_token) : 0);
			cfg->cached_token = tok;
			cfg->cached_at_ms = now_ms();
			cfg->expires_at_ms = exp;
		} else if (cfg->cached_token && !cfg->exec_cmd) {
			/* keep using the last good token file content */
			DHG_LOG_WARN("token file re-read failed; keeping the previous token", "error", dhg_error_last()->message);
			dhg_error_clear();
			error = 0;
		}
	}
	if (error == 0 && cfg->cached_token && !(*out = dhg_strdup(cfg->cached_token)))
		error = dhg_error_set(DHG_ENOMEM, "kube config: out of memory");
	else if (error == 0 && !cfg->cached_token && cfg->token && !(*out = dhg_strdup(cfg->token)))
		error = DHG_ENOMEM;
	pthread_mutex_unlock(&cfg->lock);
	return error;
}

int kube_config__auth_invalidate(const kube_config *cfg_c)
{
	kube_config *cfg = (kube_config *)cfg_c;
	if (!cfg->exec_cmd && !cfg->token_file)
		return 0;
	pthread_mutex_lock(&cfg->lock);
	secure_free(cfg->cached_token, cfg->cached_token ? strlen(cfg->cached_token) : 0);
	cfg->cached_token = NULL;
	pthread_mutex_unlock(&cfg->lock);
	return 1;
}

char *kube_config__url(const kube_config *cfg, const char *path)
{
	if (!cfg->tls_server_name)
		return dhg_asprintf("%s%s", cfg->server, path);
	CURLU *u = curl_url();
	char *full = dhg_asprintf("%s%s", cfg->server, path), *res = NULL;
	if (u && full && curl_url_set(u, CURLUPART_URL, full, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_HOST, cfg->tls_server_name, 0) == CURLUE_OK) {
		char *tmp = NULL;
		if (curl_url_get(u, CURLUPART_URL, &tmp, 0) == CURLUE_OK) {
			res = dhg_strdup(tmp);
			curl_free(tmp);
		}
	}
	curl_url_cleanup(u);
	free(full);
	return res;
}

static int set_blob(CURL *e, CURLoption opt, char *data, size_t len)
{
	struct curl_blob blob = { data, len, CURL_BLOB_COPY };
	return curl_easy_setopt(e, opt, &blob) == CURLE_OK ? 0 : -1;
}

int kube_config__setup(CURL *e, struct curl_slist **headers, struct curl_slist **connect_to,
                       const kube_config *cfg)
{
	int error = 0;
	char *tok = NULL, *hdr = NULL;
	if (cfg->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	}
	/* A configured CA is the only trust anchor, as in kubectl: libcurl's default CA
	 * directory (the system's public CAs) must not also verify the API server. */
	if (cfg->ca_data) {
		if (set_blob(e, CURLOPT_CAINFO_BLOB, cfg->ca_data, cfg->ca_len) < 0)
			return dhg_error_set(DHG_ERROR, "kube client: libcurl does not accept certificate-authority-data");
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	} else if (cfg->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
		curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	}
	if (cfg->tls_server_name) {
		CURLU *u = curl_url();
		char *host = NULL, *port = NULL;
		if (u && curl_url_set(u, CURLUPART_URL, cfg->server, 0) == CURLUE_OK &&
		    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
		    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
			char *ct = dhg_asprintf("%s:%s:%s:%s", cfg->tls_server_name, port, host, port);
			struct curl_slist *l = ct ? curl_slist_append(NULL, ct) : NULL;
			free(ct);
			if (l) {
				curl_easy_setopt(e, CURLOPT_CONNECT_TO, l);
				*connect_to = l; /* lives as long as the handle; the caller frees it */
			} else
				error = dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
		} else
			error = dhg_error_set(DHG_EINVALID, "kube config: server URL %s cannot be parsed", cfg->server);
		curl_free(host);
		curl_free(port);
		curl_url_cleanup(u);
		if (error < 0)
			return error;
	}
	if (cfg->cert_data) {
		if (set_blob(e, CURLOPT_SSLCERT_BLOB, cfg->cert_data, cfg->cert_len) < 0 ||
		    set_blob(e, CURLOPT_SSLKEY_BLOB, cfg->key_data, cfg->key_len) < 0)
			return dhg_error_set(DHG_ERROR, "kube client: libcurl does not accept client-certificate-data");
		curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(e, CURLOPT_SSLKEYTYPE, "PEM");
	} else if (cfg->cert_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file);
		curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file);
	} else if (cfg->key_data) {
		set_blob(e, CURLOPT_SSLKEY_BLOB, cfg->key_data, cfg->key_len);
	}
	if ((error = bearer_token(&tok, cfg)) < 0)
		goto done;
	if (tok) {
		if (!(hdr = dhg_asprintf("Authorization: Bearer %s", tok))) {
			error = DHG_ENOMEM;
			goto done;
		}
		struct curl_slist *l = curl_slist_append(*headers, hdr);
		if (!l) {
			error = dhg_error_set(DHG_ENOMEM, "kube client: out of memory");
			goto done;
		}
		*headers = l;
	} else if (cfg->username && cfg->password) {
		curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(e, CURLOPT_USERNAME, cfg->username);
		curl_easy_setopt(e, CURLOPT_PASSWORD, cfg->password);
	}
done:
	secure_free(tok, tok ? strlen(tok) : 0);
	secure_free(hdr, hdr ? strlen(hdr) : 0);
	return error;
}

int kube_config__describe(json_t **out, const kube_config *cfg)
{
	json_t *args = json_array();
	for (size_t i = 1; args && cfg->exec_argv && cfg->exec_argv[i]; i++)
		json_array_append_new(args, json_string(cfg->exec_argv[i]));
	size_t nenv = 0;
	while (cfg->exec_env && cfg->exec_env[nenv])
		nenv++;
	json_t *d = json_pack("{s:s?,s:s?,s:s,s:b,s:b,s:s?,s:I,s:s?,s:s?,s:s?,s:I,s:I,s:b,s:s?,s:s?,s:b,s:s?,s:o,s:I}",
	                      "server", cfg->server, "context", cfg->context, "namespace", kube_config_namespace(cfg),
	                      "inCluster", cfg->in_cluster, "insecure", cfg->insecure, "caFile", cfg->ca_file,
	                      "caDataLen", (json_int_t)cfg->ca_len, "tlsServerName", cfg->tls_server_name,
	                      "certFile", cfg->cert_file, "keyFile", cfg->key_file, "certDataLen", (json_int_t)cfg->cert_len,
	                      "keyDataLen", (json_int_t)cfg->key_len, "hasToken", cfg->token != NULL, "tokenFile",
	                      cfg->token_file, "username", cfg->username, "hasPassword", cfg->password != NULL,
	                      "execCommand", cfg->exec_cmd, "execArgs", args ? args : json_array(), "execEnvCount",
	                      (json_int_t)nenv);
	if (!d)
		return dhg_error_set(DHG_ENOMEM, "kube config: out of memory");
	*out = d;
	return 0;
}
