/* The commands' tables (recipes, status, history): columns as wide as their widest cell, a
 * header row unless the caller says no (--no-header, for scripts), and a last column cut to
 * the width of the terminal so that one row stays one line. */
#ifndef OPSAGENT_TABLE_H
#define OPSAGENT_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define TABLE_COLUMNS_MAX 8
#define TABLE_ROWS_MAX 100000      /* rows kept at most; more are refused with -E2BIG */
#define TABLE_CUT_MARK "..."       /* ends a last cell cut to the width */

struct table;                      /* opaque; owns copies of every cell */

/* A table of N_COLS (1..TABLE_COLUMNS_MAX) columns named HEADERS (copied). -EINVAL, -ENOMEM. */
int table_new(size_t n_cols, const char *const *headers, struct table **ret);
void table_free(struct table *t);  /* NULL is fine */

/* Appends a row of N_COLS cells (copied; NULL is an empty cell). -E2BIG past TABLE_ROWS_MAX,
 * -ENOMEM. */
int table_add(struct table *t, const char *const *cells);
size_t table_rows(const struct table *t);

/* Prints the header (when HEADER) and the rows, two spaces between columns, no trailing
 * blanks. WIDTH > 0 cuts the last column so that no line is longer than WIDTH characters
 * (ending it with TABLE_CUT_MARK), as long as it keeps at least 10; 0 prints every cell
 * whole. Newlines and tabs inside a cell are printed as spaces. */
void table_print(const struct table *t, bool header, size_t width, FILE *out);

/* The width to cut at for stdout: its terminal's columns (COLUMNS when set, else the
 * terminal's own), 0 when stdout is no terminal (a pipe, a file: nothing is cut). */
size_t table_output_width(void);

#endif
