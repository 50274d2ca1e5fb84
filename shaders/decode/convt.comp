#version 450
// ConvTranspose2d, kernel 4, stride 2, padding 1, + bias + untied per-texel bias, + optional LeakyReLU,
// on channels-last (HWC) activations with channels padded to multiples of 4, for a batch of participants.
//
// Output pixel (oy, ox) of parity (PY, PX) = (oy & 1, ox & 1) sums exactly 2x2 input taps, so the work is
// split into four dispatches, one per parity, whose tap offsets and weight block are compile-time constants.
// Each invocation computes PIX output pixels along x (same parity) times CB4 x 4 output channels: weights are
// read once per PIX pixels and inputs once per 4*CB4 channels. PIX, CB4 and the workgroup are chosen per
// device at start-up (register blocking for CPU drivers, smaller blocks and more invocations for GPUs).
// The dispatch's x runs over (channel block, pixel block) pairs so that small early layers still fill the
// workgroups; z runs over participants.
layout(local_size_x_id = 0, local_size_y_id = 1) in;
layout(constant_id = 2) const uint PY = 0;
layout(constant_id = 3) const uint PX = 0;
layout(constant_id = 4) const uint PIX = 4;
layout(constant_id = 5) const uint CB4 = 4;

layout(set = 0, binding = 0) uniform samplerBuffer inputs;  // [n][hin][win][cin4] vec4
layout(set = 0, binding = 1) uniform samplerBuffer weights; // [parity][ty][tx][cin][cout4] vec4
layout(set = 0, binding = 2) uniform samplerBuffer bias;    // [hout][wout][cout4] vec4, bias + untied bias
layout(set = 0, binding = 3) writeonly buffer Outputs { vec4 outputs[]; }; // [n][hout][wout][cout4]

layout(push_constant) uniform Push {
	uint hin, win, cin4, cout4;
	uint cout_blocks;  // cout4 / CB4
	uint pixel_blocks; // win / PIX, rounded up
	float leaky_slope; // 1.0: no activation
} pc;

void main()
{
	uint block = gl_GlobalInvocationID.x % pc.pixel_blocks;
	uint co0 = gl_GlobalInvocationID.x / pc.pixel_blocks * CB4;
	uint qx0 = block * PIX;            // column in this parity's grid (output x = 2 q + PX)
	uint qy = gl_GlobalInvocationID.y; // row in this parity's grid
	uint n = gl_GlobalInvocationID.z;
	if (qy >= pc.hin || co0 >= pc.cout4) return;

	vec4 acc[PIX][CB4];
	for (uint p = 0; p < PIX; p++)
		for (uint j = 0; j < CB4; j++) acc[p][j] = vec4(0.0);

	uint cin = pc.cin4 * 4;
	uint in_pixels = n * pc.hin * pc.win; // first input pixel of this participant
	uint w_parity = (PY * 2 + PX) * 4 * cin * pc.cout4;
	for (uint ty = 0; ty < 2; ty++) {
		// Even output rows take kernel rows 1 and 3 from input rows q and q-1; odd ones rows 0 and 2 from q+1 and q.
		int iy = int(qy) + (PY == 0 ? -int(ty) : 1 - int(ty));
		if (iy < 0 || iy >= int(pc.hin)) continue;
		// Both column taps of PIX neighbouring outputs fall in PIX + 1 input columns starting at x0:
		// output column q reads input columns q and q-1 (even) or q+1 and q (odd), i.e. x0 + p + 1 - tx.
		int x0 = int(qx0) + (PX == 0 ? -1 : 0);
		uint row = in_pixels + uint(iy) * pc.win;
		for (uint c4 = 0; c4 < pc.cin4; c4++) {
			vec4 x[PIX + 1];
			for (uint p = 0; p <= PIX; p++) {
				int ix = x0 + int(p);
				x[p] = ix >= 0 && ix < int(pc.win) ? texelFetch(inputs, int((row + uint(ix)) * pc.cin4 + c4)) : vec4(0.0);
			}
			for (uint tx = 0; tx < 2; tx++) {
				uint w_tap = w_parity + (ty * 2 + tx) * cin * pc.cout4 + co0;
				for (uint c = 0; c < 4; c++) {
					uint w_row = w_tap + (c4 * 4 + c) * pc.cout4;
					for (uint j = 0; j < CB4; j++) {
						vec4 w = texelFetch(weights, int(w_row + j));
						for (uint p = 0; p < PIX; p++) acc[p][j] += x[p + 1 - tx][c] * w;
					}
				}
			}
		}
	}

	uint oy = qy * 2 + PY;
	uint wout = pc.win * 2;
	uint out_base = n * pc.hin * 2 * wout * pc.cout4;
	for (uint p = 0; p < PIX; p++) {
		uint qx = qx0 + p;
		if (qx >= pc.win) break;
		uint pixel = oy * wout + qx * 2 + PX;
		for (uint j = 0; j < CB4; j++) {
			if (co0 + j >= pc.cout4) break;
			vec4 v = acc[p][j] + texelFetch(bias, int(pixel * pc.cout4 + co0 + j));
			outputs[out_base + pixel * pc.cout4 + co0 + j] = max(v, v * pc.leaky_slope);
		}
	}
}
