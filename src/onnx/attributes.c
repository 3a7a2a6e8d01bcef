/* AttributeProto -> cinfer__attr, and Constant nodes evaluated into tensors at import. */
#include <string.h>

#include "core/alloc.h"
#include "onnx/onnx_internal.h"

static const char *attr_type_name(int type) {
    static const char *const names[] = {
        "UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS",
        "STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO",
        "TYPE_PROTOS"};
    return type >= 0 && type < (int)(sizeof names / sizeof *names) ? names[type] : "unknown";
}

/* IR version 1 attributes carry no `type`: infer it from the one field that is set. */
static int attr_type(const Onnx__AttributeProto *ap) {
    if (ap->has_type && ap->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
        return (int)ap->type;
    if (ap->has_f) return CINFER_ATTR_FLOAT;
    if (ap->has_i) return CINFER_ATTR_INT;
    if (ap->has_s) return CINFER_ATTR_STRING;
    if (ap->t) return CINFER_ATTR_TENSOR;
    if (ap->g) return CINFER_ATTR_GRAPH;
    if (ap->sparse_tensor) return CINFER_ATTR_SPARSE_TENSOR;
    if (ap->n_floats) return CINFER_ATTR_FLOATS;
    if (ap->n_ints) return CINFER_ATTR_INTS;
    if (ap->n_strings) return CINFER_ATTR_STRINGS;
    if (ap->n_tensors) return CINFER_ATTR_TENSORS;
    if (ap->n_graphs) return CINFER_ATTR_GRAPHS;
    return CINFER_ATTR_UNDEFINED;
}

static char *copy_bytes(const ProtobufCBinaryData *b) {
    return cinfer__strndup(b->data ? (const char *)b->data : "", b->data ? b->len : 0);
}

/* Converts `n` TensorProtos into a calloc'd array owned by a (count set first, so that
 * cinfer__attr_free releases a partial array). */
static cinfer_status attr_tensors(cinfer__attr *a, Onnx__TensorProto *const *tps, size_t n,
                                  const char *what, const char *base_dir, cinfer__err *err) {
    a->t = cinfer__calloc(n ? n : 1, sizeof *a->t);
    if (!a->t) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
    a->count = n;
    char tw[CINFER__ONNX_WHAT_LEN + 32];
    for (size_t i = 0; i < n; i++) {
        if (n > 1) snprintf(tw, sizeof tw, "%s tensor %zu", what, i);
        else snprintf(tw, sizeof tw, "%s", what);
        CINFER_TRY(cinfer__onnx_tensor(tps[i], tw, base_dir, &a->t[i], err));
    }
    return CINFER_OK;
}

/* Copies the list fields (a->count covers a partial strings array for cinfer__attr_free). */
static cinfer_status attr_lists(const Onnx__AttributeProto *ap, cinfer__attr *a,
                                const char *what, cinfer__err *err) {
    size_t n = a->type == CINFER_ATTR_FLOATS ? ap->n_floats
             : a->type == CINFER_ATTR_INTS   ? ap->n_ints
                                             : ap->n_strings;
    size_t cap = n ? n : 1;
    bool ok = true;
    if (a->type == CINFER_ATTR_FLOATS) {
        ok = (a->floats = cinfer__malloc(cap * sizeof(float))) != NULL;
        if (ok && n) memcpy(a->floats, ap->floats, n * sizeof(float));
    } else if (a->type == CINFER_ATTR_INTS) {
        ok = (a->ints = cinfer__malloc(cap * sizeof(int64_t))) != NULL;
        if (ok && n) memcpy(a->ints, ap->ints, n * sizeof(int64_t));
    } else {
        ok = (a->strings = cinfer__calloc(cap, sizeof(char *))) != NULL;
        for (size_t i = 0; ok && i < n; i++) ok = (a->strings[i] = copy_bytes(&ap->strings[i]));
    }
    a->count = n;
    if (!ok) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
    return CINFER_OK;
}

static cinfer_status attr_value(const Onnx__AttributeProto *ap, cinfer__attr *a, const char *what,
                                const char *base_dir, cinfer__err *err) {
    switch (a->type) {
    case CINFER_ATTR_FLOAT: a->f = ap->f; return CINFER_OK;
    case CINFER_ATTR_INT: a->i = ap->i; return CINFER_OK;
    case CINFER_ATTR_STRING:
        a->s = copy_bytes(&ap->s);
        a->s_len = ap->s.data ? ap->s.len : 0;
        if (!a->s) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
        return CINFER_OK;
    case CINFER_ATTR_TENSOR:
        if (!ap->t)
            return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: TENSOR attribute has no tensor",
                                  what);
        return attr_tensors(a, &ap->t, 1, what, base_dir, err);
    case CINFER_ATTR_TENSORS: return attr_tensors(a, ap->tensors, ap->n_tensors, what, base_dir, err);
    case CINFER_ATTR_FLOATS:
    case CINFER_ATTR_INTS:
    case CINFER_ATTR_STRINGS: return attr_lists(ap, a, what, err);
    case CINFER_ATTR_GRAPH:
    case CINFER_ATTR_GRAPHS:
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "%s: subgraph attributes (If/Loop/Scan bodies) are not supported",
                              what);
    case CINFER_ATTR_SPARSE_TENSOR:
    case CINFER_ATTR_SPARSE_TENSORS:
    case CINFER_ATTR_TYPE_PROTO:
    case CINFER_ATTR_TYPE_PROTOS:
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "%s: %s attributes are not supported",
                              what, attr_type_name(a->type));
    default:
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: unknown attribute type %d", what,
                              (int)a->type);
    }
}

