#ifndef DHG_ENGINE_PAR_H
#define DHG_ENGINE_PAR_H

#include <pthread.h>
#include <stddef.h>

#include "util/error.h"

/*
 * Work shared by threads in index order (input files, pass 1, pass 2, the chart's files):
 * items [0, n) are handed out `chunk` at a time, so a thread that gets less CPU simply does
 * fewer chunks. A failure is recorded with its item's index and the lowest one wins, with the
 * failing thread's message: the error a sequential run would report first. No chunk after a
 * failed item is handed out.
 *
 *   engine_par p;
 *   if ((err = engine_par_init(&p, n, 32)) < 0) return err;
 *   engine_par_run(worker, &p, 0, threads);   // worker: while (engine_par_next(...)) ...
 *   err = engine_par_result(&p);
 *   engine_par_dispose(&p);
 */
typedef struct engine_par {
	pthread_mutex_t mu;
	size_t n, chunk;
	size_t next;   /* first item of the next chunk (under mu) */
	size_t err_at; /* lowest failed item, SIZE_MAX: none (under mu) */
	int err;
	dhg_error errd;
} engine_par;

/* 0, or < 0 when the mutex cannot be created. */
int engine_par_init(engine_par *p, size_t n, size_t chunk);
void engine_par_dispose(engine_par *p);
/* Claims the next chunk [*from, *to): 1, or 0 when none is left or an earlier item failed. */
int engine_par_next(engine_par *p, size_t *from, size_t *to);
/* Records that item i failed with err; the message is the calling thread's dhg_error_last().
 * i may be n (a failure after every item, e.g. of listing more input). */
void engine_par_fail(engine_par *p, size_t i, int err);
/* 0, or the lowest failure's code with its message restored on the calling thread. */
int engine_par_result(engine_par *p);
/* Runs fn on this thread and on up to threads - 1 more (at most ENGINE_MAX_THREADS in all),
 * then joins them. Thread t gets (char *)args + t * stride (stride 0: all the same args). A
 * thread that cannot be started leaves its share to the others. */
void engine_par_run(void *(*fn)(void *), void *args, size_t stride, int threads);

#endif
