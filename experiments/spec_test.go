package experiments

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/amcbench/amc/agent"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShippedSpecsLoad(t *testing.T) {
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	jpeg, err := filepath.Glob("jpeg-copy/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, jpeg)
	for _, f := range append(files, jpeg...) {
		s, err := Load(f)
		require.NoError(t, err, f)
		if filepath.Dir(f) == "jpeg-copy" {
			assert.Equal(t, "cifar10-jpeg", s.Data, "%s: the JPEG-copy specs say so", f)
		} else {
			assert.Equal(t, "cifar10", s.Data, "%s: the lossless data is the default", f)
		}
		assert.NotEmpty(t, s.Strategies, f)
		_, err = os.Stat(s.Weights)
		assert.NoError(t, err, "%s: weights resolve relative to the spec", f)
	}
	// Specs waiting for weights parse too.
	pending, err := filepath.Glob("pending/*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, pending)
	for _, f := range pending {
		s, err := Load(f)
		require.NoError(t, err, f)
		assert.NotNil(t, s.FineTune, f)
	}
}

func TestBadSpecs(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"unknown field", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\nepisdoes: 3\n", "line 6: field episdoes not found"},
		{"wrong type", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nseeds: one\nstrategies: [{name: ddpg}]\n", "line 5"},
		{"no strategies", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\n", "strategies"},
		{"bad name", "name: a/b\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\n", "name"},
		{"no budget", "name: x\nmodel: resnet20\nweights: w\nstrategies: [{name: ddpg}]\n", "budget is required"},
		{"twice", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}, {name: ddpg}]\n", "twice"},
		{"finetune without epochs", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\nfinetune: {lr: 0.1}\n", "finetune.epochs 0: want an integer >= 1"},
		{"bad granularity", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\ngranularity: weights\nstrategies: [{name: ddpg}]\n", "granularity \"weights\""},
		{"finetune unknown field", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\nfinetune: {epochs: 2, lrr: 0.1}\n", "field lrr not found"},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "spec.yaml")
		require.NoError(t, os.WriteFile(p, []byte(c.yaml), 0o644))
		_, err := Load(p)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.Contains(t, err.Error(), p, c.name)
	}
}

// base is a valid spec of five lines; the cases below add line 6 on.
const base = "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\n"

// Numbers: a float in an integer field (yaml.v3 would truncate it), a value
// outside its range, NaN or infinity, and a second YAML document are
// errors naming the file, the line and the field with the accepted range.
func TestBadNumbersInSpecs(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"half an episode", base + "episodes: 0.5\n", "line 6: episodes 0.5: want an integer"},
		{"truncated episodes", base + "episodes: 2.9\n", "line 6: episodes 2.9: want an integer"},
		{"float seed", base + "seeds: [1, 1.9]\n", "line 6: seeds[1] 1.9: want an integer"},
		{"exponent", base + "reward_images: 1e3\n", "line 6: reward_images 1e3: want an integer"},
		{"float in a strategy", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, warmup: 2.5}\n", "line 6: strategies[0].warmup 2.5: want an integer"},
		{"float in calibration", base + "calibration: {positions: 7.5}\n", "line 6: calibration.positions 7.5"},
		{"float in finetune", base + "finetune: {epochs: 1.5}\n", "line 6: finetune.epochs 1.5"},
		{"float through an alias", base + "lower_bound: &h 0.5\nepisodes: *h\n", "line 7: episodes 0.5: want an integer"},
		{"merge key", base + "latency: {<<: {points: 2.5}}\n", "latency.points 2.5: want an integer"},
		{"second document", base + "---\nepisdoes: 3\n", "line 6: a second YAML document (after ---): a spec is one YAML document"},
		{"bad second document", base + "---\n{{{\n", "a spec is one YAML document"},
		{"empty", "", "empty: a spec is one YAML document"},
		{"negative reward images", base + "reward_images: -5\n", "line 6: reward_images -5: want an integer >= 1 (0 or absent: 2000)"},
		{"negative final images", base + "final_images: -7\n", "line 6: final_images -7: want an integer >= 0 (0 or absent: all)"},
		{"negative episodes", base + "episodes: -5\n", "line 6: episodes -5: want an integer >= 1"},
		{"negative warmup", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, warmup: -5}\n", "line 6: strategies[0].warmup -5: want an integer >= 1"},
		{"one latency point", base + "latency: {points: 1}\n", "line 6: latency.points 1: want an integer >= 2 (0 or absent: 8)"},
		{"negative latency workers", base + "latency: {workers: -2}\n", "line 6: latency.workers -2"},
		{"NaN lower bound", base + "lower_bound: .nan\n", "line 6: lower_bound NaN: want a number in (0, 1]"},
		{"lower bound above 1", base + "lower_bound: 1.5\n", "line 6: lower_bound 1.5: want a number in (0, 1]"},
		{"infinite ridge", base + "ridge: .inf\n", "line 6: ridge +Inf: want a number > 0"},
		{"negative multiple", base + "channel_multiple: -4\n", "line 6: channel_multiple -4"},
		{"too many positions", base + "calibration: {positions: 100000}\n", "line 6: calibration.positions 100000: want an integer in [1, 1024] (resnet20's 32x32 input has 1024 positions)"},
		{"negative positions", base + "calibration: {positions: -1}\n", "line 6: calibration.positions -1"},
		{"NaN weight decay", base + "finetune: {epochs: 1, weight_decay: .nan}\n", "line 6: finetune.weight_decay NaN: want a number > 0"},
		{"negative fine-tune lr", base + "finetune: {epochs: 1, lr: -0.1}\n", "line 6: finetune.lr -0.1"},
		{"negative train images", base + "finetune: {epochs: 1, train_images: -5}\n", "line 6: finetune.train_images -5: want an integer >= 0"},
		{"negative fine-tune epochs", base + "finetune: {epochs: -1}\n", "line 6: finetune.epochs -1"},
		{"accuracy with a budget", "name: x\nmodel: resnet20\nweights: w\nprotocol: accuracy\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\n", "line 5: budget \"macs=0.5\": a budget only goes with the constrained protocol"},
		{"strategy name escaping the folder", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ../x, command: [python3, a.py]}\n", `strategy name "../x"`},
		{"timeout without a command", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, timeout: 5}\n", "line 6: strategy ddpg: timeout goes with command"},
		{"unknown param", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - name: ddpg\n    params:\n      warmpu: 5\n", `line 8: strategy ddpg: param warmpu: unknown (did you mean "warmup"?); valid: actor_lr,`},
		{"param of the wrong type", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - name: reinforce\n    params: {lr: fast}\n", "line 7: strategy reinforce: param lr: fast (a string) where a float64 belongs"},
		{"param out of range", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: cem, params: {population: 1}}\n", "line 6: strategy cem: param population: 1: want an integer in [2, 100000]"},
		{"legacy warmup out of range", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg}\n  - {name: ddpg2, command: [x]}\n  - {name: random,\n     warmup: 4}\n", "line 9: strategy random: param warmup: random takes no params"},
		{"warm-up on an external agent", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: mine, command: [python3, a.py], warmup: 5}\n", "line 6: strategy mine: warmup is DDPG's"},
		{"huge hidden layer", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, params: {hidden: 1000000000}}\n", "line 6: strategy ddpg: param hidden: 1000000000: want an integer in [1, 4096]"},
		{"warm-up twice", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, warmup: 5, params: {warmup: 5}}\n", "line 6: strategy ddpg: warmup given twice"},
		{"params for a baseline", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: uniform, params: {ratio: 5}}\n", "line 6: strategy uniform: param ratio: uniform takes no params"},
		{"unknown strategy", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddgp}\n", `line 6: unknown strategy "ddgp" (did you mean "ddpg"?)`},
		{"ImageNet model", "name: x\nmodel: imagenet_resnet50\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg}\n", `line 2: model imagenet_resnet50 takes 224x224 images, and data cifar10 has 32x32`},
		{"CIFAR model on ImageNet", "name: x\nmodel: resnet20\nweights: w\ndata: imagenet\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg}\n", `line 2: model resnet20 takes 32x32 images, and data imagenet has 224x224`},
		{"fine-tuning on ImageNet", "name: x\nmodel: imagenet_mobilenet_v2\nweights: w\ndata: imagenet\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg}\nfinetune: {epochs: 1}\n", `line 8: finetune: amc does not fine-tune on imagenet`},
		{"unknown data", "name: x\nmodel: resnet20\nweights: w\ndata: imagenett\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg}\n", `line 4: unknown dataset "imagenett" (did you mean "imagenet"?)`},
		{"built-in name with a command", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: random, command: [python3, a.py]}\n", "an external agent needs a name of its own"},
		{"negative agent timeout", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: mine, command: [python3, a.py], timeout: -1}\n", "timeout -1"},
		{"official schedule of another agent", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: random, schedule: official}\n", "line 6: strategy random: schedule official is DDPG's"},
		{"official schedule with episodes", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, schedule: official, episodes: 300}\n", "schedule official sets episodes (800), warmup (100) and the replay buffer"},
		{"official schedule with a buffer", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, schedule: official, params: {capacity: 900}}\n", "drop them"},
		{"one agent twice without a label", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg}\n  - {name: ddpg, schedule: official}\n", `line 7: strategy "ddpg" listed twice; give the second a label of its own`},
		{"a label twice", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, label: mine}\n  - {name: reinforce, label: mine}\n", `line 7: strategy label "mine" used twice`},
		{"a label naming another agent", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, label: random}\n", `line 6: strategy ddpg: label "random" is another strategy's name`},
		{"a label not folder-safe", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, label: ../up}\n", `label "../up": want letters`},
		{"unknown schedule", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, schedule: offical}\n", `unknown schedule "offical"`},
		{"budget and budgets", base + "budgets: [macs=0.3, macs=0.6]\n", "give budget (one) or budgets (a list), not both"},
		{"one budget in a list", "name: x\nmodel: resnet20\nweights: w\nbudgets: [macs=0.5]\nstrategies: [{name: ddpg}]\n", "line 4: budgets: list two or more"},
		{"mixed resources", "name: x\nmodel: resnet20\nweights: w\nbudgets: [macs=0.5, params=0.5]\nstrategies: [{name: ddpg}]\n", "a front is over one resource"},
		{"budget twice", "name: x\nmodel: resnet20\nweights: w\nbudgets: [macs=0.5, macs=0.50]\nstrategies: [{name: ddpg}]\n", "macs=0.50 twice"},
		{"bad budget in a list", "name: x\nmodel: resnet20\nweights: w\nbudgets: [macs=0.5, macs=2]\nstrategies: [{name: ddpg}]\n", "budgets[1]"},
		{"budgets with the accuracy protocol", "name: x\nmodel: resnet20\nweights: w\nprotocol: accuracy\nbudgets: [macs=0.5, macs=0.3]\nstrategies: [{name: ddpg}]\n", "only goes with the constrained protocol"},
		{"budget not a fraction", "name: x\nmodel: resnet20\nweights: w\nbudget: macs=NaN\nstrategies: [{name: ddpg}]\n", "line 4: budget \"macs=NaN\": want RESOURCE=F with F in (0, 1]"},
		{"unknown protocol", base + "protocol: constraint\n", "line 6: unknown protocol \"constraint\" (did you mean \"constrained\"?)"},
		{"NaN width", "name: x\nmodel: resnet20@NaN\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\n", "line 2: model \"resnet20@NaN\": width \"NaN\" must be a number in (0, 4]"},
		{"unknown model", "name: x\nmodel: resnet21\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\n", "line 2: unknown model \"resnet21\""},
	}
	for _, c := range cases {
		p := filepath.Join(t.TempDir(), "spec.yaml")
		require.NoError(t, os.WriteFile(p, []byte(c.yaml), 0o644))
		_, err := Load(p)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
		assert.Contains(t, err.Error(), p, c.name)
	}
}

// Valid numbers keep their meaning: zeros and absent fields take the
// defaults, whole floats are not needed, and a relative weights path is
// relative to the spec.
func TestSpecNumbersAndDefaults(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "spec.yaml")
	require.NoError(t, os.WriteFile(p, []byte(base+"episodes: 0\nreward_images: 0\nseeds: [0x10, -3]\ncalibration: {positions: 1024}\nlatency: {points: 2}\nfinetune: {epochs: 1, lr: 0.05}\n"), 0o644))
	s, err := Load(p)
	require.NoError(t, err)
	assert.Equal(t, 300, s.Episodes)
	assert.Equal(t, 2000, s.RewardImages)
	assert.Equal(t, []int64{16, -3}, s.Seeds)
	assert.Equal(t, 1024, s.Calibration.Positions)
	assert.Equal(t, 3000, s.Calibration.Images)
	assert.Equal(t, 2, s.Latency.Points)
	assert.Equal(t, 0.05, s.FineTune.LR)
	assert.Equal(t, 5e-4, s.FineTune.WeightDecay)
	assert.Equal(t, 0.2, s.LowerBound)
	assert.Equal(t, filepath.Join(dir, "w"), s.Weights)
	assert.Nil(t, s.Strategies[0].Params["warmup"], "absent: the strategy's default, resolved for the run")
	ddpg, err := agent.Lookup("ddpg")
	require.NoError(t, err)
	p2, err := ddpg.DecodeParams(s.Strategies[0].Params, s.Strategies[0].Episodes)
	require.NoError(t, err)
	assert.Equal(t, 100, *p2.(*agent.DDPGParams).Warmup)
}

// A quick run cuts a warm-up written as a float (50.0) like one written as
// an integer.
func TestApplyOverridesCutsFloatWarmup(t *testing.T) {
	for _, w := range []string{"50", "50.0"} {
		p := filepath.Join(t.TempDir(), "s.yaml")
		require.NoError(t, os.WriteFile(p, []byte("name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, params: {warmup: "+w+"}}\n"), 0o644))
		s, err := Load(p)
		require.NoError(t, err)
		s.ApplyOverrides(6, nil, 0, 0)
		assert.Equal(t, 2, s.Strategies[0].Params["warmup"], w)
	}
}

// Both forms of DDPG's warm-up give the same params; absent, the strategy's
// default applies; params: {warmup: 0} means no warm-up.
func TestStrategyParamForms(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		name, entry string
		want        any // params["warmup"] after Load (nil: absent)
	}{
		{"older form", "{name: ddpg, warmup: 40}", 40},
		{"params form", "{name: ddpg, params: {warmup: 40}}", 40},
		{"absent", "{name: ddpg}", nil},
		{"zero", "{name: ddpg, params: {warmup: 0}}", 0},
		{"older form zero is the default", "{name: ddpg, warmup: 0}", nil},
	} {
		p := filepath.Join(dir, "s.yaml")
		require.NoError(t, os.WriteFile(p, []byte("name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - "+c.entry+"\n"), 0o644))
		s, err := Load(p)
		require.NoError(t, err, c.name)
		assert.Equal(t, c.want, s.Strategies[0].Params["warmup"], c.name)
	}
}

func TestApplyOverrides(t *testing.T) {
	s, err := Load("resnet20-macs50.yaml")
	require.NoError(t, err)
	s.ApplyOverrides(12, []int64{1}, 500, 1000)
	assert.Equal(t, []int64{1}, s.Seeds)
	assert.Equal(t, 500, s.RewardImages)
	assert.Equal(t, 1000, s.FinalImages)
	for _, st := range s.Strategies {
		assert.Equal(t, 12, st.Episodes, st.Name)
		if st.Name == "ddpg" {
			assert.Equal(t, 4, st.Params["warmup"], "the spec's warmup: 100, cut to a third of 12")
		}
		if w, ok := st.Params["warmup"]; ok {
			assert.LessOrEqual(t, w, 4, st.Name)
		}
	}
	p, err := Load("jpeg-copy/resnet20-adapted-macs50.yaml")
	require.NoError(t, err)
	p.ApplyOverrides(12, nil, 0, 0)
	assert.Equal(t, 1, p.FineTune.Epochs)
	assert.Equal(t, 2000, p.FineTune.TrainImages)
	assert.Equal(t, []int64{1, 2, 3}, p.Seeds, "unset overrides keep the spec's values")
	g, err := Load("jpeg-copy/resnet20-fine-params30.yaml")
	require.NoError(t, err)
	assert.Equal(t, "fine", g.Granularity)
}

func TestBudgetsExpand(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "front.yaml")
	require.NoError(t, os.WriteFile(p, []byte("name: front\nmodel: resnet20\nweights: w\nbudgets: [macs=0.25, macs=0.5, macs=0.75]\nstrategies: [{name: uniform}]\n"), 0o644))
	s, err := Load(p)
	require.NoError(t, err)
	ex := s.Expand()
	require.Len(t, ex, 3)
	for i, want := range []string{"macs=0.25", "macs=0.5", "macs=0.75"} {
		assert.Equal(t, want, ex[i].Budget)
		assert.Equal(t, "front", ex[i].Family)
		assert.Empty(t, ex[i].Budgets)
	}
	assert.Equal(t, []string{"front-macs0.25", "front-macs0.5", "front-macs0.75"}, []string{ex[0].Name, ex[1].Name, ex[2].Name})
	one, err := Load(filepath.Join("..", "experiments", "resnet20-macs50.yaml"))
	require.NoError(t, err)
	assert.Equal(t, []*Spec{one}, one.Expand(), "a spec with one budget is itself")
}

