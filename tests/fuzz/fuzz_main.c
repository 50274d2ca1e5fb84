/* Replays files through a libFuzzer entry point without libFuzzer, so any compiler (gcc with sanitizers,
 * in CTest) can run a fuzz target's corpus and crash reproducers as a regression test.
 * Usage: fuzz_<target> PATH...   (a PATH that is a directory contributes each regular file in it) */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/core.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
	void *data;
	size_t size;
	if (cv_file_read(path, &data, &size) != CV_OK) return 1;
	/* An exact-size copy, so the sanitizers see a read past the end (cv_file_read's buffer is larger). */
	uint8_t *copy = malloc(size ? size : 1);
	if (!copy) {
		free(data);
		return 1;
	}
	memcpy(copy, data, size);
	free(data);
	LLVMFuzzerTestOneInput(copy, size);
	free(copy);
	return 0;
}

static int name_cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Files of a directory in name order, so runs are repeatable. */
static int run_dir(const char *dir, int *count)
{
	DIR *d = opendir(dir);
	if (!d) {
		fprintf(stderr, "cannot open directory %s\n", dir);
		return 1;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	int failed = 0;
	for (struct dirent *e; (e = readdir(d));) {
		if (e->d_name[0] == '.') continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			char **grown = realloc(names, cap * sizeof(*names));
			if (!grown) {
				failed = 1;
				break;
			}
			names = grown;
		}
		names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
		if (!names[n]) {
			failed = 1;
			break;
		}
		sprintf(names[n], "%s/%s", dir, e->d_name);
		n++;
	}
	closedir(d);
	if (n) qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (!failed && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
			failed |= run_file(names[i]);
			++*count;
		}
		free(names[i]);
	}
	free(names);
	return failed;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
		return 2;
	}
	int failed = 0, count = 0;
	for (int i = 1; i < argc; i++) {
		struct stat st;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "cannot stat %s\n", argv[i]);
			failed = 1;
		} else if (S_ISDIR(st.st_mode)) {
			failed |= run_dir(argv[i], &count);
		} else {
			failed |= run_file(argv[i]);
			count++;
		}
	}
	printf("%d inputs replayed%s\n", count, failed ? ", some could not be read" : "");
	return failed;
}
