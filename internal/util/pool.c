/*
 * Size-class allocator with per-thread caches (pool.h).
 *
 * Layout: regions of REGION bytes are mmap'ed (aligned to 2 MiB and marked MADV_HUGEPAGE:
 * the trees the pool serves are walked in random order, and transparent huge pages cut the
 * page faults and TLB misses of that by much) and cut into SPAN-aligned spans of SPAN
 * bytes. A span serves one size class; its first HDR bytes are a span_hdr (magic, class),
 * so the class of any block is found from its address (round down to SPAN). A big block
 * (above DHG_POOL_MAX_SMALL) is its own SPAN-aligned posix_memalign() allocation with the
 * same header, class CLASS_BIG.
 *
 * Per thread and class: a LIFO free list and a bump range in the class's current span. The
 * fast paths touch only thread-local data. A block freed by another thread joins that
 * thread's free list (blocks are never tied to the thread that made them). When a thread
 * ends, a pthread key destructor moves its free lists to g_orphans, which threads take over
 * before they map a new span.
 */
#include "util/pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#define SPAN ((size_t)64 << 10)
#define REGION ((size_t)4 << 20)
#define HUGE ((size_t)2 << 20)
#define HDR ((size_t)16)
#define NFINE 16 /* 16, 32, ... 256 */
#define NCLASS (NFINE + 5 * 4) /* then 4 per power of two: 320 ... 8192 */
#define CLASS_BIG 0xffffffffu
#define MAGIC 0x6c6f6f70u

typedef struct span_hdr {
	uint32_t magic;
	uint32_t cls;
	uint64_t size; /* big blocks: the size asked for */
} span_hdr;

_Static_assert(sizeof(span_hdr) == HDR, "span header is HDR bytes");
_Static_assert(HDR % DHG_POOL_ALIGN == 0, "blocks after the header stay aligned");

typedef struct free_block {
	struct free_block *next;
} free_block;

typedef struct cls_cache {
	free_block *free, *last; /* LIFO free list; last: its final block (splicing at exit) */
	char *bump, *end;         /* unused part of the class's current span */
} cls_cache;

typedef struct tcache {
	cls_cache c[NCLASS];
	int registered; /* the exit destructor is set for this thread */
} tcache;

static _Thread_local tcache tc;

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static char *g_next, *g_limit;     /* spans not handed out yet, in the current region */
static size_t g_spans;             /* spans handed out; under g_lock */
static free_block *g_orphans[NCLASS], *g_orphans_last[NCLASS]; /* under g_lock */
static int g_orphans_any;          /* atomic: a hint that g_orphans may be non-empty */
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_key;
static int g_key_ok;

static inline unsigned class_of(size_t n)
{
	unsigned b;
	if (n <= 256)
		return n ? (unsigned)((n - 1) >> 4) : 0;
	b = 63u - (unsigned)__builtin_clzll((unsigned long long)(n - 1)); /* 2^b < n <= 2^(b+1) */
	return NFINE + (b - 8) * 4 + (unsigned)(((n - 1) - ((size_t)1 << b)) >> (b - 2));
}

static inline size_t class_size(unsigned c)
{
	unsigned b, sub;
	if (c < NFINE)
		return (size_t)(c + 1) << 4;
	b = 8 + (c - NFINE) / 4;
	sub = (c - NFINE) % 4;
	return ((size_t)1 << b) + (size_t)(sub + 1) * ((size_t)1 << (b - 2));
}

/* Thread exit: the thread's free blocks go to the shared lists (its bump ranges, never
 * touched, are dropped). */
static void thread_done(void *arg)
{
	tcache *t = arg;
	int any = 0;

	pthread_mutex_lock(&g_lock);
	for (unsigned c = 0; c < NCLASS; c++) {
		free_block *f = t->c[c].free;
		if (f) {
			t->c[c].last->next = g_orphans[c];
			if (!g_orphans[c])
				g_orphans_last[c] = t->c[c].last;
			g_orphans[c] = f;
		}
		t->c[c].free = t->c[c].last = NULL;
		t->c[c].bump = t->c[c].end = NULL;
		if (g_orphans[c])
			any = 1;
	}
	__atomic_store_n(&g_orphans_any, any, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&g_lock);
	t->registered = 0;
}

static void make_key(void)
{
	g_key_ok = pthread_key_create(&g_key, thread_done) == 0;
}

