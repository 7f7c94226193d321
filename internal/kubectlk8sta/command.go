// Package kubectlk8sta is kubectl k8sta, the kubectl plugin with which a
// person follows a Track (a transit map of its stations) and controls it out
// of band: approvals, freezes, pins and rollbacks, each a small object of
// provider.k8sta.io that function-k8sta reads.
package kubectlk8sta

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/crossplane/crossplane-runtime/v2/pkg/errors"
)

// Options are what a run of kubectl k8sta writes to and counts time by.
type Options struct {
	Out io.Writer
	// Now returns the time relative times are counted from.
	Now func() time.Time
	// Color is true when Out is a terminal that shows colors.
	Color bool
	// Version is the plugin's version.
	Version string
}

// Output formats of status and history.
const (
	outputText = "text"
	outputJSON = "json"
)

// A session is one run's connection to the API server.
type session struct {
	opts      Options
	client    client.Client
	namespace string
}

func (s *session) printer() Printer {
	return Printer{Now: s.opts.Now(), Color: s.opts.Color}
}

// NewCommand returns the kubectl k8sta command and its subcommands.
func NewCommand(o Options) *cobra.Command {
	loading := clientcmd.NewDefaultClientConfigLoadingRules()
	overrides := &clientcmd.ConfigOverrides{}
	root := &cobra.Command{
		Use:   "kubectl-k8sta",
		Short: "Follow and control K8sTA Tracks: a transit map of their stations, approvals, freezes, pins and rollbacks",
		Long: `kubectl k8sta shows a Track as a transit map and controls it out of band.

Stations are named by their path as the Track's status.stations[].path shows
it: a station of the Track by its name (prod), a station on a section a
junction feeds by junction.section.station (regions.us.prod). Approvals,
Freezes and Pins (provider.k8sta.io) are the controls; each records who made
it, as the API server authenticated them.`,
		Version:       o.Version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Annotations:   map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl k8sta"},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetOut(o.Out)
	root.PersistentFlags().StringVar(&loading.ExplicitPath, "kubeconfig", "", "Path to the kubeconfig file to use")
	clientcmd.BindOverrideFlags(overrides, root.PersistentFlags(), clientcmd.RecommendedConfigOverrideFlags(""))

	connect := func() (*session, error) {
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(loading, overrides)
		cfg, err := cc.ClientConfig()
		if err != nil {
			return nil, errors.Wrap(err, "cannot load the kubeconfig")
		}
		cfg.UserAgent = "kubectl-k8sta/" + o.Version
		ns, _, err := cc.Namespace()
		if err != nil {
			return nil, errors.Wrap(err, "cannot find the namespace to use")
		}
		c, err := NewClient(cfg)
		if err != nil {
			return nil, errors.Wrap(err, "cannot create a client of the API server")
		}
		return &session{opts: o, client: c, namespace: ns}, nil
	}
	run := func(f func(ctx context.Context, s *session, args []string) error) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			s, err := connect()
			if err != nil {
				return err
			}
			return f(cmd.Context(), s, args)
		}
	}

	var output string
	outputFlag := func(c *cobra.Command) {
		c.Flags().StringVarP(&output, "output", "o", outputText, "Output format: text or json")
	}
	checkOutput := func() error {
		if output != outputText && output != outputJSON {
			return errors.Errorf("--output %q is not a format kubectl k8sta writes: use text or json", output)
		}
		return nil
	}

	status := &cobra.Command{
		Use:   "status TRACK",
		Short: "Show a Track as a transit map: each station's change, phase, since when, and what holds it",
		Args:  exactly(1),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			return s.status(ctx, args[0], output)
		}),
	}
	outputFlag(status)

	history := &cobra.Command{
		Use:   "history TRACK STATION",
		Short: "List the changes a station verified, newest first: what rollback goes back to",
		Args:  exactly(2),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			if err := checkOutput(); err != nil {
				return err
			}
			return s.history(ctx, args[0], args[1], output)
		}),
	}
	outputFlag(history)

	var change string
	approve := &cobra.Command{
		Use:   "approve TRACK STATION",
		Short: "Approve a change for a station whose approval is Manual (by default the change waiting at it)",
		Args:  exactly(2),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			return s.approve(ctx, args[0], args[1], change)
		}),
	}
	approve.Flags().StringVar(&change, "change", "", "The id of the change to approve (default: the change waiting at the station, status.stations[].next)")

	var reason string
	freeze := &cobra.Command{
		Use:   "freeze TRACK [STATION...]",
		Short: "Stop the line: no new change enters the stations (the whole Track when none is named) until unfreeze",
		Args:  atLeast(1),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			return s.freeze(ctx, args[0], args[1:], reason)
		}),
	}
	freeze.Flags().StringVar(&reason, "reason", "", "Why, in the words the Track's status shows")

	unfreeze := &cobra.Command{
		Use:   "unfreeze TRACK [STATION...]",
		Short: "Lift the freezes kubectl k8sta freeze set on the stations (on the whole Track when none is named)",
		Args:  atLeast(1),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			return s.unfreeze(ctx, args[0], args[1:])
		}),
	}

	pin := &cobra.Command{
		Use:   "pin TRACK STATION",
		Short: "Hold a station at a change (by default the one it holds): nothing flows past it until unpin",
		Args:  exactly(2),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			return s.pin(ctx, args[0], args[1], change, reason)
		}),
	}
	pin.Flags().StringVar(&change, "change", "", "The id of the change to hold: the station's current change (the default) or one of its history")
	pin.Flags().StringVar(&reason, "reason", "", "Why, in the words the Track's status shows")

	var to string
	rollback := &cobra.Command{
		Use:   "rollback TRACK STATION",
		Short: "Pin a station back to a change it verified before (by default the previous one) until unpin",
		Args:  exactly(2),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			return s.rollback(ctx, args[0], args[1], to, reason)
		}),
	}
	rollback.Flags().StringVar(&to, "to", "", "The change to go back to, by id or tag, from the station's history (default: the change it verified before its current one)")
	rollback.Flags().StringVar(&reason, "reason", "", "Why, in the words the Track's status shows (default: rollback from <current change>)")

	unpin := &cobra.Command{
		Use:   "unpin TRACK STATION",
		Short: "Lift the pin (or rollback) of a station: new changes enter it and flow past it again",
		Args:  exactly(2),
		RunE: run(func(ctx context.Context, s *session, args []string) error {
			return s.unpin(ctx, args[0], args[1])
		}),
	}

	root.AddCommand(status, history, approve, freeze, unfreeze, pin, rollback, unpin)
	return root
}

// say writes one line of what a command did and what happens next.
func (s *session) say(format string, a ...any) error {
	_, err := fmt.Fprintf(s.opts.Out, format+"\n", a...)
	return errors.Wrap(err, "cannot write the output")
}

// exactly and atLeast refuse a command line with the wrong number of
// arguments, showing how to write it.
func exactly(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) != n {
			return usage(c, args)
		}
		return nil
	}
}

func atLeast(n int) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		if len(args) < n {
			return usage(c, args)
		}
		return nil
	}
}

func usage(c *cobra.Command, args []string) error {
	got := fmt.Sprintf("%d arguments", len(args))
	if len(args) == 1 {
		got = "1 argument"
	}
	return errors.Errorf("usage: %s (got %s)", c.UseLine(), got)
}
