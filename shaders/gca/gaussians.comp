#version 450
// The gca family's last step: one 3D Gaussian per UV texel from the two trunks' outputs (already biased,
// no activation): position = template surface point + offset * offset_scale, rotation = normalised quaternion,
// scale = exp(log-scale), opacity = sigmoid, colour = sigmoid (sRGB-encoded).
layout(local_size_x = 64) in;

layout(set = 0, binding = 0) uniform samplerBuffer geometry; // [n][G*G][3] vec4: offset xyz, quat wxyz, log-scale xyz, opacity logit, pad
layout(set = 0, binding = 1) uniform samplerBuffer colour;   // [n][G*G] vec4: rgb logits, pad
layout(set = 0, binding = 2) uniform samplerBuffer surface;  // [G*G] vec4: template position xyz (metres)

struct Gaussian {
	vec4 position_opacity;
	vec4 rotation; // w, x, y, z
	vec4 scale;
	vec4 colour;
};
layout(set = 0, binding = 3) writeonly buffer Gaussians { Gaussian gaussians[]; }; // [n][G*G]

layout(push_constant) uniform Push {
	uint count; // G * G
	float offset_scale;
} pc;

void main()
{
	uint i = gl_GlobalInvocationID.x;
	uint n = gl_GlobalInvocationID.y;
	if (i >= pc.count) return;
	uint t = n * pc.count + i;
	vec4 g0 = texelFetch(geometry, int(t * 3)), g1 = texelFetch(geometry, int(t * 3 + 1));
	vec4 g2 = texelFetch(geometry, int(t * 3 + 2));
	vec3 position = texelFetch(surface, int(i)).xyz + g0.xyz * pc.offset_scale;
	vec4 q = vec4(g0.w, g1.xyz);
	float len = length(q);
	q = len > 1e-12 ? q / len : vec4(1.0, 0.0, 0.0, 0.0); // a zero quaternion means no rotation
	vec3 scale = exp(vec3(g1.w, g2.xy));
	float opacity = 1.0 / (1.0 + exp(-g2.z));
	vec3 rgb = 1.0 / (1.0 + exp(-texelFetch(colour, int(t)).rgb));
	gaussians[t] = Gaussian(vec4(position, opacity), q, vec4(scale, 0.0), vec4(rgb, 0.0));
}
