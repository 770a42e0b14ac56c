/* ELF reading with <elf.h> only. The file is mapped read-only and every
 * offset and size taken from it is checked against its length before use,
 * since a target may be any file a user names. Structures are copied out
 * with memcpy (offsets in a file need not be aligned), and 32-bit files
 * are widened to the 64-bit structures so the rest is written once. */
#define _GNU_SOURCE
#include "elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define FL_ELF_POINTS_SECTION "fl_points"
#define FL_ELF_MAX_NAME 256

typedef struct image {
	const unsigned char *data;
	size_t size;
	int is64;
	Elf64_Ehdr eh;
} image;

/* A growable list of strings. */
typedef struct names {
	char **v;
	size_t n, cap;
} names;

static int names_add(names *l, const char *s, size_t len)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		char **v = realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	char *copy = strndup(s, len);
	if (!copy)
		return -ENOMEM;
	l->v[l->n++] = copy;
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void names_sort_unique(names *l)
{
	if (l->n == 0)
		return;
	qsort(l->v, l->n, sizeof *l->v, cmp_str);
	size_t kept = 1;
	for (size_t i = 1; i < l->n; i++) {
		if (strcmp(l->v[i], l->v[kept - 1]) == 0)
			free(l->v[i]);
		else
			l->v[kept++] = l->v[i];
	}
	l->n = kept;
}

void fl_elf_names_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int fl_elf_names_contain(char *const *v, size_t n, const char *name)
{
	return n > 0 && bsearch(&name, v, n, sizeof *v, cmp_str) != NULL;
}

/* Whether [off, off + len) lies inside the file. */
static int in_file(const image *im, uint64_t off, uint64_t len)
{
	return off <= im->size && len <= im->size - off;
}

static int load(const char *path, image *im, int *fd_out)
{
	memset(im, 0, sizeof *im);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	if (!S_ISREG(st.st_mode) || st.st_size < (off_t)EI_NIDENT) {
		close(fd);
		return S_ISDIR(st.st_mode) ? -EISDIR : -ENOEXEC;
	}
	void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		int err = -errno;
		close(fd);
		return err;
	}
	im->data = map;
	im->size = (size_t)st.st_size;
	*fd_out = fd;
	const unsigned char *id = im->data;
	if (memcmp(id, ELFMAG, SELFMAG) != 0 ||
	    (id[EI_CLASS] != ELFCLASS32 && id[EI_CLASS] != ELFCLASS64))
		return -ENOEXEC;
	int native = 1;
	int little = *(unsigned char *)&native == 1;
	if (id[EI_DATA] != (little ? ELFDATA2LSB : ELFDATA2MSB))
		return -ENOTSUP;
	im->is64 = id[EI_CLASS] == ELFCLASS64;
	if (im->is64) {
		if (!in_file(im, 0, sizeof(Elf64_Ehdr)))
			return -ENOEXEC;
		memcpy(&im->eh, im->data, sizeof im->eh);
	} else {
		Elf32_Ehdr e;
		if (!in_file(im, 0, sizeof e))
			return -ENOEXEC;
		memcpy(&e, im->data, sizeof e);
		memcpy(im->eh.e_ident, e.e_ident, EI_NIDENT);
		im->eh.e_type = e.e_type;
		im->eh.e_phoff = e.e_phoff;
		im->eh.e_shoff = e.e_shoff;
		im->eh.e_phentsize = e.e_phentsize;
		im->eh.e_phnum = e.e_phnum;
		im->eh.e_shentsize = e.e_shentsize;
		im->eh.e_shnum = e.e_shnum;
		im->eh.e_shstrndx = e.e_shstrndx;
	}
	return 0;
}

static void unload(image *im, int fd)
{
	if (im->data)
		munmap((void *)im->data, im->size);
	if (fd >= 0)
		close(fd);
}