func TestOfficialSchedule(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(p, []byte("name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nepisodes: 300\nstrategies:\n  - {name: ddpg, schedule: official}\n  - {name: random}\n"), 0o644))
	s, err := Load(p)
	require.NoError(t, err)
	assert.Equal(t, 800, s.Strategies[0].Episodes)
	assert.Equal(t, 100, s.Strategies[0].Params["warmup"])
	assert.Equal(t, 100, s.Strategies[0].Params["replay_episodes"], "the official rmsize: 100 episodes' worth")
	assert.Equal(t, 300, s.Strategies[1].Episodes, "other strategies keep the spec's episodes")
}

func TestLabelledStrategies(t *testing.T) {
	p := filepath.Join(t.TempDir(), "s.yaml")
	require.NoError(t, os.WriteFile(p, []byte("name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nepisodes: 120\nstrategies:\n  - {name: ddpg, params: {warmup: 40}}\n  - {name: ddpg, label: ddpg-official, schedule: official}\n"), 0o644))
	s, err := Load(p)
	require.NoError(t, err)
	assert.Equal(t, "ddpg", s.Strategies[0].RunName())
	assert.Equal(t, "ddpg-official", s.Strategies[1].RunName())
	assert.Equal(t, "ddpg", s.Strategies[1].Name, "the agent run is still ddpg")
	assert.Equal(t, []int{120, 800}, []int{s.Strategies[0].Episodes, s.Strategies[1].Episodes})

	require.NoError(t, os.WriteFile(p, []byte("name: x\nmodel: resnet20\nweights: w\nbudget: macs=0.5\nstrategies:\n  - {name: ddpg, label: ddpg}\n"), 0o644))
	s, err = Load(p)
	require.NoError(t, err)
	assert.Equal(t, "", s.Strategies[0].Label, "a label that is the agent's name is no label: the same runs")
}

