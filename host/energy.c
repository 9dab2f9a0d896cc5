#include "accsim/energy.h"
#include "accsim/network.h"

accsim_layer_ops accsim_layer_op_counts(int layer)
{
    const accsim_layer_info *l = &accsim_layers[layer];
    uint64_t outputs = (uint64_t)l->out_channels * l->out_size * l->out_size;
    accsim_layer_ops ops;
    ops.multiplies = outputs * l->in_channels * l->kernel * l->kernel;
    ops.adds = ops.multiplies;
    if (l->is_conv)
        ops.adds += outputs * l->in_channels; /* adding each channel's sum into acc */
    if (l->has_bias)
        ops.adds += l->out_channels;
    return ops;
}

uint64_t accsim_layer_energy(int layer, int bits)
{
    accsim_layer_ops ops = accsim_layer_op_counts(layer);
    uint64_t b = (uint64_t)bits;
    return b * b * ops.multiplies + b * ops.adds;
}

uint64_t accsim_energy(const int bits[ACCSIM_LAYERS])
{
    uint64_t total = 0;
    for (int l = 0; l < ACCSIM_LAYERS; l++)
        total += accsim_layer_energy(l, bits[l]);
    return total;
}

accsim_layer_ops accsim_network_layer_ops(const accsim_network *net, int layer)
{
    accsim_layer_ops ops = {0, 0};
    if (layer < 0 || layer >= net->mac_count)
        return ops;
    const accsim_op *op = &net->ops[net->mac_ops[layer]];
    const accsim_tensor *ti = &net->tensors[op->inputs[0]], *to = &net->tensors[op->output];
    uint64_t R, outputs, products = 0;
    if (op->kind == ACCSIM_OP_CONV2D) {
        bool nhwc = net->layout == ACCSIM_NHWC;
        int H = nhwc ? ti->dims[0] : ti->dims[1], W = nhwc ? ti->dims[1] : ti->dims[2];
        int OH = nhwc ? to->dims[0] : to->dims[1], OW = nhwc ? to->dims[1] : to->dims[2];
        uint64_t cg = (uint64_t)(op->c_in / op->groups);
        R = cg * (uint64_t)op->kh * (uint64_t)op->kw;
        outputs = (uint64_t)op->c_out * (uint64_t)OH * (uint64_t)OW;
        if (op->zp_mode == ACCSIM_ZP_PER_PRODUCT) {
            /* Padding taps add nothing: count the taps inside the input. */
            uint64_t taps = 0;
            for (int oy = 0; oy < OH; oy++) {
                int iy0 = oy * op->sh - op->pad_top, ry = 0;
                for (int ky = 0; ky < op->kh; ky++)
                    ry += iy0 + ky >= 0 && iy0 + ky < H;
                for (int ox = 0; ox < OW; ox++) {
                    int ix0 = ox * op->sw - op->pad_left, rx = 0;
                    for (int kx = 0; kx < op->kw; kx++)
                        rx += ix0 + kx >= 0 && ix0 + kx < W;
                    taps += (uint64_t)ry * (uint64_t)rx;
                }
            }
            products = taps * cg * (uint64_t)op->c_out;
        } else {
            products = outputs * R;
        }
    } else {
        R = (uint64_t)op->c_in;
        outputs = (uint64_t)op->c_out;
        products = outputs * R;
    }
    ops.multiplies = products;
    ops.adds = products;
    if (op->tile > 0)
        ops.adds += outputs * ((R + (uint64_t)op->tile - 1) / (uint64_t)op->tile);
    if (op->bias)
        ops.adds += outputs;
    if (op->zp_mode != ACCSIM_ZP_PER_PRODUCT)
        ops.adds += outputs;
    return ops;
}

uint64_t accsim_network_layer_energy(const accsim_network *net, int layer, int bits)
{
    accsim_layer_ops ops = accsim_network_layer_ops(net, layer);
    uint64_t b = (uint64_t)bits;
    return b * b * ops.multiplies + b * ops.adds;
}

uint64_t accsim_network_energy(const accsim_network *net, const int *bits)
{
    uint64_t total = 0;
    for (int l = 0; l < net->mac_count; l++)
        total += accsim_network_layer_energy(net, l, bits[l]);
    return total;
}
