#version 450
// Fully connected layer for a batch of participants: out[n][o] = act(W[o] . in[n] + b[o]).
// Each invocation computes 4 consecutive outputs of one participant (gl_GlobalInvocationID.y), so every input
// vec4 it reads serves four rows. Weights arrive through a texel buffer (an rgba32f or rgba16f view of the
// same packed layout): the fast read path on lavapipe, and f16 weights without needing shaderFloat16.
layout(local_size_x_id = 0) in;

layout(set = 0, binding = 0) uniform samplerBuffer inputs;  // [n][in_stride4] vec4
layout(set = 0, binding = 1) uniform samplerBuffer weights; // [out][in4] vec4
layout(set = 0, binding = 2) uniform samplerBuffer bias;    // [out4] vec4
layout(set = 0, binding = 3) writeonly buffer Outputs { float outputs[]; };

layout(push_constant) uniform Push {
	uint in4;          // input length / 4
	uint in_offset4;   // where the input starts in each participant's row, in vec4
	uint in_stride4;   // row length of the input buffer, in vec4
	uint out_count;
	uint out_offset;   // where the output starts in each participant's row, in floats
	uint out_stride;   // row length of the output buffer, in floats
	float leaky_slope; // 1.0: no activation
} pc;

void main()
{
	uint o4 = gl_GlobalInvocationID.x;
	uint n = gl_GlobalInvocationID.y;
	uint o = o4 * 4;
	if (o >= pc.out_count) return;
	// Rows past the end (out_count not a multiple of 4) read row o instead and are not stored.
	uint r1 = min(o + 1, pc.out_count - 1), r2 = min(o + 2, pc.out_count - 1), r3 = min(o + 3, pc.out_count - 1);
	vec4 acc = vec4(0.0);
	uint in_base = n * pc.in_stride4 + pc.in_offset4;
	for (uint i = 0; i < pc.in4; i++) {
		vec4 x = texelFetch(inputs, int(in_base + i));
		acc += vec4(dot(texelFetch(weights, int(o * pc.in4 + i)), x), dot(texelFetch(weights, int(r1 * pc.in4 + i)), x),
		            dot(texelFetch(weights, int(r2 * pc.in4 + i)), x), dot(texelFetch(weights, int(r3 * pc.in4 + i)), x));
	}
	vec4 v = acc + texelFetch(bias, int(o4));
	v = max(v, v * pc.leaky_slope);
	uint base = n * pc.out_stride + pc.out_offset + o;
	for (uint k = 0; k < 4; k++)
		if (o + k < pc.out_count) outputs[base + k] = v[k];
}
