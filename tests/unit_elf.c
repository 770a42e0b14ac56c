/* harness/elf.c on real binaries built for it (GNUmakefile:
 * build/tests/elf/) and on broken files: declared points, static and
 * fortified binaries, a private libfiu, a Go-looking binary, and files
 * that are not ELF or are damaged (which must fail cleanly, never crash). */
#include "testutil.h"
#include "elf.h"

#include <stdint.h>
#include <sys/stat.h>

#define ELF_DIR "build/tests/elf/"

static fl_elf_info inspect_ok(const char *path)
{
	fl_elf_info info;
	int rc = fl_elf_inspect(path, &info);
	cr_assert_eq(rc, 0, "%s: %s", path, strerror(-rc));
	return info;
}

static int has(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return 1;
	return 0;
}

Test(elf, declared_points_are_listed_sorted_and_unique)
{
	fl_elf_info info = inspect_ok(ELF_DIR "points");
	const char *want[] = { "elfprobe/read", "elfprobe/second", "fl/chan/send/block",
			       "fl/defer/panic", "fl/panic" };
	cr_assert_eq(info.npoints, 5u, "found %zu points", info.npoints);
	for (size_t i = 0; i < 5; i++)
		cr_assert_str_eq(info.points[i], want[i]);
	cr_assert_eq(info.bits, 64);
	cr_assert_not(info.is_static);
	cr_assert_not(info.is_go);
	cr_assert_not(info.own_libfiu, "the shared libfiu was taken for a private copy");
	int libfiu = 0;
	for (size_t i = 0; i < info.nneeded; i++)
		libfiu |= strncmp(info.needed[i], "libfiu.so", 9) == 0;
	cr_assert(libfiu, "libfiu.so is not among the needed libraries");
	fl_elf_info_free(&info);
}

Test(elf, a_plain_binary_has_nothing_to_warn_about)
{
	fl_elf_info info = inspect_ok(ELF_DIR "plain");
	cr_assert_eq(info.npoints, 0u);
	cr_assert_eq(info.nfortified, 0u, "first: %s", info.nfortified ? info.fortified[0] : "");
	cr_assert_not(info.is_static);
	cr_assert_not(info.is_go);
	cr_assert_not(info.own_libfiu);
	cr_assert_gt(info.nneeded, 0u);
	fl_elf_info_free(&info);
}

Test(elf, a_static_binary_is_static)
{
	struct stat st;
	if (stat(ELF_DIR "static", &st) != 0)
		cr_skip_test("no static libc to build " ELF_DIR "static with (libc6-dev)");
	fl_elf_info info = inspect_ok(ELF_DIR "static");
	cr_assert(info.is_static);
	cr_assert_eq(info.nneeded, 0u);
	fl_elf_info_free(&info);
	/* A shared library has no interpreter, but needs libraries: not static. */
	info = inspect_ok("/usr/lib/fiu/fiu_posix_preload.so");
	cr_assert_not(info.is_static);
	fl_elf_info_free(&info);
}

Test(elf, fortified_imports_are_named)
{
	fl_elf_info info = inspect_ok(ELF_DIR "fortified");
	cr_assert(has(info.fortified, info.nfortified, "__read_chk"));
	cr_assert(has(info.fortified, info.nfortified, "__open_2"));
	cr_assert_not(has(info.fortified, info.nfortified, "__stack_chk_fail"));
	fl_elf_info_free(&info);
}

