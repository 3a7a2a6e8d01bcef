/* Every heap allocation in cinfer goes through these, so tests can inject failures. */
#ifndef CINFER_CORE_ALLOC_H
#define CINFER_CORE_ALLOC_H

#include <stddef.h>

void *cinfer__malloc(size_t size);
void *cinfer__calloc(size_t count, size_t size);
void *cinfer__realloc(void *p, size_t size);
/* 64-byte aligned; free with cinfer__aligned_free. */
void *cinfer__aligned_alloc(size_t size);
void cinfer__aligned_free(void *p);
void cinfer__free(void *p);
char *cinfer__strdup(const char *s);
char *cinfer__strndup(const char *s, size_t n);

/* Test hook: the n-th allocation from now on (1 = the next) fails; 0 disables. */
void cinfer__alloc_fail_after(long n);

#endif
