#version 450
// Lit in linear light; the sRGB target encodes on write.
layout(location = 0) in vec3 world_position;
layout(location = 1) in vec3 world_normal;
layout(location = 2) in vec3 albedo;

layout(location = 0) out vec4 out_color;

const vec3 key_direction = normalize(vec3(-0.4, 0.8, 0.5)); // towards the light
const vec3 key_color = vec3(1.0, 0.95, 0.85);
const vec3 sky_color = vec3(0.25, 0.30, 0.40);
const vec3 ground_color = vec3(0.10, 0.08, 0.06);

void main()
{
	vec3 n = normalize(world_normal);
	vec3 base = albedo;
	// The floor (y == 0 plane, facing up) gets a checker so camera motion is visible in golden images.
	if (n.y > 0.99 && abs(world_position.y) < 1e-3) {
		ivec2 cell = ivec2(floor(world_position.xz * 2.0));
		base *= ((cell.x + cell.y) & 1) == 0 ? 1.0 : 0.55;
	}
	float diffuse = max(dot(n, key_direction), 0.0);
	vec3 ambient = mix(ground_color, sky_color, n.y * 0.5 + 0.5);
	out_color = vec4(base * (key_color * diffuse + ambient), 1.0);
}
