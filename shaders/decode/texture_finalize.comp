#version 450
// Writes one participant's decoded colour (already de-normalised: the last up-convolution has the texture's
// std and mean folded into its weights and bias) into its RGBA8 texture, mip 0.
layout(local_size_x = 8, local_size_y = 8) in;

layout(set = 0, binding = 0) uniform samplerBuffer texels; // [n][T][T] vec4 (rgb + padding)
layout(set = 0, binding = 1, rgba8) uniform writeonly image2D texture_out;

layout(push_constant) uniform Push {
	uint size;
	uint participant;
} pc;

void main()
{
	uvec2 xy = gl_GlobalInvocationID.xy;
	if (xy.x >= pc.size || xy.y >= pc.size) return;
	vec3 colour = texelFetch(texels, int((pc.participant * pc.size + xy.y) * pc.size + xy.x)).rgb;
	imageStore(texture_out, ivec2(xy), vec4(clamp(colour, 0.0, 1.0), 1.0));
}
