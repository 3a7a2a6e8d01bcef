/* Memory planning: every intermediate gets an offset in one arena so that tensors whose
 * lifetimes overlap never share bytes. Greedy by size (largest first, best-fitting gap among
 * the already placed tensors that are alive at the same time), which lands close to the
 * peak-live lower bound on inference graphs. */
#include <stdlib.h>

#include "core/alloc.h"
#include "runtime/runtime.h"

#define ALIGN 64
#define GUARD 64

typedef struct item {
    int v;
    size_t bytes;
    int first, last;
} item;

static int by_size_desc(const void *a, const void *b) {
    const item *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->first - y->first;
}

static int by_offset(const void *a, const void *b) {
    const cinfer__plan_value *const *x = a, *const *y = b;
    return (*x)->offset < (*y)->offset ? -1 : (*x)->offset > (*y)->offset;
}

cinfer_status cinfer__memplan(cinfer__plan *p, cinfer__err *err) {
    int n = 0;
    for (int v = 0; v < p->n_values; v++)
        n += p->vals[v].store == CINFER__STORE_ARENA && p->vals[v].alias_of < 0;
    item *items = cinfer__calloc((size_t)n + 1, sizeof *items);
    const cinfer__plan_value **live = cinfer__calloc((size_t)n + 1, sizeof *live);
    if (!items || !live) {
        cinfer__free(items);
        cinfer__free(live);
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory planning memory");
    }
    n = 0;
    p->naive_bytes = 0;
    for (int v = 0; v < p->n_values; v++) {
        cinfer__plan_value *pv = &p->vals[v];
        if (pv->store != CINFER__STORE_ARENA || pv->alias_of >= 0) continue;
        size_t b = (cinfer__tensor_bytes(&pv->t) + ALIGN - 1) / ALIGN * ALIGN;
        pv->bytes = b + (p->guard ? GUARD : 0);
        p->naive_bytes += pv->bytes;
        items[n++] = (item){v, pv->bytes, pv->first, pv->last};
    }
    qsort(items, (size_t)n, sizeof *items, by_size_desc);
    size_t arena = 0;
    for (int i = 0; i < n; i++) {
        int n_live = 0;
        for (int j = 0; j < i; j++)
            if (items[j].first <= items[i].last && items[i].first <= items[j].last)
                live[n_live++] = &p->vals[items[j].v];
        qsort(live, (size_t)n_live, sizeof *live, by_offset);
        size_t best = (size_t)-1, best_gap = (size_t)-1, cursor = 0;
        for (int j = 0; j < n_live; j++) {
            if (live[j]->offset >= cursor) {
                size_t gap = live[j]->offset - cursor;
                if (gap >= items[i].bytes && gap < best_gap) {
                    best = cursor;
                    best_gap = gap;
                }
            }
            size_t end = live[j]->offset + live[j]->bytes;
            if (end > cursor) cursor = end;
        }
        if (best == (size_t)-1) best = cursor;
        p->vals[items[i].v].offset = best;
        if (best + items[i].bytes > arena) arena = best + items[i].bytes;
    }
    p->arena_bytes = arena;
    /* Lower bound: the most bytes alive during any one step. */
    p->peak_live_bytes = 0;
    for (int s = 0; s <= p->n_steps; s++) {
        size_t sum = 0;
        for (int i = 0; i < n; i++)
            if (items[i].first <= s && s <= items[i].last) sum += items[i].bytes;
        if (sum > p->peak_live_bytes) p->peak_live_bytes = sum;
    }
    cinfer__free(items);
    cinfer__free(live);
    return CINFER_OK;
}
