#ifndef DHG_ENGINE_LIFETIME_H
#define DHG_ENGINE_LIFETIME_H

/*
 * Process lifetime hint for the engine (objects.c).
 *
 * engine_exit_soon_set(1) is the dhg CLI's promise that the process exits right after the
 * chart is written: the big internal trees the generator would otherwise free node by node
 * at the end of a successful run (the values, comments and schema-path trees) are then left
 * to the process exit. Off by default: the library and the operator never set it, and the
 * CLI leaves it off whenever leaks are checked (DHG_ALLOC=malloc, valgrind, ASan builds).
 * Set it before engine_run_paths(); it must not change while the engine runs (read from any
 * thread, no locking).
 */
void engine_exit_soon_set(int on);
int engine_exit_soon(void);

#endif
