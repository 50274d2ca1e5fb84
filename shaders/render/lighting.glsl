// The meeting room's light, in linear light: a warm lamp over the table, a cool fill from the windows, and a
// sky/ground ambient. Shared by every lit surface so heads, hands and room agree.
const vec3 lamp_position = vec3(0.0, 2.6, 0.0);
const vec3 lamp_color = vec3(1.9, 1.7, 1.45);
const vec3 fill_direction = normalize(vec3(-0.5, 0.6, 0.6)); // towards the light
const vec3 fill_color = vec3(0.35, 0.38, 0.45);
const vec3 sky_color = vec3(0.20, 0.22, 0.26);
const vec3 ground_color = vec3(0.08, 0.07, 0.06);

vec3 room_light(vec3 p, vec3 n, vec3 view_dir, float shininess, float specular)
{
	vec3 to_lamp = lamp_position - p;
	float d2 = dot(to_lamp, to_lamp);
	vec3 l = to_lamp * inversesqrt(d2);
	vec3 lamp = lamp_color * max(dot(n, l), 0.0) * (4.0 / (1.0 + d2));
	vec3 fill = fill_color * max(dot(n, fill_direction), 0.0);
	vec3 ambient = mix(ground_color, sky_color, n.y * 0.5 + 0.5);
	vec3 h = normalize(l + view_dir);
	vec3 spec = lamp_color * specular * pow(max(dot(n, h), 0.0), shininess) * (4.0 / (1.0 + d2));
	return lamp + fill + ambient + spec;
}
