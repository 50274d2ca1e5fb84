#version 450
// Render vertices (one per distinct vertex/uv pair): position, smooth normal recomputed from the decoded
// positions (area-weighted sum of the normals of the triangles around the vertex), and uv.
layout(local_size_x = 64) in;

struct RenderVertex {
	vec4 position_u; // xyz position in metres, w = u
	vec4 normal_v;   // xyz unit normal, w = v
};

layout(set = 0, binding = 0) readonly buffer Positions { vec4 positions[]; };  // [n][V]
layout(set = 0, binding = 1) readonly buffer Triangles { uvec4 triangles[]; }; // [F] vertex indices
layout(set = 0, binding = 2) readonly buffer Adjacency { uint adjacency[]; };  // [V + 1] offsets, then face ids
layout(set = 0, binding = 3) readonly buffer Corners { vec4 corners[]; };      // [R] (vertex index as float bits, u, v, 0)
layout(set = 0, binding = 4) writeonly buffer Vertices { RenderVertex vertices[]; }; // [n][R]

layout(push_constant) uniform Push {
	uint vertices;
	uint render_vertices;
	uint batch;
} pc;

void main()
{
	uint r = gl_GlobalInvocationID.x;
	uint n = gl_GlobalInvocationID.y;
	if (r >= pc.render_vertices || n >= pc.batch) return;
	vec4 corner = corners[r];
	uint v = floatBitsToUint(corner.x);
	uint base = n * pc.vertices;
	vec3 normal = vec3(0.0);
	for (uint k = adjacency[v]; k < adjacency[v + 1]; k++) {
		uvec4 t = triangles[adjacency[pc.vertices + 1 + k]];
		vec3 a = positions[base + t.x].xyz, b = positions[base + t.y].xyz, c = positions[base + t.z].xyz;
		normal += cross(b - a, c - a);
	}
	float len = length(normal);
	normal = len > 0.0 ? normal / len : vec3(0.0, 0.0, 1.0);
	vertices[n * pc.render_vertices + r] = RenderVertex(vec4(positions[base + v].xyz, corner.y), vec4(normal, corner.z));
}