static int section(const image *im, size_t i, Elf64_Shdr *out)
{
	size_t entsize = im->is64 ? sizeof(Elf64_Shdr) : sizeof(Elf32_Shdr);
	if (im->eh.e_shentsize < entsize || i >= im->eh.e_shnum)
		return -ENOEXEC;
	uint64_t off = im->eh.e_shoff + (uint64_t)i * im->eh.e_shentsize;
	if (!in_file(im, off, entsize))
		return -ENOEXEC;
	if (im->is64) {
		memcpy(out, im->data + off, sizeof *out);
	} else {
		Elf32_Shdr s;
		memcpy(&s, im->data + off, sizeof s);
		*out = (Elf64_Shdr){ .sh_name = s.sh_name, .sh_type = s.sh_type,
				     .sh_flags = s.sh_flags, .sh_addr = s.sh_addr,
				     .sh_offset = s.sh_offset, .sh_size = s.sh_size,
				     .sh_link = s.sh_link, .sh_info = s.sh_info,
				     .sh_addralign = s.sh_addralign,
				     .sh_entsize = s.sh_entsize };
	}
	/* SHT_NOBITS sections (.bss) take no room in the file. */
	if (out->sh_type != SHT_NOBITS && !in_file(im, out->sh_offset, out->sh_size))
		return -ENOEXEC;
	return 0;
}

static int program_header(const image *im, size_t i, Elf64_Phdr *out)
{
	size_t entsize = im->is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (im->eh.e_phentsize < entsize || i >= im->eh.e_phnum)
		return -ENOEXEC;
	uint64_t off = im->eh.e_phoff + (uint64_t)i * im->eh.e_phentsize;
	if (!in_file(im, off, entsize))
		return -ENOEXEC;
	if (im->is64) {
		memcpy(out, im->data + off, sizeof *out);
	} else {
		Elf32_Phdr p;
		memcpy(&p, im->data + off, sizeof p);
		*out = (Elf64_Phdr){ .p_type = p.p_type, .p_offset = p.p_offset };
	}
	return 0;
}

/* A NUL-terminated string at off in a string table section, or NULL. */
static const char *string_at(const image *im, const Elf64_Shdr *strtab, uint64_t off)
{
	if (strtab->sh_type != SHT_STRTAB || off >= strtab->sh_size)
		return NULL;
	const char *s = (const char *)im->data + strtab->sh_offset + off;
	size_t room = (size_t)(strtab->sh_size - off);
	return memchr(s, '\0', room) ? s : NULL;
}

static int symbol(const image *im, const Elf64_Shdr *symtab, size_t i, Elf64_Sym *out)
{
	size_t entsize = im->is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	if ((uint64_t)(i + 1) * entsize > symtab->sh_size)
		return -ENOEXEC;
	const unsigned char *p = im->data + symtab->sh_offset + i * entsize;
	if (im->is64) {
		memcpy(out, p, sizeof *out);
	} else {
		Elf32_Sym s;
		memcpy(&s, p, sizeof s);
		*out = (Elf64_Sym){ .st_name = s.st_name, .st_info = s.st_info,
				    .st_other = s.st_other, .st_shndx = s.st_shndx,
				    .st_value = s.st_value, .st_size = s.st_size };
	}
	return 0;
}

static int is_fortified(const char *name)
{
	char base[FL_ELF_MAX_NAME];
	return fl_elf_fortified_base(name, base, sizeof base) == 0;
}

int fl_elf_fortified_base(const char *name, char *base, size_t len)
{
	size_t n = strlen(name);
	if (n < 3 || strncmp(name, "__", 2) != 0)
		return -EINVAL;
	size_t cut;
	if (n > 6 && strcmp(name + n - 4, "_chk") == 0) {
		cut = n - 4;
	} else if (n > 4 && strcmp(name + n - 2, "_2") == 0) {
		/* Only the open family has fortified "_2" variants. */
		cut = n - 2;
		if (strncmp(name + 2, "open", 4) != 0)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	size_t blen = cut - 2;
	if (blen == 0 || blen >= len)
		return -EINVAL;
	memcpy(base, name + 2, blen);
	base[blen] = '\0';
	return 0;
}

/* The strings of the points section: NUL-terminated names, possibly with
 * padding between them. */
static int read_points(const image *im, const Elf64_Shdr *sh, names *out)
{
	if (sh->sh_type == SHT_NOBITS)
		return 0;
	const char *p = (const char *)im->data + sh->sh_offset;
	const char *end = p + sh->sh_size;
	while (p < end) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		size_t len = nul ? (size_t)(nul - p) : (size_t)(end - p);
		if (len > 0 && len < FL_ELF_MAX_NAME) {
			int rc = names_add(out, p, len);
			if (rc)
				return rc;
		}
		p += len + 1;
	}
	return 0;
}

