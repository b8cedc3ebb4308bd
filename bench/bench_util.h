/*
 * What the benchmarks share: sorting measurements and taking their median.
 */
#ifndef XW_BENCH_BENCH_UTIL_H
#define XW_BENCH_BENCH_UTIL_H

#include <stddef.h>

/* Sorts v[0..n) in ascending order. */
void bench_sort(double *v, size_t n);
/* The median of v[0..n), n >= 1 (the mean of the middle two when n is even); sorts v. */
double bench_median(double *v, int n);

#endif
