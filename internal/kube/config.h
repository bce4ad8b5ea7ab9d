#ifndef DHG_KUBE_CONFIG_H
#define DHG_KUBE_CONFIG_H

#include <stdbool.h>

/*
 * Where the API server is and how to authenticate to it: kubeconfig files (client-go's
 * loading rules) or the in-cluster service account.
 *
 * Loading order (controller-runtime's): `kubeconfig` option (--kubeconfig), then $KUBECONFIG
 * (':'-separated; files merged, the first file that sets a map key wins, missing files are
 * skipped), then in-cluster (KUBERNETES_SERVICE_HOST/PORT), then ~/.kube/config.
 *
 * Supported: current-context and a context override; clusters with server,
 * certificate-authority(-data), insecure-skip-tls-verify, tls-server-name; users with token,
 * tokenFile, client-certificate(-data) + client-key(-data), username/password, and exec
 * plugins (client.authentication.k8s.io/v1 and v1beta1 ExecCredential, cached until
 * expirationTimestamp). Relative paths resolve against the directory of the kubeconfig file
 * that defined them. In-cluster tokens are re-read from their file at least every minute.
 *
 * A kube_config is immutable after loading except for its credential cache, which is
 * internally locked: all functions taking a const kube_config * are thread-safe.
 */

typedef struct kube_config kube_config;

enum kube_config_source {
	KUBE_CONFIG_AUTO = 0,       /* the loading order above */
	KUBE_CONFIG_FILE_ONLY = 1,  /* kubeconfig files only (never in-cluster) */
	KUBE_CONFIG_IN_CLUSTER = 2  /* in-cluster only */
};

typedef struct kube_config_options {
	const char *kubeconfig;       /* explicit file (--kubeconfig); NULL: see loading order */
	const char *context;          /* overrides current-context (--context); NULL: current */
	const char *namespace_;       /* overrides the context's namespace; NULL: context's */
	int source;                   /* enum kube_config_source */
	/* In-cluster service-account directory (token, ca.crt, namespace); NULL means
	 * /var/run/secrets/kubernetes.io/serviceaccount. Tests point it elsewhere. */
	const char *in_cluster_dir;
	long token_reread_ms;         /* tokenFile / in-cluster token re-read interval; 0 = 60000 */
} kube_config_options;

#define KUBE_CONFIG_OPTIONS_INIT { NULL, NULL, NULL, KUBE_CONFIG_AUTO, NULL, 0 }

/* Loads the configuration. On 0, *out is owned (kube_config_free()). Errors name the file and
 * the field: DHG_ENOTFOUND (no configuration anywhere, unknown context/cluster/user),
 * DHG_EINVALID (malformed), DHG_ERROR. Thread-safe (reads the environment). */
int kube_config_load(kube_config **out, const kube_config_options *opts);

/* Builds a configuration directly (tests, tools): server URL, optional bearer token and
 * optional CA file. insecure skips TLS verification. *out owned. */
int kube_config_new_simple(kube_config **out, const char *server, const char *token,
                           const char *ca_file, bool insecure);

/* The API server base URL without trailing '/' (e.g. "https://127.0.0.1:6443"). Borrowed. */
const char *kube_config_server(const kube_config *cfg);
/* The default namespace (context's, in-cluster file's, or "default"). Borrowed. */
const char *kube_config_namespace(const kube_config *cfg);
/* The context name used ("" for in-cluster / simple configs). Borrowed. */
const char *kube_config_context(const kube_config *cfg);
/* true when the configuration came from the in-cluster service account. */
bool kube_config_is_in_cluster(const kube_config *cfg);

/* NULL-safe. */
void kube_config_free(kube_config *cfg);

#endif
