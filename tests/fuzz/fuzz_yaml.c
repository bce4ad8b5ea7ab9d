/* libFuzzer target: untrusted YAML bytes -> objects (engine_extract_buffer), then
 * engine_normalize on whatever was extracted. Built and run by tests/fuzz/run.sh. */
#include <stddef.h>
#include <stdint.h>

#include "engine/engine.h"
#include "util/error.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	engine_objects objs = ENGINE_OBJECTS_INIT;
	engine_warnings w = ENGINE_WARNINGS_INIT;

	if (engine_extract_buffer(&objs, (const char *)data, size, "fuzz.yaml") == 0) {
		char buf[256];
		for (size_t i = 0; i < objs.len; i++)
			engine_object_describe(buf, sizeof(buf), &objs.items[i]);
		(void)engine_normalize(&objs, &w);
	}
	engine_warnings_dispose(&w);
	engine_objects_dispose(&objs);
	dhg_error_clear();
	return 0;
}
