#include "accsim/energy.h"

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
