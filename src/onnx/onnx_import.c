/* ONNX ModelProto -> graph IR: opsets, declared value types, initializers, nodes; and reading
 * whole files. */
#include "onnx/onnx_import.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "onnx/onnx_internal.h"

typedef struct opset_entry {
    const char *domain; /* "" for the default domain (also spelled "ai.onnx") */
    int version;
} opset_entry;

typedef struct importer {
    const Onnx__ModelProto *model;
    const Onnx__GraphProto *gp;
    const char *base_dir;
    cinfer__pb_alloc *pa; /* frees raw_data early, once copied */
    cinfer__graph *g;
    opset_entry *opsets;
    size_t n_opsets;
    cinfer__err *err;
} importer;

static const char *norm_domain(const char *d) {
    return !d || !strcmp(d, "ai.onnx") ? "" : d;
}

static cinfer_status oom(importer *im, const char *what) {
    return cinfer__errorf(im->err, CINFER_OUT_OF_MEMORY, "out of memory importing %s", what);
}

/* ---- opsets --------------------------------------------------------------------------- */

static const opset_entry *find_opset(const importer *im, const char *domain) {
    for (size_t i = 0; i < im->n_opsets; i++)
        if (!strcmp(im->opsets[i].domain, domain)) return &im->opsets[i];
    return NULL;
}

static cinfer_status read_opsets(importer *im) {
    const Onnx__ModelProto *m = im->model;
    /* Models of IR version < 3 predate opset_import and mean default-domain opset 1. */
    size_t n = m->n_opset_import;
    im->opsets = cinfer__calloc(n ? n : 1, sizeof *im->opsets);
    if (!im->opsets) return oom(im, "the opset imports");
    if (!n && m->has_ir_version && m->ir_version < 3) {
        im->opsets[0] = (opset_entry){"", 1};
        im->n_opsets = 1;
    }
    for (size_t i = 0; i < n; i++) {
        const Onnx__OperatorSetIdProto *os = m->opset_import[i];
        const char *d = norm_domain(os->domain);
        const char *shown = *d ? d : "ai.onnx";
        if (!os->has_version || os->version < 1 || os->version > INT_MAX)
            return cinfer__errorf(im->err, CINFER_INVALID_MODEL,
                                  "opset import of domain '%s' has an invalid version %lld",
                                  shown, (long long)os->version);
        const opset_entry *prev = find_opset(im, d);
        if (prev && prev->version != os->version)
            return cinfer__errorf(im->err, CINFER_INVALID_MODEL,
                                  "domain '%s' is imported twice, with opsets %d and %lld", shown,
                                  prev->version, (long long)os->version);
        if (!prev) im->opsets[im->n_opsets++] = (opset_entry){d, (int)os->version};
    }
    const opset_entry *def = find_opset(im, "");
    im->g->opset = def ? def->version : 0;
    return CINFER_OK;
}

/* ---- declared types ------------------------------------------------------------------- */

static cinfer_status tensor_type(const Onnx__TypeProto__Tensor *tt, const char *what,
                                 cinfer__value *v, cinfer__err *err) {
    cinfer_dtype dt = CINFER_DTYPE_UNDEFINED;
    if (tt->has_elem_type && tt->elem_type != 0)
        CINFER_TRY(cinfer__onnx_dtype(tt->elem_type, what, &dt, err));
    v->dtype = dt;
    if (!tt->shape) return CINFER_OK; /* unknown rank */
    const Onnx__TensorShapeProto *sp = tt->shape;
    if (sp->n_dim > CINFER_MAX_RANK)
        return cinfer__errorf(err, CINFER_UNSUPPORTED, "%s: rank %zu exceeds the maximum of %d",
                              what, sp->n_dim, CINFER_MAX_RANK);
    for (size_t i = 0; i < sp->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *d = sp->dim[i];
        cinfer__free(v->dim_names[i]);
        v->dim_names[i] = NULL;
        v->dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (d->dim_value < 0)
                return cinfer__errorf(err, CINFER_INVALID_MODEL,
                                      "%s: dimension %zu is negative (%lld)", what, i,
                                      (long long)d->dim_value);
            v->dims[i] = d->dim_value;
        } else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                   d->dim_param && *d->dim_param) {
            v->dim_names[i] = cinfer__strdup(d->dim_param);
            if (!v->dim_names[i])
                return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "%s: out of memory", what);
        }
    }
    v->rank = (int)sp->n_dim;
    return CINFER_OK;
}

