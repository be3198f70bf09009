/* catnorm: prints each line of standard input normalised as the category model sees it
 * (handlers/catmodel.c, catnorm_apply), one output line per input line. scripts/train-model.py
 * runs it so that training and the daemon share one normalisation. */
#include <stdio.h>
#include <stdlib.h>

#include "handlers/catmodel.h"

int main(void)
{
    char err[256];
    catnorm *n = catnorm_open(NULL, err, sizeof err);
    if (!n) {
        fprintf(stderr, "catnorm: %s\n", err);
        return 1;
    }
    char *line = NULL, out[CATMODEL_MAX_INPUT + 1];
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while ((len = getline(&line, &cap, stdin)) >= 0) {
        if (len > 0 && line[len - 1] == '\n')
            len--;
        if (catnorm_apply(n, line, (size_t)len, out, sizeof out) == (size_t)-1) {
            fprintf(stderr, "catnorm: conversion failed\n");
            rc = 1;
            break;
        }
        puts(out);
    }
    free(line);
    catnorm_close(n);
    return rc;
}
