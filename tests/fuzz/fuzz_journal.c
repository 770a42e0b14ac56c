/* Fuzz target: the journal reader that replay and shrink use (the head
 * check of results.c, then fl_journal_file_load in harness/journal.c),
 * and the journal written back from what it read. */
#include "fuzz_common.h"

#include "journal.h"
#include "results.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[PATH_MAX + 32], err[PATH_MAX + 256];
	fuzz_file("journal.json", data, size, path, sizeof path);
	fl_journal_file f;
	/* As replay and shrink read it: the head first, then the file. */
	if (fl_results_check_head(path, "faultline.journal", FL_JOURNAL_SCHEMA_VERSION,
				  "not a journal",
				  err, sizeof err) < 0 ||
	    fl_journal_file_load(path, &f, err, sizeof err) < 0)
		return 0;
	/* Whatever was read can be folded, written again and digested, and
	 * the runs digest like the calls. */
	size_t nruns;
	fl_fault_rec *runs = fl_journal_fold(f.recs, f.nrecs, &nruns);
	fl_journal_file folded = f;
	folded.recs = runs;
	folded.nrecs = nruns;
	json_t *doc = fl_journal_file_json(&folded);
	json_decref(doc);
	char d_runs[17];
	fl_journal_digest(runs, nruns, d_runs);
	free(runs);
	char digest[17];
	fl_fault_rec *copy = fl_xmalloc((f.nrecs + 1) * sizeof *copy);
	memcpy(copy, f.recs, f.nrecs * sizeof *copy);
	fl_journal_digest(copy, f.nrecs, digest);
	free(copy);
	if (strcmp(digest, d_runs) != 0)
		abort();
	fl_journal_file_free(&f);
	return 0;
}
