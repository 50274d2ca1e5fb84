/* cavatar: opening a .cavatar file (engine/avatar/cavatar-format.md) and checking it against its family.
 * The input is untrusted. avatar_file_open returns only files whose metadata parses, whose family is known,
 * and whose tensors are all present with exactly the shapes and dtypes the family needs, with every triangle
 * index in range, so decoders and the GPU upload can use what they get without checking again.
 * A libFuzzer entry point lives in tests/fuzz/fuzz_cavatar.c.
 * Ownership: a struct avatar_file owns its struct st_file (and with it the mapping or, for
 * avatar_file_open_memory, a borrow of the caller's buffer, which must outlive the avatar_file).
 * Names, tensors and the arch struct returned here live as long as the avatar_file. */
#ifndef CAVR_CAVATAR_H
#define CAVR_CAVATAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "avatar/safetensors.h"
#include "core/core.h"

#define AVATAR_FORMAT_VERSION 1

enum avatar_family {
	AVATAR_FAMILY_DAM = 1, /* Deep Appearance Model: MLP + transposed-convolution texture decoder */
	AVATAR_FAMILY_GCA = 2, /* Gaussian codec avatar: transposed-convolution trunks to a UV grid of 3D Gaussians */
};

/* Limits on what a file may ask for, so a hostile header cannot make the engine allocate without bound. */
#define AVATAR_MAX_LATENT 4096
#define AVATAR_MAX_TEXTURE 4096
#define AVATAR_MAX_VERTICES 1000000
#define AVATAR_MAX_UVS 4000000
#define AVATAR_MAX_TRIANGLES 4000000
#define AVATAR_DAM_MAX_CHANNELS 1024
#define AVATAR_DAM_MAX_UP 12

/* Fixed widths of the dam decoder's fully connected layers. */
#define AVATAR_DAM_HIDDEN 256 /* z_fc output */
#define AVATAR_DAM_VIEW 8     /* view_fc output */

struct avatar_dam_arch {
	uint32_t latent;    /* Z, floats per expression code */
	uint32_t texture;   /* T: the decoded texture is T x T x 3 */
	uint32_t vertices;  /* V */
	uint32_t uv_count;  /* U, rows of mesh.uv */
	uint32_t triangles; /* F, rows of mesh.tri_vertex and mesh.tri_uv */
	uint32_t init_size; /* S0, side of the first feature grid */
	uint32_t up_count;  /* up-convolutions; T = S0 << up_count */
	uint32_t channels[AVATAR_DAM_MAX_UP + 1]; /* C0, then the output channels of each up-convolution (last 3) */
	bool view_conditioned;
	float leaky_slope;
};

/* Per-texel outputs of the gca trunks: geometry (position offset 3, rotation quaternion w,x,y,z 4, log-scale 3,
 * opacity logit 1) and the view-dependent colour branch (RGB logits). */
#define AVATAR_GCA_GEOMETRY 11
#define AVATAR_GCA_COLOUR 3

struct avatar_gca_arch {
	uint32_t latent;    /* Z */
	uint32_t grid;      /* G: G x G Gaussians */
	uint32_t init_size; /* S0 of both trunks; G = S0 << up_count */
	uint32_t up_count;  /* up-convolutions per trunk */
	uint32_t geometry_channels[AVATAR_DAM_MAX_UP + 1]; /* C0, then each up-convolution's outputs (last 11) */
	uint32_t colour_channels[AVATAR_DAM_MAX_UP + 1];   /* C0, then each up-convolution's outputs (last 3) */
	bool view_conditioned;
	float leaky_slope;
};

struct avatar_file;

enum cv_result avatar_file_open(const char *path, struct avatar_file **out);
/* `data` is borrowed, not copied: keep it alive until avatar_file_destroy. */
enum cv_result avatar_file_open_memory(const void *data, size_t size, struct avatar_file **out);
void avatar_file_destroy(struct avatar_file **file);

const char *avatar_name(const struct avatar_file *file);
enum avatar_family avatar_family(const struct avatar_file *file);
const char *avatar_family_name(enum avatar_family family);
/* The dam architecture, or NULL when the file is of another family. */
const struct avatar_dam_arch *avatar_dam_arch(const struct avatar_file *file);
/* The gca architecture, or NULL when the file is of another family. */
const struct avatar_gca_arch *avatar_gca_arch(const struct avatar_file *file);
/* Floats per expression code, whatever the family. */
uint32_t avatar_latent_size(const struct avatar_file *file);

/* A tensor by its name in the format ("dec.up.3.weight", "mesh.uv"), or NULL when the file has none
 * (only optional ones, like code.mean, can be absent from a file that opened). */
const struct st_tensor *avatar_tensor(const struct avatar_file *file, const char *name);
/* The underlying container, for metadata this module does not interpret. */
const struct st_file *avatar_safetensors(const struct avatar_file *file);

/* CV_ERROR_INVALID_ARGUMENT, logged with both sizes, unless an expression code of `code_floats` fits. */
enum cv_result avatar_check_code(const struct avatar_file *file, size_t code_floats);

#endif
