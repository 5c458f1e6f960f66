package agent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/amcbench/amc/internal/numcheck"
	"github.com/amcbench/amc/internal/suggest"
)

// Setting is what the harness tells a strategy about its run when it builds it.
type Setting struct {
	StateSize  int     // features per state
	Steps      int     // decisions per episode: the prunable groups (or layers)
	LowerBound float64 // smallest preserve ratio the environment applies
	Seed       uint64  // the run's seed
	Episodes   int     // episodes the run plays
	// FitShape scales a relative per-step shape so that the policy meets
	// the task's budget (the hand-crafted baselines use it).
	FitShape func(shape []float64) ([]float64, error)
}

// Kind says how the harness plays a strategy.
type Kind int

const (
	// Learner plays every episode, then one greedy episode (Act with
	// explore false): its final policy.
	Learner Kind = iota
	// Sampler plays every episode and keeps the best (random search).
	Sampler
	// Fixed gives the same policy every episode, so the run plays one.
	Fixed
)

// Params are a strategy's parameters as a spec's `params:` or the CLI's
// --param give them: YAML or JSON values by key.
type Params map[string]any

// Strategy is a registered strategy: how to build it and its parameters.
type Strategy struct {
	Name string
	Doc  string // one line: what it is
	Kind Kind
	// Params returns a pointer to a fresh parameter struct holding the
	// defaults; spec and CLI params are decoded into it strictly (JSON field
	// names; unknown keys are errors). Nil: the strategy takes none.
	Params func() any
	// New builds the strategy for a run from its decoded parameters (what
	// Params returned, filled in; nil when Params is nil).
	New func(s Setting, params any) (Agent, error)
	// FingerprintParams, decoded over the defaults, are the values a run's
	// fingerprint leaves out (harness.Task.ID lists only params that differ
	// from them). Nil: the defaults. A strategy whose defaults change keeps
	// the old ones here, so that a run under the new defaults is never
	// taken for a finished run made under the old ones.
	FingerprintParams Params
}

// Resolver is implemented by parameter structs whose defaults depend on
// the run (DDPG's warm-up: min(100, episodes/3) unless given).
type Resolver interface {
	Resolve(episodes int)
}

// Validator is implemented by parameter structs that check their values
// (after Resolve); errors should be ParamErrors or numcheck errors naming
// the param.
type Validator interface {
	Validate() error
}

// ParamError is a strategy param that is unknown, of the wrong type or out
// of range.
type ParamError struct {
	Strategy, Key string
	Err           error
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("strategy %s: param %s: %v", e.Strategy, e.Key, e.Err)
}

func (e *ParamError) Unwrap() error { return e.Err }

var (
	regMu    sync.RWMutex
	registry = map[string]Strategy{}
)

// Register adds a strategy; built-in agents and baselines register
// themselves in init, so a new Go agent is one file in this package (or
// any package the harness imports). Registering a name twice, or a
// strategy without a name or New, is a programming error and panics.
func Register(s Strategy) {
	regMu.Lock()
	defer regMu.Unlock()
	if s.Name == "" || s.New == nil {
		panic("agent.Register: a strategy needs a Name and New")
	}
	if _, dup := registry[s.Name]; dup {
		panic("agent.Register: strategy " + s.Name + " registered twice")
	}
	registry[s.Name] = s
}

// Names lists the registered strategies, sorted.
func Names() []string {
	regMu.RLock()
	defer regMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns a registered strategy, or an error listing the valid
// names with a suggestion.
func Lookup(name string) (Strategy, error) {
	regMu.RLock()
	s, ok := registry[name]
	regMu.RUnlock()
	if !ok {
		valid := Names()
		return Strategy{}, fmt.Errorf("unknown strategy %q%s; valid: %s", name, suggest.DidYouMean(name, valid), strings.Join(valid, ", "))
	}
	return s, nil
}

// DecodeParams decodes p into a fresh parameter struct of s, strictly: an
// unknown key is an error naming it (with a suggestion and the valid
// keys), and so is a value of the wrong type. Resolvers are resolved for
// a run of the given episodes.
func (s Strategy) DecodeParams(p Params, episodes int) (any, error) {
	if s.Params == nil {
		if len(p) > 0 {
			keys := make([]string, 0, len(p))
			for k := range p {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			return nil, &ParamError{s.Name, keys[0], fmt.Errorf("%s takes no params", s.Name)}
		}
		return nil, nil
	}
	dst := s.Params()
	valid := paramNames(dst)
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !slices.Contains(valid, k) {
			return nil, &ParamError{s.Name, k, fmt.Errorf("unknown%s; valid: %s", suggest.DidYouMean(k, valid), strings.Join(valid, ", "))}
		}
		if f, ok := p[k].(float64); ok && (math.IsNaN(f) || math.IsInf(f, 0)) {
			return nil, &ParamError{s.Name, k, fmt.Errorf("%v: want a finite number", f)}
		}
	}
	b, err := json.Marshal(map[string]any(p))
	if err != nil {
		return nil, fmt.Errorf("strategy %s: params: %w", s.Name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return nil, &ParamError{s.Name, te.Field, fmt.Errorf("%v (a %s) where a %s belongs", p[te.Field], te.Value, te.Type)}
		}
		return nil, fmt.Errorf("strategy %s: params: %w", s.Name, err)
	}
	if r, ok := dst.(Resolver); ok {
		r.Resolve(episodes)
	}
	if v, ok := dst.(Validator); ok {
		if err := v.Validate(); err != nil {
			var ne *numcheck.Error
			if errors.As(err, &ne) {
				return nil, &ParamError{s.Name, ne.Name, fmt.Errorf("%s: want %s", ne.Value, ne.Range)}
			}
			return nil, fmt.Errorf("strategy %s: %w", s.Name, err)
		}
	}
	return dst, nil
}

// ParamNames lists the keys a strategy's params take, sorted.
func (s Strategy) ParamNames() []string {
	if s.Params == nil {
		return nil
	}
	return paramNames(s.Params())
}

// ParamValues is a decoded params struct (DecodeParams's result, or a
// strategy's Params()) as JSON values by key: numbers as float64.
func ParamValues(v any) map[string]any {
	m := map[string]any{}
	b, _ := json.Marshal(v)
	_ = json.Unmarshal(b, &m)
	return m
}

// paramNames lists the JSON names of a struct pointer's fields.
func paramNames(ptr any) []string {
	t := reflect.TypeOf(ptr)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}
