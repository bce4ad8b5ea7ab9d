/* dhg: the generation engine as a command-line tool. */
#include <stdio.h>
#include <string.h>

#include "cmd/dhg/cmd.h"
#include "util/error.h"

#ifndef DHG_VERSION
#define DHG_VERSION "0.0.0-dev"
#endif

/* Subcommands live in their own files; one that is not linked in reports so. */
int dhg_cmd_generate(int argc, char **argv) __attribute__((weak));
int dhg_cmd_analyze(int argc, char **argv) __attribute__((weak));
int dhg_cmd_push(int argc, char **argv) __attribute__((weak));

static void usage(FILE *f)
{
	fputs("Usage: dhg <command> [flags]\n"
	      "\n"
	      "Turns Kubernetes manifests into a Helm chart, with no cluster needed.\n"
	      "\n"
	      "Commands:\n"
	      "  generate   generate a Helm chart from manifest files (dhg generate --help)\n"
	      "  analyze    print the relationships between objects and findings\n"
	      "  push       push a chart directory to an OCI registry, as `helm push` does\n"
	      "  version    print the version\n"
	      "\n"
	      "Exit codes: 0 ok, 1 error, 2 usage.\n",
	      f);
}

int dhg_cmd_fail(const char *context)
{
	const dhg_error *e = dhg_error_last();
	if (context)
		fprintf(stderr, "dhg: %s: %s\n", context, e->message[0] ? e->message : "failed");
	else
		fprintf(stderr, "dhg: %s\n", e->message[0] ? e->message : "failed");
	return 1;
}

int main(int argc, char **argv)
{
	int (*cmd)(int, char **) = NULL;

	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		printf("dhg %s\n", DHG_VERSION);
		return 0;
	}
	if (strcmp(argv[1], "generate") == 0)
		cmd = dhg_cmd_generate;
	else if (strcmp(argv[1], "analyze") == 0)
		cmd = dhg_cmd_analyze;
	else if (strcmp(argv[1], "push") == 0)
		cmd = dhg_cmd_push;
	else {
		fprintf(stderr, "dhg: unknown command '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	if (!cmd) {
		fprintf(stderr, "dhg: command '%s' is not part of this build\n", argv[1]);
		return 1;
	}
	return cmd(argc - 1, argv + 1);
}
