/* The `cavr` executable: the engine's command line, with the presenters that live outside the engine. */
#include "app/app.h"
#include "xr.h"

static enum cv_result create_xr(bool validation, struct gpu_context **ctx, struct presenter **out)
{
	return xr_presenter_create(&(struct xr_desc){.validation = validation}, ctx, out);
}

int main(int argc, char **argv) { return app_main(argc, argv, &(struct app_hooks){.xr_create = create_xr}); }
