#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/pool.h"

/* Every size up to past the small limit: aligned, at least the size, the size class grid,
 * the whole block writable. */
START_TEST(test_util_pool__sizes_and_alignment)
{
	static const size_t grid[][2] = {{0, 16},      {1, 16},      {16, 16},     {17, 32},     {255, 256},
					 {256, 256},   {257, 320},   {320, 320},   {321, 384},   {512, 512},
					 {513, 640},   {1000, 1024}, {1025, 1280}, {4097, 5120}, {8191, 8192},
					 {8192, 8192}};
	for (size_t i = 0; i < sizeof(grid) / sizeof(grid[0]); i++) {
		void *p = dhg_pool_malloc(grid[i][0]);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq(dhg_pool_block_size(p), grid[i][1]);
		dhg_pool_free(p);
	}
	for (size_t n = 0; n <= DHG_POOL_MAX_SMALL + 600; n += (n < 600 ? 1 : 37)) {
		unsigned char *p = dhg_pool_malloc(n);
		size_t bs;
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % DHG_POOL_ALIGN, 0);
		bs = dhg_pool_block_size(p);
		ck_assert_uint_ge(bs, n ? n : 1);
		if (n <= DHG_POOL_MAX_SMALL)
			ck_assert_uint_le(bs, n <= 256 ? n + 16 : n + n / 4 + 16); /* classes at most 25% apart */
		memset(p, 0xab, bs);
		dhg_pool_free(p);
	}
	/* big blocks */
	{
		unsigned char *p = dhg_pool_malloc((size_t)3 << 20);
		ck_assert_ptr_nonnull(p);
		ck_assert_uint_eq((uintptr_t)p % DHG_POOL_ALIGN, 0);
		ck_assert_uint_eq(dhg_pool_block_size(p), (size_t)3 << 20);
		p[0] = 1;
		p[((size_t)3 << 20) - 1] = 2;
		dhg_pool_free(p);
	}
	dhg_pool_free(NULL);
	ck_assert_uint_eq(dhg_pool_block_size(NULL), 0);
	errno = 0;
	ck_assert_ptr_null(dhg_pool_malloc(SIZE_MAX));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_null(dhg_pool_malloc(SIZE_MAX - 8));
}
END_TEST

/* A freed block is the next one handed out for its class (LIFO), not for another class. */
START_TEST(test_util_pool__reuse)
{
	void *a = dhg_pool_malloc(40), *b = dhg_pool_malloc(40), *c;
	size_t mapped;
	ck_assert_ptr_ne(a, b);
	dhg_pool_free(a);
	c = dhg_pool_malloc(100); /* another class */
	ck_assert_ptr_ne(c, a);
	ck_assert_ptr_eq(dhg_pool_malloc(33), a); /* 33..48: a's class */
	dhg_pool_free(b);
	dhg_pool_free(a);
	ck_assert_ptr_eq(dhg_pool_malloc(48), a);
	ck_assert_ptr_eq(dhg_pool_malloc(48), b);
	dhg_pool_free(a);
	dhg_pool_free(b);
	dhg_pool_free(c);
	/* a freed working set is reused in full: no new spans for the second round */
	{
		enum { N = 20000 };
		void **v = malloc(N * sizeof(*v));
		ck_assert_ptr_nonnull(v);
		for (int round = 0; round < 2; round++) {
			for (int i = 0; i < N; i++)
				ck_assert_ptr_nonnull(v[i] = dhg_pool_malloc((size_t)(i % 200) + 1));
			if (round == 0)
				mapped = dhg_pool_span_bytes();
			else
				ck_assert_uint_eq(dhg_pool_span_bytes(), mapped);
			for (int i = 0; i < N; i++)
				dhg_pool_free(v[i]);
		}
		free(v);
	}
}
END_TEST

