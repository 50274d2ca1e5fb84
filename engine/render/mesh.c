/* Building simple lit meshes on the CPU: the test scene and the meeting room are made of these. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mesh.h"

void mesh_add_vertex(struct mesh_builder *m, vec3 p, vec3 n, const float color[3])
{
	struct mesh_vertex *v = &m->vertices[m->vertex_count++];
	memcpy(v->position, p, sizeof(v->position));
	memcpy(v->normal, n, sizeof(v->normal));
	memcpy(v->color, color, sizeof(v->color));
}

void mesh_add_quad(struct mesh_builder *m, uint32_t a, uint32_t b, uint32_t c, uint32_t d)
{
	uint32_t q[6] = {a, b, c, a, c, d};
	memcpy(&m->indices[m->index_count], q, sizeof(q));
	m->index_count += 6;
}

/* Axis-aligned box of half-size 0.5, one flat-shaded quad per face. */
void mesh_build_cube(struct mesh_builder *m, const float color[3])
{
	static const float axes[6][3] = {{1, 0, 0}, {-1, 0, 0}, {0, 1, 0}, {0, -1, 0}, {0, 0, 1}, {0, 0, -1}};
	for (int f = 0; f < 6; f++) {
		vec3 n = {axes[f][0], axes[f][1], axes[f][2]};
		vec3 u = {n[1], n[2], n[0]}; /* a perpendicular axis */
		vec3 v;
		glm_vec3_cross(n, u, v);
		uint32_t base = m->vertex_count;
		for (int k = 0; k < 4; k++) {
			float su = (k == 1 || k == 2) ? 0.5f : -0.5f, sv = (k >= 2) ? 0.5f : -0.5f;
			vec3 p;
			for (int i = 0; i < 3; i++) p[i] = 0.5f * n[i] + su * u[i] + sv * v[i];
			mesh_add_vertex(m, p, n, color);
		}
		mesh_add_quad(m, base, base + 1, base + 2, base + 3);
	}
}

void mesh_build_sphere(struct mesh_builder *m, const float color[3], int rings, int segments)
{
	uint32_t base = m->vertex_count;
	for (int r = 0; r <= rings; r++) {
		float phi = (float)M_PI * (float)r / (float)rings;
		for (int s = 0; s <= segments; s++) {
			float theta = 2.0f * (float)M_PI * (float)s / (float)segments;
			vec3 n = {sinf(phi) * cosf(theta), cosf(phi), -sinf(phi) * sinf(theta)};
			vec3 p;
			glm_vec3_scale(n, 0.5f, p);
			mesh_add_vertex(m, p, n, color);
		}
	}
	for (int r = 0; r < rings; r++)
		for (int s = 0; s < segments; s++) {
			uint32_t a = base + (uint32_t)(r * (segments + 1) + s), b = a + (uint32_t)segments + 1;
			mesh_add_quad(m, a, b, b + 1, a + 1);
		}
}


void mesh_build_cylinder(struct mesh_builder *m, const float color[3], int segments)
{
	uint32_t side = m->vertex_count;
	for (int s = 0; s <= segments; s++) {
		float a = 2.0f * (float)M_PI * (float)s / (float)segments;
		vec3 n = {cosf(a), 0, -sinf(a)};
		mesh_add_vertex(m, (vec3){0.5f * n[0], -0.5f, 0.5f * n[2]}, n, color);
		mesh_add_vertex(m, (vec3){0.5f * n[0], 0.5f, 0.5f * n[2]}, n, color);
	}
	for (int s = 0; s < segments; s++) {
		uint32_t a = side + 2 * (uint32_t)s;
		mesh_add_quad(m, a, a + 2, a + 3, a + 1);
	}
	for (int cap = 0; cap < 2; cap++) { /* bottom, top: a fan round a centre vertex */
		float y = cap ? 0.5f : -0.5f;
		vec3 n = {0, cap ? 1.0f : -1.0f, 0};
		uint32_t centre = m->vertex_count;
		mesh_add_vertex(m, (vec3){0, y, 0}, n, color);
		for (int s = 0; s <= segments; s++) {
			float a = 2.0f * (float)M_PI * (float)s / (float)segments;
			mesh_add_vertex(m, (vec3){0.5f * cosf(a), y, -0.5f * sinf(a)}, n, color);
		}
		for (int s = 0; s < segments; s++) {
			uint32_t a = centre + 1 + (uint32_t)s;
			uint32_t tri[3] = {centre, cap ? a : a + 1, cap ? a + 1 : a};
			memcpy(&m->indices[m->index_count], tri, sizeof(tri));
			m->index_count += 3;
		}
	}
}

enum cv_result mesh_upload(struct gpu_context *ctx, const struct mesh_builder *m, struct gpu_buffer *vertices,
                           struct gpu_buffer *indices, const char *name)
{
	char label[128];
	snprintf(label, sizeof(label), "%s vertices", name);
	CV_TRY(gpu_buffer_upload(ctx, vertices, VK_BUFFER_USAGE_VERTEX_BUFFER_BIT, m->vertices,
	                         m->vertex_count * sizeof(struct mesh_vertex), label));
	snprintf(label, sizeof(label), "%s indices", name);
	return gpu_buffer_upload(ctx, indices, VK_BUFFER_USAGE_INDEX_BUFFER_BIT, m->indices, m->index_count * sizeof(uint32_t),
	                         label);
}