/* Walks a symbol table: imports and fortified imports (when imports is
 * not NULL), fiu_fail defined here, runtime.main, and (when exports is not
 * NULL) defined functions. */
static int read_symbols(const image *im, const Elf64_Shdr *symtab, fl_elf_info *info,
			names *fortified, names *imports, names *exports)
{
	Elf64_Shdr strtab;
	if (section(im, symtab->sh_link, &strtab) != 0)
		return -ENOEXEC;
	size_t entsize = im->is64 ? sizeof(Elf64_Sym) : sizeof(Elf32_Sym);
	size_t count = (size_t)(symtab->sh_size / entsize);
	for (size_t i = 1; i < count; i++) {
		Elf64_Sym sym;
		if (symbol(im, symtab, i, &sym) != 0)
			return -ENOEXEC;
		const char *name = string_at(im, &strtab, sym.st_name);
		if (!name || !name[0])
			continue;
		int type = ELF64_ST_TYPE(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF) {
			/* Data (stdout, environ) is not a call. */
			int call = type == STT_FUNC || type == STT_NOTYPE ||
				   type == STT_GNU_IFUNC;
			if (imports && call) {
				int rc = names_add(imports, name, strlen(name));
				if (rc)
					return rc;
			}
			if (fortified && is_fortified(name)) {
				int rc = names_add(fortified, name, strlen(name));
				if (rc)
					return rc;
			}
			continue;
		}
		if (info && strcmp(name, "fiu_fail") == 0)
			info->own_libfiu = 1;
		if (info && strcmp(name, "runtime.main") == 0)
			info->is_go = 1;
		if (exports && (type == STT_FUNC || type == STT_GNU_IFUNC)) {
			int rc = names_add(exports, name, strlen(name));
			if (rc)
				return rc;
		}
	}
	return 0;
}

/* DT_NEEDED entries, and the runpath: DT_RUNPATH, which the loader
 * prefers, else DT_RPATH. */
static int read_needed(const image *im, const Elf64_Shdr *dyn, names *needed,
		       char **runpath)
{
	int have_runpath = 0;
	Elf64_Shdr strtab;
	if (section(im, dyn->sh_link, &strtab) != 0)
		return -ENOEXEC;
	size_t entsize = im->is64 ? sizeof(Elf64_Dyn) : sizeof(Elf32_Dyn);
	size_t count = (size_t)(dyn->sh_size / entsize);
	for (size_t i = 0; i < count; i++) {
		const unsigned char *p = im->data + dyn->sh_offset + i * entsize;
		int64_t tag;
		uint64_t val;
		if (im->is64) {
			Elf64_Dyn d;
			memcpy(&d, p, sizeof d);
			tag = d.d_tag;
			val = d.d_un.d_val;
		} else {
			Elf32_Dyn d;
			memcpy(&d, p, sizeof d);
			tag = d.d_tag;
			val = d.d_un.d_val;
		}
		if (tag == DT_NULL)
			break;
		if ((tag == DT_RUNPATH || (tag == DT_RPATH && !have_runpath)) &&
		    string_at(im, &strtab, val)) {
			char *copy = strdup(string_at(im, &strtab, val));
			if (!copy)
				return -ENOMEM;
			free(*runpath);
			*runpath = copy;
			have_runpath |= tag == DT_RUNPATH;
			continue;
		}
		if (tag != DT_NEEDED)
			continue;
		const char *name = string_at(im, &strtab, val);
		if (name) {
			int rc = names_add(needed, name, strlen(name));
			if (rc)
				return rc;
		}
	}
	return 0;
}

