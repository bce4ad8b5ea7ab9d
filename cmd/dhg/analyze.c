/* dhg analyze: print the relationships between objects and the findings about them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/dhg/cmd.h"
#include "engine/engine.h"
#include "engine/extract/normalize.h"
#include "util/error.h"
#include "util/json.h"

#define MAX_PATHS 1024

static void usage(FILE *f)
{
	fputs("Usage: dhg analyze -f PATH... [--format text|json]\n"
	      "\n"
	      "Reads manifests and prints how the objects relate (Service -> workload by selector,\n"
	      "workload -> ConfigMap/Secret/PVC/ServiceAccount, Ingress -> Service, HPA/PDB -> workload,\n"
	      "RoleBinding -> Role/ServiceAccount, StatefulSet -> headless Service, NetworkPolicy -> workload,\n"
	      "ServiceAccount -> pull Secrets, custom resource -> its CustomResourceDefinition)\n"
	      "and findings grouped by severity (high, medium, low): privileged containers, privilege\n"
	      "escalation, root user, :latest or untagged images, missing references, Services or PDBs\n"
	      "selecting nothing, replicas > 1 without a PodDisruptionBudget, no resources, no probes.\n"
	      "\n"
	      "Flags:\n"
	      "  -f, --file PATH     a YAML file, a directory (recursive, *.yaml|*.yml) or - for stdin;\n"
	      "                      repeatable, at least one required (example: -f manifests/)\n"
	      "      --format FMT    text (default): a tree of relationships, then findings;\n"
	      "                      json: {\"nodes\",\"edges\",\"findings\",\"summary\"}\n"
	      "  -h, --help          this help\n"
	      "\n"
	      "Exit codes: 0 analyzed (findings do not change the exit code), 1 error, 2 usage.\n",
	      f);
}

/* "Kind/ns/name" -> "Kind ns/name" into buf. */
static const char *display(char *buf, size_t size, const char *id)
{
	const char *slash = strchr(id, '/');
	if (!slash)
		snprintf(buf, size, "%s", id);
	else
		snprintf(buf, size, "%.*s %s", (int)(slash - id), id, slash + 1);
	return buf;
}

