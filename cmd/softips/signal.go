package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/softips/softips/pkg/api"
)

func signalCmd() *cobra.Command {
	var source string
	var asJSON bool
	c := &cobra.Command{
		Use:   `signal "<srca/mask> <srcp> <dsta/mask> <dstp>"`,
		Short: "Feed a block signal to the daemon, as a detector would",
		Long: "signal hands one block signal to the running daemon. It is installed as a\n" +
			"detector entry and counted by invariant extraction, which may widen\n" +
			"repeated signals into a wildcard entry. External detectors (a SIEM, a\n" +
			"script) use it too.",
		Args: specArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := api.NewClient(socketOf(cmd)).Signal(api.SignalRequest{
				Spec: strings.Join(args, " "), Source: source})
			if err != nil {
				return fmt.Errorf("signal: %w", err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			for _, e := range res.Installed {
				fmt.Fprintf(cmd.OutOrStdout(), "installed: entry %d %q (%s)\n", e.ID, e.Spec, e.Origin)
			}
			for _, d := range res.Decisions {
				fmt.Fprintln(cmd.OutOrStdout(), d)
			}
			return nil
		},
	}
	c.Flags().StringVar(&source, "source", "cli", "name of the detector sending the signal")
	c.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return c
}

func statsCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "stats",
		Short: "Print the daemon's counters",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := api.NewClient(socketOf(cmd)).Stats()
			if err != nil {
				return fmt.Errorf("stats: %w", err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), st)
			}
			for _, k := range sortedKeys(st) {
				fmt.Fprintf(cmd.OutOrStdout(), "%-40s %d\n", k, st[k])
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print counters as JSON")
	return c
}

func sortedKeys(m api.Stats) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
