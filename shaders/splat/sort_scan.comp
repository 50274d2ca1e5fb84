#version 450
// Radix sort, step 2 of 3: per digit, exclusive prefix sums of the blocks' counts, and the digit's total.
layout(local_size_x = 64) in;
layout(set = 0, binding = 0) buffer Counts { uint counts[]; }; // [256][blocks]
layout(set = 0, binding = 1) writeonly buffer Totals { uint totals[]; }; // [256]
layout(push_constant) uniform Push {
	uint count, block, blocks, shift;
} pc;

void main()
{
	uint d = gl_GlobalInvocationID.x;
	if (d >= 256) return;
	uint sum = 0;
	for (uint b = 0; b < pc.blocks; b++) {
		uint c = counts[d * pc.blocks + b];
		counts[d * pc.blocks + b] = sum;
		sum += c;
	}
	totals[d] = sum;
}