cinfer_status cinfer__onnx_attr(const Onnx__AttributeProto *ap, const char *node_what,
                                const char *base_dir, cinfer__attr *out, cinfer__err *err) {
    memset(out, 0, sizeof *out);
    if (!ap->name || !*ap->name)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: an attribute has no name",
                              node_what);
    char what[CINFER__ONNX_WHAT_LEN];
    snprintf(what, sizeof what, "%s attribute '%s'", node_what, ap->name);
    if (ap->ref_attr_name && *ap->ref_attr_name)
        return cinfer__errorf(err, CINFER_UNSUPPORTED,
                              "%s: references to function attributes (ref_attr_name '%s') are "
                              "not supported", what, ap->ref_attr_name);
    cinfer__attr a = {0};
    a.type = (cinfer__attr_type)attr_type(ap);
    if (a.type == CINFER_ATTR_UNDEFINED)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: the attribute has no type", what);
    a.name = cinfer__strdup(ap->name);
    if (!a.name) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
    cinfer_status st = attr_value(ap, &a, what, base_dir, err);
    if (st != CINFER_OK) {
        cinfer__attr_free(&a);
        return st;
    }
    *out = a;
    return CINFER_OK;
}

/* ---- Constant nodes -------------------------------------------------------------------- */

/* value_float / value_int (rank 0) and value_floats / value_ints (rank 1) as a tensor. */
static cinfer_status small_constant(const Onnx__AttributeProto *ap, int type, cinfer_tensor *t,
                                    const char *what, cinfer__err *err) {
    bool is_float = type == CINFER_ATTR_FLOAT || type == CINFER_ATTR_FLOATS;
    bool is_list = type == CINFER_ATTR_FLOATS || type == CINFER_ATTR_INTS;
    size_t n = !is_list ? 1 : is_float ? ap->n_floats : ap->n_ints;
    t->dtype = is_float ? CINFER_DTYPE_FLOAT : CINFER_DTYPE_INT64;
    t->rank = is_list ? 1 : 0;
    t->dims[0] = (int64_t)n;
    size_t esz = cinfer_dtype_size(t->dtype);
    t->data = cinfer__aligned_alloc(n * esz);
    if (!t->data) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
    const void *src = type == CINFER_ATTR_FLOAT ? (const void *)&ap->f
                    : type == CINFER_ATTR_INT   ? (const void *)&ap->i
                    : is_float                  ? (const void *)ap->floats
                                                : (const void *)ap->ints;
    if (n) memcpy(t->data, src, n * esz);
    return CINFER_OK;
}

/* The one value attribute of a Constant node, or an error when there is none or several. */
static cinfer_status constant_attr(const Onnx__NodeProto *np, const char *node_what,
                                   const Onnx__AttributeProto **found, cinfer__err *err) {
    *found = NULL;
    for (size_t i = 0; i < np->n_attribute; i++) {
        const Onnx__AttributeProto *ap = np->attribute[i];
        const char *nm = ap->name ? ap->name : "";
        if (!strcmp(nm, "value_string") || !strcmp(nm, "value_strings") ||
            !strcmp(nm, "sparse_value"))
            return cinfer__errorf(err, CINFER_UNSUPPORTED,
                                  "%s attribute '%s': string and sparse constants are not "
                                  "supported", node_what, nm);
        if (strcmp(nm, "value") && strcmp(nm, "value_float") && strcmp(nm, "value_floats") &&
            strcmp(nm, "value_int") && strcmp(nm, "value_ints"))
            continue;
        if (*found)
            return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                  "%s: attributes '%s' and '%s' both give the value", node_what,
                                  (*found)->name, nm);
        *found = ap;
    }
    if (!*found)
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: no value attribute", node_what);
    return CINFER_OK;
}

cinfer_status cinfer__onnx_constant(const Onnx__NodeProto *np, const char *node_what,
                                    const char *base_dir, cinfer_tensor **out,
                                    cinfer__err *err) {
    const Onnx__AttributeProto *ap;
    CINFER_TRY(constant_attr(np, node_what, &ap, err));
    char what[CINFER__ONNX_WHAT_LEN];
    snprintf(what, sizeof what, "%s attribute '%s'", node_what, ap->name);
    int want = !strcmp(ap->name, "value")        ? CINFER_ATTR_TENSOR
             : !strcmp(ap->name, "value_float")  ? CINFER_ATTR_FLOAT
             : !strcmp(ap->name, "value_floats") ? CINFER_ATTR_FLOATS
             : !strcmp(ap->name, "value_int")    ? CINFER_ATTR_INT
                                                 : CINFER_ATTR_INTS;
    int type = attr_type(ap);
    if (type != want || (want == CINFER_ATTR_TENSOR && !ap->t))
        return cinfer__errorf(err, CINFER_INVALID_MODEL, "%s: expected a %s attribute, got %s",
                              what, attr_type_name(want), attr_type_name(type));
    cinfer_tensor *t = cinfer__calloc(1, sizeof *t);
    if (!t) return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
    cinfer_status st = want == CINFER_ATTR_TENSOR
                           ? cinfer__onnx_tensor(ap->t, what, base_dir, t, err)
                           : small_constant(ap, want, t, what, err);
    if (st != CINFER_OK) {
        cinfer__tensor_destroy(t);
        return st;
    }
    *out = t;
    return CINFER_OK;
}
