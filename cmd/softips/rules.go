package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/softips/softips/pkg/detect"
)

func rulesCmd() *cobra.Command {
	c := &cobra.Command{Use: "rules", Short: "Work with Suricata-syntax rule files",
		Args: cobra.NoArgs, RunE: groupHelp}
	c.AddCommand(&cobra.Command{
		Use:   "check FILE...",
		Short: "Load rule files and report every rule skipped, with file, line and reason",
		Long: "check loads the files as the daemon would. Each rule softips cannot\n" +
			"enforce is listed with its file, line, sid and the keyword or construct at\n" +
			"fault; the exit status is non-zero when any rule was skipped.",
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs, skipped, err := detect.LoadFiles(detect.DefaultVars(), args...)
			if err != nil {
				return fmt.Errorf("rules check: %w", err)
			}
			w := cmd.OutOrStdout()
			for _, s := range skipped {
				fmt.Fprintf(w, "skipped: %s\n", s.Error())
			}
			fmt.Fprintf(w, "%d rules loaded, %d skipped\n", len(rs.Rules), len(skipped))
			if len(skipped) > 0 {
				return fmt.Errorf("rules check: %d rules skipped", len(skipped))
			}
			return nil
		},
	})
	return c
}
