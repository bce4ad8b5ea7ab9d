#ifndef DHG_CMD_H
#define DHG_CMD_H

/* Subcommands of `dhg`. Each returns the process exit code: 0 ok, 1 error, 2 usage.
 * argv[0] is the subcommand name. */
int dhg_cmd_generate(int argc, char **argv);
int dhg_cmd_analyze(int argc, char **argv);
int dhg_cmd_push(int argc, char **argv);

/* Prints "dhg: <message>" for the last error to stderr; returns 1. */
int dhg_cmd_fail(const char *context);

/* 1 when main() installed the pool allocator (util/pool.h) for jansson: then a command that
 * succeeds may leave its last data structures to the process exit instead of freeing them
 * one by one. 0 under DHG_ALLOC=malloc, valgrind's memcheck and in ASan builds, where
 * everything is freed so that leak checks stay meaningful. */
extern int dhg_cmd_pool;

#endif
