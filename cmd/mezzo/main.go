package main

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mezzo-cluster/mezzo/api/tlsconf"
	"github.com/mezzo-cluster/mezzo/sandbox"
)

func main() {
	// Before anything else: a native task under rlimits starts as this
	// binary in the sandbox's init mode, which sets the task's rlimits
	// and execs it (see sandbox.Init).
	if sandbox.IsInit(os.Args) {
		sandbox.Init(os.Args, os.Environ())
	}
	// What this process inherited must not reach the executors and
	// tasks it may start.
	if err := sandbox.CloseInheritedOnExec(); err != nil {
		fmt.Fprintln(os.Stderr, "mezzo:", err)
		os.Exit(1)
	}
	if err := newRoot().Execute(); err != nil {
		var exit exitCode
		if asExit(err, &exit) {
			os.Exit(int(exit))
		}
		fmt.Fprintln(os.Stderr, "mezzo:", tlsconf.Explain(err))
		os.Exit(1)
	}
}

func newRoot() *cobra.Command {
	var logLevel string
	var prof profileFlags
	root := &cobra.Command{
		Use:           "mezzo",
		Short:         "Mezzo runs WebAssembly modules and native processes on a cluster, Mesos-style",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := flagsFromEnv(cmd); err != nil {
				return err
			}
			if _, _, err := creds.credential(); err != nil {
				return err // checked once here, so that later uses cannot fail
			}
			if _, err := tlsf.load(); err != nil {
				return err // likewise
			}
			if err := setupLogging(logLevel); err != nil {
				return err
			}
			return prof.start()
		},
		PersistentPostRunE: func(cmd *cobra.Command, args []string) error { return prof.stop() },
	}
	prof.register(root)
	root.PersistentFlags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	creds.register(root)
	tlsf.register(root)
	root.AddCommand(newDevCmd(), newMasterCmd(), newAgentCmd(), newRunCmd(), newModuleCmd(),
		newAgentsCmd(), newFrameworksCmd(), newExecutorsCmd(), newTasksCmd(), newRolesCmd(), newWhyCmd(),
		newDrainCmd(), newQuotaCmd(), newWeightsCmd(), newExecutorCmd())
	return root
}

// flagsFromEnv sets every flag not given on the command line from its
// MEZZO_* variable: --work-dir from MEZZO_WORK_DIR, and so on.
func flagsFromEnv(cmd *cobra.Command) error {
	var err error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "MEZZO_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if serr := f.Value.Set(v); serr != nil {
				err = fmt.Errorf("%s=%q: %w", name, v, serr)
			}
		}
	})
	return err
}

func setupLogging(level string) error {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return fmt.Errorf("--log-level: %w", err)
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})))
	return nil
}

// exitCode is an error that asks main to exit with a given status and
// print nothing more (mezzo run exits with its task's code).
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func asExit(err error, target *exitCode) bool {
	e, ok := err.(exitCode)
	if ok {
		*target = e
	}
	return ok
}
