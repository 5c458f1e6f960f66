// Package onnx writes an amc network (a zoo model, a channel-pruned or
// fine-grained network, a fine-tuned one) as an ONNX model: the way to other
// runtimes, phones included. The model takes the normalised input, float32
// NCHW with a free batch dimension ("input", N x C x H x W; the normalisation
// is in the metadata as amc.normalization) and gives the logits ("logits",
// N x classes). Opset 13; every amc op maps to standard ONNX operators: Conv,
// BatchNormalization, Relu, Clip (ReLU6), Add, MaxPool, AveragePool,
// GlobalAveragePool, Flatten, Gemm, and option A's shortcut as a fixed 1x1
// strided Conv that copies (or zeroes) channels.
//
// The protobuf is written with google.golang.org/protobuf's protowire from
// onnx.proto's field numbers (onnx/onnx, onnx.proto, IR version 7): no Go
// module publishes ONNX's generated types outside an internal package except
// whole runtimes, and the model needs a handful of messages.
package onnx

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/amcbench/amc/nn"
	"google.golang.org/protobuf/encoding/protowire"
)

// Opset and IRVersion are what the written models declare.
const (
	Opset     = 13
	IRVersion = 7
)

// ONNX enum values (onnx.proto).
const (
	elemFloat = 1 // TensorProto.FLOAT
	elemInt64 = 7 // TensorProto.INT64
	attrFloat = 1 // AttributeProto.FLOAT
	attrInt   = 2 // AttributeProto.INT
	attrInts  = 7 // AttributeProto.INTS
)

// msg is a protobuf message being written.
type msg []byte

func (m *msg) str(field protowire.Number, s string) {
	*m = protowire.AppendTag(*m, field, protowire.BytesType)
	*m = protowire.AppendString(*m, s)
}

func (m *msg) bytes(field protowire.Number, b []byte) {
	*m = protowire.AppendTag(*m, field, protowire.BytesType)
	*m = protowire.AppendBytes(*m, b)
}

func (m *msg) sub(field protowire.Number, s msg) { m.bytes(field, s) }

func (m *msg) varint(field protowire.Number, v int64) {
	*m = protowire.AppendTag(*m, field, protowire.VarintType)
	*m = protowire.AppendVarint(*m, uint64(v))
}

func (m *msg) float(field protowire.Number, f float32) {
	*m = protowire.AppendTag(*m, field, protowire.Fixed32Type)
	*m = protowire.AppendFixed32(*m, math.Float32bits(f))
}

// attribute is one node attribute.
type attribute struct {
	name string
	i    *int64
	f    *float32
	ints []int64
}

func intAttr(name string, v int) attribute {
	x := int64(v)
	return attribute{name: name, i: &x}
}

func floatAttr(name string, v float32) attribute { return attribute{name: name, f: &v} }

func intsAttr(name string, vs ...int) attribute {
	a := attribute{name: name, ints: make([]int64, len(vs))}
	for i, v := range vs {
		a.ints[i] = int64(v)
	}
	return a
}

func (a attribute) encode() msg {
	var m msg
	m.str(1, a.name)
	switch {
	case a.i != nil:
		m.varint(3, *a.i)
		m.varint(20, attrInt)
	case a.f != nil:
		m.float(2, *a.f)
		m.varint(20, attrFloat)
	default:
		for _, v := range a.ints {
			m.varint(8, v)
		}
		m.varint(20, attrInts)
	}
	return m
}

// builder accumulates a graph's nodes and initializers.
type builder struct {
	nodes, inits []msg
	defined      map[string]string // tensor name -> what defines it
	err          error             // the first tensor defined twice
}

// define records that what defines tensor name; a second definition is
// an error (an ONNX graph is in single-assignment form, and a weight of
// one node must not shadow another's output).
func (b *builder) define(name, what string) {
	if b.defined == nil {
		b.defined = map[string]string{"input": "the graph's input"}
	}
	if first, ok := b.defined[name]; ok && b.err == nil {
		b.err = fmt.Errorf("onnx: tensor %q is defined twice, by %s and by %s: node names must be unique and must not be another node's name plus a parameter suffix", name, first, what)
	}
	b.defined[name] = what
}

func (b *builder) node(op, name string, inputs, outputs []string, attrs ...attribute) {
	for _, out := range outputs {
		b.define(out, fmt.Sprintf("node %s (%s)", name, op))
	}
	var m msg
	for _, in := range inputs {
		m.str(1, in)
	}
	for _, out := range outputs {
		m.str(2, out)
	}
	m.str(3, name)
	m.str(4, op)
	for _, a := range attrs {
		m.sub(5, a.encode())
	}
	b.nodes = append(b.nodes, m)
}

