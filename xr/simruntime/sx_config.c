/* sx_config: the simulated HMD's settings. A key = value file named by $CAVR_SIMXR_CONFIG is read first,
 * then each CAVR_SIMXR_<KEY> variable overrides its key; README.md documents every key. Bad values fail
 * xrCreateInstance with a message naming the key and where it came from. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "simxr.h"
#include "sx_internal.h"

#define DEG (M_PI / 180.0)

static void set_defaults(struct sx_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->width = 1024;
	cfg->height = 1024;
	cfg->ipd = 0.063;
	cfg->refresh_hz = 90;
	cfg->fov[0] = -45 * DEG;
	cfg->fov[1] = 45 * DEG;
	cfg->fov[2] = 45 * DEG;
	cfg->fov[3] = -45 * DEG;
	cfg->hand_tracking = true;
	cfg->stage_size[0] = 3;
	cfg->stage_size[1] = 3;
	cfg->loss_at = -1;
	cfg->log_level = SX_LOG_WARN;
}

static bool parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	while (isspace((unsigned char)*end)) end++;
	if (end == s || *end || errno || !isfinite(v)) return false;
	*out = v;
	return true;
}

static bool parse_bool(const char *s, bool *out)
{
	static const char *yes[] = {"1", "true", "yes", "on"}, *no[] = {"0", "false", "no", "off"};
	for (int i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) return *out = true, true;
		if (strcasecmp(s, no[i]) == 0) return *out = false, true;
	}
	return false;
}

/* "A,B,C" into n doubles. */
static bool parse_list(const char *s, double *out, int n)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", s);
	char *save = NULL, *tok = strtok_r(buf, ",", &save);
	for (int i = 0; i < n; i++, tok = strtok_r(NULL, ",", &save))
		if (!tok || !parse_double(tok, &out[i])) return false;
	return tok == NULL;
}

static bool parse_size(const char *s, double *w, double *h)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%s", s);
	char *x = strchr(buf, 'x');
	if (!x) return false;
	*x = 0;
	return parse_double(buf, w) && parse_double(x + 1, h);
}

static bool parse_frames(struct sx_config *cfg, const char *s)
{
	cfg->capture_frame_ranges = 0;
	if (strcasecmp(s, "all") == 0) return true;
	char buf[512];
	snprintf(buf, sizeof buf, "%s", s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (cfg->capture_frame_ranges == SX_MAX_FRAME_RANGES) return false;
		char *dash = strchr(tok, '-');
		char *end;
		long long a = strtoll(tok, &end, 10), b = a;
		if (end == tok || a < 0) return false;
		if (dash) {
			char *end2;
			b = strtoll(dash + 1, &end2, 10);
			if (end2 == dash + 1 || *end2 || end != dash || b < a) return false;
		} else if (*end) {
			return false;
		}
		cfg->capture_frames[cfg->capture_frame_ranges].first = a;
		cfg->capture_frames[cfg->capture_frame_ranges].last = b;
		cfg->capture_frame_ranges++;
	}
	return cfg->capture_frame_ranges > 0;
}

static bool parse_extensions(struct sx_config *cfg, const char *s)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", s);
	char *save = NULL;
	for (char *tok = strtok_r(buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
		int e = sx_extension_index(tok);
		if (e < 0) return false;
		cfg->disabled[e] = true;
	}
	return true;
}

static bool parse_log(const char *s, enum sx_log_level *out)
{
	static const char *names[] = {"debug", "info", "warn", "error", "none"};
	for (int i = 0; i <= SX_LOG_NONE; i++)
		if (strcasecmp(s, names[i]) == 0) return *out = (enum sx_log_level)i, true;
	return false;
}

static bool parse_edit(const char *s, enum sx_edit *out)
{
	static const char *names[] = {"off", "on", "wrong"};
	for (int i = 0; i <= SX_EDIT_WRONG; i++)
		if (strcasecmp(s, names[i]) == 0) return *out = (enum sx_edit)i, true;
	return false;
}

static bool copy_string(char *dst, size_t size, const char *s)
{
	return (size_t)snprintf(dst, size, "%s", s) < size;
}

static const char *g_keys[] = {
	"resolution", "ipd", "refresh_hz", "fov", "script", "capture", "capture_frames", "realtime", "hand_tracking",
	"unavailable", "disable_extensions", "vulkan_device", "vulkan_instance_extensions", "vulkan_device_extensions",
	"edit_create_infos", "stage_size", "loss_at", "log",
};

