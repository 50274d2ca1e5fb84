#version 450
// Overlay text: one quad per glyph (or solid panel), positions already in clip space, drawn over the views.
struct Glyph {
	vec4 rect;  // clip-space x0, y0, x1, y1
	vec4 uv;    // atlas u0, v0, u1, v1; u0 < 0: a solid panel
	vec4 color; // linear, straight alpha
};
layout(std430, set = 0, binding = 0) readonly buffer Glyphs {
	Glyph glyph[];
} glyphs;

layout(location = 0) out vec2 uv;
layout(location = 1) out vec4 color;
layout(location = 2) flat out uint solid;

void main()
{
	Glyph g = glyphs.glyph[gl_InstanceIndex];
	const vec2 corners[6] = vec2[](vec2(0, 0), vec2(1, 0), vec2(1, 1), vec2(0, 0), vec2(1, 1), vec2(0, 1));
	vec2 c = corners[gl_VertexIndex];
	uv = mix(g.uv.xy, g.uv.zw, c);
	color = g.color;
	solid = g.uv.x < 0.0 ? 1u : 0u;
	gl_Position = vec4(mix(g.rect.xy, g.rect.zw, c), 0.0, 1.0);
}