// tensor adds a float32 initializer.
func (b *builder) tensor(name string, shape []int, data []float32) {
	b.define(name, "a parameter")
	var m msg
	for _, d := range shape {
		m.varint(1, int64(d))
	}
	m.varint(2, elemFloat)
	m.str(8, name)
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	m.bytes(9, raw)
	b.inits = append(b.inits, m)
}

// valueInfo describes a graph input or output: float32, dims (a string
// is a named free dimension).
func valueInfo(name string, dims ...any) msg {
	var shape msg
	for _, d := range dims {
		var dim msg
		switch v := d.(type) {
		case int:
			dim.varint(1, int64(v))
		case string:
			dim.str(2, v)
		}
		shape.sub(1, dim)
	}
	var tt msg
	tt.varint(1, elemFloat)
	tt.sub(2, shape)
	var typ msg
	typ.sub(1, tt)
	var m msg
	m.str(1, name)
	m.sub(2, typ)
	return m
}

// Options are an export's optional metadata.
type Options struct {
	// Name names the graph (the model's name).
	Name string
	// Metadata is written as the model's metadata_props (for example
	// amc.normalization).
	Metadata map[string]string
}

// Export writes g with parameters p as an ONNX model to w.
func Export(w io.Writer, g *nn.Graph, p nn.Params, opt Options) error {
	shapes, err := g.Shapes()
	if err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	param := func(name string, shape ...int) ([]float32, error) {
		t, ok := p[name]
		if !ok {
			return nil, fmt.Errorf("onnx: parameter %s missing", name)
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		if len(t.Data) != n {
			return nil, fmt.Errorf("onnx: parameter %s has %d values, want %d (shape %v)", name, len(t.Data), n, shape)
		}
		return t.Data, nil
	}
	var b builder
	out := make([]string, len(g.Nodes)) // each node's output tensor
	in := func(nd *nn.Node, k int) string { return out[nd.Inputs[k]] }
	needInputs := func(nd *nn.Node, n int) error {
		if len(nd.Inputs) != n {
			return fmt.Errorf("onnx: node %s (%s) has %d inputs, want %d", nd.Name, nd.Op, len(nd.Inputs), n)
		}
		return nil
	}
	for i, nd := range g.Nodes {
		out[i] = nd.Name
		if nd.Op == nn.OpInput {
			out[i] = "input"
			continue
		}
		want := 1
		if nd.Op == nn.OpAdd {
			want = 2
		}
		if err := needInputs(nd, want); err != nil {
			return err
		}
		is := shapes[nd.Inputs[0]]
		switch nd.Op {
		case nn.OpConv:
			groups := max(nd.Groups, 1)
			shape := []int{nd.OutC, nd.InC / groups, nd.Kernel, nd.Kernel}
			wt, err := param(nd.Name+".weight", shape...)
			if err != nil {
				return err
			}
			b.tensor(nd.Name+".weight", shape, wt)
			ins := []string{in(nd, 0), nd.Name + ".weight"}
			if nd.Bias {
				bias, err := param(nd.Name+".bias", nd.OutC)
				if err != nil {
					return err
				}
				b.tensor(nd.Name+".bias", []int{nd.OutC}, bias)
				ins = append(ins, nd.Name+".bias")
			}
			b.node("Conv", nd.Name, ins, []string{out[i]},
				intsAttr("kernel_shape", nd.Kernel, nd.Kernel), intsAttr("strides", nd.Stride, nd.Stride),
				intsAttr("pads", nd.Pad, nd.Pad, nd.Pad, nd.Pad), intsAttr("dilations", 1, 1), intAttr("group", groups))
		case nn.OpBatchNorm:
			ins := []string{in(nd, 0)}
			for _, f := range []string{"weight", "bias", "running_mean", "running_var"} {
				v, err := param(nd.Name+"."+f, nd.OutC)
				if err != nil {
					return err
				}
				b.tensor(nd.Name+"."+f, []int{nd.OutC}, v)
				ins = append(ins, nd.Name+"."+f)
			}
			b.node("BatchNormalization", nd.Name, ins, []string{out[i]}, floatAttr("epsilon", nd.Eps))
		case nn.OpReLU:
			b.node("Relu", nd.Name, []string{in(nd, 0)}, []string{out[i]})
		case nn.OpReLU6:
			b.tensor(nd.Name+".min", nil, []float32{0})
			b.tensor(nd.Name+".max", nil, []float32{6})
			b.node("Clip", nd.Name, []string{in(nd, 0), nd.Name + ".min", nd.Name + ".max"}, []string{out[i]})
		case nn.OpAdd:
			b.node("Add", nd.Name, []string{in(nd, 0), in(nd, 1)}, []string{out[i]})
		case nn.OpShortcutA:
			// Output channel j is input channel m[j] (or zero) at every
			// stride-th position: a 1x1 convolution with a 0/1 weight.
			m := nd.ShortcutMap(is.C)
			wt := make([]float32, len(m)*is.C)
			for j, c := range m {
				if c >= 0 {
					wt[j*is.C+c] = 1
				}
			}
			b.tensor(nd.Name+".weight", []int{len(m), is.C, 1, 1}, wt)
			b.node("Conv", nd.Name, []string{in(nd, 0), nd.Name + ".weight"}, []string{out[i]},
				intsAttr("kernel_shape", 1, 1), intsAttr("strides", nd.Stride, nd.Stride), intsAttr("pads", 0, 0, 0, 0))
		case nn.OpMaxPool:
			b.node("MaxPool", nd.Name, []string{in(nd, 0)}, []string{out[i]},
				intsAttr("kernel_shape", nd.Kernel, nd.Kernel), intsAttr("strides", nd.Stride, nd.Stride),
				intsAttr("pads", nd.Pad, nd.Pad, nd.Pad, nd.Pad))
		case nn.OpAvgPool:
			if nd.Pad != 0 {
				return fmt.Errorf("onnx: average pooling %s pads", nd.Name)
			}
			b.node("AveragePool", nd.Name, []string{in(nd, 0)}, []string{out[i]},
				intsAttr("kernel_shape", nd.Kernel, nd.Kernel), intsAttr("strides", nd.Stride, nd.Stride))
		case nn.OpGlobalAvgPool:
			b.node("GlobalAveragePool", nd.Name, []string{in(nd, 0)}, []string{out[i]})
		case nn.OpFlatten:
			b.node("Flatten", nd.Name, []string{in(nd, 0)}, []string{out[i]}, intAttr("axis", 1))
		case nn.OpLinear:
			wt, err := param(nd.Name+".weight", nd.OutC, nd.InC)
			if err != nil {
				return err
			}
			b.tensor(nd.Name+".weight", []int{nd.OutC, nd.InC}, wt)
			bias := make([]float32, nd.OutC)
			if nd.Bias {
				if bias, err = param(nd.Name+".bias", nd.OutC); err != nil {
					return err
				}
			}
			b.tensor(nd.Name+".bias", []int{nd.OutC}, bias)
			b.node("Gemm", nd.Name, []string{in(nd, 0), nd.Name + ".weight", nd.Name + ".bias"}, []string{out[i]}, intAttr("transB", 1))
		default:
			return fmt.Errorf("onnx: node %s: op %s has no ONNX mapping", nd.Name, nd.Op)
		}
	}
	// The last node's output is renamed "logits" through an Identity.
	last := g.Output()
	os := shapes[last]
	if os.H != 1 || os.W != 1 {
		return fmt.Errorf("onnx: the network's output is %dx%dx%d, not a vector of logits", os.C, os.H, os.W)
	}
	b.node("Identity", "logits", []string{out[last]}, []string{"logits"})
	if b.err != nil {
		return b.err
	}

	var graph msg
	for _, n := range b.nodes {
		graph.sub(1, n)
	}
	name := opt.Name
	if name == "" {
		name = "amc"
	}
	graph.str(2, name)
	for _, t := range b.inits {
		graph.sub(5, t)
	}
	ins := shapes[0]
	graph.sub(11, valueInfo("input", "N", ins.C, ins.H, ins.W))
	graph.sub(12, valueInfo("logits", "N", os.C))

	var model msg
	model.varint(1, IRVersion)
	model.str(2, "amc")
	model.sub(7, graph)
	var opset msg
	opset.str(1, "")
	opset.varint(2, Opset)
	model.sub(8, opset)
	keys := make([]string, 0, len(opt.Metadata))
	for k := range opt.Metadata {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var e msg
		e.str(1, k)
		e.str(2, opt.Metadata[k])
		model.sub(14, e)
	}
	if _, err := w.Write(model); err != nil {
		return fmt.Errorf("onnx: %w", err)
	}
	return nil
}
