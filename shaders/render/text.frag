#version 450
layout(set = 0, binding = 1) uniform sampler2D atlas; // coverage, baked by tools/bake_font.c

layout(location = 0) in vec2 uv;
layout(location = 1) in vec4 color;
layout(location = 2) flat in uint solid;

layout(location = 0) out vec4 out_color;

void main()
{
	float a = color.a * (solid != 0u ? 1.0 : texture(atlas, uv).r);
	out_color = vec4(color.rgb * a, a); // premultiplied
}
