#version 450
#extension GL_GOOGLE_include_directive : require
// Lit primitive shapes (the meeting room, seats, bodies): unit meshes placed by per-instance matrices.
#include "views.glsl"
#include "shapes.glsl"

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;

layout(location = 0) out vec3 world_position;
layout(location = 1) out vec3 world_normal;
layout(location = 2) out vec3 local_position;
layout(location = 3) flat out uint instance;

void main()
{
	mat4 model = shapes.instance[gl_InstanceIndex].model;
	vec4 world = model * vec4(in_position, 1.0);
	world_position = world.xyz;
	// Shapes are scaled unevenly (ellipsoid bodies, boxes): normals need the inverse transpose.
	world_normal = transpose(inverse(mat3(model))) * in_normal;
	local_position = in_position;
	instance = gl_InstanceIndex;
	gl_Position = views.view_proj[gl_ViewIndex] * world;
}