Test(elf, imports_are_the_functions_it_calls)
{
	fl_elf_info info = inspect_ok(ELF_DIR "gap");
	cr_assert(has(info.imports, info.nimports, "__write_chk"));
	cr_assert(has(info.imports, info.nimports, "__read_chk"));
	cr_assert(has(info.imports, info.nimports, "__memcpy_chk"));
	cr_assert(has(info.imports, info.nimports, "fflush"));
	cr_assert_not(has(info.imports, info.nimports, "stderr"), "data read as a call");
	cr_assert_not(has(info.imports, info.nimports, "main"), "a definition read as an import");
	for (size_t i = 1; i < info.nimports; i++)
		cr_assert_lt(strcmp(info.imports[i - 1], info.imports[i]), 0);
	cr_assert_str_eq(info.runpath, "$ORIGIN");
	cr_assert(has(info.needed, info.nneeded, "libgap.so"));
	fl_elf_info_free(&info);
	info = inspect_ok(ELF_DIR "plain");
	cr_assert_null(info.runpath);
	fl_elf_info_free(&info);
}

Test(elf, libraries_are_found_as_the_loader_would)
{
	char path[PATH_MAX];
	/* $ORIGIN is the directory of the object that needs the library. */
	cr_assert_eq(fl_elf_find_library("libgap.so", "$ORIGIN", "build/tests/elf", 64, path,
					 sizeof path), 0);
	cr_assert_str_eq(path, "build/tests/elf/libgap.so");
	cr_assert_eq(fl_elf_find_library("libgap.so", "/nonexistent:${ORIGIN}", "build/tests/elf",
					 64, path, sizeof path), 0);
	cr_assert_str_eq(path, "build/tests/elf/libgap.so");
	/* Without the runpath it is nowhere the loader looks. */
	cr_assert_eq(fl_elf_find_library("libgap.so", NULL, "build/tests/elf", 64, path,
					 sizeof path), -ENOENT);
	/* The system's libraries come from ld.so.conf's directories. */
	cr_assert_eq(fl_elf_find_library("libfiu.so.0", NULL, NULL, 64, path, sizeof path), 0);
	cr_assert(strstr(path, "/libfiu.so.0"), "%s", path);
	fl_elf_info info = inspect_ok(path);
	cr_assert_eq(info.bits, 64);
	fl_elf_info_free(&info);
	/* A library of the other word size is passed over. */
	int rc = fl_elf_find_library("libfiu.so.0", NULL, NULL, 32, path, sizeof path);
	cr_assert(rc == -ENOENT || (rc == 0 && strstr(path, "32")), "%d %s", rc, path);
	cr_assert_eq(fl_elf_find_library("libno-such-library.so.9", NULL, NULL, 64, path,
					 sizeof path),
		     -ENOENT);
}

Test(elf, a_private_libfiu_is_noticed)
{
	fl_elf_info info = inspect_ok(ELF_DIR "fiustatic");
	cr_assert(info.own_libfiu);
	fl_elf_info_free(&info);
}

Test(elf, a_go_section_marks_a_go_binary)
{
	fl_elf_info info = inspect_ok(ELF_DIR "golike");
	cr_assert(info.is_go);
	fl_elf_info_free(&info);
}

Test(elf, exports_of_libfius_preload)
{
	char **names;
	size_t n;
	cr_assert_eq(fl_elf_exports("/usr/lib/fiu/fiu_posix_preload.so", &names, &n), 0);
	cr_assert_gt(n, 50u);
	cr_assert(fl_elf_names_contain(names, n, "read"));
	cr_assert(fl_elf_names_contain(names, n, "malloc"));
	cr_assert_not(fl_elf_names_contain(names, n, "__read_chk"));
	cr_assert_not(fl_elf_names_contain(names, n, "openat"));
	for (size_t i = 1; i < n; i++)
		cr_assert_lt(strcmp(names[i - 1], names[i]), 0, "not sorted and unique at %zu", i);
	fl_elf_names_free(names, n);
}

