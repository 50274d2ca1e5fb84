#version 450
// y = a * x + y: the smallest compute pipeline that exercises push descriptors, push constants and
// specialisation constants (the workgroup size), for the GPU tests.
layout(local_size_x_id = 0) in;
layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) buffer Y { float y[]; };
layout(push_constant) uniform Push { float a; uint n; } pc;

void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i < pc.n) y[i] = pc.a * x[i] + y[i];
}
