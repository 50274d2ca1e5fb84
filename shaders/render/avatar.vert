#version 450
#extension GL_GOOGLE_include_directive : require
// A decoded avatar: vertices straight from the decoder's output buffer (metres, uvs; normals unused while the
// texture carries the lighting).
#include "views.glsl"
// Head poses (rotation and translation) per participant, indexed by the draw's instance (see testscene.vert).
layout(set = 0, binding = 2) uniform Poses {
	mat4 head[16];
} poses;

layout(location = 0) in vec4 position_u;
layout(location = 1) in vec4 normal_v;

layout(location = 0) out vec2 uv;

void main()
{
	uv = vec2(position_u.w, normal_v.w);
	gl_Position = views.view_proj[gl_ViewIndex] * poses.head[gl_InstanceIndex] * vec4(position_u.xyz, 1.0);
}
