package experiments

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoad: any bytes as a spec give a spec or an error, never a panic; an
// accepted spec has a name, strategies and every number in its range.
func FuzzLoad(f *testing.F) {
	if b, err := os.ReadFile("resnet20-macs50.yaml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte("name: x\nstrategies: [{name: ddpg, episodes: -1}]\n"))
	f.Add([]byte("{{{"))
	// The hostile-input audit's cases (docs/reliability.md, "Bad input").
	for _, tail := range []string{
		"episodes: 0.5\n", "episodes: 2.9\n", "seeds: [1.9]\n", "reward_images: 1e3\n",
		"---\nepisdoes: 3\n", "---\n{{{\n", "reward_images: -5\n", "final_images: -7\n",
		"latency: {points: 1}\n", "lower_bound: .nan\n", "ridge: .inf\n",
		"calibration: {positions: 100000}\n", "finetune: {epochs: 1, weight_decay: .nan}\n",
		"protocol: accuracy\n", "lower_bound: &h 0.5\nepisodes: *h\n", "latency: {<<: {points: 2.5}}\n",
	} {
		f.Add([]byte(base + tail))
	}
	f.Add([]byte("name: x\nmodel: resnet20@NaN\nweights: w\nbudget: macs=0.5\nstrategies: [{name: ddpg}]\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "s.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		s, err := Load(p)
		if err != nil {
			return
		}
		if s.Name == "" || len(s.Strategies) == 0 {
			t.Fatal("accepted a spec without name or strategies")
		}
		finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
		switch {
		case s.Episodes < 1, s.RewardImages < 1, s.FinalImages < 0, s.Calibration.Images < 1,
			s.Calibration.Positions < 1, s.Calibration.Positions > 1024, s.Multiple < 1,
			s.Latency.Batch < 1, s.Latency.Workers < 1, s.Latency.Points < 2:
			t.Fatalf("accepted a count out of range: %+v", s)
		case !(s.LowerBound > 0 && s.LowerBound <= 1), !(s.Ridge > 0) || !finite(s.Ridge):
			t.Fatalf("accepted lower_bound %v, ridge %v", s.LowerBound, s.Ridge)
		case s.Protocol == "accuracy" && s.Budget != "":
			t.Fatal("accepted a budget with the accuracy protocol")
		}
		for _, st := range s.Strategies {
			if st.Episodes < 1 || st.Warmup < 0 {
				t.Fatalf("accepted strategy %+v", st)
			}
		}
		if ft := s.FineTune; ft != nil && (ft.Epochs < 1 || !(ft.LR > 0) || !finite(ft.LR) || ft.Batch < 1 ||
			!(ft.WeightDecay > 0) || !finite(ft.WeightDecay) || ft.TrainImages < 0) {
			t.Fatalf("accepted fine-tuning %+v", ft)
		}
	})
}
