package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mezzo-cluster/mezzo/api"
	"github.com/mezzo-cluster/mezzo/sdk/operator"
)

// clientFlags are shared by the commands that talk to a master.
type clientFlags struct {
	master string
	output string
}

func (f *clientFlags) register(cmd *cobra.Command, withOutput bool) {
	cmd.Flags().StringVar(&f.master, "master", "127.0.0.1:5050", "the masters, HOST:PORT[,HOST:PORT...]")
	if withOutput {
		cmd.Flags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
	}
}

// operator returns a client of the masters --master lists.
func (f *clientFlags) operator(ctx context.Context) *operator.Client {
	return operatorFor(ctx, f.master)
}

// operatorFor returns a client of the first of masters (a comma-separated
// list) that answers.
func operatorFor(ctx context.Context, masters string) *operator.Client {
	var opts []operator.Option
	if p, s, _ := creds.credential(); p != "" { // checked in PersistentPreRunE
		opts = append(opts, operator.WithCredential(p, s))
	}
	if id, _ := tlsf.load(); id != nil { // likewise
		opts = append(opts, operator.WithTLS(id.Client()))
	}
	return operator.NewFirst(ctx, splitList(masters), opts...)
}

// checkOutput refuses an --output that show cannot print, so that a
// command that changes the cluster refuses it before changing anything.
func (f *clientFlags) checkOutput() error {
	switch f.output {
	case "json", "table", "":
		return nil
	}
	return fmt.Errorf("--output %q: want table or json", f.output)
}

// show prints v as JSON, or calls table to print it as a table.
func (f *clientFlags) show(w io.Writer, v any, table func(*tabwriter.Writer)) error {
	if err := f.checkOutput(); err != nil {
		return err
	}
	if f.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	table(tw)
	return tw.Flush()
}

func newAgentsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "agents", Short: "List agents", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := f.operator(cmd.Context()).Agents(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tHOST\tSTATE\tCPUS\tMEM\tDISK")
				for _, a := range resp.Agents {
					total, used := api.Resources(a.TotalResources), api.Resources(a.AllocatedResources)
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", a.AgentInfo.ID.Value, a.AgentInfo.Hostname, agentState(a),
						usage(used, total, "cpus"), usage(used, total, "mem"), usage(used, total, "disk"))
				}
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func agentState(a api.AgentRecord) string {
	switch {
	case a.DrainInfo != nil:
		return string(a.DrainInfo.State)
	case a.Deactivated:
		return "DEACTIVATED"
	case a.Active:
		return "ACTIVE"
	}
	return "DISCONNECTED"
}

// usage formats "used/total" of one scalar resource.
func usage(used, total api.Resources, name string) string {
	return strconv.FormatFloat(used.ScalarValue(name), 'f', -1, 64) + "/" + strconv.FormatFloat(total.ScalarValue(name), 'f', -1, 64)
}

func newFrameworksCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "frameworks", Short: "List frameworks", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := f.operator(cmd.Context()).Frameworks(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tROLES\tSTATE\tCPUS\tMEM")
				rows := func(list []api.FrameworkRecord, completed bool) {
					for _, fw := range list {
						state := "CONNECTED"
						switch {
						case completed:
							state = "COMPLETED"
						case !fw.Connected:
							state = "DISCONNECTED"
						}
						used := api.Resources(fw.AllocatedResources)
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%g\t%g\n", fw.FrameworkInfo.ID.Value, fw.FrameworkInfo.Name,
							strings.Join(fw.FrameworkInfo.AllRoles(), ","), state, used.ScalarValue("cpus"), used.ScalarValue("mem"))
					}
				}
				rows(resp.Frameworks, false)
				rows(resp.CompletedFrameworks, true)
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func newExecutorsCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "executors", Short: "List the executors frameworks named, idle ones included", Args: cobra.NoArgs,
		Long: `List the custom executors and task groups' default executors that the
master counts as running, with the agent each runs on and the resources it
holds. An executor holds its resources until it exits, also when no task
of it is left; tasks that name no executor have none of their own.`,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := f.operator(cmd.Context()).Executors(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tFRAMEWORK\tAGENT\tTYPE\tCPUS\tMEM")
				for _, e := range resp.Executors {
					info := e.ExecutorInfo
					typ, res := info.Type, api.Resources(info.Resources)
					if typ == "" {
						typ = api.ExecutorCustom
					}
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%g\t%g\n", info.ExecutorID.Value, info.FrameworkID.Value, e.AgentID.Value,
						typ, res.ScalarValue("cpus"), res.ScalarValue("mem"))
				}
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func newTasksCmd() *cobra.Command {
	var f clientFlags
	var watch bool
	cmd := &cobra.Command{
		Use: "tasks", Short: "List tasks, or watch them change with --watch", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c := f.operator(cmd.Context())
			if watch {
				return watchTasks(cmd, c, &f)
			}
			resp, err := c.Tasks(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tFRAMEWORK\tAGENT\tSTATE")
				for _, list := range [][]api.Task{resp.Tasks, resp.UnreachableTasks, resp.CompletedTasks} {
					for _, t := range list {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", t.TaskID.Value, t.Name, t.FrameworkID.Value, t.AgentID.Value, t.State)
					}
				}
			})
		},
	}
	f.register(cmd, true)
	cmd.Flags().BoolVarP(&watch, "watch", "w", false, "follow the operator event stream and print task changes")
	return cmd
}

