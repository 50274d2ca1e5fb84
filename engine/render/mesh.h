/* mesh: CPU builders of simple lit meshes (position, normal, linear colour per vertex) for the renderer's own
 * geometry. The caller sizes the arrays; each builder says how much it adds. */
#ifndef CAVR_RENDER_MESH_H
#define CAVR_RENDER_MESH_H

#include <stdint.h>

#include <cglm/cglm.h>

#include "gpu/gpu.h"

struct mesh_vertex {
	float position[3], normal[3], color[3];
};

struct mesh_builder {
	struct mesh_vertex *vertices;
	uint32_t *indices;
	uint32_t vertex_count, index_count;
};

void mesh_add_vertex(struct mesh_builder *m, vec3 p, vec3 n, const float color[3]);
void mesh_add_quad(struct mesh_builder *m, uint32_t a, uint32_t b, uint32_t c, uint32_t d);
/* Axis-aligned box of half-size 0.5 (24 vertices, 36 indices). */
void mesh_build_cube(struct mesh_builder *m, const float color[3]);
/* Sphere of radius 0.5 ((rings + 1) * (segments + 1) vertices, 6 * rings * segments indices). */
void mesh_build_sphere(struct mesh_builder *m, const float color[3], int rings, int segments);
/* Capped cylinder of radius 0.5 along y from -0.5 to 0.5 (4 * (segments + 1) + 2 vertices, 12 * segments indices). */
void mesh_build_cylinder(struct mesh_builder *m, const float color[3], int segments);

/* The built mesh into a vertex and an index buffer ("NAME vertices", "NAME indices"). */
enum cv_result mesh_upload(struct gpu_context *ctx, const struct mesh_builder *m, struct gpu_buffer *vertices,
                           struct gpu_buffer *indices, const char *name);

#endif
