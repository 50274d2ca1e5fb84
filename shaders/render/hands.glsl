// Per-hand data (struct render_hand_gpu in engine/render/hands.c): joint matrices world * skin, and flags
// (x: a face texture is bound to take the skin tone from).
struct HandInstance {
	mat4 joint[25];
	uvec4 flags;
};
layout(std430, set = 0, binding = 1) readonly buffer Hands {
	HandInstance hand[];
} hands;
