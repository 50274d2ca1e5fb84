#version 450
// A decoded avatar: vertices straight from the decoder's output buffer (metres, uvs; normals unused while the
// texture carries the lighting).
layout(push_constant) uniform Push {
	mat4 view_proj;
	mat4 model; // head pose: rotation and translation
} pc;

layout(location = 0) in vec4 position_u;
layout(location = 1) in vec4 normal_v;

layout(location = 0) out vec2 uv;

void main()
{
	uv = vec2(position_u.w, normal_v.w);
	gl_Position = pc.view_proj * pc.model * vec4(position_u.xyz, 1.0);
}
