package sandbox

import (
	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
)

// sandboxFS is a host directory as a Wasm guest sees it: wazero's DirFS,
// except that the guest may not create symbolic links. wazero refuses
// paths that climb out with "..", but it lets a guest create a relative
// link such as "x -> ../../etc" and then follows it on the host. See
// RATIONALE.md, "Why may a Wasm guest not create symbolic links?".
type sandboxFS struct {
	experimentalsys.FS
}

// Symlink implements experimentalsys.FS by refusing.
func (sandboxFS) Symlink(oldName, link string) experimentalsys.Errno {
	return experimentalsys.EPERM
}

// fsConfig mounts dir, an absolute path, at "/" in the guest.
func fsConfig(dir string) wazero.FSConfig {
	root := sandboxFS{FS: sysfs.DirFS(dir)}
	return wazero.NewFSConfig().(sysfs.FSConfig).WithSysFSMount(root, "/")
}
