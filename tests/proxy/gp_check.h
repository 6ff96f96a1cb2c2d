/* The plain-C check macro of the src/proxy unit tests (no cmocka): a failed condition is
 * printed with its place and counted; the program exits 1 if any failed. */
#ifndef CACHET_TESTS_GP_CHECK_H
#define CACHET_TESTS_GP_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(c)                                                         \
    do {                                                                 \
        if (!(c)) {                                                      \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #c); \
            failures++;                                                  \
        }                                                                \
    } while (0)

#endif
