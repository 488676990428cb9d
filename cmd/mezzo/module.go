package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/sdk/wasmbuild"
)

// newModuleCmd is mezzo module: the module store, as a task author uses it.
func newModuleCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "module",
		Short: "Upload, list and delete the WebAssembly modules in the masters' store",
		Args:  cobra.NoArgs,
	}
	cmd.AddCommand(newModulePushCmd(), newModuleLsCmd(), newModuleRmCmd())
	return cmd
}

func newModulePushCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "push MODULE...",
		Short: "Upload modules: .wasm files, or Go package directories built with GOOS=wasip1 GOARCH=wasm",
		Long: `Push uploads each module to the masters' store, which validates it, and
prints its sha256 (what a task's ContainerInfo.wasm.sha256 and
mezzo run --module take) and size. A module the store refuses stops the
command with the store's reason.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			ops := f.operator(ctx)
			type pushed struct {
				Module string `json:"module"`
				SHA256 string `json:"sha256"`
				Size   int64  `json:"size"`
			}
			var out []pushed
			for _, spec := range args {
				wasm, _, err := readModule(ctx, spec)
				if err != nil {
					return fmt.Errorf("push: %w", err)
				}
				m, err := ops.PushModule(ctx, wasm)
				if err != nil {
					return fmt.Errorf("%s: %w", spec, err)
				}
				out = append(out, pushed{Module: spec, SHA256: m.SHA256, Size: m.Size})
			}
			return f.show(cmd.OutOrStdout(), out, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "SHA256\tSIZE\tMODULE")
				for _, p := range out {
					fmt.Fprintf(w, "%s\t%d\t%s\n", p.SHA256, p.Size, p.Module)
				}
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func newModuleLsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "ls", Short: "List the stored modules, newest first", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			mods, err := f.operator(cmd.Context()).Modules(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), mods, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "SHA256\tSIZE\tCREATED")
				for _, m := range mods {
					fmt.Fprintf(w, "%s\t%d\t%s\n", m.SHA256, m.Size, m.Created.Local().Format(time.DateTime))
				}
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func newModuleRmCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "rm SHA256...",
		Short: "Delete modules from the masters' store",
		Long: `Rm deletes each module, named by its sha256 as push and ls print it, from
the masters' store, and prints those it deleted. Tasks already running a
deleted module keep running, and agents keep their cached copies; new
launches of it are refused until it is pushed again. Each module that
cannot be deleted (unknown, malformed name, permission denied) is
reported on stderr, the others are still deleted, and the command then
exits with status 1.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.checkOutput(); err != nil {
				return err
			}
			ctx := cmd.Context()
			ops := f.operator(ctx)
			type deleted struct {
				SHA256 string `json:"sha256"`
			}
			out := []deleted{}
			failed := 0
			for _, sha := range args {
				if err := ops.DeleteModule(ctx, sha); err != nil {
					fmt.Fprintln(cmd.ErrOrStderr(), "mezzo:", tlsconf.Explain(err))
					failed++
					continue
				}
				out = append(out, deleted{SHA256: sha})
			}
			if f.output == "json" || len(out) > 0 {
				err := f.show(cmd.OutOrStdout(), out, func(w *tabwriter.Writer) {
					fmt.Fprintln(w, "DELETED")
					for _, d := range out {
						fmt.Fprintln(w, d.SHA256)
					}
				})
				if err != nil {
					return err
				}
			}
			if failed > 0 {
				return exitCode(1) // each failure is reported above
			}
			return nil
		},
	}
	f.register(cmd, true)
	return cmd
}

// readModule reads a module given as a .wasm file, or builds one from a Go
// package directory with GOOS=wasip1 GOARCH=wasm. It returns the module
// and a name for tasks that run it: the file's or the directory's.
func readModule(ctx context.Context, spec string) ([]byte, string, error) {
	info, err := os.Stat(spec)
	if err != nil {
		return nil, "", err // names the file
	}
	if !info.IsDir() {
		wasm, err := os.ReadFile(spec)
		if err != nil {
			return nil, "", err // names the file
		}
		return wasm, strings.TrimSuffix(filepath.Base(spec), ".wasm"), nil
	}
	wasm, err := wasmbuild.Build(ctx, "", spec)
	if err != nil {
		return nil, "", err
	}
	abs, err := filepath.Abs(spec)
	if err != nil {
		return nil, "", fmt.Errorf("module %s: %w", spec, err)
	}
	return wasm, filepath.Base(abs), nil
}
