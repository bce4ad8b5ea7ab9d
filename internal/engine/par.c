/*
 * engine_par: items handed out to threads in index order, the lowest failure kept (par.h).
 */
#include "engine/par.h"

#include <stdint.h>
#include <string.h>

#include "engine/engine.h"

int engine_par_init(engine_par *p, size_t n, size_t chunk)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->n = n;
	p->chunk = chunk ? chunk : 1;
	p->err_at = SIZE_MAX;
	if ((rc = pthread_mutex_init(&p->mu, NULL)) != 0)
		return dhg_error_set(DHG_ERROR, "engine: pthread_mutex_init: %s", strerror(rc));
	return 0;
}

void engine_par_dispose(engine_par *p)
{
	pthread_mutex_destroy(&p->mu);
}

int engine_par_next(engine_par *p, size_t *from, size_t *to)
{
	size_t c;

	pthread_mutex_lock(&p->mu);
	c = p->next;
	if (c >= p->n || c > p->err_at) {
		pthread_mutex_unlock(&p->mu);
		return 0;
	}
	p->next += p->chunk;
	pthread_mutex_unlock(&p->mu);
	*from = c;
	*to = c + p->chunk < p->n ? c + p->chunk : p->n;
	return 1;
}

void engine_par_fail(engine_par *p, size_t i, int err)
{
	pthread_mutex_lock(&p->mu);
	if (i < p->err_at) {
		p->err_at = i;
		p->err = err;
		p->errd = *dhg_error_last();
	}
	pthread_mutex_unlock(&p->mu);
}

int engine_par_result(engine_par *p)
{
	if (p->err_at == SIZE_MAX)
		return 0;
	dhg_error_restore(&p->errd);
	return p->err;
}

void engine_par_run(void *(*fn)(void *), void *args, size_t stride, int threads)
{
	pthread_t tids[ENGINE_MAX_THREADS];
	int started = 0;

	if (threads > ENGINE_MAX_THREADS)
		threads = ENGINE_MAX_THREADS;
	for (int t = 1; t < threads; t++) {
		if (pthread_create(&tids[started], NULL, fn, (char *)args + (size_t)t * stride) != 0)
			break;
		started++;
	}
	fn(args);
	for (int t = 0; t < started; t++)
		pthread_join(tids[t], NULL);
}
