#version 450
#extension GL_GOOGLE_include_directive : require
#include "views.glsl"
#include "shapes.glsl"
#include "lighting.glsl"

layout(location = 0) in vec3 world_position;
layout(location = 1) in vec3 world_normal;
layout(location = 2) in vec3 local_position;
layout(location = 3) flat in uint instance;

layout(location = 0) out vec4 out_color;

float hash(vec2 p)
{
	return fract(sin(dot(p, vec2(127.1, 311.7))) * 43758.5453);
}

void main()
{
	vec3 n = normalize(world_normal);
	vec4 color = shapes.instance[instance].color;
	int material = int(shapes.instance[instance].material.x);
	vec3 albedo = color.rgb;
	float shininess = 16.0, specular = 0.04;
	if (material == 1) { // floor: planks 15 cm wide, staggered, each a slightly different tone
		vec2 q = world_position.xz / vec2(0.15, 1.2);
		q.y += hash(vec2(floor(q.x), 0.0));
		float plank = hash(floor(q));
		vec2 f = fract(q);
		float seam = smoothstep(0.0, 0.04, min(f.x, 1.0 - f.x)) * smoothstep(0.0, 0.005, min(f.y, 1.0 - f.y));
		albedo *= (0.8 + 0.35 * plank) * mix(0.45, 1.0, seam);
		shininess = 40.0;
		specular = 0.08;
	} else if (material == 2) { // wood: fine straight grain, gently wavy
		vec2 w = world_position.xz;
		float grain = sin(w.y * 140.0 + sin(w.x * 6.0) * 2.5 + sin(w.x * 31.0) * 0.4);
		albedo *= 0.92 + 0.08 * grain;
		shininess = 60.0;
		specular = 0.15;
	} else if (material == 3) { // cloth: matte
		specular = 0.0;
	} else if (material == 4) { // wall: faint vertical panels
		float panel = fract((world_position.x + world_position.z) / 0.9);
		albedo *= 0.93 + 0.07 * smoothstep(0.0, 0.02, min(panel, 1.0 - panel));
		specular = 0.0;
	}
	vec3 view_dir = normalize(views.eye[gl_ViewIndex].xyz - world_position);
	vec3 lit = albedo * room_light(world_position, n, view_dir, shininess, specular);
	// Highlight of a selected participant: a rim that brightens edges seen at grazing angles.
	float rim = pow(1.0 - max(dot(n, view_dir), 0.0), 2.0);
	lit += color.a * rim * vec3(0.25, 0.55, 1.0);
	out_color = vec4(lit, 1.0);
}
