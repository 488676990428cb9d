package sandbox

import (
	"fmt"
	"strings"

	"github.com/mezzo-cluster/mezzo/api/module"
)

// wasiModule is the import module of WASI preview 1.
const wasiModule = "wasi_snapshot_preview1"

// wasiFunctions are the functions of WASI preview 1, all of which both
// engines provide (TestWASIFunctions checks).
var wasiFunctions = map[string]bool{
	"args_get": true, "args_sizes_get": true, "environ_get": true, "environ_sizes_get": true,
	"clock_res_get": true, "clock_time_get": true,
	"fd_advise": true, "fd_allocate": true, "fd_close": true, "fd_datasync": true,
	"fd_fdstat_get": true, "fd_fdstat_set_flags": true, "fd_fdstat_set_rights": true,
	"fd_filestat_get": true, "fd_filestat_set_size": true, "fd_filestat_set_times": true,
	"fd_pread": true, "fd_prestat_get": true, "fd_prestat_dir_name": true, "fd_pwrite": true,
	"fd_read": true, "fd_readdir": true, "fd_renumber": true, "fd_seek": true, "fd_sync": true,
	"fd_tell": true, "fd_write": true,
	"path_create_directory": true, "path_filestat_get": true, "path_filestat_set_times": true,
	"path_link": true, "path_open": true, "path_readlink": true, "path_remove_directory": true,
	"path_rename": true, "path_symlink": true, "path_unlink_file": true,
	"poll_oneoff": true, "proc_exit": true, "proc_raise": true, "sched_yield": true,
	"random_get": true, "sock_accept": true, "sock_recv": true, "sock_send": true, "sock_shutdown": true,
}

// missingImports names the imports of a module that the host does not
// provide: anything but WASI preview 1 functions. The engines would fail
// the instantiation too, but with messages that differ and (wazero's)
// name only the module ("module[env] not instantiated").
func missingImports(info *module.Info) error {
	var missing []string
	for _, imp := range info.Imports {
		if imp.Kind != module.KindFunction || imp.Module != wasiModule || !wasiFunctions[imp.Name] {
			missing = append(missing, imp.String())
		}
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("the module imports what the host does not provide: %s (the host provides %s functions only)",
		strings.Join(missing, ", "), wasiModule)
}
