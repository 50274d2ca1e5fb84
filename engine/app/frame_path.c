/* Output file names from a user's pattern (args.h): substituted here, never given to printf as a format. Apart
 * from the presenter so the command-line tables (commands.c) check --output with it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "app/args.h"

bool app_frame_path(const char *pattern, uint64_t frame, char *out, size_t size)
{
	size_t n = 0;
	bool converted = false;
	for (const char *c = pattern; *c; c++) {
		char piece[32];
		const char *text = c;
		size_t len = 1;
		if (*c == '%') {
			if (c[1] == '%') {
				c++;
			} else {
				const char *spec = c + 1;
				bool zero = *spec == '0';
				spec += zero;
				unsigned width = 0;
				for (int digits = 0; *spec >= '0' && *spec <= '9'; spec++, digits++) {
					if (digits == 2) return false;
					width = width * 10 + (unsigned)(*spec - '0');
				}
				if ((*spec != 'u' && *spec != 'd') || converted || width >= 20) return false;
				converted = true;
				/* Our own format, with the user's width as an argument: the pattern is never a format. */
				int k = snprintf(piece, sizeof(piece), zero ? "%0*llu" : "%*llu", (int)width, (unsigned long long)frame);
				if (k < 0 || (size_t)k >= sizeof(piece)) return false;
				text = piece;
				len = (size_t)k;
				c = spec;
			}
		}
		if (n + len >= size) return false;
		memcpy(out + n, text, len);
		n += len;
	}
	if (!size) return false;
	out[n] = '\0';
	return true;
}
