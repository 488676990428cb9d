//go:build cgo

// The C half of the glue between wasmtime's C API and this package; see
// glue_wasmtime.go.

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "glue_wasmtime.h"
#include "_cgo_export.h"

#define WASMTIME_UPDATE_DEADLINE_CONTINUE 0

// mezzo_epoch runs on the guest's thread whenever the engine's epoch
// passes the store's deadline, about once per epoch tick while the guest
// runs. It asks Go whether the task must stop; if not, it sets the next
// deadline one tick ahead and lets the guest go on.
static wasmtime_error_t *mezzo_epoch(wasmtime_context_t *context, void *data,
                                     uint64_t *delta,
                                     wasmtime_update_deadline_kind_t *kind) {
  (void)context;
  if (mezzoEpochDeadline((uintptr_t)data)) {
    return wasmtime_error_new("interrupted: the task was stopped");
  }
  *delta = 1;
  *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
  return NULL;
}

void mezzo_set_epoch_callback(void *store, uintptr_t handle) {
  wasmtime_store_epoch_deadline_callback((wasmtime_store_t *)store, mezzo_epoch,
                                         (void *)handle, NULL);
}

// mezzo_write writes a guest's output to a file descriptor (data), all of
// it, as WASI's blocking output stream promises.
//
// It blocks SIGPIPE on its thread while it writes, so that a pipe whose
// reader has gone fails the write with EPIPE (an error for the guest)
// instead of raising SIGPIPE: raised in C, in a cgo call, SIGPIPE is not
// Go's to handle, and its default action kills the executor with every
// task in it. A SIGPIPE the write raised is taken off the thread before
// the mask is restored. Ignoring SIGPIPE for the whole process would also
// do, but the disposition is inherited across exec by native tasks, which
// expect SIGPIPE's default; see RATIONALE.md, "Why does a guest's write
// block SIGPIPE rather than the executor ignore it?".
static ptrdiff_t mezzo_write(void *data, const unsigned char *buf, size_t len) {
  int fd = (int)(intptr_t)data;
  sigset_t pipe_set, old_set;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  // If SIGPIPE was blocked already, a SIGPIPE pending now is not ours to
  // take, and the caller's mask stays as it is.
  int blocked = pthread_sigmask(SIG_BLOCK, &pipe_set, &old_set) == 0 &&
                !sigismember(&old_set, SIGPIPE);
  size_t done = 0;
  ptrdiff_t result = 0;
  while (done < len) {
    ssize_t n = write(fd, buf + done, len - done);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      result = -errno;
      break;
    }
    done += (size_t)n;
  }
  if (blocked) {
    if (result == -EPIPE) {
      const struct timespec zero = {0, 0};
      while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
  }
  return result < 0 ? result : (ptrdiff_t)done;
}

void mezzo_set_output(void *wasi, int stdout_fd, int stderr_fd) {
  wasi_config_set_stdout_custom((wasi_config_t *)wasi, mezzo_write,
                                (void *)(intptr_t)stdout_fd, NULL);
  wasi_config_set_stderr_custom((wasi_config_t *)wasi, mezzo_write,
                                (void *)(intptr_t)stderr_fd, NULL);
}

void *mezzo_store_context(void *store) {
  return wasmtime_store_context((wasmtime_store_t *)store);
}
