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

/* Any network (design: energy per network). Exact per-image counts of MAC
 * layer `layer`: N_mul = products actually computed (per-product zero point:
 * padding taps are skipped and not counted; folded: every tap counts); N_add =
 * every add into any register (products, tile sums into the outer register,
 * bias, folded zero-point constant). For the course model these equal
 * accsim_layer_op_counts (SPEC 8). */
typedef struct accsim_network accsim_network;
accsim_layer_ops accsim_network_layer_ops(const accsim_network *net, int layer);
uint64_t accsim_network_layer_energy(const accsim_network *net, int layer, int bits);
/* Sum over the MAC layers of B^2 * N_mul + B * N_add; bits[net->mac_count]. */
uint64_t accsim_network_energy(const accsim_network *net, const int *bits);

#endif
