// Per-instance data of the shapes renderer (struct render_shape_instance), indexed by the draw's instance.
struct ShapeInstance {
	mat4 model;
	vec4 color;    // linear albedo; a: highlight strength
	vec4 material; // x: material (0 plain, 1 floor, 2 wood, 3 cloth, 4 wall)
};
layout(set = 0, binding = 1) uniform Shapes {
	ShapeInstance instance[256];
} shapes;
