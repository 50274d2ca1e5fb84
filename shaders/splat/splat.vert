#version 450
#extension GL_GOOGLE_include_directive : require
// One instanced quad per visible Gaussian, back to front in the order sorted once per frame. The 2D covariance
// is the 3D one through the Jacobian of this view's projection at the mean (EWA splatting, as in 3D Gaussian
// Splatting), plus 0.3 px^2 of low-pass; the quad spans the ellipse's axes out to where the Gaussian fades
// below 1/255, at the mean's depth, so the depth test composes it with the scene.
#include "../render/views.glsl"
#include "splat.glsl"

layout(set = 0, binding = 1) readonly buffer Splats { Splat splats[]; };
layout(set = 0, binding = 2) readonly buffer Order { uint order[]; }; // sorted near to far
layout(set = 0, binding = 3) readonly buffer Draw { uint index_count, instance_count; } draw; // VkDrawIndexedIndirectCommand

layout(push_constant) uniform Push {
	vec2 viewport; // pixels
} pc;

layout(location = 0) out vec2 offset_px;          // from the mean, in pixels
layout(location = 1) flat out vec3 conic;         // inverse 2D covariance xx, xy, yy
layout(location = 2) flat out vec4 colour_opacity;

const vec2 corners[4] = vec2[](vec2(-1, -1), vec2(1, -1), vec2(1, 1), vec2(-1, 1)); // indexed 0 1 2, 0 2 3

void main()
{
	Splat s = splats[order[draw.instance_count - 1u - uint(gl_InstanceIndex)]];
	mat4 vp = views.view_proj[gl_ViewIndex];
	vec4 clip = vp * vec4(s.mean_opacity.xyz, 1.0);
	gl_Position = vec4(0.0, 0.0, 2.0, 1.0); // outside the clip volume: nothing drawn
	if (clip.w <= 1e-3) return;
	vec2 ndc = clip.xy / clip.w;
	// d(ndc)/d(world): rows of the projection minus ndc times its w row, over w; then to pixels.
	vec3 rw = vec3(vp[0][3], vp[1][3], vp[2][3]);
	vec3 jx = (vec3(vp[0][0], vp[1][0], vp[2][0]) - ndc.x * rw) / clip.w * (0.5 * pc.viewport.x);
	vec3 jy = (vec3(vp[0][1], vp[1][1], vp[2][1]) - ndc.y * rw) / clip.w * (0.5 * pc.viewport.y);
	mat3 cov = mat3(s.cov_a.x, s.cov_a.y, s.cov_a.z, s.cov_a.y, s.cov_a.w, s.cov_b.x, s.cov_a.z, s.cov_b.x, s.cov_b.y);
	float a = dot(jx, cov * jx) + 0.3, b = dot(jx, cov * jy), c = dot(jy, cov * jy) + 0.3;
	float det = a * c - b * b;
	if (det <= 0.0) return;
	conic = vec3(c, -b, a) / det;
	float mid = 0.5 * (a + c), disc = sqrt(max(mid * mid - det, 0.0));
	float l1 = mid + disc, l2 = max(mid - disc, 0.0);
	vec2 v1 = abs(b) > 1e-12 ? normalize(vec2(b, l1 - a)) : (a >= c ? vec2(1, 0) : vec2(0, 1));
	vec2 v2 = vec2(-v1.y, v1.x);
	vec2 corner = corners[gl_VertexIndex];
	float extent = s.cov_b.z;
	offset_px = extent * (corner.x * sqrt(l1) * v1 + corner.y * sqrt(l2) * v2);
	colour_opacity = vec4(s.colour.rgb, s.mean_opacity.w);
	gl_Position = vec4((ndc + offset_px * 2.0 / pc.viewport) * clip.w, clip.z, clip.w);
}
