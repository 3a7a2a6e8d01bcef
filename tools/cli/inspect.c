/* `cinfer inspect`: a model's interface, op histogram, parameters, FLOPs and memory plan. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/tensor.h"
#include "runtime/inspect.h"

/* "[batch x 3 x 224 x 224]": the declared shape with symbol names ('?' for anonymous). */
static char *declared_shape(const cinfer_value_info *vi, char *buf, size_t len) {
    if (vi->rank < 0) {
        snprintf(buf, len, "(unknown rank)");
        return buf;
    }
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int d = 0; d < vi->rank && used < len; d++) {
        const char *sep = d ? " x " : "";
        if (vi->dims[d] >= 0)
            used += (size_t)snprintf(buf + used, len - used, "%s%lld", sep, (long long)vi->dims[d]);
        else
            used += (size_t)snprintf(buf + used, len - used, "%s%s", sep,
                                     vi->dim_names[d] ? vi->dim_names[d] : "?");
    }
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

static int print_values(cinfer_model *m, bool inputs, const cli_inputs *in) {
    size_t n = inputs ? cinfer_model_input_count(m) : cinfer_model_output_count(m);
    printf("%s:\n", inputs ? "inputs" : "outputs");
    for (size_t i = 0; i < n; i++) {
        cinfer_value_info vi;
        cinfer_status s = inputs ? cinfer_model_input_info(m, i, &vi)
                                 : cinfer_model_output_info(m, i, &vi);
        if (s != CINFER_OK) return cli_fail_api(s);
        char decl[256], used[160];
        printf("  %-24s %-8s %s", vi.name, cinfer_dtype_name(vi.dtype),
               declared_shape(&vi, decl, sizeof decl));
        if (inputs)
            printf("  (planned as %s)",
                   cinfer__shape_str(in->t[i].rank, in->t[i].dims, used, sizeof used));
        printf("\n");
    }
    return 0;
}

static void print_value_shape(const cinfer__value_shape *v, bool notes) {
    char shape[512];
    printf("  %s: %s %s", v->name, cinfer_dtype_name(v->dtype),
           cinfer__value_shape_str(v, shape, sizeof shape));
    if (!notes) {
        printf("\n");
        return;
    }
    if (v->contents) printf(" = %s", v->contents);
    printf("%s\n", v->is_input ? "  (input)" : v->is_output ? "  (output)"
                   : v->folded ? "  (computed while planning)" : "");
}

/* The inferred symbolic shapes: the outputs' in declared order, or with --shapes every
 * planned value's (weights left out). A model whose shapes cannot be inferred gets a note,
 * not a failure: the rest of the report stands. */
static void print_symbolic(cinfer_model *m, bool all) {
    cinfer__value_shape *vs = NULL;
    int n = 0;
    cinfer_status s = cinfer__model_symbolic_shapes(m, &vs, &n);
    if (s != CINFER_OK) {
        printf("symbolic shapes: not inferred: %s\n", cinfer_last_error());
        return;
    }
    printf("%s (inferred from plans with made-up symbol values):\n",
           all ? "value shapes" : "output shapes");
    for (int i = 0; all && i < n; i++)
        if (!vs[i].is_constant) print_value_shape(&vs[i], true);
    for (size_t o = 0; !all && o < cinfer_model_output_count(m); o++) {
        cinfer_value_info vi;
        if (cinfer_model_output_info(m, o, &vi) != CINFER_OK) continue;
        for (int i = 0; i < n; i++)
            if (!strcmp(vs[i].name, vi.name)) {
                print_value_shape(&vs[i], false);
                break;
            }
    }
    cinfer__value_shapes_free(vs, n);
}

static int cmp_ops(const void *a, const void *b) {
    const cinfer__op_count *x = a, *y = b;
    if (x->count != y->count) return y->count - x->count;
    return strcmp(x->op_type, y->op_type);
}