func TestReferences(t *testing.T) {
	dir := t.TempDir()
	load := func(refs string) (*Spec, error) {
		p := filepath.Join(dir, "spec.yaml")
		require.NoError(t, os.WriteFile(p, []byte(base+refs), 0o644))
		return Load(p)
	}
	s, err := load("references:\n  - {model: resnet20, weights: r20.safetensors}\n  - {name: plain, model: plain20, weights: /abs/p.safetensors}\n")
	require.NoError(t, err)
	require.Len(t, s.References, 2)
	assert.Equal(t, Reference{Name: "resnet20", Model: "resnet20", Weights: filepath.Join(dir, "r20.safetensors")}, s.References[0],
		"the name defaults to the model; weights resolve relative to the spec")
	assert.Equal(t, "/abs/p.safetensors", s.References[1].Weights)

	s, err = load("references: [{model: mobilenet_v2@0.75, weights: w}]\n")
	require.NoError(t, err, "a width in the model's name is a valid reference name")
	assert.Equal(t, "mobilenet_v2@0.75", s.References[0].Name)

	cases := []struct{ name, refs, want string }{
		{"no model", "references: [{weights: w}]\n", "line 6: references[0]: model is required"},
		{"no weights", "references: [{model: resnet56}]\n", "references[0]: reference resnet56: weights is required"},
		{"unknown model", "references: [{model: resnet21, weights: w}]\n", "resnet21"},
		{"other input", "references: [{model: imagenet_resnet50, weights: w}]\n", "224x224 inputs"},
		{"twice", "references: [{model: resnet56, weights: a}, {model: resnet56, weights: b}]\n", "used twice"},
		{"a strategy's name", "references: [{name: ddpg, model: resnet56, weights: a}]\n", "one of the spec's strategies"},
		{"bad name", "references: [{name: a/b, model: resnet56, weights: a}]\n", "name \"a/b\""},
		{"reserved name", "references: [{name: summary, model: resnet56, weights: a}]\n", "reserved"},
		{"unknown field", "references: [{model: resnet56, weight: a}]\n", "field weight not found"},
	}
	for _, c := range cases {
		_, err := load(c.refs)
		require.Error(t, err, c.name)
		assert.Contains(t, err.Error(), c.want, c.name)
	}
}
