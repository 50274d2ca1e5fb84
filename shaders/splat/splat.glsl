// A Gaussian prepared for drawing (world space), written by prepare.comp and read by splat.vert.
struct Splat {
	vec4 mean_opacity; // world position (metres), opacity
	vec4 cov_a;        // world covariance xx, xy, xz, yy
	vec4 cov_b;        // yz, zz, quad extent in standard deviations (where opacity * exp(-r^2/2) = 1/255), 0
	vec4 colour;       // linear rgb, 0
};
