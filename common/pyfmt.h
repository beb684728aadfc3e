/*
 * Numbers printed the way the Python originals printed them, so drop-in
 * output stays byte-for-byte the same where the values are the same.
 */
#ifndef BCCNET_PYFMT_H
#define BCCNET_PYFMT_H

#include <stdbool.h>
#include <stddef.h>

/* Python 3 str(round(x, 2)): "64.0", "1.5", "0.33"; always at least one decimal. */
void pyfmt_round2(double x, char *buf, size_t len);

/*
 * lmp nic_throughput's to_str(): x > 1000000 -> round(x/1048576, 2) "M"; x > 1000 ->
 * round(x/1024, 2) "K"; else round(x, 2), or the integer itself when is_int ("0").
 * The thresholds are decimal and the divisors binary, as in the original.
 */
void pyfmt_scaled(double x, bool is_int, char *buf, size_t len);

#endif
