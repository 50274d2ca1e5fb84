#version 450
// The decoded texture already holds the captured appearance, lighting included (that is what a codec avatar
// learns), so it is shown as it is: the sRGB texture is sampled to linear and the sRGB target encodes again.
layout(set = 0, binding = 1) uniform sampler2D appearance;

layout(location = 0) in vec2 uv;

layout(location = 0) out vec4 out_color;

void main()
{
	out_color = vec4(texture(appearance, uv).rgb, 1.0);
}
