#version 450
#extension GL_GOOGLE_include_directive : require
// Skinned hands: linear blend skinning of the bind mesh by 25 joint matrices per hand (engine/hand/hand.c's
// hand_skin_vertices is the CPU reference), each hand placed in the world by its tracking space's matrix.
#include "views.glsl"

#include "hands.glsl"

layout(location = 0) in vec3 in_position;
layout(location = 1) in vec3 in_normal;
layout(location = 2) in uvec4 in_joints;
layout(location = 3) in vec4 in_weights;

layout(location = 0) out vec3 world_position;
layout(location = 1) out vec3 world_normal;
layout(location = 2) flat out uint has_face;

void main()
{
	// Per-hand data by instance index, not push constants (see testscene.vert).
	HandInstance h = hands.hand[gl_InstanceIndex];
	mat4 skin = in_weights.x * h.joint[in_joints.x] + in_weights.y * h.joint[in_joints.y] +
	            in_weights.z * h.joint[in_joints.z] + in_weights.w * h.joint[in_joints.w];
	has_face = h.flags.x;
	vec4 world = skin * vec4(in_position, 1.0);
	world_position = world.xyz;
	world_normal = mat3(skin) * in_normal; // rigid joints: no inverse transpose needed
	gl_Position = views.view_proj[gl_ViewIndex] * world;
}
