package nn

import (
	"fmt"
	"math"
	"runtime"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Plan is a graph compiled for fast inference: NHWC activations, batch norm
// folded into the preceding convolution, ReLU/ReLU6 fused into the op before
// it, im2col + SGEMM for dense convolutions, a direct loop for depthwise ones,
// buffers reused between layers and between calls. A Plan is not safe for
// concurrent use; compile one per goroutine.
type Plan struct {
	steps   []step
	in      Shape
	out     Shape
	outBuf  int
	bufSize []int // values per sample in each buffer
	bufs    [][]float32
	batch   int // capacity the buffers hold
	workers int
	scratch [][]float32 // per-worker im2col buffers
	result  []float32
	job     job // the step being run, reused to avoid allocation
	valBuf  []int
	shapes  []Shape
	lastN   int
}

// Value returns node i's output from the last Forward (NHWC, lastN samples)
// and its shape. Only nodes passed to CompileKeeping (and the output) are
// guaranteed to hold their values.
func (pl *Plan) Value(i int) ([]float32, Shape) {
	s := pl.shapes[i]
	return pl.bufs[pl.valBuf[i]][:pl.lastN*s.Size()], s
}

type stepKind int

const (
	stConv stepKind = iota
	stDepthwise
	stScaleShift
	stAct
	stAdd
	stShortcutA
	stPool
	stGlobalAvg
	stFlatten
	stLinear
)

type act int

const (
	actNone act = iota
	actReLU
	actReLU6
)

type step struct {
	kind    stepKind
	name    string
	src     int // input buffer
	src2    int // second input buffer (add)
	dst     int
	in, out Shape
	act     act
	// conv: groups, kernel, stride, pad; w is K x OutC per group (K = k*k*cpg),
	// for depthwise k*k x C; bias per output channel.
	groups, k, stride, pad int
	w, bias                []float32
	maxPool                bool
	res                    int       // conv: buffer added before the activation, or -1
	wu                     []float32 // conv: Winograd F(2x2, 3x3) weights U[ξ][c][k] (winograd.go), or nil
	wino                   bool      // conv: this call runs the Winograd path (winogradNow)
	cols                   int       // conv: this call's column tasks (gemmColumnTasks), or 0 for tiles of rows
	chanMap                []int     // shortcut: input channel of each output channel, or -1
}

// Compile builds a Plan from a graph and its parameters. workers <= 0 uses
// GOMAXPROCS goroutines.
func Compile(g *Graph, p Params, workers int) (*Plan, error) {
	return CompileKeeping(g, p, workers, nil)
}

// CompileKeeping is Compile, but the values of the nodes in keep stay
// readable through Value after Forward (they are neither fused away nor
// overwritten).
func CompileKeeping(g *Graph, p Params, workers int, keep []int) (*Plan, error) {
	shapes, err := g.Shapes()
	if err != nil {
		return nil, err
	}
	if err := g.Check(p); err != nil {
		return nil, err
	}
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	consumers := make([]int, len(g.Nodes))
	for _, nd := range g.Nodes {
		for _, j := range nd.Inputs {
			consumers[j]++
		}
	}
	consumers[g.Output()]++ // the output is read by the caller
	for _, k := range keep {
		if k < 0 || k >= len(g.Nodes) {
			return nil, fmt.Errorf("compile: no node %d to keep", k)
		}
		consumers[k]++ // a reader that never releases it
	}
	soleConsumer := func(i int, op ...OpKind) (int, bool) {
		if consumers[i] != 1 || i+1 >= len(g.Nodes) {
			return 0, false
		}
		// Graphs are in execution order; fuse only with the next node.
		nx := g.Nodes[i+1]
		if len(nx.Inputs) != 1 || nx.Inputs[0] != i {
			return 0, false
		}
		for _, o := range op {
			if nx.Op == o {
				return i + 1, true
			}
		}
		return 0, false
	}
	actOf := func(op OpKind) act {
		if op == OpReLU6 {
			return actReLU6
		}
		return actReLU
	}

	pl := &Plan{in: g.Input, workers: workers}
	valBuf := make([]int, len(g.Nodes)) // node -> buffer holding its value
	for i := range valBuf {
		valBuf[i] = -1
	}
	// Buffer allocation with reference counts so that dead buffers are reused.
	refs := map[int]int{}
	var free []int
	alloc := func(size int) int {
		for j, b := range free {
			free = append(free[:j], free[j+1:]...)
			if pl.bufSize[b] < size {
				pl.bufSize[b] = size
			}
			return b
		}
		pl.bufSize = append(pl.bufSize, size)
		return len(pl.bufSize) - 1
	}
	remaining := append([]int(nil), consumers...)
	release := func(node int) {
		remaining[node]--
		if remaining[node] == 0 {
			b := valBuf[node]
			refs[b]--
			if refs[b] == 0 {
				free = append(free, b)
			}
		}
	}
	valBuf[0] = alloc(g.Input.Size())
	refs[valBuf[0]] = 1

	for i := 1; i < len(g.Nodes); i++ {
		nd := g.Nodes[i]
		last := i             // the node whose value this step produces
		var fusedInputs []int // values read by fused nodes
		st := step{name: nd.Name, src: valBuf[nd.Inputs[0]], in: shapes[nd.Inputs[0]], res: -1}
		switch nd.Op {
		case OpConv:
			w := p[nd.Name+".weight"].Data
			scale := make([]float32, nd.OutC)
			bias := make([]float32, nd.OutC)
			fill(scale, 1)
			if nd.Bias {
				copy(bias, p[nd.Name+".bias"].Data)
			}
			if j, ok := soleConsumer(last, OpBatchNorm); ok {
				foldBN(g.Nodes[j], p, scale, bias)
				last = j
			}
			// A residual add right after: add the other operand in the
			// epilogue (it was computed earlier, so its buffer is ready).
			if j := last + 1; consumers[last] == 1 && j < len(g.Nodes) && g.Nodes[j].Op == OpAdd {
				if a, b := g.Nodes[j].Inputs[0], g.Nodes[j].Inputs[1]; a == last || b == last {
					other := a
					if a == last {
						other = b
					}
					if other < i {
						st.res = valBuf[other]
						fusedInputs = append(fusedInputs, other)
						last = j
					}
				}
			}
			if j, ok := soleConsumer(last, OpReLU, OpReLU6); ok {
				st.act = actOf(g.Nodes[j].Op)
				last = j
			}
			st.groups, st.k, st.stride, st.pad, st.bias = nd.Groups, nd.Kernel, nd.Stride, nd.Pad, bias
			cpg, opg := nd.InC/nd.Groups, nd.OutC/nd.Groups
			kk := nd.Kernel * nd.Kernel
			if cpg == 1 && opg == 1 {
				st.kind = stDepthwise
				st.w = make([]float32, kk*nd.OutC)
				for c := 0; c < nd.OutC; c++ {
					for j := 0; j < kk; j++ {
						st.w[j*nd.OutC+c] = w[c*kk+j] * scale[c]
					}
				}
			} else {
				st.kind = stConv
				// PyTorch (out, cpg, ky, kx) -> per group [(ky, kx, c) x opg].
				K := kk * cpg
				st.w = make([]float32, nd.Groups*K*opg)
				for oc := 0; oc < nd.OutC; oc++ {
					grp, o := oc/opg, oc%opg
					for c := 0; c < cpg; c++ {
						for j := 0; j < kk; j++ {
							st.w[grp*K*opg+(j*cpg+c)*opg+o] = w[(oc*cpg+c)*kk+j] * scale[oc]
						}
					}
				}
				if winogradOK(nd.Kernel, nd.Stride, nd.Pad, nd.Groups, nd.InC, nd.OutC) {
					st.wu = winogradWeights(st.w, cpg, opg)
				}
			}
		case OpBatchNorm:
			scale := make([]float32, nd.OutC)
			bias := make([]float32, nd.OutC)
			fill(scale, 1)
			foldBN(nd, p, scale, bias)
			st.kind, st.w, st.bias = stScaleShift, scale, bias
			if j, ok := soleConsumer(last, OpReLU, OpReLU6); ok {
				st.act = actOf(g.Nodes[j].Op)
				last = j
			}
		case OpReLU, OpReLU6:
			st.kind, st.act = stAct, actOf(nd.Op)
		case OpAdd:
			st.kind, st.src2 = stAdd, valBuf[nd.Inputs[1]]
			if j, ok := soleConsumer(last, OpReLU, OpReLU6); ok {
				st.act = actOf(g.Nodes[j].Op)
				last = j
			}
		case OpShortcutA:
			st.kind, st.stride, st.chanMap = stShortcutA, nd.Stride, nd.ShortcutMap(shapes[nd.Inputs[0]].C)
		case OpMaxPool, OpAvgPool:
			st.kind, st.k, st.stride, st.pad, st.maxPool = stPool, nd.Kernel, nd.Stride, nd.Pad, nd.Op == OpMaxPool
		case OpGlobalAvgPool:
			st.kind = stGlobalAvg
		case OpFlatten:
			st.kind = stFlatten
		case OpLinear:
			st.kind = stLinear
			st.w = p[nd.Name+".weight"].Data
			st.bias = make([]float32, nd.OutC)
			if nd.Bias {
				copy(st.bias, p[nd.Name+".bias"].Data)
			}
		default:
			return nil, fmt.Errorf("compile: node %s: unsupported op %s", nd.Name, nd.Op)
		}
		st.out = shapes[last]
		if st.kind == stFlatten && st.in.H == 1 && st.in.W == 1 {
			// NHWC and NCHW agree on 1x1 maps: alias instead of copying.
			valBuf[last] = st.src
			refs[st.src]++
		} else {
			// Allocate before releasing the inputs, so that no step writes
			// the buffer it reads.
			st.dst = alloc(st.out.Size())
			refs[st.dst] = 1
			valBuf[last] = st.dst
			pl.steps = append(pl.steps, st)
		}
		for _, j := range append(nd.Inputs, fusedInputs...) {
			release(j)
		}
		i = last
	}
	pl.out = shapes[g.Output()]
	pl.outBuf = valBuf[g.Output()]
	pl.valBuf, pl.shapes = valBuf, shapes
	pl.scratch = make([][]float32, workers)
	return pl, nil
}

// foldBN multiplies scale and rewrites bias so that conv*scale+bias equals
// batchnorm(conv+bias).
func foldBN(bn *Node, p Params, scale, bias []float32) {
	gam, bet := p[bn.Name+".weight"].Data, p[bn.Name+".bias"].Data
	mu, va := p[bn.Name+".running_mean"].Data, p[bn.Name+".running_var"].Data
	for c := range scale {
		s := float64(gam[c]) / math.Sqrt(float64(va[c])+float64(bn.Eps))
		scale[c] = float32(float64(scale[c]) * s)
		bias[c] = float32((float64(bias[c])-float64(mu[c]))*s + float64(bet[c]))
	}
}

// InputShape is the per-sample input shape (read as NHWC by Forward).
func (pl *Plan) InputShape() Shape { return pl.in }

// OutputShape is the per-sample output shape.
func (pl *Plan) OutputShape() Shape { return pl.out }

// Forward runs n samples (NHWC, n*H*W*C values) and returns n rows of outputs
// in NCHW order per sample. The returned slice is reused by the next call.
func (pl *Plan) Forward(x []float32, n int) ([]float32, error) {
	if n < 1 || len(x) != n*pl.in.Size() {
		return nil, fmt.Errorf("forward: input has %d values, want %d samples x %d", len(x), n, pl.in.Size())
	}
	if n > pl.batch {
		pl.bufs = make([][]float32, len(pl.bufSize))
		for i, s := range pl.bufSize {
			pl.bufs[i] = make([]float32, n*s)
		}
		pl.result = make([]float32, n*pl.out.Size())
		pl.batch = n
	}
	copy(pl.bufs[0], x)
	pl.lastN = n
	for i := range pl.steps {
		pl.run(&pl.steps[i], n)
	}
	src := pl.bufs[pl.outBuf][:n*pl.out.Size()]
	res := pl.result[:n*pl.out.Size()]
	nhwcToNCHW(res, src, n, pl.out)
	return res, nil
}

func nhwcToNCHW(dst, src []float32, n int, s Shape) {
	if s.H*s.W == 1 || s.C == 1 {
		copy(dst, src)
		return
	}
	hw := s.H * s.W
	for b := 0; b < n; b++ {
		for j := 0; j < hw; j++ {
			for c := 0; c < s.C; c++ {
				dst[(b*s.C+c)*hw+j] = src[(b*hw+j)*s.C+c]
			}
		}
	}
}

// parallel runs tasks 0..tasks-1 of a step on the calling goroutine and up
// to workers-1 goroutines of the shared pool, without allocating.
func (pl *Plan) parallel(tasks int, st *step, src, dst []float32, n int) {
	w := min(pl.workers, tasks)
	pl.job = job{pl: pl, st: st, src: src, dst: dst, n: n, tasks: tasks}
	pl.job.next.Store(0)
	if w > 1 {
		startPool()
		pl.job.wg.Add(w - 1)
		for k := 1; k < w; k++ {
			poolTasks <- poolTask{&pl.job, k}
		}
	}
	pl.job.work(0)
	pl.job.wg.Wait()
}

// job is one step's tasks, shared by the goroutines that run them.
type job struct {
	pl       *Plan
	st       *step
	src, dst []float32
	n, tasks int
	next     atomic.Int64
	wg       sync.WaitGroup
}

func (j *job) work(worker int) {
	for {
		t := int(j.next.Add(1)) - 1
		if t >= j.tasks {
			return
		}
		j.pl.tile(worker, t, j.st, j.src, j.dst, j.n)
	}
}

type poolTask struct {
	j      *job
	worker int
}

var (
	poolOnce  sync.Once
	poolTasks chan poolTask
)

// startPool starts GOMAXPROCS goroutines shared by every Plan; they live as
// long as the process, like the runtime's own workers.
func startPool() {
	poolOnce.Do(func() {
		n := runtime.GOMAXPROCS(0)
		poolTasks = make(chan poolTask, 4*n)
		for i := 0; i < n; i++ {
			go func() {
				for t := range poolTasks {
					t.j.work(t.worker)
					t.j.wg.Done()
				}
			}()
		}
	})
}

func applyAct(x []float32, a act) {
	switch a {
	case actReLU:
		for i, v := range x {
			x[i] = max(v, 0)
		}
	case actReLU6:
		for i, v := range x {
			x[i] = min(max(v, 0), 6)
		}
	}
}

// addBiasAct adds a per-column bias (and, if res is not nil, the matching
// rows of res) to a rows x cols matrix whose rows are ld floats apart (in c
// and res) and applies the activation, in one pass.
func addBiasAct(c []float32, rows, cols, ld int, bias []float32, res []float32, a act) {
	bias = bias[:cols]
	for r := 0; r < rows; r++ {
		row := c[r*ld : r*ld+cols]
		if res != nil {
			rr := res[r*ld : r*ld+cols]
			switch a {
			case actNone:
				for j, b := range bias {
					row[j] += b + rr[j]
				}
			case actReLU:
				for j, b := range bias {
					row[j] = max(row[j]+b+rr[j], 0)
				}
			case actReLU6:
				for j, b := range bias {
					row[j] = min(max(row[j]+b+rr[j], 0), 6)
				}
			}
			continue
		}
		switch a {
		case actNone:
			for j, b := range bias {
				row[j] += b
			}
		case actReLU:
			for j, b := range bias {
				row[j] = max(row[j]+b, 0)
			}
		case actReLU6:
			for j, b := range bias {
				row[j] = min(max(row[j]+b, 0), 6)
			}
		}
	}
}

// Latency measures the median wall time of one forward pass of batch
// samples (random inputs) over repeats runs, after warm-up runs.
func (pl *Plan) Latency(batch, warmup, repeats int) (time.Duration, error) {
	if batch < 1 || repeats < 1 {
		return 0, fmt.Errorf("latency: batch and repeats must be positive")
	}
	x := make([]float32, batch*pl.in.Size())
	for i := range x {
		x[i] = float32((i*7919)%201-100) / 100
	}
	for i := 0; i < warmup; i++ {
		if _, err := pl.Forward(x, batch); err != nil {
			return 0, err
		}
	}
	times := make([]time.Duration, repeats)
	for i := range times {
		t0 := time.Now()
		if _, err := pl.Forward(x, batch); err != nil {
			return 0, err
		}
		times[i] = time.Since(t0)
	}
	sort.Slice(times, func(a, b int) bool { return times[a] < times[b] })
	return times[repeats/2], nil
}

// MinLatency is Latency with the fastest run instead of the median: the
// estimate least disturbed by other processes on the machine.
func (pl *Plan) MinLatency(batch, warmup, repeats int) (time.Duration, error) {
	if batch < 1 || repeats < 1 {
		return 0, fmt.Errorf("latency: batch and repeats must be positive")
	}
	x := make([]float32, batch*pl.in.Size())
	best := time.Duration(math.MaxInt64)
	for i := 0; i < warmup+repeats; i++ {
		t0 := time.Now()
		if _, err := pl.Forward(x, batch); err != nil {
			return 0, err
		}
		if d := time.Since(t0); i >= warmup && d < best {
			best = d
		}
	}
	return best, nil
}

// Profile times every step of the plan (a step is one node, or a
// convolution with its fused batch norm, activation and residual add,
// named after the convolution) and returns each step's fastest time over
// repeats forward passes of batch samples, after warm-up passes.
func (pl *Plan) Profile(batch, warmup, repeats int) (map[string]time.Duration, error) {
	if batch < 1 || repeats < 1 {
		return nil, fmt.Errorf("profile: batch and repeats must be positive")
	}
	x := make([]float32, batch*pl.in.Size())
	if _, err := pl.Forward(x, batch); err != nil { // sizes the buffers
		return nil, err
	}
	best := make([]time.Duration, len(pl.steps))
	for i := range best {
		best[i] = time.Duration(math.MaxInt64)
	}
	for r := 0; r < warmup+repeats; r++ {
		copy(pl.bufs[0], x)
		for i := range pl.steps {
			t0 := time.Now()
			pl.run(&pl.steps[i], batch)
			if d := time.Since(t0); r >= warmup && d < best[i] {
				best[i] = d
			}
		}
	}
	out := make(map[string]time.Duration, len(pl.steps))
	for i, st := range pl.steps {
		out[st.name] += best[i]
	}
	return out, nil
}

// Workers is the number of goroutines the plan splits each layer across.
func (pl *Plan) Workers() int { return pl.workers }
