#version 450
#extension GL_GOOGLE_include_directive : require
// Per Gaussian, once per frame for every view: to world space (head pose), 3D covariance R S S^T R^T, linear
// colour, and a depth key from the sort view (the centre eye of a stereo pair). Culled Gaussians (behind the
// sort view, far outside its frustum, or too transparent to show) get the largest key, so they sort last and
// the draw's instance count (atomically counted here) leaves them out.
#include "splat.glsl"
layout(local_size_x = 64) in;

struct Gaussian {
	vec4 position_opacity;
	vec4 rotation; // w, x, y, z
	vec4 scale;
	vec4 colour;   // sRGB-encoded
};
layout(set = 0, binding = 0) readonly buffer Gaussians { Gaussian gaussians[]; };
layout(set = 0, binding = 1) uniform Frame {
	mat4 sort_view_proj;
	mat4 pose[16];
} frame;
layout(set = 0, binding = 2) writeonly buffer Splats { Splat splats[]; };
layout(set = 0, binding = 3) writeonly buffer Keys { uint keys[]; };
layout(set = 0, binding = 4) writeonly buffer Values { uint values[]; };
layout(set = 0, binding = 5) buffer Draw { uint index_count, instance_count; } draw; // VkDrawIndexedIndirectCommand

layout(push_constant) uniform Push {
	uint source;    // index into frame.pose
	uint first;     // where this source's splats start
	uint count;
	uint src_first; // first Gaussian of the source in its buffer
} pc;

vec3 srgb_to_linear(vec3 c)
{
	return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), greaterThan(c, vec3(0.04045)));
}

void main()
{
	uint i = gl_GlobalInvocationID.x;
	if (i >= pc.count) return;
	Gaussian g = gaussians[pc.src_first + i];
	mat4 pose = frame.pose[pc.source];
	vec3 mean = (pose * vec4(g.position_opacity.xyz, 1.0)).xyz;
	vec4 q = g.rotation;
	float w = q.x, x = q.y, y = q.z, z = q.w;
	mat3 r = mat3(1 - 2 * (y * y + z * z), 2 * (x * y + w * z), 2 * (x * z - w * y),  // column 0
	              2 * (x * y - w * z), 1 - 2 * (x * x + z * z), 2 * (y * z + w * x),  // column 1
	              2 * (x * z + w * y), 2 * (y * z - w * x), 1 - 2 * (x * x + y * y)); // column 2
	mat3 m = mat3(pose) * r * mat3(vec3(g.scale.x, 0, 0), vec3(0, g.scale.y, 0), vec3(0, 0, g.scale.z));
	mat3 cov = m * transpose(m);
	float opacity = g.position_opacity.w;
	// Beyond this many standard deviations a splat adds less than 1/255: the quad ends there.
	float extent = opacity > 1.0 / 255.0 ? sqrt(2.0 * log(255.0 * opacity)) : 0.0;
	uint at = pc.first + i;
	splats[at] = Splat(vec4(mean, opacity), vec4(cov[0][0], cov[0][1], cov[0][2], cov[1][1]),
	                   vec4(cov[1][2], cov[2][2], extent, 0.0), vec4(srgb_to_linear(g.colour.rgb), 0.0));
	vec4 clip = frame.sort_view_proj * vec4(mean, 1.0);
	bool visible = extent > 0.0 && clip.w > 1e-3 && all(lessThan(abs(clip.xy), vec2(1.5 * clip.w)));
	// Positive floats order like their bits: the view depth is the key.
	keys[at] = visible ? floatBitsToUint(clip.w) : 0xffffffffu;
	values[at] = at;
	if (visible) atomicAdd(draw.instance_count, 1u);
}