/* Live blocks never overlap: each is filled with its own pattern, all are checked after. */
START_TEST(test_util_pool__no_overlap)
{
	enum { N = 5000 };
	unsigned char **v = malloc(N * sizeof(*v));
	size_t *len = malloc(N * sizeof(*len));
	unsigned seed = 12345;
	ck_assert_ptr_nonnull(v);
	ck_assert_ptr_nonnull(len);
	for (int i = 0; i < N; i++) {
		seed = seed * 1103515245u + 12345u;
		len[i] = (seed >> 8) % (i % 50 == 0 ? 20000 : 700);
		ck_assert_ptr_nonnull(v[i] = dhg_pool_malloc(len[i]));
		memset(v[i], i & 0xff, len[i]);
		if (i % 3 == 0) { /* free some early: their blocks are reused by later ones */
			dhg_pool_free(v[i]);
			v[i] = NULL;
		}
	}
	for (int i = 0; i < N; i++) {
		for (size_t k = 0; v[i] && k < len[i]; k++)
			ck_assert_uint_eq(v[i][k], (unsigned)(i & 0xff));
		dhg_pool_free(v[i]);
	}
	free(v);
	free(len);
}
END_TEST

/* Threads allocate, check and free concurrently, and free blocks other threads made. */
#define NTHREADS 8
#define PER_THREAD 20000
static unsigned char *handoff[NTHREADS][PER_THREAD];

typedef struct worker_arg {
	int id;
	pthread_barrier_t *barrier;
	int bad;
} worker_arg;

static void *worker(void *p)
{
	worker_arg *a = p;
	unsigned char *mine[64];
	for (int i = 0; i < PER_THREAD; i++) {
		size_t n = (size_t)((i * 7 + a->id * 13) % 300) + 1;
		unsigned char *b = dhg_pool_malloc(n);
		if (!b) {
			a->bad = 1;
			return NULL;
		}
		memset(b, a->id, n);
		b[0] = (unsigned char)n; /* n <= 300: low byte kept with the id in b[n-1] */
		handoff[a->id][i] = b;
		/* churn on the thread's own cache */
		for (int k = 0; k < 64; k++)
			mine[k] = dhg_pool_malloc((size_t)(k * 5 + 1));
		for (int k = 0; k < 64; k++) {
			if (!mine[k]) {
				a->bad = 1;
				return NULL;
			}
			dhg_pool_free(mine[k]);
		}
	}
	pthread_barrier_wait(a->barrier);
	/* free the blocks of the next thread, after checking them */
	{
		int o = (a->id + 1) % NTHREADS;
		for (int i = 0; i < PER_THREAD; i++) {
			unsigned char *b = handoff[o][i];
			size_t n = (size_t)((i * 7 + o * 13) % 300) + 1;
			if (b[0] != (unsigned char)n || (n > 1 && b[n - 1] != (unsigned char)o))
				a->bad = 1;
			dhg_pool_free(b);
		}
	}
	return NULL;
}

START_TEST(test_util_pool__threads)
{
	pthread_t th[NTHREADS];
	worker_arg args[NTHREADS];
	pthread_barrier_t barrier;
	size_t mapped;
	void **v;

	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, NTHREADS), 0);
	for (int i = 0; i < NTHREADS; i++) {
		args[i] = (worker_arg){i, &barrier, 0};
		ck_assert_int_eq(pthread_create(&th[i], NULL, worker, &args[i]), 0);
	}
	for (int i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(th[i], NULL), 0);
		ck_assert_int_eq(args[i].bad, 0);
	}
	pthread_barrier_destroy(&barrier);
	/* the ended threads' free blocks are taken over: allocating as much again (one of the
	 * sizes they used) maps nothing new */
	mapped = dhg_pool_span_bytes();
	v = malloc(NTHREADS * PER_THREAD / 40 * sizeof(*v));
	ck_assert_ptr_nonnull(v);
	/* about PER_THREAD * 16 / 300 blocks of 17..32 bytes per thread were freed */
	for (int i = 0; i < NTHREADS * PER_THREAD / 40; i++)
		ck_assert_ptr_nonnull(v[i] = dhg_pool_malloc(24));
	ck_assert_uint_eq(dhg_pool_span_bytes(), mapped);
	for (int i = 0; i < NTHREADS * PER_THREAD / 40; i++)
		dhg_pool_free(v[i]);
	free(v);
}
END_TEST