/* Applies a ValueInfoProto's type to value index vi. `kind` is "input", "output", ... */
static cinfer_status declared_type(importer *im, const Onnx__ValueInfoProto *vp, int vi,
                                   const char *kind) {
    char what[CINFER__ONNX_WHAT_LEN];
    snprintf(what, sizeof what, "%s '%s'", kind, vp->name);
    const Onnx__TypeProto *tp = vp->type;
    if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET) return CINFER_OK;
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        const char *k = tp->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE ? "sequence"
                      : tp->value_case == ONNX__TYPE_PROTO__VALUE_MAP_TYPE      ? "map"
                      : tp->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE ? "optional"
                                                                                 : "sparse tensor";
        return cinfer__errorf(im->err, CINFER_UNSUPPORTED,
                              "%s: %s types are not supported (only dense tensors)", what, k);
    }
    return tensor_type(tp->tensor_type, what, &im->g->values[vi], im->err);
}

/* ---- initializers, inputs, outputs ------------------------------------------------------ */

/* The graph holds its own copy now: releasing protobuf's keeps peak memory near twice the
 * weights (file bytes + graph) instead of three times. */
static void drop_raw_data(importer *im, Onnx__TensorProto *tp) {
    if (!tp->has_raw_data || !tp->raw_data.data) return;
    im->pa->base.free(im->pa->base.allocator_data, tp->raw_data.data);
    tp->raw_data.data = NULL;
    tp->raw_data.len = 0;
    tp->has_raw_data = 0;
}

static cinfer_status read_initializers(importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    if (gp->n_sparse_initializer) {
        const Onnx__SparseTensorProto *sp = gp->sparse_initializer[0];
        const char *nm = sp->values && sp->values->name ? sp->values->name : "";
        return cinfer__errorf(im->err, CINFER_UNSUPPORTED,
                              "sparse initializer '%s' is not supported", nm);
    }
    for (size_t i = 0; i < gp->n_initializer; i++) {
        Onnx__TensorProto *tp = gp->initializer[i];
        if (!tp->name || !*tp->name)
            return cinfer__errorf(im->err, CINFER_INVALID_MODEL, "initializer #%zu has no name",
                                  i);
        char what[CINFER__ONNX_WHAT_LEN];
        snprintf(what, sizeof what, "initializer '%s'", tp->name);
        if (cinfer__graph_find(im->g, tp->name) >= 0)
            return cinfer__errorf(im->err, CINFER_INVALID_MODEL, "%s is defined twice", what);
        int vi = cinfer__graph_value(im->g, tp->name);
        cinfer_tensor *t = cinfer__calloc(1, sizeof *t);
        if (vi < 0 || !t) {
            cinfer__free(t);
            return oom(im, what);
        }
        cinfer_status st = cinfer__onnx_tensor(tp, what, im->base_dir, t, im->err);
        if (st != CINFER_OK) {
            cinfer__free(t);
            return st;
        }
        cinfer__value_set_constant(&im->g->values[vi], t);
        drop_raw_data(im, tp);
    }
    return CINFER_OK;
}

/* Appends vi to *list (graph inputs or outputs). */
static bool list_push(int **list, int *n, int vi) {
    int *l = cinfer__realloc(*list, (size_t)(*n + 1) * sizeof **list);
    if (!l) return false;
    l[(*n)++] = vi;
    *list = l;
    return true;
}

