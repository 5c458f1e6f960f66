package cli

import (
	"fmt"

	"github.com/amcbench/amc/download"
	"github.com/spf13/cobra"
)

func newFetchCmd() *cobra.Command {
	var dir string
	var list bool
	cmd := &cobra.Command{
		Use:   "fetch NAME... [--dir data] | fetch --list",
		Short: "Download public files (CIFAR-10, public checkpoints) by name, verified against their published checksums; resumes interrupted downloads",
		Long: "Each file goes to DIR/PATH (amc fetch --list shows them): the data set under DIR/cifar10, read by\n" +
			"--data-dir DIR (the default data root is ./data), checkpoints under DIR/weights. A file already there is\n" +
			"verified and kept; a file with another checksum is refused, not overwritten.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if list {
				if len(args) > 0 {
					return fmt.Errorf("--list lists every file; give names without it to fetch them")
				}
				es, err := download.Registry()
				if err != nil {
					return err
				}
				for _, e := range es {
					size := fmt.Sprintf("%d bytes", e.Size)
					if e.Size == 0 {
						size = "size not published"
					}
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n    %s -> %s/%s (%s; checksum: %s)\n", e.Name, e.Doc, e.URL, dir, e.Path, size, e.ChecksumSource)
				}
				return nil
			}
			if len(args) == 0 {
				return fmt.Errorf("name the files to fetch (amc fetch --list shows them)")
			}
			var entries []download.Entry
			for _, name := range args { // every name checked before anything downloads
				e, err := download.Lookup(name)
				if err != nil {
					return err
				}
				entries = append(entries, e)
			}
			for _, e := range entries {
				path, err := download.Fetch(cmd.Context(), e, download.Options{Dir: dir, Progress: cmd.ErrOrStderr()})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s: %s (verified)\n", e.Name, path)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "data", "folder the files go to (the default data root)")
	cmd.Flags().BoolVar(&list, "list", false, "list the files amc can fetch, with their URLs and checksums")
	return cmd
}
