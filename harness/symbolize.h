/* Addresses in a program or library file to function and file:line, with
 * elfutils' libdw: the debug info where the file (or a debug file found
 * by its build id under /usr/lib/debug) has it, its symbols otherwise.
 * Each file is opened once per faultline process and kept; every call is
 * serialised (libdw's handles are not shared between threads), so it is
 * safe from -j's worker threads. */
#ifndef FL_SYMBOLIZE_H
#define FL_SYMBOLIZE_H

#include <stdint.h>

typedef struct fl_symbol {
	char function[160];	/* "" when unknown */
	char file[256];		/* the source file as compiled, "" when
				 * there is no line information */
	int line;		/* 0 when unknown */
	uint64_t symbol_offset;	/* from the function's symbol, when the
				 * name came from symbols alone */
	int debug;		/* the name and line came from debug info */
} fl_symbol;

/* Resolves vaddr, an address as the file's own program headers number it
 * (what the agent records: the instruction's address minus the module's
 * load bias), in the ELF file at path. 0 (out filled, maybe with nothing
 * known), or -errno when the file cannot be read as ELF. */
int fl_symbolize(const char *path, uint64_t vaddr, fl_symbol *out);

/* Closes every file kept (for tests and leak checkers). */
void fl_symbolize_reset(void);

#endif