static cinfer_status read_io(importer *im, bool outputs) {
    size_t n = outputs ? im->gp->n_output : im->gp->n_input;
    Onnx__ValueInfoProto **vps = outputs ? im->gp->output : im->gp->input;
    const char *kind = outputs ? "output" : "input";
    for (size_t i = 0; i < n; i++) {
        const Onnx__ValueInfoProto *vp = vps[i];
        if (!vp->name || !*vp->name)
            return cinfer__errorf(im->err, CINFER_INVALID_MODEL, "graph %s #%zu has no name",
                                  kind, i);
        int vi = cinfer__graph_value(im->g, vp->name);
        if (vi < 0) return oom(im, kind);
        cinfer__value *v = &im->g->values[vi];
        if (outputs ? v->is_output : v->is_input)
            return cinfer__errorf(im->err, CINFER_INVALID_MODEL, "graph %s '%s' is listed twice",
                                  kind, vp->name);
        /* IR < 4 lists initializers among the inputs: they stay constants, not caller inputs,
         * and keep the initializer's exact type. */
        if (v->constant) {
            if (!outputs) continue;
        } else {
            CINFER_TRY(declared_type(im, vp, vi, kind));
        }
        bool ok = outputs ? list_push(&im->g->outputs, &im->g->n_outputs, vi)
                          : list_push(&im->g->inputs, &im->g->n_inputs, vi);
        if (!ok) return oom(im, kind);
        if (outputs) v->is_output = true;
        else v->is_input = true;
    }
    return CINFER_OK;
}

/* value_info only fills in types nothing else declared, for values the graph uses. */
static cinfer_status read_value_info(importer *im) {
    for (size_t i = 0; i < im->gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vp = im->gp->value_info[i];
        int vi = vp->name ? cinfer__graph_find(im->g, vp->name) : -1;
        if (vi < 0) continue;
        cinfer__value *v = &im->g->values[vi];
        if (v->constant || v->rank >= 0 || v->dtype != CINFER_DTYPE_UNDEFINED) continue;
        CINFER_TRY(declared_type(im, vp, vi, "value"));
    }
    return CINFER_OK;
}

/* ---- nodes ---------------------------------------------------------------------------- */

static const Onnx__FunctionProto *find_function(const importer *im, const char *domain,
                                                const char *op_type) {
    for (size_t i = 0; i < im->model->n_functions; i++) {
        const Onnx__FunctionProto *f = im->model->functions[i];
        if (f->name && !strcmp(f->name, op_type) && !strcmp(norm_domain(f->domain), domain))
            return f;
    }
    return NULL;
}

/* Value indices of a node's inputs or outputs; "" is an omitted optional one (-1). */
static cinfer_status node_values(importer *im, char **names, size_t n, int *idx,
                                 const char *what) {
    for (size_t i = 0; i < n; i++) {
        idx[i] = -1;
        if (!names[i] || !*names[i]) continue;
        idx[i] = cinfer__graph_value(im->g, names[i]);
        if (idx[i] < 0) return oom(im, what);
    }
    return CINFER_OK;
}

/* A Constant node becomes a constant of its output value; no node is added. */
static cinfer_status fold_constant(importer *im, const Onnx__NodeProto *np, const int *out,
                                   const char *what) {
    if (np->n_input != 0 || np->n_output != 1 || out[0] < 0)
        return cinfer__errorf(im->err, CINFER_INVALID_MODEL,
                              "%s: a Constant takes no inputs and has one named output", what);
    cinfer__value *v = &im->g->values[out[0]];
    if (v->constant || v->is_input)
        return cinfer__errorf(im->err, CINFER_INVALID_MODEL,
                              "%s: output '%s' is already defined elsewhere", what, v->name);
    cinfer_tensor *t;
    CINFER_TRY(cinfer__onnx_constant(np, what, im->base_dir, &t, im->err));
    cinfer__value_set_constant(v, t);
    /* A declared graph output type may have named symbolic dims; the value is exact now. */
    for (int d = 0; d < CINFER_MAX_RANK; d++) {
        cinfer__free(v->dim_names[d]);
        v->dim_names[d] = NULL;
    }
    return CINFER_OK;
}

