package api

import "encoding/json"

// ContainerType names a containerizer. WASM is Mezzo's extension: the task
// runs a WebAssembly module described by ContainerInfo.Wasm.
type ContainerType string

// Container types.
const (
	ContainerMesos  ContainerType = "MESOS"
	ContainerDocker ContainerType = "DOCKER"
	ContainerWasm   ContainerType = "WASM"
)

// ContainerInfo describes the container a task or executor runs in.
type ContainerInfo struct {
	Type         ContainerType `json:"type"`
	Volumes      []Volume      `json:"volumes,omitempty"`
	Hostname     string        `json:"hostname,omitempty"`
	Docker       *DockerInfo   `json:"docker,omitempty"`
	Mesos        *MesosInfo    `json:"mesos,omitempty"`
	NetworkInfos []NetworkInfo `json:"network_infos,omitempty"`
	LinuxInfo    *LinuxInfo    `json:"linux_info,omitempty"`
	RlimitInfo   *RLimitInfo   `json:"rlimit_info,omitempty"`
	TTYInfo      *TTYInfo      `json:"tty_info,omitempty"`
	Wasm         *WasmInfo     `json:"wasm,omitempty"`
}

// Wasm engines. The empty engine means the agent's default.
const (
	EngineWazero   = "wazero"
	EngineWasmtime = "wasmtime"
)

// WasmInfo is Mezzo's extension of ContainerInfo: which module to run, on
// which engine, with what arguments, environment and limits. The module is
// named by the hex sha256 of its bytes, as stored by POST /api/v1/modules.
type WasmInfo struct {
	SHA256      string       `json:"sha256"`
	Engine      string       `json:"engine,omitempty"`
	Entrypoint  string       `json:"entrypoint,omitempty"`
	Arguments   []string     `json:"arguments,omitempty"`
	Environment *Environment `json:"environment,omitempty"`
	Limits      *WasmLimits  `json:"limits,omitempty"`
}

// DefaultEntrypoint is the WASI command entry point.
const DefaultEntrypoint = "_start"

// WasmLimits caps one Wasm task beyond what its resources imply. A zero
// MemoryPages means the task's mem resource sets the linear-memory limit;
// a zero CPUSeconds means no CPU-time budget. A task over its budget ends
// TASK_FAILED with REASON_CONTAINER_LIMITATION.
type WasmLimits struct {
	MemoryPages Uint64  `json:"memory_pages,omitempty"`
	CPUSeconds  Float64 `json:"cpu_seconds,omitempty"`
}

// Volume mounts a host path, image or other source into a container.
type Volume struct {
	Mode          string        `json:"mode"`
	ContainerPath string        `json:"container_path"`
	HostPath      string        `json:"host_path,omitempty"`
	Image         *Image        `json:"image,omitempty"`
	Source        *VolumeSource `json:"source,omitempty"`
}

// VolumeSource is where a volume comes from.
type VolumeSource struct {
	Type         string               `json:"type"`
	HostPath     *VolumeSourcePath    `json:"host_path,omitempty"`
	SandboxPath  *VolumeSourceSandbox `json:"sandbox_path,omitempty"`
	DockerVolume *VolumeSourceDocker  `json:"docker_volume,omitempty"`
	Secret       *Secret              `json:"secret,omitempty"`
}

// VolumeSourcePath is a HOST_PATH source.
type VolumeSourcePath struct {
	Path string `json:"path"`
}

// VolumeSourceSandbox is a SANDBOX_PATH source.
type VolumeSourceSandbox struct {
	Type string `json:"type,omitempty"`
	Path string `json:"path"`
}

// VolumeSourceDocker is a DOCKER_VOLUME source.
type VolumeSourceDocker struct {
	Driver  string      `json:"driver,omitempty"`
	Name    string      `json:"name"`
	Options *Parameters `json:"driver_options,omitempty"`
}

// Image is a container image; Cached defaults to true.
type Image struct {
	Type   string       `json:"type"`
	Docker *DockerImage `json:"docker,omitempty"`
	Appc   *AppcImage   `json:"appc,omitempty"`
	Cached *bool        `json:"cached,omitempty"`
}

// MarshalJSON prints cached even when unset.
func (i Image) MarshalJSON() ([]byte, error) {
	type plain Image
	p := plain(i)
	if p.Cached == nil {
		p.Cached = Ptr(true)
	}
	return json.Marshal(p)
}

// DockerImage names a Docker image.
type DockerImage struct {
	Name string `json:"name"`
}

// AppcImage names an App Container image.
type AppcImage struct {
	Name   string  `json:"name"`
	ID     string  `json:"id,omitempty"`
	Labels *Labels `json:"labels,omitempty"`
}

// MesosInfo is the Mesos containerizer's image.
type MesosInfo struct {
	Image *Image `json:"image,omitempty"`
}

// DockerInfo is the Docker containerizer's settings. Network defaults to
// HOST and Privileged to false; both are always printed.
type DockerInfo struct {
	Image          string        `json:"image"`
	Network        string        `json:"network,omitempty"`
	PortMappings   []PortMapping `json:"port_mappings,omitempty"`
	Privileged     bool          `json:"privileged"`
	Parameters     []Parameter   `json:"parameters,omitempty"`
	ForcePullImage *bool         `json:"force_pull_image,omitempty"`
}

// MarshalJSON prints the default network HOST when unset.
func (d DockerInfo) MarshalJSON() ([]byte, error) {
	type plain DockerInfo
	p := plain(d)
	if p.Network == "" {
		p.Network = "HOST"
	}
	return json.Marshal(p)
}

// PortMapping maps a host port into a container.
type PortMapping struct {
	HostPort      Uint64 `json:"host_port"`
	ContainerPort Uint64 `json:"container_port"`
	Protocol      string `json:"protocol,omitempty"`
}

// NetworkInfo describes a container network.
type NetworkInfo struct {
	IPAddresses  []IPAddress   `json:"ip_addresses,omitempty"`
	Name         string        `json:"name,omitempty"`
	Groups       []string      `json:"groups,omitempty"`
	Labels       *Labels       `json:"labels,omitempty"`
	PortMappings []PortMapping `json:"port_mappings,omitempty"`
}

// IPAddress is one address of a container network.
type IPAddress struct {
	Protocol  string `json:"protocol,omitempty"`
	IPAddress string `json:"ip_address,omitempty"`
}

// LinuxInfo holds Linux-specific container settings.
type LinuxInfo struct {
	CapabilityInfo *CapabilityInfo `json:"capability_info,omitempty"`
	SharePIDNS     *bool           `json:"share_pid_namespace,omitempty"`
	ShareCgroups   *bool           `json:"share_cgroups,omitempty"`
}

// CapabilityInfo lists Linux capabilities.
type CapabilityInfo struct {
	Capabilities []string `json:"capabilities,omitempty"`
}

// RLimitInfo sets POSIX resource limits.
type RLimitInfo struct {
	Rlimits []RLimit `json:"rlimits,omitempty"`
}

// RLimit is one resource limit; unset Hard and Soft mean unlimited.
type RLimit struct {
	Type string  `json:"type"`
	Hard *Uint64 `json:"hard,omitempty"`
	Soft *Uint64 `json:"soft,omitempty"`
}

// TTYInfo asks for a terminal.
type TTYInfo struct {
	WindowSize *WindowSize `json:"window_size,omitempty"`
}

// WindowSize is a terminal's size.
type WindowSize struct {
	Rows    Uint64 `json:"rows"`
	Columns Uint64 `json:"columns"`
}
