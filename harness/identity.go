package harness

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/amcbench/amc/internal/filesum"
)

// identity names a task's inputs by content: the weights file's SHA-256 and
// the data set's fingerprint with its held-out rule. A run's fingerprint
// holds these, not paths, so that replacing the weights file at the same
// path, or pointing --data-dir at other pixels, is another run, and moving
// the same file is not.
type identity struct {
	WeightsSHA256     string
	DataFingerprint   string
	HeldoutRule       string
	LatencyFileSHA256 string // a spec's latency.file, by content
	latencyFile       []byte // and its bytes
}

// identify opens the task's data set (kept for Prepare) and hashes its
// weights file, once.
func (t *Task) identify() error {
	if t.ident != nil {
		return nil
	}
	id := identity{}
	if t.spec.Weights != "" {
		sum, err := filesum.SHA256(t.spec.Weights)
		if err != nil {
			return fmt.Errorf("weights: %w", err)
		}
		id.WeightsSHA256 = sum
	}
	if f := t.spec.Latency.File; f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("latency.file: %w", err)
		}
		sum := sha256.Sum256(b)
		id.LatencyFileSHA256, id.latencyFile = hex.EncodeToString(sum[:]), b // hashed and used: the same bytes
	}
	if t.ds == nil {
		ds, err := t.opt.openData(t.spec.Data)
		if err != nil {
			return err
		}
		t.ds = ds
	}
	fp, err := t.ds.Fingerprint()
	if err != nil {
		return err
	}
	id.DataFingerprint, id.HeldoutRule = fp, t.ds.HeldoutRule()
	t.ident = &id
	return nil
}

// describe is the run's fields as JSON: kept with a checkpoint so that a
// refusal can name the fields that differ.
func (r RunID) describe() string {
	b, _ := json.Marshal(r)
	return string(b)
}

// diffRuns names the fields in which a stored run (its describe JSON, or an
// older plain-text description) differs from r.
func diffRuns(stored string, r RunID) string {
	var other RunID
	if err := json.Unmarshal([]byte(stored), &other); err != nil || !strings.HasPrefix(strings.TrimSpace(stored), "{") {
		return fmt.Sprintf("it was written by an older amc, whose fingerprints did not name the weights and data by content (%q), so its settings cannot be compared with this run's; "+
			"keep it and write this run to another folder (overwriting deletes it)", stored)
	}
	var diffs []string
	a, b := reflect.ValueOf(other), reflect.ValueOf(r)
	for i := 0; i < a.NumField(); i++ {
		x, y := a.Field(i).Interface(), b.Field(i).Interface()
		if !reflect.DeepEqual(x, y) {
			diffs = append(diffs, fmt.Sprintf("%s %v there, %v here", a.Type().Field(i).Name, show(x), show(y)))
		}
	}
	if len(diffs) == 0 {
		return "written by another version of amc with the same settings"
	}
	return "differs in " + strings.Join(diffs, "; ")
}

func show(v any) string {
	if s, ok := v.(string); ok {
		if s == "" {
			return `""`
		}
		if len(s) == 64 { // a SHA-256
			return s[:12] + "..."
		}
	}
	return fmt.Sprint(v)
}

// isTrainSummary reports a trained or fine-tuned model's summary.json (amc
// train/finetune, a spec's <run>/finetuned): it names its command.
func isTrainSummary(b []byte) bool {
	var trained struct {
		Command string `json:"command"`
	}
	return json.Unmarshal(b, &trained) == nil && trained.Command != ""
}

// taskSeen remembers, per spec name, the first run's task.
type taskSeen map[string]*summaryAt

type summaryAt struct {
	s   *Summary
	dir string
}

// check refuses a run whose task differs from that of an earlier run under
// the same spec name: one spec name is one task, so that a table never
// compares runs on other weights, data or budgets as equals. Summaries
// written before task fingerprints existed are not checked.
func (seen taskSeen) check(s *Summary, dir string) error {
	if s.TaskFingerprint == "" {
		return nil
	}
	first, ok := seen[s.Spec]
	if !ok {
		seen[s.Spec] = &summaryAt{s, dir}
		return nil
	}
	if first.s.TaskFingerprint == s.TaskFingerprint {
		return nil
	}
	why := "their task fingerprints differ"
	if first.s.RunID != nil && s.RunID != nil {
		why = diffRuns(first.s.RunID.Task().describe(), s.RunID.Task())
	}
	if s.Spec == "cli" {
		return fmt.Errorf("%s and %s are single searches (spec name cli) of two different tasks (%s): a folder's runs are reported together as one task; keep searches of different tasks in separate folders (or give each task a spec of its own)",
			first.dir, dir, why)
	}
	return fmt.Errorf("spec name %q is used by two different tasks, %s and %s (%s): one spec name must be one task; rename one spec, or keep the runs in separate folders",
		s.Spec, first.dir, dir, why)
}

// ErrSpecChanged marks a spec's folder holding runs of another task: the
// spec was edited since they ran.
var ErrSpecChanged = errors.New("spec changed")

// checkSpecFolder refuses a spec folder (DIR/<spec>) holding finished runs
// of another task than id's: the spec was edited (other budget, weights,
// data ...) since they ran. Runs from before task fingerprints existed are
// not checked.
func checkSpecFolder(dir string, id RunID) error {
	sums, _ := filepath.Glob(filepath.Join(dir, "*", "summary.json"))
	want := id.TaskFingerprint()
	for _, f := range sums {
		b, err := os.ReadFile(f)
		if err != nil || isTrainSummary(b) {
			continue
		}
		s, err := readSummary(f, b)
		if err != nil {
			return err
		}
		if s.TaskFingerprint == "" || s.TaskFingerprint == want {
			continue
		}
		why := "their task fingerprints differ"
		if s.RunID != nil {
			why = diffRuns(s.RunID.Task().describe(), id.Task())
		}
		return fmt.Errorf("%s holds a run of another task than the spec's (%s): the spec changed since it ran; move that folder away or write to another folder: %w",
			filepath.Dir(f), why, ErrSpecChanged)
	}
	return nil
}