// watchTasks prints the tasks' states as they change, one line each (or
// one JSON event per line with -o json).
func watchTasks(cmd *cobra.Command, c *operator.Client, f *clientFlags) error {
	out := cmd.OutOrStdout()
	enc := json.NewEncoder(out)
	return c.Watch(cmd.Context(), func(ev *api.OperatorEvent) error {
		if f.output == "json" {
			return enc.Encode(ev)
		}
		now := time.Now().Format("15:04:05")
		switch ev.Type {
		case api.OperatorEventSubscribed:
			if s := ev.Subscribed.GetState; s != nil && s.GetTasks != nil {
				for _, t := range s.GetTasks.Tasks {
					fmt.Fprintf(out, "%s %s %s %s\n", now, t.TaskID.Value, t.Name, t.State)
				}
			}
		case api.OperatorEventTaskAdded:
			t := ev.TaskAdded.Task
			fmt.Fprintf(out, "%s %s %s %s\n", now, t.TaskID.Value, t.Name, t.State)
		case api.OperatorEventTaskUpdated:
			st := ev.TaskUpdated.Status
			line := fmt.Sprintf("%s %s %s", now, st.TaskID.Value, ev.TaskUpdated.State)
			if st.Message != "" {
				line += " (" + st.Message + ")"
			}
			fmt.Fprintln(out, line)
		}
		return nil
	})
}

func newRolesCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use: "roles", Short: "List roles with their weights, quota and allocation", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			resp, err := f.operator(cmd.Context()).Roles(cmd.Context())
			if err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), resp, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ROLE\tWEIGHT\tFRAMEWORKS\tALLOCATED\tOFFERED\tQUOTA LIMITS\tQUOTA GUARANTEES")
				for _, r := range resp.Roles {
					limits, guarantees := "-", "-"
					if r.Quota != nil && len(r.Quota.Limits) > 0 {
						limits = scalarsText(r.Quota.Limits)
					}
					if r.Quota != nil && len(r.Quota.Guarantees) > 0 {
						guarantees = scalarsText(r.Quota.Guarantees)
					}
					fmt.Fprintf(w, "%s\t%g\t%d\t%s\t%s\t%s\t%s\n", r.Name, float64(r.Weight), len(r.Frameworks),
						orDash(api.Resources(r.Allocated).String()), orDash(api.Resources(r.Offered).String()), limits, guarantees)
				}
			})
		},
	}
	f.register(cmd, true)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// sortedNames returns the keys of m in order.
func sortedNames[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func scalarsText(m map[string]api.Scalar) string {
	names := sortedNames(m)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s=%g", n, float64(m[n].Value))
	}
	return strings.Join(parts, ",")
}

