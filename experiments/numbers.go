package experiments

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/amcbench/amc/internal/numcheck"
	"go.yaml.in/yaml/v3"
)

// scanYAML walks a spec's YAML document alongside the Spec type. It records
// the line of every field it meets (keyed by its path, as in
// "strategies[1].warmup"), so that range errors can name the line, and it
// refuses a float where an integer belongs: yaml.v3 converts a float scalar
// into an int field by truncation (decode.go: case float64: SetInt(int64(f))),
// so that "episodes: 0.5" would silently be 0 and then the default 300, and
// "seeds: [1.9]" seed 1.
func scanYAML(n *yaml.Node, t reflect.Type, path string, lines map[string]int) error {
	for n.Kind == yaml.DocumentNode && len(n.Content) == 1 {
		n = n.Content[0]
	}
	line := n.Line // an alias's own line, not its anchor's
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if _, seen := lines[path]; !seen && path != "" {
		lines[path] = line
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return nil // the strict decoding reports the wrong type
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Value == "<<" && k.ShortTag() == "!!merge" {
				if err := scanMerge(v, t, path, lines); err != nil {
					return err
				}
				continue
			}
			f, ok := fieldByTag(t, k.Value)
			if !ok {
				continue // an unknown field: the strict decoding reports it
			}
			if err := scanYAML(v, f.Type, joinPath(path, k.Value), lines); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return nil
		}
		for i, e := range n.Content {
			if err := scanYAML(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i), lines); err != nil {
				return err
			}
		}
	case reflect.Map: // a strategy's params: the line of each key
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if p := joinPath(path, n.Content[i].Value); lines[p] == 0 {
				lines[p] = n.Content[i].Line
			}
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		if n.Kind == yaml.ScalarNode && n.ShortTag() == "!!float" {
			return fmt.Errorf("line %d: %s %s: want an integer, written without a decimal point or exponent", line, path, n.Value)
		}
	}
	return nil
}

// scanMerge scans the mappings a merge key ("<<: *anchor") brings in.
func scanMerge(v *yaml.Node, t reflect.Type, path string, lines map[string]int) error {
	if v.Kind == yaml.AliasNode && v.Alias != nil {
		v = v.Alias
	}
	if v.Kind == yaml.SequenceNode {
		for _, e := range v.Content {
			if err := scanYAML(e, t, path, lines); err != nil {
				return err
			}
		}
		return nil
	}
	return scanYAML(v, t, path, lines)
}

func fieldByTag(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == key && name != "-" {
			return f, true
		}
	}
	return reflect.StructField{}, false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// numberErrors collects range errors, each prefixed with its field's line
// when the spec sets the field.
type numberErrors struct {
	lines map[string]int
	errs  []error
}

func (e *numberErrors) add(path string, err error) {
	if err == nil {
		return
	}
	if l, ok := e.lines[path]; ok && l > 0 {
		err = fmt.Errorf("line %d: %w", l, err)
	}
	e.errs = append(e.errs, err)
}

// count checks an integer field.
func (e *numberErrors) count(path string, v int, r numcheck.Range) {
	e.add(path, r.Ints().CheckInt(path, int64(v)))
}

// optional checks an integer field whose 0 (or absence) means a default.
func (e *numberErrors) optional(path string, v int, r numcheck.Range, def string) {
	if v != 0 {
		e.count(path, v, r.Means("0 or absent: "+def))
	}
}

// real checks a float field whose 0 (or absence) means a default.
func (e *numberErrors) real(path string, v float64, r numcheck.Range, def string) {
	if v != 0 {
		e.add(path, r.Means("0 or absent: "+def).Check(path, v))
	}
}

// Bounds of a spec's numbers that are not the data's or the model's.
const (
	maxLatencyBatch   = 4096 // samples per latency measurement
	maxLatencyWorkers = 1024 // threads
)

// checkNumbers refuses numbers outside their ranges, before the defaults
// fill the zeros in: every error names the field, its line, the value and
// the accepted range.
func (s *Spec) checkNumbers(lines map[string]int) error {
	e := &numberErrors{lines: lines}
	e.optional("reward_images", s.RewardImages, numcheck.AtLeast(1), "2000")
	e.count("final_images", s.FinalImages, numcheck.AtLeast(0).Means("0 or absent: all"))
	e.optional("calibration.images", s.Calibration.Images, numcheck.AtLeast(1), "3000")
	e.optional("calibration.positions", s.Calibration.Positions, numcheck.AtLeast(1), "10")
	e.real("lower_bound", s.LowerBound, numcheck.Fraction(), "0.2")
	e.optional("channel_multiple", s.Multiple, numcheck.AtLeast(1), "1")
	e.real("ridge", s.Ridge, numcheck.Above(0), "1e-6")
	e.optional("episodes", s.Episodes, numcheck.AtLeast(1), "300")
	for i, st := range s.Strategies {
		p := fmt.Sprintf("strategies[%d]", i)
		e.optional(p+".episodes", st.Episodes, numcheck.AtLeast(1), "the spec's episodes")
		e.optional(p+".warmup", st.Warmup, numcheck.AtLeast(1), "a third of the episodes, at most 100")
	}
	e.optional("latency.batch", s.Latency.Batch, numcheck.Between(1, maxLatencyBatch), "1")
	e.optional("latency.workers", s.Latency.Workers, numcheck.Between(1, maxLatencyWorkers), "1")
	e.optional("latency.points", s.Latency.Points, numcheck.AtLeast(2), "8")
	if f := s.FineTune; f != nil {
		e.count("finetune.epochs", f.Epochs, numcheck.AtLeast(1).Means("required"))
		e.real("finetune.lr", f.LR, numcheck.Above(0), "0.01")
		e.optional("finetune.batch", f.Batch, numcheck.AtLeast(1), "128")
		e.real("finetune.weight_decay", f.WeightDecay, numcheck.Above(0), "5e-4")
		e.count("finetune.train_images", f.TrainImages, numcheck.AtLeast(0).Means("0 or absent: the whole training split"))
	}
	return numcheck.All(e.errs...)
}
