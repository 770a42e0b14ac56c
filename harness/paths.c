/* Where faultline finds its parts: the agent it preloads into targets,
 * libfiu's POSIX preload and its documentation; and its version. */
#define _GNU_SOURCE
#include "cli.h"
#include "util.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* GNUmakefile defines both: the release number with the commit, and
 * libfiu's preload. */
#ifndef FL_VERSION
#define FL_VERSION "unknown"
#endif
#ifndef FL_FIU_PRELOAD
#define FL_FIU_PRELOAD "/usr/lib/fiu/fiu_posix_preload.so"
#endif

const char *fl_version(void)
{
	return FL_VERSION;
}

const char *fl_doc_dir(void)
{
	static char dir[PATH_MAX];
	if (dir[0])
		return dir;
	/* Installed: PREFIX/bin/faultline and PREFIX/share/doc/faultline,
	 * found from where the binary is, so a moved or staged (DESTDIR)
	 * installation names its own. In the build tree: bin/faultline and
	 * docs/. */
	const char *exe = fl_exe_dir();
	static const char *const rel[] = {"../share/doc/faultline", "../docs", NULL};
	for (int i = 0; rel[i]; i++) {
		char cand[PATH_MAX], probe[PATH_MAX + 16];
		snprintf(cand, sizeof cand, "%s/%s", exe, rel[i]);
		snprintf(probe, sizeof probe, "%s/scenarios.md", cand);
		if (access(probe, R_OK) == 0 && realpath(cand, dir))
			return dir;
	}
	/* Neither (the documents were removed): where make install puts
	 * them for this binary. */
	snprintf(dir, sizeof dir, "%s/%s", exe, rel[0]);
	return dir;
}

const char *fl_find_agent(char *err, size_t errlen)
{
	static char path[PATH_MAX];
	const char *env = getenv("FAULTLINE_AGENT");
	if (env && *env) {
		if (access(env, R_OK) == 0) {
			snprintf(path, sizeof path, "%s", env);
			return path;
		}
		snprintf(err, errlen, "FAULTLINE_AGENT=%s: %s", env,
			 strerror(errno));
		return NULL;
	}
	const char *dir = fl_exe_dir();
	/* Installed: PREFIX/bin/faultline and PREFIX/lib/faultline/. In the
	 * build tree: bin/faultline and lib/. */
	static const char *const rel[] = {"../lib/faultline/faultline-agent.so",
					  "../lib/faultline-agent.so", NULL};
	for (int i = 0; rel[i]; i++) {
		char cand[PATH_MAX];
		snprintf(cand, sizeof cand, "%s/%s", dir, rel[i]);
		if (access(cand, R_OK) == 0 && realpath(cand, path))
			return path;
	}
	snprintf(err, errlen,
		 "cannot find faultline-agent.so next to %s (set "
		 "FAULTLINE_AGENT)",
		 dir);
	return NULL;
}

const char *fl_find_fiu_preload(char *err, size_t errlen)
{
	const char *env = getenv("FAULTLINE_FIU_PRELOAD");
	const char *p = env && *env ? env : FL_FIU_PRELOAD;
	if (access(p, R_OK) == 0)
		return p;
	snprintf(err, errlen,
		 "cannot find libfiu's POSIX preload %s: %s (install libfiu0, "
		 "or set FAULTLINE_FIU_PRELOAD)",
		 p, strerror(errno));
	return NULL;
}