Test(elf, fortified_base_names)
{
	const struct {
		const char *name, *base;
	} cases[] = {
		{ "__read_chk", "read" }, { "__pread64_chk", "pread64" },
		{ "__open_2", "open" }, { "__open64_2", "open64" },
		{ "__openat_2", "openat" }, { "__fprintf_chk", "fprintf" },
		{ "__stack_chk_fail", NULL }, { "read", NULL }, { "__chk", NULL },
		{ "__foo_2", NULL }, { "_read_chk", NULL }, { "__x_chk", "x" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char base[64] = "";
		int rc = fl_elf_fortified_base(cases[i].name, base, sizeof base);
		if (cases[i].base) {
			cr_assert_eq(rc, 0, "%s", cases[i].name);
			cr_assert_str_eq(base, cases[i].base);
		} else {
			cr_assert_eq(rc, -EINVAL, "%s read as '%s'", cases[i].name, base);
		}
	}
	char tiny[3];
	cr_assert_eq(fl_elf_fortified_base("__read_chk", tiny, sizeof tiny), -EINVAL);
}

static char *copy_to_temp(const char *src, size_t keep, char *dir_out)
{
	char *dir = tu_tempdir();
	strcpy(dir_out, dir);
	char *path = malloc(strlen(dir) + 16);
	sprintf(path, "%s/copy", dir);
	free(dir);
	FILE *in = fopen(src, "rb"), *out = fopen(path, "wb");
	cr_assert(in && out);
	char buf[65536];
	size_t n, total = 0;
	while ((n = fread(buf, 1, sizeof buf, in)) > 0 && total < keep) {
		size_t take = n < keep - total ? n : keep - total;
		fwrite(buf, 1, take, out);
		total += take;
	}
	fclose(in);
	fclose(out);
	return path;
}

Test(elf, not_elf_missing_and_directories_fail_cleanly)
{
	fl_elf_info info;
	cr_assert_eq(fl_elf_inspect("README.md", &info), -ENOEXEC);
	cr_assert_eq(fl_elf_inspect("no/such/file", &info), -ENOENT);
	cr_assert_eq(fl_elf_inspect("tests", &info), -EISDIR);
	cr_assert_eq(fl_elf_inspect("/dev/null", &info), -ENOEXEC);
	char dir[PATH_MAX];
	char *path = copy_to_temp(ELF_DIR "plain", 200, dir);
	cr_assert_eq(fl_elf_inspect(path, &info), -ENOEXEC, "a truncated file was read");
	free(path);
	tu_rmrf(dir);
}

/* Damage bytes of a real binary at many places: every outcome must be a
 * result or -ENOEXEC; under AddressSanitizer a read out of bounds fails
 * the test. The flips are a fixed pseudo-random sequence. */
Test(elf, damaged_files_never_crash_the_reader, .timeout = 60)
{
	char dir[PATH_MAX];
	char *path = copy_to_temp(ELF_DIR "points", SIZE_MAX, dir);
	struct stat st;
	cr_assert_eq(stat(path, &st), 0);
	FILE *f = fopen(path, "r+b");
	cr_assert_not_null(f);
	unsigned char *orig = malloc((size_t)st.st_size);
	cr_assert_eq(fread(orig, 1, (size_t)st.st_size, f), (size_t)st.st_size);
	uint64_t x = 88172645463325252ull;
	int ok = 0, refused = 0;
	for (int round = 0; round < 300; round++) {
		rewind(f);
		fwrite(orig, 1, (size_t)st.st_size, f);
		for (int k = 0; k < 4; k++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			/* Half the flips in the headers, where they hurt most. */
			long off = (long)(k % 2 ? x % 64 : x % (uint64_t)st.st_size);
			if (round % 3 == 0)
				off = (long)((x >> 8) % 4096);
			fseek(f, off, SEEK_SET);
			fputc((int)(x >> 32) & 0xff, f);
		}
		fflush(f);
		fl_elf_info info;
		int rc = fl_elf_inspect(path, &info);
		if (rc == 0) {
			ok++;
			fl_elf_info_free(&info);
		} else {
			cr_assert(rc == -ENOEXEC || rc == -ENOTSUP, "round %d: %s", round, strerror(-rc));
			refused++;
		}
	}
	cr_assert_gt(ok + refused, 0);
	fclose(f);
	free(orig);
	free(path);
	tu_rmrf(dir);
}
