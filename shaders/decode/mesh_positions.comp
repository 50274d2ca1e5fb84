#version 450
// Vertex positions in metres: position = out * std + mean, for every participant of the batch.
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) readonly buffer Raw { float raw[]; };           // [n][3V]
layout(set = 0, binding = 1) readonly buffer Mean { vec4 mean[]; };          // [V]
layout(set = 0, binding = 2) writeonly buffer Positions { vec4 positions[]; }; // [n][V]

layout(push_constant) uniform Push {
	uint vertices;
	uint batch;
	float std_dev;
} pc;

void main()
{
	uint v = gl_GlobalInvocationID.x;
	uint n = gl_GlobalInvocationID.y;
	if (v >= pc.vertices || n >= pc.batch) return;
	uint r = (n * pc.vertices + v) * 3;
	positions[n * pc.vertices + v] = vec4(vec3(raw[r], raw[r + 1], raw[r + 2]) * pc.std_dev + mean[v].xyz, 1.0);
}
