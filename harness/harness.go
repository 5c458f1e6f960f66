// Package harness runs AMC experiments: it prepares a spec's task (model,
// data roles, calibration statistics, latency table), runs each strategy and
// seed with checkpoints that resume exactly, measures the best policy on
// images the search never saw, fine-tunes it, and gathers every run into
// runs.parquet and episodes.parquet for the report. The amc command is a
// thin layer over it; a Go program runs a spec with RunSpecs.
//
// A run is identified by its RunID's fingerprint (the task's inputs by
// content and settings, the strategy with its parameters, the seed and the
// episodes): a finished run of the same fingerprint is skipped, an
// interrupted one resumed, and a folder holding another run refused
// (ErrDifferentRun) unless Options.Overwrite.
package harness

import (
	"io"
	"sync"

	"github.com/amcbench/amc/datasets"
)

// Options are where a task's inputs are and how a sweep runs; none of them
// enters a run's fingerprint (a latency table kept in LatencyFile is reused
// as it is, so a latency budget's searches depend on that file).
type Options struct {
	DataDir  string // data root (datasets.Options; default $AMC_DATA, ./data, ../shared/data)
	CacheDir string // decoded-data cache (datasets.Options)
	// LatencyFile keeps a task's measured latency table: read when it
	// exists, written otherwise, so that a resumed or repeated run uses the
	// same table (NewTask; RunSpecs keeps one per spec folder).
	LatencyFile string
	// Overwrite replaces a different run found in a run's folder (default:
	// refuse with ErrDifferentRun).
	Overwrite bool
	// Shard and Shards split a sweep for array jobs: RunSpecs runs only the
	// cells Shard, Shard+Shards, ... (0 and 0 or 1: all of them).
	Shard, Shards int
	Log           io.Writer // progress and notes (nil: discarded)

	// sets shares opened data sets between the tasks of one RunSpecs, so
	// that a sweep of several specs on one data set decodes and holds it
	// once (ImageNet's decoded splits take 8.4 GB).
	sets *openSets
}

// openSets are data sets opened once per name.
type openSets struct {
	mu sync.Mutex
	m  map[string]datasets.Dataset
}

// openData opens a data set, or returns the one opened before for the same
// name within a RunSpecs.
func (o Options) openData(name string) (datasets.Dataset, error) {
	open := func() (datasets.Dataset, error) {
		return datasets.Open(name, datasets.Options{DataDir: o.DataDir, CacheDir: o.CacheDir})
	}
	if o.sets == nil {
		return open()
	}
	o.sets.mu.Lock()
	defer o.sets.mu.Unlock()
	if ds, ok := o.sets.m[name]; ok {
		return ds, nil
	}
	ds, err := open()
	if err == nil {
		o.sets.m[name] = ds
	}
	return ds, err
}

func (o Options) log() io.Writer {
	if o.Log == nil {
		return io.Discard
	}
	return o.Log
}
