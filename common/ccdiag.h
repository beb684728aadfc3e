/*
 * Compiler diagnostics, as clang prints them while libbcc compiles a BPF
 * program: kernel headers make clang warn on some kernels (6.12's
 * "'nocf_check' attribute ignored", ...). Those are noise for a user; a
 * real error is not. This keeps the error blocks of a diagnostics text.
 */
#ifndef BCCNET_CCDIAG_H
#define BCCNET_CCDIAG_H

#include <stdio.h>

/* Writes to out only the errors of text: each "error:"/"fatal error:" line with
 * its include stack, source lines, carets and notes, and the "N errors
 * generated." line. Returns the number of error diagnostics written. */
int ccdiag_print_errors(const char *text, FILE *out);

#endif
