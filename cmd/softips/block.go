package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/softips/softips/pkg/api"
)

func blockCmd() *cobra.Command {
	c := &cobra.Command{Use: "block", Short: "Add, delete, list and explain block entries",
		Args: cobra.NoArgs, RunE: groupHelp}
	c.AddCommand(blockAddCmd(), blockDelCmd(), blockListCmd(), blockExplainCmd())
	return c
}

func blockAddCmd() *cobra.Command {
	var comment string
	var asJSON bool
	c := &cobra.Command{
		Use:   `add "<srca/mask> <srcp> <dsta/mask> <dstp>" | IP`,
		Short: "Add an admin block (never ages, survives restarts)",
		Example: `  softips block add "198.51.100.7/32 0 203.0.113.10/32 80"
  softips block add 198.51.100.7 --comment "scanner"`,
		Args: specArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			res, err := api.NewClient(socketOf(cmd)).Add(api.AddRequest{
				Spec: expandHost(strings.Join(args, " ")), Comment: comment})
			if err != nil {
				return fmt.Errorf("block add: %w", err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), res)
			}
			verb := "added"
			switch {
			case res.Promoted:
				verb = "promoted to admin (never expires)"
			case !res.Created:
				verb = "already present"
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: entry %d %q\n", verb, res.Entry.ID, res.Entry.Spec)
			return nil
		},
	}
	c.Flags().StringVar(&comment, "comment", "", "free text kept with the entry")
	c.Flags().BoolVar(&asJSON, "json", false, "print the entry as JSON")
	return c
}

// expandHost turns a bare address into the host spec "IP 0 any 0", so
// `block add 198.51.100.7` blocks every TCP flow of that host.
func expandHost(arg string) string {
	if t := strings.TrimSpace(arg); t == "" || strings.ContainsAny(t, " \t") {
		return arg
	}
	any := "0.0.0.0/0"
	if strings.Contains(arg, ":") {
		any = "::/0"
	}
	return arg + " 0 " + any + " 0"
}

func blockDelCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   `del "<spec>" | IP | ID`,
		Short: "Delete an entry by spec, host address or id",
		Args:  specArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ref := strings.TrimSpace(strings.Join(args, " "))
			if _, err := strconv.ParseUint(ref, 10, 64); err != nil && ref != "" {
				ref = expandHost(ref)
			}
			if ref == "" {
				return fmt.Errorf("block del: empty argument: give an entry id or a spec")
			}
			e, err := api.NewClient(socketOf(cmd)).Delete(ref)
			if err != nil {
				return fmt.Errorf("block del: %w", err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), e)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted: entry %d %q\n", e.ID, e.Spec)
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the deleted entry as JSON")
	return c
}

func blockListCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "list",
		Short: "List the block table",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := api.NewClient(socketOf(cmd)).List()
			if err != nil {
				return fmt.Errorf("block list: %w", err)
			}
			if asJSON {
				if list == nil {
					list = []api.Entry{}
				}
				return printJSON(cmd.OutOrStdout(), list)
			}
			return printTable(cmd.OutOrStdout(), list)
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print entries as a JSON array")
	return c
}

func printTable(w io.Writer, list []api.Entry) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSPEC\tORIGIN\tINV\tHITS\tLAST HIT\tEXPIRES IN\tCOMMENT")
	for _, e := range list {
		last := "-"
		if !e.LastHit.IsZero() {
			last = e.LastHit.Format("2006-01-02 15:04:05")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", e.ID, e.Spec, e.Origin,
			e.Invariants, e.Hits, last, e.ExpiresIn, e.Comment)
	}
	return tw.Flush()
}

func blockExplainCmd() *cobra.Command {
	var asJSON bool
	c := &cobra.Command{
		Use:   "explain ID",
		Short: "Show why an entry exists: the signals and rules behind it",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseUint(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("block explain: entry id %q is not a number", args[0])
			}
			e, err := api.NewClient(socketOf(cmd)).Explain(id)
			if err != nil {
				return fmt.Errorf("block explain: %w", err)
			}
			if asJSON {
				return printJSON(cmd.OutOrStdout(), e)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "entry %d: %s\norigin: %s, %d fixed fields, hits %d, %s\n",
				e.ID, e.Spec, e.Origin, e.Invariants, e.Hits, expiry(e.ExpiresIn))
			if e.Pcap != "" {
				fmt.Fprintf(w, "pcap filter: %s\n", e.Pcap)
			}
			for _, line := range e.Explanation {
				fmt.Fprintf(w, "  %s\n", line)
			}
			return nil
		},
	}
	c.Flags().BoolVar(&asJSON, "json", false, "print the entry as JSON")
	return c
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func expiry(in string) string {
	if in == "never" {
		return "never expires"
	}
	return "expires in " + in
}

// groupHelp makes a bare group command print its help, and an unknown
// subcommand fail instead of exiting 0.
func groupHelp(cmd *cobra.Command, args []string) error {
	return cmd.Help()
}

// specArgs takes a spec as one quoted argument or as its four fields
// unquoted (`block add 198.51.100.7 0 203.0.113.10 80`).
func specArgs(cmd *cobra.Command, args []string) error {
	if n := len(args); n != 1 && n != 4 {
		return fmt.Errorf("%s: want one spec \"<srca/mask> <srcp> <dsta/mask> <dstp>\" "+
			"(quoted, or its 4 fields), an address or an id; got %d arguments",
			cmd.CommandPath(), n)
	}
	return nil
}