/* Applies one key; `base_dir` resolves a relative script path of a config file. Returns false with err set. */
static bool apply(struct sx_config *cfg, const char *key, const char *value, const char *where, const char *base_dir,
                  char *err, size_t err_size)
{
	double v[4];
	bool ok = true;
	if (strcmp(key, "resolution") == 0) {
		ok = parse_size(value, &v[0], &v[1]) && v[0] >= 1 && v[1] >= 1 && v[0] <= SIMXR_MAX_IMAGE_SIZE &&
		     v[1] <= SIMXR_MAX_IMAGE_SIZE && v[0] == floor(v[0]) && v[1] == floor(v[1]);
		if (ok) cfg->width = (uint32_t)v[0], cfg->height = (uint32_t)v[1];
	} else if (strcmp(key, "ipd") == 0) {
		ok = parse_double(value, &v[0]) && v[0] >= 0 && v[0] <= 0.2;
		if (ok) cfg->ipd = v[0];
	} else if (strcmp(key, "refresh_hz") == 0) {
		ok = parse_double(value, &v[0]) && v[0] >= 1 && v[0] <= 1000;
		if (ok) cfg->refresh_hz = v[0];
	} else if (strcmp(key, "fov") == 0) {
		ok = parse_list(value, v, 4) && v[0] > -90 && v[0] < v[1] && v[1] < 90 && v[3] > -90 && v[3] < v[2] &&
		     v[2] < 90;
		if (ok)
			for (int i = 0; i < 4; i++) cfg->fov[i] = v[i] * DEG;
	} else if (strcmp(key, "script") == 0) {
		if (base_dir && value[0] && value[0] != '/')
			ok = (size_t)snprintf(cfg->script, sizeof cfg->script, "%s/%s", base_dir, value) < sizeof cfg->script;
		else
			ok = copy_string(cfg->script, sizeof cfg->script, value);
	} else if (strcmp(key, "capture") == 0) {
		ok = copy_string(cfg->capture, sizeof cfg->capture, value);
	} else if (strcmp(key, "capture_frames") == 0) {
		ok = parse_frames(cfg, value);
	} else if (strcmp(key, "realtime") == 0) {
		ok = parse_bool(value, &cfg->realtime);
	} else if (strcmp(key, "hand_tracking") == 0) {
		ok = parse_bool(value, &cfg->hand_tracking);
	} else if (strcmp(key, "unavailable") == 0) {
		ok = parse_bool(value, &cfg->unavailable);
	} else if (strcmp(key, "disable_extensions") == 0) {
		ok = parse_extensions(cfg, value);
	} else if (strcmp(key, "vulkan_device") == 0) {
		ok = copy_string(cfg->vulkan_device, sizeof cfg->vulkan_device, value);
	} else if (strcmp(key, "vulkan_instance_extensions") == 0) {
		ok = copy_string(cfg->vulkan_instance_extensions, sizeof cfg->vulkan_instance_extensions, value);
	} else if (strcmp(key, "vulkan_device_extensions") == 0) {
		ok = copy_string(cfg->vulkan_device_extensions, sizeof cfg->vulkan_device_extensions, value);
	} else if (strcmp(key, "edit_create_infos") == 0) {
		ok = parse_edit(value, &cfg->edit_create_infos);
	} else if (strcmp(key, "stage_size") == 0) {
		ok = parse_size(value, &v[0], &v[1]) && v[0] > 0 && v[1] > 0;
		if (ok) cfg->stage_size[0] = v[0], cfg->stage_size[1] = v[1];
	} else if (strcmp(key, "loss_at") == 0) {
		ok = parse_double(value, &v[0]) && v[0] >= 0;
		if (ok) cfg->loss_at = v[0];
	} else if (strcmp(key, "log") == 0) {
		ok = parse_log(value, &cfg->log_level);
	} else {
		snprintf(err, err_size, "%s: unknown key '%s'", where, key);
		return false;
	}
	if (!ok) snprintf(err, err_size, "%s: bad value '%s' for %s (see xr/simruntime/README.md)", where, value, key);
	return ok;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s)) s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1])) s[--n] = 0;
	return s;
}

static bool load_file(struct sx_config *cfg, const char *path, char *err, size_t err_size)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(err, err_size, "CAVR_SIMXR_CONFIG: cannot open '%s'", path);
		return false;
	}
	char dir[1024];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof dir, ".");
	char line[2048];
	bool ok = true;
	for (int n = 1; ok && fgets(line, sizeof line, f); n++) {
		char *hash = strchr(line, '#');
		if (hash) *hash = 0;
		char *s = trim(line);
		if (!*s) continue;
		char where[1100];
		snprintf(where, sizeof where, "%s:%d", path, n);
		char *eq = strchr(s, '=');
		if (!eq) {
			snprintf(err, err_size, "%s: expected 'key = value'", where);
			ok = false;
			break;
		}
		*eq = 0;
		ok = apply(cfg, trim(s), trim(eq + 1), where, dir, err, err_size);
	}
	fclose(f);
	return ok;
}

bool sx_config_load(struct sx_config *cfg, char *err, size_t err_size)
{
	set_defaults(cfg);
	const char *path = getenv("CAVR_SIMXR_CONFIG");
	if (path && *path && !load_file(cfg, path, err, err_size)) return false;
	for (size_t i = 0; i < sizeof g_keys / sizeof g_keys[0]; i++) {
		char name[64];
		snprintf(name, sizeof name, "CAVR_SIMXR_%s", g_keys[i]);
		for (char *c = name; *c; c++) *c = (char)toupper((unsigned char)*c);
		const char *value = getenv(name);
		if (value && !apply(cfg, g_keys[i], value, name, NULL, err, err_size)) return false;
	}
	return true;
}

bool sx_config_capture_frame(const struct sx_config *cfg, int64_t frame)
{
	if (!cfg->capture_frame_ranges) return true;
	for (uint32_t i = 0; i < cfg->capture_frame_ranges; i++)
		if (frame >= cfg->capture_frames[i].first && frame <= cfg->capture_frames[i].last) return true;
	return false;
}
