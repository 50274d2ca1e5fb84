#version 450
// Radix sort, step 1 of 3 per 8-bit digit: each invocation counts the digits of one contiguous block of keys.
// One invocation per block (no shared memory or barriers: slow on CPU drivers, and blocks keep the sort stable).
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) readonly buffer Keys { uint keys[]; };
layout(set = 0, binding = 1) writeonly buffer Counts { uint counts[]; }; // [256][blocks]
layout(push_constant) uniform Push {
	uint count, block, blocks, shift;
} pc;

void main()
{
	uint b = gl_GlobalInvocationID.x;
	if (b >= pc.blocks) return;
	uint hist[256];
	for (uint d = 0; d < 256; d++) hist[d] = 0;
	uint end = min(pc.count, (b + 1) * pc.block);
	for (uint i = b * pc.block; i < end; i++) hist[(keys[i] >> pc.shift) & 255u]++;
	for (uint d = 0; d < 256; d++) counts[d * pc.blocks + b] = hist[d];
}
