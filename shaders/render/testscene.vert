#version 450
#extension GL_GOOGLE_include_directive : require
// Test scene: world-space position, normal and linear colour per vertex; one model matrix per object.
#include "views.glsl"
// Per-object matrices live in a buffer indexed by the draw's instance rather than in push constants: lavapipe
// replays a multiview pass per view with the last push-constant values, which would move every object.
layout(set = 0, binding = 1) uniform Objects {
	mat4 model[4];
} objects;

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec3 in_color;

layout(location = 0) out vec3 world_position;
layout(location = 1) out vec3 world_normal;
layout(location = 2) out vec3 albedo;

void main()
{
	mat4 model = objects.model[gl_InstanceIndex];
	vec4 world = model * vec4(in_position, 1.0);
	world_position = world.xyz;
	// Objects are only rotated and uniformly scaled, so the model matrix transforms normals too.
	world_normal = mat3(model) * in_normal;
	albedo = in_color;
	gl_Position = views.view_proj[gl_ViewIndex] * world;
}
