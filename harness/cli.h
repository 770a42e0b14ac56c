/* The subcommands of the faultline command line. Each returns the process
 * exit status. */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stddef.h>

#define FL_EXIT_OK 0
#define FL_EXIT_FAILED 1
#define FL_EXIT_USAGE 2
#define FL_EXIT_INTERNAL 3

int fl_cmd_run(int argc, char **argv);
int fl_cmd_list(int argc, char **argv);
int fl_cmd_points(int argc, char **argv);

/* Locates faultline-agent.so and libfiu's POSIX preload. NULL with a
 * message in err if one is missing. */
const char *fl_find_agent(char *err, size_t errlen);
const char *fl_find_fiu_preload(char *err, size_t errlen);

const char *fl_version(void);

#endif
