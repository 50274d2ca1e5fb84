#version 450
// Premultiplied colour of one Gaussian at this pixel; the pipeline blends it over what is behind (back to
// front, which composes like 3D Gaussian Splatting's front-to-back accumulation).
layout(location = 0) in vec2 offset_px;
layout(location = 1) flat in vec3 conic;
layout(location = 2) flat in vec4 colour_opacity;

layout(location = 0) out vec4 out_color;

void main()
{
	vec2 d = offset_px;
	float power = -0.5 * (conic.x * d.x * d.x + conic.z * d.y * d.y) - conic.y * d.x * d.y;
	float alpha = min(0.99, colour_opacity.a * exp(power));
	if (alpha < 1.0 / 255.0) discard;
	out_color = vec4(colour_opacity.rgb * alpha, alpha);
}