static cinfer_status add_attrs(importer *im, const Onnx__NodeProto *np, int ni,
                               const char *what) {
    for (size_t i = 0; i < np->n_attribute; i++) {
        cinfer__attr a;
        CINFER_TRY(cinfer__onnx_attr(np->attribute[i], what, im->base_dir, &a, im->err));
        cinfer__node *node = &im->g->nodes[ni];
        if (cinfer__node_attr(node, a.name)) {
            cinfer_status st = cinfer__errorf(im->err, CINFER_INVALID_MODEL,
                                              "%s: attribute '%s' is given twice", what, a.name);
            cinfer__attr_free(&a);
            return st;
        }
        CINFER_TRY(cinfer__node_add_attr(node, &a, im->err));
    }
    return CINFER_OK;
}

/* Checks op_type, domain and opset; labels the node "node 'name' (Op)" in *what. */
static cinfer_status node_header(importer *im, const Onnx__NodeProto *np, size_t idx,
                                 const opset_entry **os, char *what, size_t len) {
    const char *op = np->op_type ? np->op_type : "";
    const char *domain = norm_domain(np->domain);
    if (np->name && *np->name) snprintf(what, len, "node '%s' (%s)", np->name, op);
    else snprintf(what, len, "node '%s_%d' (%s)", op, im->g->n_nodes, op);
    if (!*op)
        return cinfer__errorf(im->err, CINFER_INVALID_MODEL, "node #%zu ('%s') has no op_type",
                              idx, np->name ? np->name : "");
    const Onnx__FunctionProto *f = find_function(im, domain, op);
    if (f)
        return cinfer__errorf(im->err, CINFER_UNSUPPORTED,
                              "%s: model-local function '%s%s%s' is not supported", what, domain,
                              *domain ? "." : "", f->name);
    *os = find_opset(im, domain);
    if (!*os)
        return cinfer__errorf(im->err, CINFER_INVALID_MODEL,
                              "%s: domain '%s' has no opset import in the model", what,
                              *domain ? domain : "ai.onnx");
    return CINFER_OK;
}

static cinfer_status read_node(importer *im, const Onnx__NodeProto *np, size_t idx) {
    char what[CINFER__ONNX_WHAT_LEN];
    const opset_entry *os;
    CINFER_TRY(node_header(im, np, idx, &os, what, sizeof what));
    if (np->n_input > INT_MAX / 2 || np->n_output > INT_MAX / 2)
        return cinfer__errorf(im->err, CINFER_INVALID_MODEL, "%s has too many inputs", what);
    int *in = cinfer__malloc((np->n_input + np->n_output + 1) * sizeof(int));
    if (!in) return oom(im, what);
    int *out = in + np->n_input;
    cinfer_status st = node_values(im, np->input, np->n_input, in, what);
    if (st == CINFER_OK) st = node_values(im, np->output, np->n_output, out, what);
    const char *domain = norm_domain(np->domain);
    if (st == CINFER_OK && !*domain && !strcmp(np->op_type, "Constant")) {
        st = fold_constant(im, np, out, what);
    } else if (st == CINFER_OK) {
        int ni = cinfer__graph_add_node(im->g, np->name, np->op_type, domain, (int)np->n_input,
                                        in, (int)np->n_output, out);
        if (ni < 0) st = oom(im, what);
        else im->g->nodes[ni].opset = os->version;
        if (st == CINFER_OK) st = add_attrs(im, np, ni, what);
    }
    cinfer__free(in);
    return st;
}

/* ---- the model ------------------------------------------------------------------------ */

