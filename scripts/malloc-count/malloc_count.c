// Counts heap allocations of a process, for measuring what a steady-state frame or model run allocates.
// Build: cc -O2 -shared -fPIC -o libmalloc_count.so malloc_count.c
// Use:   LD_PRELOAD=$PWD/libmalloc_count.so visage diagnose ...   (or visage bench swap)
// visage finds `visage_malloc_calls` with dlsym and reports allocations per run; without the preload
// it reports none. glibc's __libc_* entry points do the allocating, so nothing here recurses.
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
extern char *program_invocation_short_name;

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static uint64_t calls;

uint64_t visage_malloc_calls(void) { return __atomic_load_n(&calls, __ATOMIC_RELAXED); }

// With VISAGE_MALLOC_COUNT_REPORT=1 the total is printed to stderr at exit, so any binary (one without
// the dlsym lookup too) can be compared: run it with N and 2N frames and take the difference.
__attribute__((destructor)) static void report(void) {
    const char *flag = getenv("VISAGE_MALLOC_COUNT_REPORT");
    if (flag && flag[0] == '1') fprintf(stderr, "malloc_count: %s[%d]: %llu allocations\n", program_invocation_short_name, (int)getpid(),
                               (unsigned long long)visage_malloc_calls());
}

static inline void count(void) { __atomic_fetch_add(&calls, 1, __ATOMIC_RELAXED); }

void *malloc(size_t n) { count(); return __libc_malloc(n); }
void *calloc(size_t n, size_t s) { count(); return __libc_calloc(n, s); }
void *realloc(void *p, size_t n) { count(); return __libc_realloc(p, n); }
void *memalign(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
void *aligned_alloc(size_t a, size_t n) { count(); return __libc_memalign(a, n); }
int posix_memalign(void **out, size_t a, size_t n) {
    count();
    void *p = __libc_memalign(a, n);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}
