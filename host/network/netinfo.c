/* What the analyses need to know about a network beyond running it: value
 * ranges of tensors, the MAC layers' reductions for the data-free bounds, the
 * safe width, and which MAC layers every path from the input to the output
 * passes through (for the collapse bound). */
#include <stdlib.h>
#include <string.h>

#include "accsim/bounds.h"
#include "accsim/network.h"

void accsim_network_tensor_range(const accsim_network *net, int t, int *lo, int *hi)
{
    /* Ranges follow the data flow: ops run in exec_order after their inputs. */
    int *rlo = malloc(sizeof(int) * (size_t)net->tensor_count + 1);
    int *rhi = malloc(sizeof(int) * (size_t)net->tensor_count + 1);
    if (!rlo || !rhi) {
        free(rlo), free(rhi);
        *lo = -128, *hi = 127;
        return;
    }
    for (int k = 0; k < net->tensor_count; k++)
        rlo[k] = -128, rhi[k] = 127;
    for (int k = 0; k < net->op_count; k++) {
        const accsim_op *op = &net->ops[net->exec_order[k]];
        int a = rlo[op->inputs[0]], b = rhi[op->inputs[0]];
        int olo = op->clamp_lo, ohi = op->clamp_hi;
        switch (op->kind) {
        case ACCSIM_OP_MAX_POOL:
        case ACCSIM_OP_AVG_POOL:
        case ACCSIM_OP_CLAMP:
        case ACCSIM_OP_RESHAPE:
            /* A window's maximum or rounded mean, a clamp or a copy stays
             * within the input's range (and the op's clamp). */
            if (op->kind != ACCSIM_OP_RESHAPE) {
                olo = a > olo ? a : olo;
                ohi = b < ohi ? b : ohi;
            } else {
                olo = a, ohi = b;
            }
            break;
        default:
            break;
        }
        if (olo > ohi) /* an empty intersection cannot happen for real data */
            olo = ohi;
        rlo[op->output] = olo;
        rhi[op->output] = ohi;
    }
    *lo = rlo[t];
    *hi = rhi[t];
    free(rlo), free(rhi);
}

void accsim_network_mac_shape(const accsim_network *net, int l, accsim_mac_shape *shape)
{
    const accsim_op *op = &net->ops[net->mac_ops[l]];
    const accsim_tensor *in = &net->tensors[op->inputs[0]];
    int lo, hi;
    accsim_network_tensor_range(net, op->inputs[0], &lo, &hi);
    int reduction = op->kind == ACCSIM_OP_CONV2D ? op->c_in / op->groups * op->kh * op->kw
                                                 : op->c_in;
    /* The multiplicand is x - z (per-product zero point); 0 stays in range. */
    int mlo = lo - in->zero_point, mhi = hi - in->zero_point;
    memset(shape, 0, sizeof *shape);
    shape->weights = op->weights;
    shape->out_channels = op->c_out;
    shape->reduction = reduction;
    shape->bias = op->bias;
    shape->input_min = mlo < 0 ? mlo : 0;
    shape->input_max = mhi > 0 ? mhi : 0;
}

int accsim_network_safe_width(const accsim_network *net, int l)
{
    const accsim_op *op = &net->ops[net->mac_ops[l]];
    /* With a folded zero point the registers also take the constant -z * sum(w)
     * on raw inputs: no bound here, so no width below 32 is claimed safe. */
    if (op->zp_mode != ACCSIM_ZP_PER_PRODUCT && net->tensors[op->inputs[0]].zero_point != 0)
        return 32;
    accsim_mac_shape shape;
    accsim_network_mac_shape(net, l, &shape);
    accsim_mac_bounds b;
    accsim_mac_bounds_compute(&shape, &b);
    return b.safe < 2 ? 2 : b.safe > 32 ? 32 : b.safe;
}

bool accsim_network_mac_is_cut(const accsim_network *net, int l)
{
    /* Is the output still reachable from the input without this op? */
    int skip = net->mac_ops[l];
    bool *reach = calloc((size_t)net->tensor_count + 1, sizeof(bool));
    if (!reach)
        return false;
    reach[net->input] = true;
    for (int k = 0; k < net->op_count; k++) {
        int i = net->exec_order[k];
        if (i == skip)
            continue;
        const accsim_op *op = &net->ops[i];
        bool any = false;
        for (int a = 0; a < op->input_count; a++)
            any |= reach[op->inputs[a]];
        if (any)
            reach[op->output] = true;
    }
    bool cut = !reach[net->output];
    free(reach);
    return cut;
}

bool accsim_network_mac_constant_at(const accsim_network *net, int l, int bits)
{
    const accsim_op *op = &net->ops[net->mac_ops[l]];
    int64_t hi = ((int64_t)1 << (bits - 1)) - 1, lo = -((int64_t)1 << (bits - 1));
    /* Requantization is monotone in the accumulator: every value the register
     * can hold gives one output per channel when both ends do. */
    for (int o = 0; o < op->c_out; o++)
        if (accsim_network_requantize(net, op, o, (int32_t)lo) !=
            accsim_network_requantize(net, op, o, (int32_t)hi))
            return false;
    return true;
}