static void print_ops(cinfer__model_report *r) {
    printf("nodes: %d in the file, %d after load-time passes; Conv+BatchNormalization folded: %d\n",
           r->n_nodes_imported, r->n_nodes, r->n_folded_conv_bn);
    if (r->stored_float != CINFER_DTYPE_UNDEFINED)
        printf("stored in %s: computed in float on the CPU, in %s on CUDA unless --precision "
               "says otherwise; inputs and outputs keep their declared types\n",
               r->stored_float == CINFER_DTYPE_FLOAT16 ? "fp16" : "bf16",
               r->stored_float == CINFER_DTYPE_FLOAT16 ? "fp16" : "bf16");
    else if (r->stored_half)
        printf("16-bit floats in the file (not most of its weights): computed in float, inputs "
               "and outputs keep their declared types\n");
    if (!r->fusion_on) {
        printf("fusions: off (--no-fusion)\n");
    } else {
        int total = 0;
        for (int k = 0; k < CINFER_FUSION_KINDS; k++) total += r->fusions.count[k];
        printf("fusions: %d\n", total);
        for (int k = 0; k < CINFER_FUSION_KINDS; k++)
            if (r->fusions.count[k])
                printf("  %-50s %d\n", cinfer__fusion_name((cinfer__fusion_kind)k),
                       r->fusions.count[k]);
    }
    printf("op histogram after load-time passes (%d op types):\n", r->n_ops);
    qsort(r->ops, (size_t)r->n_ops, sizeof *r->ops, cmp_ops);
    for (int i = 0; i < r->n_ops; i++) printf("  %-24s %d\n", r->ops[i].op_type, r->ops[i].count);
    char cnt[32], bytes[32];
    printf("parameters: %s (%lld) in %s of initializers\n",
           cli_fmt_count((double)r->n_params, cnt, sizeof cnt), (long long)r->n_params,
           cli_fmt_bytes((double)r->param_bytes, bytes, sizeof bytes));
}

static void print_plan(const cinfer__model_report *r) {
    char a[32], b[32], c[32], d[32], f[32];
    printf("plan for these input shapes:\n");
    printf("  steps:        %d kernel calls per run\n", r->n_steps);
    printf("  FLOPs:        %s (%.0f)\n", cli_fmt_count(r->flops, f, sizeof f), r->flops);
    printf("  arena:        %s (%zu bytes)\n", cli_fmt_bytes((double)r->arena_bytes, a, sizeof a),
           r->arena_bytes);
    printf("  naive sum:    %s (every intermediate in its own buffer)\n",
           cli_fmt_bytes((double)r->naive_bytes, b, sizeof b));
    printf("  peak live:    %s (most bytes live at once: the lower bound)\n",
           cli_fmt_bytes((double)r->peak_live_bytes, c, sizeof c));
    if (r->peak_live_bytes)
        printf("  arena/peak:   %.3f\n", (double)r->arena_bytes / (double)r->peak_live_bytes);
    else
        printf("  arena/peak:   - (nothing live)\n");
    printf("  plan-folded constants: %s\n", cli_fmt_bytes((double)r->folded_bytes, d, sizeof d));
    printf("  data-dependent-shape ops: %d\n", r->n_dynamic);
}