void fl_elf_info_free(fl_elf_info *info)
{
	fl_elf_names_free(info->points, info->npoints);
	fl_elf_names_free(info->fortified, info->nfortified);
	fl_elf_names_free(info->needed, info->nneeded);
	fl_elf_names_free(info->imports, info->nimports);
	free(info->runpath);
	memset(info, 0, sizeof *info);
}

int fl_elf_inspect(const char *path, fl_elf_info *out)
{
	memset(out, 0, sizeof *out);
	image im;
	int fd = -1;
	int rc = load(path, &im, &fd);
	names points = { 0 }, fortified = { 0 }, needed = { 0 }, imports = { 0 };
	char *runpath = NULL;
	int has_interp = 0;
	if (rc)
		goto out;
	out->bits = im.is64 ? 64 : 32;
	for (size_t i = 0; i < im.eh.e_phnum; i++) {
		Elf64_Phdr ph;
		if ((rc = program_header(&im, i, &ph)) != 0)
			goto out;
		has_interp |= ph.p_type == PT_INTERP;
	}
	Elf64_Shdr shstr = { 0 };
	if (im.eh.e_shnum > 0 && (rc = section(&im, im.eh.e_shstrndx, &shstr)) != 0)
		goto out;
	for (size_t i = 0; i < im.eh.e_shnum; i++) {
		Elf64_Shdr sh;
		if ((rc = section(&im, i, &sh)) != 0)
			goto out;
		const char *name = string_at(&im, &shstr, sh.sh_name);
		if (!name)
			name = "";
		if (strcmp(name, FL_ELF_POINTS_SECTION) == 0)
			rc = read_points(&im, &sh, &points);
		else if (strcmp(name, ".go.buildinfo") == 0 || strcmp(name, ".gopclntab") == 0)
			out->is_go = 1;
		else if (sh.sh_type == SHT_DYNSYM)
			rc = read_symbols(&im, &sh, out, &fortified, &imports, NULL);
		else if (sh.sh_type == SHT_SYMTAB)
			rc = read_symbols(&im, &sh, out, NULL, NULL, NULL);
		else if (sh.sh_type == SHT_DYNAMIC)
			rc = read_needed(&im, &sh, &needed, &runpath);
		if (rc)
			goto out;
	}
	out->is_static = !has_interp && needed.n == 0;
	names_sort_unique(&points);
	names_sort_unique(&fortified);
	names_sort_unique(&imports);
out:
	unload(&im, fd);
	out->points = points.v;
	out->npoints = points.n;
	out->fortified = fortified.v;
	out->nfortified = fortified.n;
	out->needed = needed.v;
	out->nneeded = needed.n;
	out->imports = imports.v;
	out->nimports = imports.n;
	out->runpath = runpath;
	if (rc)
		fl_elf_info_free(out);
	return rc;
}

int fl_elf_exports(const char *path, char ***v, size_t *count)
{
	*v = NULL;
	*count = 0;
	image im;
	int fd = -1;
	names exports = { 0 };
	int rc = load(path, &im, &fd);
	for (size_t i = 0; rc == 0 && i < im.eh.e_shnum; i++) {
		Elf64_Shdr sh;
		rc = section(&im, i, &sh);
		if (rc == 0 && sh.sh_type == SHT_DYNSYM)
			rc = read_symbols(&im, &sh, NULL, NULL, NULL, &exports);
	}
	unload(&im, fd);
	if (rc) {
		fl_elf_names_free(exports.v, exports.n);
		return rc;
	}
	names_sort_unique(&exports);
	*v = exports.v;
	*count = exports.n;
	return 0;
}

/* The word size of an ELF file, 0 when it is not one. */
static int elf_bits(const char *path)
{
	unsigned char id[EI_NIDENT];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, id, sizeof id);
	close(fd);
	if (n != (ssize_t)sizeof id || memcmp(id, ELFMAG, SELFMAG) != 0)
		return 0;
	return id[EI_CLASS] == ELFCLASS64 ? 64 : id[EI_CLASS] == ELFCLASS32 ? 32 : 0;
}

