#version 450
// Fully connected layer for a batch of participants: out[n][o] = act(W[o] . in[n] + b[o]).
// One invocation per output row computes it for every participant, so each weight is read once per batch.
// Weights arrive through a texel buffer (rgba32f or rgba16f view of the same packed layout), which is both the
// fast read path on lavapipe and what makes f16 weights work without shaderFloat16.
layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint MAX_BATCH = 16;

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
	uint batch;
	float leaky_slope; // 1.0: no activation
} pc;

void main()
{
	uint o = gl_GlobalInvocationID.x;
	if (o >= pc.out_count) return;
	float acc[MAX_BATCH];
	for (uint n = 0; n < MAX_BATCH; n++) acc[n] = 0.0;
	uint wrow = o * pc.in4;
	for (uint i = 0; i < pc.in4; i++) {
		vec4 w = texelFetch(weights, int(wrow + i));
		for (uint n = 0; n < MAX_BATCH; n++)
			if (n < pc.batch) acc[n] += dot(w, texelFetch(inputs, int(n * pc.in_stride4 + pc.in_offset4 + i)));
	}
	float b = texelFetch(bias, int(o / 4))[o % 4];
	for (uint n = 0; n < MAX_BATCH; n++) {
		if (n >= pc.batch) break;
		float v = acc[n] + b;
		outputs[n * pc.out_stride + pc.out_offset + o] = v >= 0.0 ? v : v * pc.leaky_slope;
	}
}
