/* The course's energy model (SPEC section 8). */
#ifndef ACCSIM_ENERGY_H
#define ACCSIM_ENERGY_H

#include <stdint.h>

#include "accsim/model.h"

typedef struct accsim_layer_ops {
    uint64_t multiplies; /* N_mul */
    uint64_t adds;       /* N_add */
} accsim_layer_ops;

accsim_layer_ops accsim_layer_op_counts(int layer);

/* 64 * (B/8)^2 * N_mul + B * N_add for one layer; an integer, since
 * 64 * (B/8)^2 = B^2. */
uint64_t accsim_layer_energy(int layer, int bits);
uint64_t accsim_energy(const int bits[ACCSIM_LAYERS]);

#endif
