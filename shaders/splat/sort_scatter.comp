#version 450
// Radix sort, step 3 of 3: each block writes its keys and values, in order, to where its digits start
// (digits before this one in all blocks, plus this digit in earlier blocks): a stable pass.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer KeysIn { uint keys_in[]; };
layout(set = 0, binding = 1) readonly buffer ValuesIn { uint values_in[]; };
layout(set = 0, binding = 2) readonly buffer Counts { uint counts[]; };
layout(set = 0, binding = 3) readonly buffer Totals { uint totals[]; };
layout(set = 0, binding = 4) writeonly buffer KeysOut { uint keys_out[]; };
layout(set = 0, binding = 5) writeonly buffer ValuesOut { uint values_out[]; };
layout(push_constant) uniform Push {
	uint count, block, blocks, shift;
} pc;

void main()
{
	uint b = gl_GlobalInvocationID.x;
	if (b >= pc.blocks) return;
	uint at[256];
	uint base = 0;
	for (uint d = 0; d < 256; d++) {
		at[d] = base + counts[d * pc.blocks + b];
		base += totals[d];
	}
	uint end = min(pc.count, (b + 1) * pc.block);
	for (uint i = b * pc.block; i < end; i++) {
		uint k = keys_in[i];
		uint o = at[(k >> pc.shift) & 255u]++;
		keys_out[o] = k;
		values_out[o] = values_in[i];
	}
}
