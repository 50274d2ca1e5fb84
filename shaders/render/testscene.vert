#version 450
// Test scene: world-space position, normal and linear colour per vertex; one model matrix per object.
layout(push_constant) uniform Push {
	mat4 view_proj;
	mat4 model;
} pc;

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in vec3 in_color;

layout(location = 0) out vec3 world_position;
layout(location = 1) out vec3 world_normal;
layout(location = 2) out vec3 albedo;

void main()
{
	vec4 world = pc.model * vec4(in_position, 1.0);
	world_position = world.xyz;
	// Objects are only rotated and uniformly scaled, so the model matrix transforms normals too.
	world_normal = mat3(pc.model) * in_normal;
	albedo = in_color;
	gl_Position = pc.view_proj * world;
}
