// The frame's views (struct render_view_uniforms): one for a window or headless frame, two for a stereo pair
// drawn in one pass with multiview, where gl_ViewIndex picks the eye.
#extension GL_EXT_multiview : require
layout(set = 0, binding = 0) uniform Views {
	mat4 view_proj[2];
	vec4 eye[2];
} views;