/* Free lists of ended threads are joined (each thread's whole list, in O(1)) and a new
 * thread takes them all over before it maps a span. */
#define SPLICE_N 100
static void *alloc_free_exit(void *arg)
{
	void *v[SPLICE_N];
	for (int i = 0; i < SPLICE_N; i++)
		if (!(v[i] = dhg_pool_malloc(3000)))
			return (void *)1;
	pthread_barrier_wait(arg); /* both hold their blocks: neither reuses the other's */
	for (int i = 0; i < SPLICE_N; i++)
		dhg_pool_free(v[i]);
	return NULL;
}

static void *alloc_all(void *arg)
{
	size_t *spans = arg, before = dhg_pool_span_bytes();
	void *v[2 * SPLICE_N];
	for (int i = 0; i < 2 * SPLICE_N; i++)
		if (!(v[i] = dhg_pool_malloc(3000)))
			return (void *)1;
	*spans = dhg_pool_span_bytes() - before;
	for (int i = 0; i < 2 * SPLICE_N; i++)
		dhg_pool_free(v[i]);
	return NULL;
}

START_TEST(test_util_pool__orphans_spliced)
{
	pthread_t t, two[2];
	pthread_barrier_t barrier;
	void *r;
	size_t grew = 1;
	ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, 2), 0);
	for (int k = 0; k < 2; k++)
		ck_assert_int_eq(pthread_create(&two[k], NULL, alloc_free_exit, &barrier), 0);
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(pthread_join(two[k], &r), 0);
		ck_assert_ptr_null(r);
	}
	pthread_barrier_destroy(&barrier);
	ck_assert_int_eq(pthread_create(&t, NULL, alloc_all, &grew), 0);
	ck_assert_int_eq(pthread_join(t, &r), 0);
	ck_assert_ptr_null(r);
	ck_assert_uint_eq(grew, 0); /* both lists, taken over whole */
}
END_TEST

/* jansson on the pool: what dhg does (json_set_alloc_funcs), then back to libc. */
START_TEST(test_util_pool__jansson)
{
	json_t *o, *back;
	char *text;

	json_set_alloc_funcs(dhg_pool_malloc, dhg_pool_free);
	o = json_pack("{s:s, s:[i,i,{s:b}], s:s%}", "name", "web", "ports", 80, 443, "tls", 1, "long", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", (size_t)40);
	ck_assert_ptr_nonnull(o);
	for (int i = 0; i < 2000; i++) {
		char k[16];
		snprintf(k, sizeof(k), "k%d", i);
		ck_assert_int_eq(json_object_set_new(o, k, json_integer(i)), 0);
	}
	text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	ck_assert_ptr_nonnull(text);
	ck_assert_uint_ge(dhg_pool_block_size(text), strlen(text) + 1); /* a pool block */
	back = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(back);
	ck_assert(json_equal(o, back));
	ck_assert_int_eq(json_integer_value(json_object_get(back, "k1999")), 1999);
	dhg_pool_free(text); /* json_dumps memory comes from the installed allocator */
	json_decref(back);
	json_decref(o);
	json_set_alloc_funcs(malloc, free);
}
END_TEST

Suite *util_pool_suite(void)
{
	Suite *s = suite_create("util_pool");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_util_pool__sizes_and_alignment);
	tcase_add_test(tc, test_util_pool__reuse);
	tcase_add_test(tc, test_util_pool__no_overlap);
	tcase_add_test(tc, test_util_pool__threads);
	tcase_add_test(tc, test_util_pool__orphans_spliced);
	tcase_add_test(tc, test_util_pool__jansson);
	suite_add_tcase(s, tc);
	return s;
}
