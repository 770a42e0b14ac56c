/* What every subcommand does the same way with its command line: a bad
 * option or a missing operand is one line that names the command and
 * points at its --help, never the whole usage (which buries the line that
 * says what was wrong). */
#define _GNU_SOURCE
#include "cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void vsay(const char *cmd, const char *fmt, va_list ap)
{
	fprintf(stderr, "faultline %s: ", cmd);
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, " (try 'faultline %s --help')\n", cmd);
}

int fl_cli_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsay(cmd, fmt, ap);
	va_end(ap);
	return FL_EXIT_USAGE;
}

/* The long option a "--name" or "--name=value" argument names, by getopt's
 * rules: an exact name, else the only one it is a prefix of. NULL when
 * there is none; *ambiguous says whether several matched. */
static const struct option *long_named(const struct option *longopts,
				       const char *arg, int *ambiguous)
{
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	const struct option *found = NULL;
	int n = 0;
	*ambiguous = 0;
	for (const struct option *o = longopts; o && o->name; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (strlen(o->name) == len)
			return o;
		found = o;
		n++;
	}
	*ambiguous = n > 1;
	return n == 1 ? found : NULL;
}

/* "ambiguous option '--re': --repeat, --report-dir" */
static void ambiguous_option(const char *cmd, const struct option *longopts,
			     const char *arg, int len)
{
	char names[512] = "";
	size_t used = 0;
	for (const struct option *o = longopts; o->name; o++)
		if (!strncmp(o->name, arg + 2, (size_t)len - 2) && used < sizeof names)
			used += (size_t)snprintf(names + used, sizeof names - used,
						 "%s--%s", used ? ", " : "", o->name);
	fl_cli_usage_error(cmd, "ambiguous option '%.*s': %s", len, arg, names);
}

int fl_cli_getopt(const char *cmd, int argc, char **argv,
		  const char *shortopts, const struct option *longopts)
{
	/* A leading ':' makes getopt tell a missing value (':') from an
	 * unknown option ('?'); it goes after a leading '+' or '-'. */
	char opts[64];
	int lead = shortopts[0] == '+' || shortopts[0] == '-';
	snprintf(opts, sizeof opts, "%.*s:%s", lead, shortopts, shortopts + lead);
	opterr = 0;
	int ch = getopt_long(argc, argv, opts, longopts, NULL);
	if (ch != '?' && ch != ':')
		return ch;
	/* A long option's error always moves optind past it; a short
	 * option's may leave it inside a group ("-xv"), so the argument
	 * before optind is the option only when it is a long one. glibc
	 * sets optopt to 0 for an unknown long option, to the short
	 * option's character or the long option's value otherwise. */
	const char *prev = optind > 0 && optind - 1 < argc ? argv[optind - 1] : "";
	int is_long = !strncmp(prev, "--", 2) && prev[2];
	int ambiguous = 0;
	const struct option *o = is_long ? long_named(longopts, prev, &ambiguous) : NULL;
	if (is_long && ch == '?' && optopt &&
	    !(o && o->has_arg == no_argument && strchr(prev, '=')))
		is_long = 0;	/* a short option after a long one */
	if (!is_long) {
		if (ch == ':')
			fl_cli_usage_error(cmd, "option '-%c' needs a value", optopt);
		else
			fl_cli_usage_error(cmd, "unknown option '-%c'", optopt);
		return '?';
	}
	int len = (int)strcspn(prev, "=");
	if (ch == ':' && o)
		fl_cli_usage_error(cmd, "option '--%s' needs a value", o->name);
	else if (ch == ':')
		fl_cli_usage_error(cmd, "option '%.*s' needs a value", len, prev);
	else if (o && o->has_arg == no_argument && prev[len] == '=')
		fl_cli_usage_error(cmd, "option '--%s' takes no value", o->name);
	else if (ambiguous)
		ambiguous_option(cmd, longopts, prev, len);
	else
		fl_cli_usage_error(cmd, "unknown option '%.*s'", len, prev);
	return '?';
}

int fl_cli_no_options(const char *cmd, int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1]) {
			fl_cli_usage_error(cmd, "unknown option '%.*s'",
					   (int)strcspn(argv[i], "="), argv[i]);
			return -1;
		}
	}
	return 0;
}