func newWhyCmd() *cobra.Command {
	var f clientFlags
	cmd := &cobra.Command{
		Use:   "why FRAMEWORK",
		Short: "Explain why a framework's tasks are not launching",
		Long: "why prints what the master knows about a framework's unmet demand: suppressed roles, refusal filters, quota limits and " +
			"guarantees, agents with too little free or free only for other roles, draining or deactivated agents, invalid launches " +
			"(role mismatches among them) and the offers it declined.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			resp, err := f.operator(cmd.Context()).Frameworks(cmd.Context())
			if err != nil {
				return err
			}
			for _, fw := range resp.Frameworks {
				if fw.FrameworkInfo.ID.Value != args[0] && fw.FrameworkInfo.Name != args[0] {
					continue
				}
				out := cmd.OutOrStdout()
				fmt.Fprintf(out, "%s (%s): %d outstanding offers\n", fw.FrameworkInfo.ID.Value, fw.FrameworkInfo.Name, len(fw.Offers))
				if len(fw.Diagnostics) == 0 {
					fmt.Fprintln(out, "  nothing is holding it back")
				}
				for _, d := range fw.Diagnostics {
					fmt.Fprintln(out, "  "+d)
				}
				return nil
			}
			return fmt.Errorf("no framework with ID or name %q", args[0])
		},
	}
	f.register(cmd, false)
	return cmd
}

func newDrainCmd() *cobra.Command {
	var f clientFlags
	var grace time.Duration
	var markGone bool
	cmd := &cobra.Command{
		Use: "drain AGENT", Short: "Drain an agent: stop offering it and kill its tasks", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := f.operator(cmd.Context()).Drain(cmd.Context(), args[0], grace, markGone); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "agent %s is draining\n", args[0])
			return nil
		},
	}
	f.register(cmd, false)
	cmd.Flags().DurationVar(&grace, "grace", 0, "the longest kill grace period for its tasks (default: their own)")
	cmd.Flags().BoolVar(&markGone, "mark-gone", false, "mark the agent gone once drained")
	return cmd
}

func newQuotaCmd() *cobra.Command {
	var f clientFlags
	var force, guarantee bool
	set := &cobra.Command{
		Use: "set ROLE NAME=VALUE...", Short: "Set a role's quota limits, e.g. mezzo quota set web cpus=8 mem=16384",
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			values, err := scalarArgs(args[1:])
			if err != nil {
				return err
			}
			q := api.QuotaConfig{Role: args[0], Limits: values}
			if guarantee {
				q.Guarantees = values
			}
			if err := f.operator(cmd.Context()).SetQuota(cmd.Context(), q, force); err != nil {
				return err
			}
			what := "limits"
			if guarantee {
				what = "limits and guarantees"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "role %s: quota %s %s\n", args[0], what, scalarsText(values))
			return nil
		},
	}
	f.register(set, false)
	set.Flags().BoolVar(&force, "force", false, "set limits below what the role already consumes")
	set.Flags().BoolVar(&guarantee, "guarantee", false, "also guarantee the quantities")
	cmd := &cobra.Command{Use: "quota", Short: "Manage role quota"}
	cmd.AddCommand(set)
	return cmd
}

func newWeightsCmd() *cobra.Command {
	var f clientFlags
	set := &cobra.Command{
		Use: "set ROLE=WEIGHT...", Short: "Set roles' weights, e.g. mezzo weights set web=2 batch=1", Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			values, err := scalarArgs(args)
			if err != nil {
				return err
			}
			weights := map[string]float64{}
			for role, v := range values {
				weights[role] = float64(v.Value)
			}
			if err := f.operator(cmd.Context()).SetWeights(cmd.Context(), weights); err != nil {
				return err
			}
			for _, role := range sortedNames(weights) {
				fmt.Fprintf(cmd.OutOrStdout(), "role %s: weight %g\n", role, weights[role])
			}
			return nil
		},
	}
	f.register(set, false)
	cmd := &cobra.Command{Use: "weights", Short: "Manage role weights"}
	cmd.AddCommand(set)
	return cmd
}

// scalarArgs parses NAME=NUMBER arguments.
func scalarArgs(args []string) (map[string]api.Scalar, error) {
	out := map[string]api.Scalar{}
	for _, a := range args {
		k, v, ok := strings.Cut(a, "=")
		n, err := strconv.ParseFloat(v, 64)
		if !ok || k == "" || err != nil {
			return nil, fmt.Errorf("%q: want NAME=NUMBER", a)
		}
		out[k] = api.Scalar{Value: api.Float64(n)}
	}
	return out, nil
}