/* dir/soname, when it is a file of the wanted word size. */
static int try_dir(const char *dir, size_t dirlen, const char *soname, int bits,
		   char *out, size_t outlen)
{
	if (dirlen == 0)
		return -ENOENT;
	int n = snprintf(out, outlen, "%.*s/%s", (int)dirlen, dir, soname);
	if (n < 0 || (size_t)n >= outlen)
		return -ENAMETOOLONG;
	struct stat st;
	if (stat(out, &st) != 0 || !S_ISREG(st.st_mode))
		return -ENOENT;
	return bits == 0 || elf_bits(out) == bits ? 0 : -ENOENT;
}

/* Tries each directory of a list separated by ':'. */
static int try_list(const char *list, const char *origin_dir, const char *soname,
		    int bits, char *out, size_t outlen)
{
	for (const char *p = list; p && *p;) {
		size_t n = strcspn(p, ":");
		char dir[4096];
		size_t len = 0;
		/* $ORIGIN and ${ORIGIN}: the directory of the object. */
		for (size_t i = 0; i < n && len < sizeof dir - 1;) {
			size_t skip = strncmp(p + i, "${ORIGIN}", 9) == 0 ? 9
				      : strncmp(p + i, "$ORIGIN", 7) == 0 ? 7
									 : 0;
			if (skip && origin_dir) {
				len += (size_t)snprintf(dir + len, sizeof dir - len, "%s",
							origin_dir);
				if (len >= sizeof dir)
					len = sizeof dir - 1;
				i += skip;
			} else {
				dir[len++] = p[i++];
			}
		}
		dir[len] = '\0';
		if (try_dir(dir, len, soname, bits, out, outlen) == 0)
			return 0;
		p += n;
		if (*p == ':')
			p++;
	}
	return -ENOENT;
}

/* The directories an ld.so.conf file names, following its includes. */
static int try_conf(const char *conf, int depth, const char *soname, int bits,
		    char *out, size_t outlen)
{
	FILE *f = depth < 8 ? fopen(conf, "re") : NULL;
	if (!f)
		return -ENOENT;
	char line[4096];
	int rc = -ENOENT;
	while (rc != 0 && fgets(line, sizeof line, f)) {
		char *p = line + strspn(line, " \t");
		p[strcspn(p, "#\r\n")] = '\0';
		size_t len = strlen(p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			p[--len] = '\0';
		if (!len)
			continue;
		if (strncmp(p, "include", 7) == 0 && (p[7] == ' ' || p[7] == '\t')) {
			char *pat = p + 7 + strspn(p + 7, " \t");
			glob_t g;
			if (glob(pat, 0, NULL, &g) != 0)
				continue;
			for (size_t i = 0; rc != 0 && i < g.gl_pathc; i++)
				rc = try_conf(g.gl_pathv[i], depth + 1, soname, bits, out,
					      outlen);
			globfree(&g);
		} else if (p[0] == '/') {
			rc = try_dir(p, len, soname, bits, out, outlen);
		}
	}
	fclose(f);
	return rc;
}

int fl_elf_find_library(const char *soname, const char *runpath,
			const char *origin_dir, int bits, char *out, size_t outlen)
{
	/* A needed entry with a slash is a path, taken as it is. */
	if (strchr(soname, '/')) {
		struct stat st;
		if (stat(soname, &st) != 0 || !S_ISREG(st.st_mode))
			return -ENOENT;
		int n = snprintf(out, outlen, "%s", soname);
		return n < 0 || (size_t)n >= outlen ? -ENAMETOOLONG : 0;
	}
	if (runpath && try_list(runpath, origin_dir, soname, bits, out, outlen) == 0)
		return 0;
	if (try_conf("/etc/ld.so.conf", 0, soname, bits, out, outlen) == 0)
		return 0;
	return try_list("/lib64:/usr/lib64:/lib:/usr/lib", NULL, soname, bits, out, outlen);
}
