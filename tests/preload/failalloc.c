/*
 * LD_PRELOAD library for tests/integration/test_engine_oom.sh: makes the Nth allocation of a
 * process fail, to check that every allocation failure is reported (exit 1, "out of memory")
 * or harmless (the same output), never a crash or a silently different result.
 *
 *   FAILALLOC_AT=N       the Nth call of malloc/calloc/realloc/posix_memalign/aligned_alloc
 *                        (counted from the first, across all threads) returns NULL / ENOMEM
 *   FAILALLOC_COUNT=FILE at exit, the number of calls is written to FILE
 *
 * The real functions are glibc's __libc_* entry points (no dlsym: it allocates). Run the
 * program with DHG_ALLOC=malloc so that the engine's trees use malloc too.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static long g_count, g_at = -1;
static int g_init;

static int fail_now(void)
{
	long c;
	if (!__atomic_load_n(&g_init, __ATOMIC_ACQUIRE)) {
		const char *e = getenv("FAILALLOC_AT");
		g_at = e ? atol(e) : -1;
		__atomic_store_n(&g_init, 1, __ATOMIC_RELEASE);
	}
	c = __atomic_add_fetch(&g_count, 1, __ATOMIC_RELAXED);
	if (g_at > 0 && c == g_at) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *malloc(size_t n)
{
	return fail_now() ? NULL : __libc_malloc(n);
}

void *calloc(size_t a, size_t b)
{
	return fail_now() ? NULL : __libc_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
	return fail_now() ? NULL : __libc_realloc(p, n);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	void *p;
	if (fail_now())
		return ENOMEM;
	if (align < sizeof(void *) || (align & (align - 1)))
		return EINVAL;
	if (!(p = __libc_memalign(align, n)))
		return ENOMEM;
	*out = p;
	return 0;
}

void *aligned_alloc(size_t align, size_t n)
{
	return fail_now() ? NULL : __libc_memalign(align, n);
}

__attribute__((destructor)) static void report(void)
{
	const char *f = getenv("FAILALLOC_COUNT");
	FILE *o;
	if (f && (o = fopen(f, "w"))) {
		fprintf(o, "%ld\n", __atomic_load_n(&g_count, __ATOMIC_RELAXED));
		fclose(o);
	}
}