static cinfer_status import_graph(importer *im) {
    const Onnx__GraphProto *gp = im->gp;
    if (gp->name && *gp->name) {
        im->g->name = cinfer__strdup(gp->name);
        if (!im->g->name) return oom(im, "the graph name");
    }
    CINFER_TRY(read_opsets(im));
    CINFER_TRY(read_initializers(im));
    CINFER_TRY(read_io(im, false));
    CINFER_TRY(read_io(im, true));
    for (size_t i = 0; i < gp->n_node; i++) CINFER_TRY(read_node(im, gp->node[i], i));
    CINFER_TRY(read_value_info(im));
    return cinfer__graph_sort(im->g, im->err);
}

cinfer_status cinfer__onnx_import(const void *data, size_t size, const char *base_dir,
                                  cinfer__graph **out, cinfer__err *err) {
    *out = NULL;
    if (!data && size) return cinfer__errorf(err, CINFER_INVALID_ARGUMENT, "model bytes are NULL");
    cinfer__pb_alloc pa;
    cinfer__pb_alloc_init(&pa);
    Onnx__ModelProto *m = onnx__model_proto__unpack(&pa.base, size, data);
    if (!m && pa.failed)
        return cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory parsing the model");
    if (!m)
        return cinfer__errorf(err, CINFER_INVALID_MODEL,
                              "model is not a valid ONNX ModelProto (corrupt or truncated)");
    importer im = {.model = m, .gp = m->graph, .base_dir = base_dir, .pa = &pa, .err = err};
    cinfer_status st = CINFER_OK;
    if (!m->graph)
        st = cinfer__errorf(err, CINFER_INVALID_MODEL, "model has no graph (not an ONNX model?)");
    if (st == CINFER_OK) st = cinfer__graph_create(&im.g, err);
    if (st == CINFER_OK) st = import_graph(&im);
    cinfer__free(im.opsets);
    protobuf_c_message_free_unpacked(&m->base, &pa.base);
    if (st != CINFER_OK) {
        cinfer__graph_destroy(im.g);
        return st;
    }
    *out = im.g;
    return CINFER_OK;
}

/* ---- files ---------------------------------------------------------------------------- */

static cinfer_status file_error(const char *path, const char *doing, int e, cinfer__err *err) {
    char buf[128];
#if defined(__GLIBC__) && defined(_GNU_SOURCE)
    const char *msg = strerror_r(e, buf, sizeof buf);
#else
    const char *msg = strerror_r(e, buf, sizeof buf) == 0 ? buf : "unknown error";
#endif
    return cinfer__errorf(err, e == ENOENT ? CINFER_NOT_FOUND : CINFER_IO, "cannot %s '%s': %s",
                          doing, path, msg);
}

cinfer_status cinfer__read_file(const char *path, void **data, size_t *size, cinfer__err *err) {
    *data = NULL;
    *size = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return file_error(path, "open", errno, err);
    struct stat sb;
    cinfer_status st = CINFER_OK;
    unsigned char *buf = NULL;
    if (fstat(fd, &sb) != 0) st = file_error(path, "stat", errno, err);
    else if (S_ISDIR(sb.st_mode)) st = file_error(path, "read", EISDIR, err);
    else if (!(buf = cinfer__malloc((size_t)sb.st_size + 1)))
        st = cinfer__errorf(err, CINFER_OUT_OF_MEMORY, "out of memory reading '%s' (%lld bytes)",
                            path, (long long)sb.st_size);
    size_t got = 0, want = st == CINFER_OK ? (size_t)sb.st_size : 0;
    while (st == CINFER_OK && got < want) {
        ssize_t r = read(fd, buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) st = file_error(path, "read", errno, err);
        else if (r == 0) st = cinfer__errorf(err, CINFER_IO, "cannot read '%s': file shrank", path);
        else got += (size_t)r;
    }
    close(fd);
    if (st != CINFER_OK) {
        cinfer__free(buf);
        return st;
    }
    *data = buf;
    *size = got;
    return CINFER_OK;
}
