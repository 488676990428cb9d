// Declarations of the parts of wasmtime's C API that wasmtime-go does not
// wrap, and of our own glue (glue_wasmtime.c). They are copied from
// wasmtime-go v39's build/include so that this package needs no include
// path into the module cache; the linker resolves them in the libwasmtime
// that wasmtime-go links.

#include <stddef.h>
#include <stdint.h>

typedef struct wasmtime_store wasmtime_store_t;
typedef struct wasmtime_context wasmtime_context_t;
typedef struct wasmtime_error wasmtime_error_t;
typedef struct wasi_config_t wasi_config_t;
typedef uint8_t wasmtime_update_deadline_kind_t;

wasmtime_context_t *wasmtime_store_context(wasmtime_store_t *store);
wasmtime_error_t *wasmtime_error_new(const char *message);
void wasmtime_store_epoch_deadline_callback(
    wasmtime_store_t *store,
    wasmtime_error_t *(*func)(wasmtime_context_t *context, void *data,
                              uint64_t *epoch_deadline_delta,
                              wasmtime_update_deadline_kind_t *update_kind),
    void *data, void (*finalizer)(void *));
void wasi_config_set_stdout_custom(
    wasi_config_t *config,
    ptrdiff_t (*callback)(void *, const unsigned char *, size_t), void *data,
    void (*finalizer)(void *));
void wasi_config_set_stderr_custom(
    wasi_config_t *config,
    ptrdiff_t (*callback)(void *, const unsigned char *, size_t), void *data,
    void (*finalizer)(void *));

void mezzo_set_epoch_callback(void *store, uintptr_t handle);
void mezzo_set_output(void *wasi, int stdout_fd, int stderr_fd);
void *mezzo_store_context(void *store);
