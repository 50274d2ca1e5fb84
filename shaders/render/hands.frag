#version 450
#extension GL_GOOGLE_include_directive : require
// Hands take their owner's skin tone from the decoded face texture (both cheeks, at a coarse mip), lit by the
// room like everything else.
#include "views.glsl"
#include "lighting.glsl"

layout(set = 0, binding = 2) uniform sampler2D face;


layout(location = 0) in vec3 world_position;
layout(location = 1) in vec3 world_normal;
layout(location = 2) flat in uint has_face;

layout(location = 0) out vec4 out_color;

void main()
{
	vec3 tone = vec3(0.45, 0.30, 0.24);
	if (has_face != 0u) {
		// The texture holds captured, lit appearance; brighten a little as the room lights it again.
		tone = 0.5 * (textureLod(face, vec2(0.25, 0.42), 3.0).rgb + textureLod(face, vec2(0.75, 0.42), 3.0).rgb);
	}
	vec3 n = normalize(world_normal);
	vec3 view_dir = normalize(views.eye[gl_ViewIndex].xyz - world_position);
	out_color = vec4(tone * room_light(world_position, n, view_dir, 12.0, 0.03), 1.0);
}