/* A new span for class cls, or NULL (errno ENOMEM). */
static char *span_new(unsigned cls)
{
	char *s = NULL;
	span_hdr *h;

	pthread_mutex_lock(&g_lock);
	if (g_next == g_limit) {
		void *m = mmap(NULL, REGION + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m != MAP_FAILED) {
			uintptr_t a = ((uintptr_t)m + HUGE - 1) & ~(uintptr_t)(HUGE - 1);
			size_t head = a - (uintptr_t)m;
			/* keep only the aligned REGION bytes */
			if (head)
				munmap(m, head);
			if (HUGE - head)
				munmap((char *)a + REGION, HUGE - head);
			(void)madvise((void *)a, REGION, MADV_HUGEPAGE);
			g_next = (char *)a;
			g_limit = g_next + REGION;
		}
	}
	if (g_next != g_limit) {
		s = g_next;
		g_next += SPAN;
		g_spans++;
	}
	pthread_mutex_unlock(&g_lock);
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	h = (span_hdr *)s;
	h->magic = MAGIC;
	h->cls = cls;
	h->size = 0;
	return s;
}

static void *refill(unsigned c)
{
	cls_cache *cc = &tc.c[c];
	size_t sz = class_size(c);
	char *s;
	void *p;

	if (!tc.registered) {
		pthread_once(&g_once, make_key);
		if (g_key_ok && pthread_setspecific(g_key, &tc) == 0)
			tc.registered = 1;
	}
	if (__atomic_load_n(&g_orphans_any, __ATOMIC_ACQUIRE)) {
		int any = 0;
		pthread_mutex_lock(&g_lock);
		cc->free = g_orphans[c];
		cc->last = g_orphans_last[c];
		g_orphans[c] = g_orphans_last[c] = NULL;
		for (unsigned k = 0; k < NCLASS && !any; k++)
			any = g_orphans[k] != NULL;
		__atomic_store_n(&g_orphans_any, any, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&g_lock);
		if (cc->free) {
			free_block *f = cc->free;
			if (!(cc->free = f->next))
				cc->last = NULL;
			return f;
		}
	}
	if (!(s = span_new(c)))
		return NULL;
	p = s + HDR;
	cc->bump = s + HDR + sz;
	cc->end = s + HDR + (SPAN - HDR) / sz * sz;
	return p;
}

static void *big_alloc(size_t n)
{
	void *m = NULL;
	span_hdr *h;

	if (n > SIZE_MAX - HDR - SPAN || posix_memalign(&m, SPAN, HDR + n) != 0) {
		errno = ENOMEM;
		return NULL;
	}
	h = m;
	h->magic = MAGIC;
	h->cls = CLASS_BIG;
	h->size = n;
	return (char *)m + HDR;
}

void *dhg_pool_malloc(size_t size)
{
	unsigned c;
	cls_cache *cc;
	free_block *f;
	size_t sz;

	if (size > DHG_POOL_MAX_SMALL)
		return big_alloc(size);
	c = class_of(size);
	cc = &tc.c[c];
	if ((f = cc->free)) {
		if (!(cc->free = f->next))
			cc->last = NULL;
		return f;
	}
	sz = class_size(c);
	if ((size_t)(cc->end - cc->bump) >= sz) {
		void *p = cc->bump;
		cc->bump += sz;
		return p;
	}
	return refill(c);
}

static span_hdr *hdr_of(const void *p)
{
	span_hdr *h = (span_hdr *)((uintptr_t)p & ~(uintptr_t)(SPAN - 1));
	if (h->magic != MAGIC || (h->cls != CLASS_BIG && h->cls >= NCLASS))
		abort(); /* not a pool block */
	return h;
}

void dhg_pool_free(void *p)
{
	span_hdr *h;
	cls_cache *cc;
	free_block *f = p;

	if (!p)
		return;
	h = hdr_of(p);
	if (h->cls == CLASS_BIG) {
		h->magic = 0;
		free(h);
		return;
	}
	cc = &tc.c[h->cls];
	if (!(f->next = cc->free))
		cc->last = f;
	cc->free = f;
}

size_t dhg_pool_block_size(const void *p)
{
	const span_hdr *h;
	if (!p)
		return 0;
	h = hdr_of(p);
	return h->cls == CLASS_BIG ? (size_t)h->size : class_size(h->cls);
}

size_t dhg_pool_span_bytes(void)
{
	size_t n;
	pthread_mutex_lock(&g_lock);
	n = g_spans * SPAN;
	pthread_mutex_unlock(&g_lock);
	return n;
}
