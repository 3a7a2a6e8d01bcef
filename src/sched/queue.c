/* The request queue: one FIFO list per priority level (O(1) push, pop and removal for cancel)
 * and a binary min-heap of deadlines (O(log n)) so timeouts are found without a scan. The
 * caller holds s->mu for every call. */
#include <stdint.h>

#include "core/alloc.h"
#include "sched/sched.h"

static bool before(const cinfer_request *a, const cinfer_request *b) {
    return a->deadline < b->deadline || (a->deadline == b->deadline && a->seq < b->seq);
}

static void heap_set(cinfer__req_queue *q, size_t i, cinfer_request *r) {
    q->heap[i] = r;
    r->heap_idx = i;
}

static void heap_up(cinfer__req_queue *q, size_t i) {
    cinfer_request *r = q->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(r, q->heap[parent])) break;
        heap_set(q, i, q->heap[parent]);
        i = parent;
    }
    heap_set(q, i, r);
}

static void heap_down(cinfer__req_queue *q, size_t i) {
    cinfer_request *r = q->heap[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= q->heap_n) break;
        if (c + 1 < q->heap_n && before(q->heap[c + 1], q->heap[c])) c++;
        if (!before(q->heap[c], r)) break;
        heap_set(q, i, q->heap[c]);
        i = c;
    }
    heap_set(q, i, r);
}

bool cinfer__queue_reserve(cinfer__req_queue *q) {
    if (q->heap_n < q->heap_cap) return true;
    size_t cap = q->heap_cap ? q->heap_cap * 2 : 64;
    cinfer_request **h = cinfer__realloc(q->heap, cap * sizeof *h);
    if (!h) return false;
    q->heap = h;
    q->heap_cap = cap;
    return true;
}

void cinfer__queue_push(cinfer__req_queue *q, cinfer_request *r) {
    r->next = NULL;
    r->prev = q->level[r->level].tail;
    if (r->prev) r->prev->next = r;
    else q->level[r->level].head = r;
    q->level[r->level].tail = r;
    q->count++;
    r->heap_idx = SIZE_MAX;
    if (r->deadline != UINT64_MAX) {
        /* cinfer__queue_reserve made room. */
        heap_set(q, q->heap_n++, r);
        heap_up(q, r->heap_idx);
    }
}

void cinfer__queue_remove(cinfer__req_queue *q, cinfer_request *r) {
    if (r->prev) r->prev->next = r->next;
    else q->level[r->level].head = r->next;
    if (r->next) r->next->prev = r->prev;
    else q->level[r->level].tail = r->prev;
    r->prev = r->next = NULL;
    q->count--;
    size_t i = r->heap_idx;
    if (i == SIZE_MAX) return;
    r->heap_idx = SIZE_MAX;
    cinfer_request *last = q->heap[--q->heap_n];
    if (i == q->heap_n) return;
    heap_set(q, i, last);
    if (i > 0 && before(last, q->heap[(i - 1) / 2])) heap_up(q, i);
    else heap_down(q, i);
}

uint64_t cinfer__queue_next_deadline(const cinfer__req_queue *q) {
    return q->heap_n ? q->heap[0]->deadline : UINT64_MAX;
}

cinfer_request *cinfer__queue_first(const cinfer__req_queue *q) {
    for (int l = 0; l < q->n_levels; l++)
        if (q->level[l].head) return q->level[l].head;
    return NULL;
}

cinfer_request *cinfer__queue_next(const cinfer__req_queue *q, const cinfer_request *r) {
    if (r->next) return r->next;
    for (int l = r->level + 1; l < q->n_levels; l++)
        if (q->level[l].head) return q->level[l].head;
    return NULL;
}

void cinfer__queue_free(cinfer__req_queue *q) {
    cinfer__free(q->heap);
    q->heap = NULL;
    q->heap_n = q->heap_cap = 0;
}
