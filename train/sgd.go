package train

import (
	"math"
	"sort"
	"strings"
)

// SGDConfig is the optimiser's recipe.
type SGDConfig struct {
	LR          float64 // peak learning rate
	Momentum    float64 // 0.9
	Nesterov    bool
	WeightDecay float64 // applied to conv and linear weights only (not BN, not biases)
}

// SGD is stochastic gradient descent with (Nesterov) momentum and weight
// decay, as PyTorch's torch.optim.SGD computes it.
type SGD struct {
	cfg   SGDConfig
	net   *Net
	names []string
	// Velocity holds the momentum buffers by parameter name (saved in
	// checkpoints).
	Velocity map[string][]float32
}

// NewSGD prepares the optimiser for net's learnable parameters.
func NewSGD(net *Net, cfg SGDConfig) *SGD {
	s := &SGD{cfg: cfg, net: net, Velocity: map[string][]float32{}}
	for k := range net.Grads {
		s.names = append(s.names, k)
		s.Velocity[k] = make([]float32, len(net.Grads[k]))
	}
	sort.Strings(s.names)
	return s
}

func decays(name string, shape []int) bool {
	return strings.HasSuffix(name, ".weight") && len(shape) > 1
}

// Step applies one update with learning rate lr, from the gradients in
// the net.
func (s *SGD) Step(lr float64) {
	mu, wd := float32(s.cfg.Momentum), float32(s.cfg.WeightDecay)
	eta := float32(lr)
	for _, k := range s.names {
		p := s.net.Params[k]
		w, g, v := p.Data, s.net.Grads[k], s.Velocity[k]
		d := decays(k, p.Shape) && wd != 0
		mask := s.net.Masks[k]
		for i := range w {
			gi := g[i]
			if d {
				gi += wd * w[i]
			}
			v[i] = mu*v[i] + gi
			if s.cfg.Nesterov {
				gi += mu * v[i]
			} else {
				gi = v[i]
			}
			w[i] -= eta * gi
			if mask != nil && !mask[i] {
				w[i] = 0
			}
		}
	}
}

// Cosine is the learning rate at step t of total: a linear warm-up over
// warmup steps to peak, then a cosine decay to zero.
func Cosine(peak float64, t, total, warmup int) float64 {
	if t < warmup {
		return peak * float64(t+1) / float64(warmup)
	}
	if total <= warmup {
		return peak
	}
	f := float64(t-warmup) / float64(total-warmup)
	return peak * 0.5 * (1 + math.Cos(math.Pi*f))
}