/* CUDA runtimes: each step's device, and why the ones on the CPU are there. */
static void print_placement(const cinfer__model_report *r) {
    printf("placement (cuda): %d of %d steps on the GPU, %d on the CPU, %d host<->device "
           "copies per run\n", r->n_gpu_steps, r->n_steps, r->n_steps - r->n_gpu_steps,
           r->n_copies);
    if (r->cuda_graphs)
        printf("cuda graphs: %d segment%s, one graph launch each per run\n", r->n_graph_segments,
               r->n_graph_segments == 1 ? "" : "s");
    else
        printf("cuda graphs: off, one launch per GPU step (%d segment%s when on)\n",
               r->n_graph_segments, r->n_graph_segments == 1 ? "" : "s");
    printf("precision: %s (per GPU step below: what it computes in)\n",
           cinfer_precision_name(r->precision));
    if (r->precision == CINFER_PRECISION_FP16 || r->precision == CINFER_PRECISION_BF16)
        printf("half activations: %d values (%zu bytes) stored in %s on the device\n",
               r->n_half_values, r->half_bytes, cinfer_precision_name(r->precision));
    if (r->precision == CINFER_PRECISION_FP16 || r->precision == CINFER_PRECISION_BF16)
        printf("channels last: %d values (%zu bytes) stored NHWC on the device\n",
               r->n_nhwc_values, r->nhwc_bytes);
    for (int s = 0; s < r->n_steps; s++) {
        const cinfer__step_place *p = &r->place[s];
        printf("  %-28.28s %-22.22s %s", p->name, p->op_type, p->gpu ? "cuda" : "cpu");
        if (p->gpu) printf(" %s%s", cinfer_precision_name(p->precision), p->nhwc ? " nhwc" : "");
        else printf("  (%s)", p->reason);
        printf("\n");
    }
}

static int report(const cli_opts *o, cinfer_runtime *rt, cinfer_model *m, const cli_inputs *in,
                  bool all_shapes) {
    cinfer__model_report r;
    memset(&r, 0, sizeof r);
    cinfer_status s = cinfer__model_report_make(m, in->n, in->t, &r);
    if (s != CINFER_OK) {
        cinfer__model_report_free(&r);
        return cli_fail_run(s, in);
    }
    printf("model: %s\n", cinfer__model_path(m));
    printf("device: %s, %d threads\n", cli_device_name(cinfer_runtime_device(rt)),
           cinfer_runtime_num_threads(rt));
    int rc = print_values(m, true, in);
    if (!rc) rc = print_values(m, false, in);
    if (!rc) {
        print_symbolic(m, false);
        print_ops(&r);
        print_plan(&r);
        if (r.cuda) print_placement(&r);
        if (all_shapes) print_symbolic(m, true);
    }
    cinfer__model_report_free(&r);
    return rc;
}

/* Removes inspect's own flag --shapes from argv (in place; cli_parse does not know it) and
 * returns whether it was there. Stops at "--"; skips the values of options that take one. */
static bool take_shapes_flag(int *argc, char **argv) {
    static const char *const with_value[] = {"-i", "--input", "--shape", "--dim", "--device",
                                             "--threads", "--seed", NULL};
    bool found = false;
    int k = 2;
    for (int i = 2; i < *argc; i++) {
        if (!strcmp(argv[i], "--")) {
            while (i < *argc) argv[k++] = argv[i++];
            break;
        }
        if (!strcmp(argv[i], "--shapes")) {
            found = true;
            continue;
        }
        argv[k++] = argv[i];
        for (int w = 0; with_value[w]; w++)
            if (!strcmp(argv[i], with_value[w]) && i + 1 < *argc) argv[k++] = argv[++i];
    }
    *argc = k;
    return found;
}

int cli_cmd_inspect(int argc, char **argv) {
    cli_opts o;
    cinfer_runtime *rt = NULL;
    cinfer_model *m = NULL;
    cli_inputs in = {0};
    bool all_shapes = take_shapes_flag(&argc, argv);
    int rc = cli_parse(argc, argv, 2, OPT_INPUT | OPT_SHAPE | OPT_DEVICE | OPT_SEED, &o);
    if (rc < 0 && o.help)
        printf("  --shapes           also print every value's inferred symbolic shape\n");
    if (rc) goto done;
    if ((rc = cli_load(&o, &rt, &m))) goto done;
    /* Random data, not just shapes: an input whose value decides shapes needs contents. */
    if ((rc = cli_make_inputs(&o, m, true, &in))) goto done;
    rc = report(&o, rt, m, &in, all_shapes);
    fflush(stdout);
done:
    cli_inputs_free(&in);
    cinfer_model_destroy(m);
    cinfer_runtime_destroy(rt);
    cli_opts_free(&o);
    return rc < 0 ? 0 : rc;
}