static const char *jstr(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_text(FILE *f, const json_t *j)
{
	const json_t *nodes = json_object_get(j, "nodes"), *edges = json_object_get(j, "edges");
	const json_t *findings = json_object_get(j, "findings"), *sum = json_object_get(j, "summary"), *e;
	static const char *const sevs[] = { "high", "medium", "low" };
	char a[600], b[600];
	size_t i, alone = 0;

	fprintf(f, "%zu objects, %zu relationships, findings: %lld high, %lld medium, %lld low\n",
		json_array_size(nodes), json_array_size(edges),
		(long long)json_integer_value(json_object_get(sum, "high")),
		(long long)json_integer_value(json_object_get(sum, "medium")),
		(long long)json_integer_value(json_object_get(sum, "low")));

	fputs("\nRelationships:\n", f);
	if (json_array_size(edges) == 0)
		fputs("  (none)\n", f);
	/* edges are sorted by their source node: print a tree per source */
	for (i = 0; i < json_array_size(edges); i++) {
		const char *from;
		e = json_array_get(edges, i);
		from = jstr(e, "from");
		if (i == 0 || strcmp(from, jstr(json_array_get(edges, i - 1), "from")) != 0)
			fprintf(f, "  %s\n", display(a, sizeof(a), from));
		int last = i + 1 == json_array_size(edges) || strcmp(from, jstr(json_array_get(edges, i + 1), "from")) != 0;
		fprintf(f, "    %s %s -> %s\n", last ? "\u2514\u2500" : "\u251c\u2500", jstr(e, "type"),
			display(b, sizeof(b), jstr(e, "to")));
	}
	/* objects that take part in no relationship (a set of ids keeps this linear) */
	json_t *related = json_object();
	json_array_foreach(edges, i, e) {
		if (related && (json_object_set_new(related, jstr(e, "from"), json_true()) < 0 ||
				json_object_set_new(related, jstr(e, "to"), json_true()) < 0)) {
			json_decref(related);
			related = NULL;
		}
	}
	for (i = 0; related && i < json_array_size(nodes); i++) {
		const char *id = jstr(json_array_get(nodes, i), "id");
		if (json_object_get(related, id))
			continue;
		if (alone++ == 0)
			fputs("\nNot related to any other object:\n", f);
		fprintf(f, "  %s\n", display(a, sizeof(a), id));
	}
	json_decref(related);

	fputs("\nFindings:\n", f);
	if (json_array_size(findings) == 0)
		fputs("  (none)\n", f);
	for (size_t s = 0; s < 3; s++) {
		size_t n = (size_t)json_integer_value(json_object_get(sum, sevs[s]));
		if (n == 0)
			continue;
		fprintf(f, "  %s (%zu)\n", s == 0 ? "HIGH" : s == 1 ? "MEDIUM" : "LOW", n);
		json_array_foreach(findings, i, e) {
			if (strcmp(jstr(e, "severity"), sevs[s]) != 0)
				continue;
			fprintf(f, "    %s: %s [%s]\n", display(a, sizeof(a), jstr(e, "object")), jstr(e, "message"),
				jstr(e, "rule"));
		}
	}
}

int dhg_cmd_analyze(int argc, char **argv)
{
	const char *paths[MAX_PATHS];
	size_t npaths = 0, i;
	const char *format = "text";
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_warnings warnings = ENGINE_WARNINGS_INIT;
	engine_extract_options xopts = ENGINE_EXTRACT_OPTIONS_INIT;
	engine_graph *g = NULL;
	json_t *j = NULL;
	int rc = 1, stdin_used = 0;

	for (int a = 1; a < argc; a++) {
		const char *arg = argv[a], *val = NULL;
		if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(arg, "-f") == 0 || strcmp(arg, "--file") == 0 || strcmp(arg, "--format") == 0) {
			if (a + 1 >= argc) {
				fprintf(stderr, "dhg analyze: %s needs a value\n", arg);
				return 2;
			}
			val = argv[++a];
		} else if (strncmp(arg, "--file=", 7) == 0) {
			val = arg + 7;
			arg = "--file";
		} else if (strncmp(arg, "--format=", 9) == 0) {
			val = arg + 9;
			arg = "--format";
		} else if (strncmp(arg, "-f", 2) == 0 && arg[2]) {
			val = arg + 2;
			arg = "-f";
		} else {
			fprintf(stderr, "dhg analyze: unexpected argument '%s' (see dhg analyze --help)\n", arg);
			return 2;
		}
		if (strcmp(arg, "--format") == 0) {
			if (strcmp(val, "text") != 0 && strcmp(val, "json") != 0) {
				fprintf(stderr, "dhg analyze: --format must be text or json, not '%s'\n", val);
				return 2;
			}
			format = val;
			continue;
		}
		if (!*val) {
			fprintf(stderr, "dhg analyze: %s needs a non-empty path\n", arg);
			return 2;
		}
		if (strcmp(val, "-") == 0 && stdin_used++) {
			fprintf(stderr, "dhg analyze: standard input (-f -) can be given only once\n");
			return 2;
		}
		if (npaths == MAX_PATHS) {
			fprintf(stderr, "dhg analyze: too many -f flags (at most %d)\n", MAX_PATHS);
			return 2;
		}
		paths[npaths++] = val;
	}
	if (npaths == 0) {
		fprintf(stderr, "dhg analyze: at least one -f PATH is required\n\n");
		usage(stderr);
		return 2;
	}

	/* files parsed (and their objects' own normalization done) on the worker threads
	 * (DHG_THREADS); objects and errors as path by path */
	if (engine_extract__paths_prepared(&objs, paths, npaths, &xopts) < 0) {
		rc = dhg_cmd_fail("analyze");
		goto done;
	}
	if (engine_normalize(&objs, &warnings) < 0) {
		rc = dhg_cmd_fail("analyze");
		goto done;
	}
	for (i = 0; i < warnings.len; i++)
		fprintf(stderr, "dhg: warning: %s\n", warnings.items[i]);
	if (engine_graph_build(&g, &objs) < 0 || engine_graph_to_json(&j, g) < 0) {
		rc = dhg_cmd_fail("analyze");
		goto done;
	}
	if (strcmp(format, "json") == 0) {
		/* as a whole first: jansson's serializer ignores a failed allocation (util/json.h); the
		 * text comes from jansson's allocator (the pool in this command) */
		json_free_t jfree = NULL;
		char *text = dhg_json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		int werr;
		if (!text) {
			fprintf(stderr, "dhg analyze: out of memory writing the JSON output\n");
			goto done;
		}
		werr = fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF;
		json_get_alloc_funcs(NULL, &jfree);
		jfree(text);
		if (werr) {
			fprintf(stderr, "dhg analyze: cannot write the output\n");
			goto done;
		}
	} else {
		print_text(stdout, j);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "dhg analyze: cannot write the output\n");
		goto done;
	}
	rc = 0;
done:
	json_decref(j);
	engine_graph_free(g);
	engine_warnings_dispose(&warnings);
	engine_objects_dispose(&objs);
	return rc;
}
