#version 450
// Turns one participant's network texture output into colour: colour = out * std + mean (sRGB-encoded, 0..1).
// Writes it back as f32 (what verification reads) and into the participant's RGBA8 texture (mip 0).
layout(local_size_x = 8, local_size_y = 8) in;

layout(set = 0, binding = 0) buffer Texels { vec4 texels[]; };      // [n][T][T] vec4 (rgb + padding)
layout(set = 0, binding = 1) uniform samplerBuffer mean;           // [T][T] vec4
layout(set = 0, binding = 2, rgba8) uniform writeonly image2D texture_out;

layout(push_constant) uniform Push {
	uint size;
	uint participant;
	float std_dev;
} pc;

void main()
{
	uvec2 xy = gl_GlobalInvocationID.xy;
	if (xy.x >= pc.size || xy.y >= pc.size) return;
	uint texel = xy.y * pc.size + xy.x;
	uint index = pc.participant * pc.size * pc.size + texel;
	vec3 colour = texels[index].rgb * pc.std_dev + texelFetch(mean, int(texel)).rgb;
	texels[index] = vec4(colour, 1.0);
	imageStore(texture_out, ivec2(xy), vec4(clamp(colour, 0.0, 1.0), 1.0));
}
