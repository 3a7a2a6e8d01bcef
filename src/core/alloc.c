/* Allocation wrappers with a failure-injection hook for tests. */
#include "core/alloc.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_long fail_countdown;

void cinfer__alloc_fail_after(long n) { atomic_store(&fail_countdown, n); }

static int should_fail(void) {
    long n = atomic_load(&fail_countdown);
    if (n <= 0) return 0;
    return atomic_fetch_sub(&fail_countdown, 1) == 1;
}

void *cinfer__malloc(size_t size) {
    if (should_fail()) return NULL;
    return malloc(size ? size : 1);
}

void *cinfer__calloc(size_t count, size_t size) {
    if (should_fail()) return NULL;
    return calloc(count ? count : 1, size ? size : 1);
}

void *cinfer__realloc(void *p, size_t size) {
    if (should_fail()) return NULL;
    return realloc(p, size ? size : 1);
}

void *cinfer__aligned_alloc(size_t size) {
    if (should_fail()) return NULL;
    size_t rounded = (size + 63) & ~(size_t)63;
    return aligned_alloc(64, rounded ? rounded : 64);
}

void cinfer__aligned_free(void *p) { free(p); }
void cinfer__free(void *p) { free(p); }

char *cinfer__strdup(const char *s) { return cinfer__strndup(s, strlen(s)); }

char *cinfer__strndup(const char *s, size_t n) {
    char *d = cinfer__malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
